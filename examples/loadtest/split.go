//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"

	"github.com/voipkit/voipkit"
)

// calleeSide is the answering Phone: in this process, or (with -split)
// in a child process of its own so that each Phone's CPU is measured
// apart.
type calleeSide interface {
	// target is the URI the caller dials.
	target() string
	// mark samples the callee's statistics and, in a child, its CPU.
	mark() (calleeMark, error)
	close() error
}

// calleeMark is one sample of the callee's side.
type calleeMark struct {
	cpu      time.Duration // the child's CPU; 0 in this process
	stats    totals
	calls    int
	answered int64
}

// localCallee runs the callee Phone in this process.
type localCallee struct {
	phone    *voipkit.Phone
	answered *atomic.Int64
}

func (l *localCallee) target() string { return l.phone.URI("load") }

func (l *localCallee) mark() (calleeMark, error) {
	calls := l.phone.Calls()
	return calleeMark{stats: sumStats(nil, calls), calls: len(calls), answered: l.answered.Load()}, nil
}

func (l *localCallee) close() error { return l.phone.Close() }

// startCallee starts the callee Phone and a goroutine answering its calls
// with audio; done is called when that goroutine ends (after close).
func startCallee(cfg voipkit.Config, silence bool, done func()) (*localCallee, error) {
	cfg.AutoAnswer = voipkit.AutoAnswerPolicy{Always: true}
	p, err := voipkit.NewPhone(cfg)
	if err != nil {
		return nil, err
	}
	l := &localCallee{phone: p, answered: new(atomic.Int64)}
	go func() {
		defer done()
		for ev := range p.Events() {
			if in, ok := ev.(*voipkit.IncomingCallEvent); ok {
				l.answered.Add(1)
				in.Call.SetSource(newSource(silence, 440))
			}
		}
	}()
	return l, nil
}

// serveCallee is the child process of -split: it runs the callee Phone,
// prints "READY <uri>", answers "MARK" lines on stdin with a sample and
// exits when stdin closes.
func serveCallee(cfg voipkit.Config, silence bool) error {
	ended := make(chan struct{})
	l, err := startCallee(cfg, silence, func() { close(ended) })
	if err != nil {
		return err
	}
	fmt.Printf("READY %s\n", l.target())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() != "MARK" {
			continue
		}
		m, _ := l.mark()
		s := m.stats
		fmt.Printf("MARK %d %d %d %d %d %d %d %d %d %d %d\n", cpuTime().Nanoseconds(), m.calls, m.answered,
			s.sent, s.received, s.lost, s.late, s.concealed, s.authFail, s.replays, s.skipped)
	}
	err = l.close()
	<-ended
	return err
}

// childCallee is the callee running in a child process.
type childCallee struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
	uri   string
}

// spawnCallee starts this program as the callee with args, pinned to
// cpus with taskset when cpus is set.
func spawnCallee(ctx context.Context, cpus string, args []string) (*childCallee, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	argv := append([]string{self, "-serve-callee"}, args...)
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start callee: %w", err)
	}
	c := &childCallee{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	line, err := c.line("READY")
	if err != nil {
		_ = c.close()
		return nil, err
	}
	c.uri = strings.TrimSpace(line)
	return c, nil
}

// line reads the child's next line starting with prefix and returns
// the rest of it.
func (c *childCallee) line(prefix string) (string, error) {
	for c.out.Scan() {
		if rest, ok := strings.CutPrefix(c.out.Text(), prefix+" "); ok {
			return rest, nil
		}
	}
	if err := c.out.Err(); err != nil {
		return "", err
	}
	return "", errors.New("callee process ended")
}

func (c *childCallee) target() string { return c.uri }

func (c *childCallee) mark() (calleeMark, error) {
	if _, err := io.WriteString(c.stdin, "MARK\n"); err != nil {
		return calleeMark{}, err
	}
	line, err := c.line("MARK")
	if err != nil {
		return calleeMark{}, err
	}
	var m calleeMark
	var cpu int64
	s := &m.stats
	if _, err := fmt.Sscan(line, &cpu, &m.calls, &m.answered, &s.sent, &s.received, &s.lost, &s.late, &s.concealed,
		&s.authFail, &s.replays, &s.skipped); err != nil {
		return calleeMark{}, fmt.Errorf("callee sample %q: %w", line, err)
	}
	m.cpu = time.Duration(cpu)
	return m, nil
}

func (c *childCallee) close() error {
	_ = c.stdin.Close()
	return c.cmd.Wait()
}
