package peertest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// SippResult is the outcome of one sipp run.
type SippResult struct {
	// ExitCode is sipp's exit status: 0 every call succeeded, 1 at least
	// one call failed, 254 a socket could not be bound, 255 a fatal error
	// (e.g. a bad scenario), -1 killed by a signal (context done or test
	// cleanup).
	ExitCode int
	// Stdout and Stderr are the ends of sipp's output.
	Stdout, Stderr string
	// MessagesLog is the -trace_msg log: every message sent and received.
	MessagesLog string
	// ErrorsLog is the -trace_err log: unexpected messages and errors.
	ErrorsLog string
	// Logs is the -trace_logs log: the scenario's <log> actions.
	Logs string
	// Port, MediaPort and ControlPort are the -p, -mp and -cp ports used.
	Port, MediaPort, ControlPort int
	// Dir is the working directory holding the trace files.
	Dir string
	// Duration is the time from start to exit.
	Duration time.Duration
}

// String summarises the result for a test failure message: exit code and
// the ends of stderr, the error log and the message log.
func (r SippResult) String() string {
	return fmt.Sprintf("sipp exit code %d after %v (port %d)\n--- stderr:\n%s\n--- errors log:\n%s\n--- messages log (end):\n%s",
		r.ExitCode, r.Duration.Round(time.Millisecond), r.Port, tail(r.Stderr, 2000), tail(r.ErrorsLog, 4000), tail(r.MessagesLog, 8000))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "[...]" + s[len(s)-n:]
}

// SippProcess is a sipp instance running in the background, typically a
// UAS waiting for a call. Its methods are safe for concurrent use.
type SippProcess struct {
	t                      TB
	proc                   *proc
	dir                    string
	port, mediaPort, cport int
	started                time.Time
	stdout, stderr         *logBuffer

	once   sync.Once
	result SippResult
}

// RunSipp runs sipp with testdata/sipp/SCENARIO.xml (or the scenario path
// given) and the extra args (at least the remote address for a UAC) and
// waits for it to exit. See [StartSipp] for the arguments it adds.
func RunSipp(ctx context.Context, t TB, scenario string, args ...string) SippResult {
	t.Helper()
	s := startSipp(ctx, t, scenario, args, false)
	return s.Wait(ctx)
}

// StartSipp starts sipp in the background and returns once its SIP port is
// bound, so that a UAC started next finds it. Unless args already hold
// them it adds -m 1, -i 127.0.0.1, -mi 127.0.0.1, -p (a free UDP+TCP port), -mp (an even
// port with the next three free: sipp binds mp and mp+2), -cp (a free UDP
// port), -timeout 20 and -timeout_error; it always adds -nostdin,
// -trace_msg, -trace_err and -trace_logs and runs in a temporary directory.
// The process is killed when ctx is done or the test ends.
func StartSipp(ctx context.Context, t TB, scenario string, args ...string) *SippProcess {
	t.Helper()
	return startSipp(ctx, t, scenario, args, true)
}

// hasFlag reports whether args contain flag.
func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag {
			return true
		}
	}
	return false
}

// flagValue returns the value following flag in args.
func flagValue(args []string, flag string) (string, bool) {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// sippScenario resolves a scenario name to a file path.
func sippScenario(t TB, scenario string) string {
	t.Helper()
	if strings.ContainsRune(scenario, os.PathSeparator) {
		abs, err := filepath.Abs(scenario)
		if err != nil {
			t.Fatalf("peertest: %v", err)
		}
		return abs
	}
	if !strings.HasSuffix(scenario, ".xml") {
		scenario += ".xml"
	}
	path := filepath.Join(ModuleRoot(t), "testdata", "sipp", scenario)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("peertest: sipp scenario: %v", err)
	}
	return path
}

func startSipp(ctx context.Context, t TB, scenario string, args []string, waitBound bool) *SippProcess {
	t.Helper()
	Require(t, "sipp")
	sf := sippScenario(t, scenario)
	dir := t.TempDir()
	s := &SippProcess{t: t, dir: dir, stdout: newLogBuffer(64 << 10), stderr: newLogBuffer(64 << 10)}

	full := []string{"-sf", sf, "-nostdin", "-trace_msg", "-trace_err", "-trace_logs"}
	intFlag := func(flag string, alloc func() int) int {
		if v, ok := flagValue(args, flag); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
		n := alloc()
		full = append(full, flag, strconv.Itoa(n))
		return n
	}
	s.port = intFlag("-p", func() int { return FreeTCPUDPPort(t) })
	s.mediaPort = intFlag("-mp", func() int { return allocPorts(t, 4, 2, false) })
	s.cport = intFlag("-cp", func() int { return FreeUDPPort(t) })
	if !hasFlag(args, "-m") {
		full = append(full, "-m", "1")
	}
	if !hasFlag(args, "-i") {
		full = append(full, "-i", "127.0.0.1")
	}
	if !hasFlag(args, "-mi") {
		full = append(full, "-mi", "127.0.0.1")
	}
	if !hasFlag(args, "-timeout") {
		full = append(full, "-timeout", "20")
	}
	if !hasFlag(args, "-timeout_error") {
		full = append(full, "-timeout_error")
	}
	full = append(full, args...)

	s.started = time.Now()
	p, err := startProc("sipp", dir, s.stdout, s.stderr, "sipp", full...)
	if err != nil {
		t.Fatalf("peertest: %v", err)
	}
	s.proc = p
	t.Cleanup(func() {
		s.Stop()
		s.Wait(context.Background())
	})
	go func() {
		select {
		case <-ctx.Done():
			p.stop(2 * time.Second)
		case <-p.done:
		}
	}()
	if !waitBound {
		return s
	}
	tcp := false
	if v, ok := flagValue(args, "-t"); ok && strings.HasPrefix(v, "t") {
		tcp = true
	}
	err = waitFor(nil, 5*time.Second, 10*time.Millisecond, func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("sipp exited with code %d before binding port %d", p.exitCode(), s.port)
		}
		// Binding the port ourselves to see whether it is taken would
		// race with sipp's own bind: look at the kernel's socket tables.
		return portBound(tcp, s.port), nil
	})
	if err != nil {
		s.Stop()
		r := s.Wait(context.Background())
		t.Fatalf("peertest: sipp %s: %v\n%s", filepath.Base(sf), err, r)
	}
	return s
}

// Port returns the SIP port sipp listens on.
func (s *SippProcess) Port() int { return s.port }

// Addr returns sipp's SIP address, "127.0.0.1:port".
func (s *SippProcess) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// MediaPort returns sipp's media (RTP) port.
func (s *SippProcess) MediaPort() int { return s.mediaPort }

// Dir returns sipp's working directory, where the trace files go.
func (s *SippProcess) Dir() string { return s.dir }

// MessagesLog returns the current content of the -trace_msg log.
func (s *SippProcess) MessagesLog() string { return readGlob(s.dir, "*_messages.log") }

// WaitMessage polls the -trace_msg log every 20 ms until it contains substr
// (e.g. "SIP/2.0 202" once a SUBSCRIBE was accepted), ctx is done or sipp
// exits.
func (s *SippProcess) WaitMessage(ctx context.Context, substr string) error {
	for {
		if strings.Contains(s.MessagesLog(), substr) {
			return nil
		}
		if s.proc.exited() {
			if strings.Contains(s.MessagesLog(), substr) {
				return nil
			}
			return fmt.Errorf("sipp exited (code %d) before its log showed %q", s.proc.exitCode(), substr)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sipp log never showed %q: %w", substr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop kills sipp if it is still running (SIGTERM, then SIGKILL after 2 s).
func (s *SippProcess) Stop() { s.proc.stop(2 * time.Second) }

// Wait waits for sipp to exit and returns the result. When ctx is done
// first, sipp is stopped. Later calls return the same result.
func (s *SippProcess) Wait(ctx context.Context) SippResult {
	select {
	case <-s.proc.done:
	case <-ctx.Done():
		s.proc.stop(2 * time.Second)
	}
	s.once.Do(func() {
		s.proc.reap()
		code := s.proc.cmd.ProcessState.ExitCode()
		if ws, ok := s.proc.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = -1
		}
		s.result = SippResult{
			ExitCode:    code,
			Stdout:      s.stdout.String(),
			Stderr:      s.stderr.String(),
			MessagesLog: readGlob(s.dir, "*_messages.log"),
			ErrorsLog:   readGlob(s.dir, "*_errors.log"),
			Logs:        readGlob(s.dir, "*_logs.log"),
			Port:        s.port,
			MediaPort:   s.mediaPort,
			ControlPort: s.cport,
			Dir:         s.dir,
			Duration:    s.proc.end.Sub(s.started),
		}
	})
	return s.result
}

// readGlob returns the concatenated content of the files matching pattern
// in dir.
func readGlob(dir, pattern string) string {
	files, _ := filepath.Glob(filepath.Join(dir, pattern))
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err == nil {
			b.Write(data)
		}
	}
	return b.String()
}
