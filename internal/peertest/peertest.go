// Package peertest starts real SIP peers (Kamailio, baresip, sipp) on
// 127.0.0.1 for voipkit's interop tests.
//
// Every peer runs as a child process with its own free ports and its
// generated files under the test's temporary directory; it is stopped by a
// cleanup function registered on the test, so nothing outlives the test.
// The configuration the peers start from lives in the module's testdata
// directory (testdata/kamailio, testdata/baresip, testdata/sipp).
//
// The package needs only the standard library. It does not import
// "testing": functions take a [TB], which *testing.T and *testing.B satisfy,
// so that the tests of several packages can share it.
//
// Locally a missing peer binary skips the test; with CI=true in the
// environment it fails the test instead (see [Require]).
//
// Every goroutine the harness starts has ended once the test's cleanup
// functions have run. Tests that check for leaked goroutines must check
// after that point: use goleak.VerifyTestMain in TestMain, or, in a test
// that does not run in parallel with others, register
// t.Cleanup(func() { goleak.VerifyNone(t) }) as its first statement (a
// deferred VerifyNone runs before the cleanups and would report the peers'
// reader goroutines).
package peertest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// TB is the part of testing.TB the harness uses. *testing.T and *testing.B
// satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
	TempDir() string
	Name() string
}

// debianPackages names the Debian packages that provide each peer binary.
var debianPackages = map[string]string{
	"kamailio": "kamailio kamailio-presence-modules kamailio-tls-modules",
	"kamcmd":   "kamailio",
	"baresip":  "baresip-core",
	"sipp":     "sip-tester",
	"tshark":   "tshark",
	"sox":      "sox",
	"openssl":  "openssl",
}

// InCI reports whether the environment variable CI is "true". Under CI a
// missing peer fails a test instead of skipping it.
func InCI() bool { return os.Getenv("CI") == "true" }

// lookPath finds bin in PATH or, for users whose PATH lacks them, in the
// sbin directories where Debian installs kamailio and kamcmd.
func lookPath(bin string) (string, error) {
	path, err := exec.LookPath(bin)
	if err == nil {
		return path, nil
	}
	if !strings.ContainsRune(bin, os.PathSeparator) {
		for _, dir := range []string{"/usr/local/sbin", "/usr/sbin", "/sbin"} {
			p := filepath.Join(dir, bin)
			if fi, serr := os.Stat(p); serr == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", err
}

// Require checks that every named binary is installed (in PATH or an sbin
// directory). When one is missing the test is skipped, or failed when
// CI=true, with the Debian packages to install.
func Require(t TB, bins ...string) {
	t.Helper()
	var missing, pkgs []string
	seen := map[string]bool{}
	for _, b := range bins {
		if _, err := lookPath(b); err == nil {
			continue
		}
		missing = append(missing, b)
		p, ok := debianPackages[b]
		if !ok {
			p = b
		}
		for _, f := range strings.Fields(p) {
			if !seen[f] {
				seen[f] = true
				pkgs = append(pkgs, f)
			}
		}
	}
	if len(missing) == 0 {
		return
	}
	missingPeer(t, fmt.Sprintf("%s not found in PATH; install with: apt-get install %s (scripts/test.sh does this when run as root)",
		strings.Join(missing, ", "), strings.Join(pkgs, " ")))
}

// missingPeer skips the test, or fails it under CI.
func missingPeer(t TB, msg string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true: %s", msg)
	}
	t.Skipf("%s", msg)
}

// ModuleRoot returns the directory holding the module's go.mod, found by
// walking up from the working directory (a package directory under go test).
func ModuleRoot(t TB) string {
	t.Helper()
	dir, err := moduleRoot()
	if err != nil {
		t.Fatalf("peertest: %v", err)
	}
	return dir
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for range 64 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", errors.New("find module root: no go.mod above the working directory")
}

// testdataDir returns override if set, else ROOT/testdata/name.
func testdataDir(t TB, override, name string) string {
	t.Helper()
	if override != "" {
		abs, err := filepath.Abs(override)
		if err != nil {
			t.Fatalf("peertest: %v", err)
		}
		return abs
	}
	return filepath.Join(ModuleRoot(t), "testdata", name)
}

// copyDir copies the regular files of src (recursively) into dst.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// logBuffer is an io.Writer keeping the last max bytes written. It is safe
// for concurrent use.
type logBuffer struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int64
}

func newLogBuffer(max int) *logBuffer { return &logBuffer{max: max} }

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 2*b.max {
		cut := len(b.buf) - b.max
		b.dropped += int64(cut)
		b.buf = append(b.buf[:0], b.buf[cut:]...)
	}
	return len(p), nil
}

// String returns the kept bytes, noting how many earlier bytes were dropped.
func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, dropped := b.buf, b.dropped
	if len(data) > b.max {
		dropped += int64(len(data) - b.max)
		data = data[len(data)-b.max:]
	}
	if dropped > 0 {
		return fmt.Sprintf("[... %d earlier bytes dropped ...]\n%s", dropped, data)
	}
	return string(data)
}

// waitFor polls cond every step until it returns true or an error, the
// process exits, or the deadline passes.
func waitFor(p *proc, timeout, step time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited early (%v)", p.name, p.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v", timeout)
		}
		time.Sleep(step)
	}
}
