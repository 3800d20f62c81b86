package peertest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// proc is a started peer process.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // Wait's result, valid after done
	end  time.Time     // when the process exited, valid after done

	readers []*os.File     // read ends of the output pipes
	copying sync.WaitGroup // output copiers
	stopped sync.Once
	reaped  sync.Once
}

// startProc starts bin with args in dir, copying its stdout and stderr
// into the given writers (one pipe when they are the same). The process
// gets its own process group, so that children it leaves behind can be
// killed with it, and is killed if the test binary dies.
func startProc(name, dir string, stdout, stderr io.Writer, bin string, args ...string) (*proc, error) {
	p := &proc{name: name, done: make(chan struct{})}
	if path, err := lookPath(bin); err == nil {
		bin = path
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var writers []*os.File
	pipe := func(dst io.Writer) (*os.File, error) {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		p.readers = append(p.readers, r)
		writers = append(writers, w)
		return w, nil
	}
	closeAll := func() {
		for _, f := range append(writers, p.readers...) {
			_ = f.Close()
		}
	}
	outW, err := pipe(stdout)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	errW := outW
	dsts := []io.Writer{stdout}
	if stderr != stdout {
		if errW, err = pipe(stderr); err != nil {
			closeAll()
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		dsts = append(dsts, stderr)
	}
	// *os.File outputs are handed to the child as they are: exec starts no
	// copying goroutine and Wait returns as soon as the process has exited.
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		closeAll()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	for _, w := range writers {
		_ = w.Close()
	}
	p.cmd = cmd
	for i, r := range p.readers {
		p.copying.Add(1)
		go func(dst io.Writer, r *os.File) {
			defer p.copying.Done()
			_, _ = io.Copy(dst, r)
		}(dsts[i], r)
	}
	go func() {
		p.err = cmd.Wait()
		p.end = time.Now()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode waits for the process to exit and returns its exit code (-1
// when a signal killed it).
func (p *proc) exitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}

// killGroup sends SIGKILL to the process group.
func (p *proc) killGroup() {
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = p.cmd.Process.Kill()
	}
}

// stop sends SIGTERM, waits up to grace, then SIGKILLs the process group
// and waits for the process; then it reaps the group (see reap). It
// reports whether SIGKILL was needed and is safe to call more than once.
func (p *proc) stop(grace time.Duration) (killed bool) {
	p.stopped.Do(func() {
		if !p.exited() {
			// SIGTERM is repeated: a peer that is still starting up can
			// miss the first one (Kamailio's main process records a signal
			// that arrives before it pauses and then sleeps until the next).
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			timer := time.NewTimer(grace)
			ticker := time.NewTicker(100 * time.Millisecond)
		wait:
			for {
				select {
				case <-p.done:
					break wait
				case <-ticker.C:
					_ = p.cmd.Process.Signal(syscall.SIGTERM)
				case <-timer.C:
					killed = true
					p.killGroup()
					<-p.done
					break wait
				}
			}
			ticker.Stop()
			timer.Stop()
		}
		p.reap()
	})
	return killed
}

// reap runs once the process has exited: it kills whatever is left in its
// process group (children that outlived it would keep the output pipes
// open) and waits for the output copiers, closing the pipes after 2 s.
func (p *proc) reap() {
	<-p.done
	p.reaped.Do(func() {
		p.killGroup()
		copied := make(chan struct{})
		go func() {
			p.copying.Wait()
			close(copied)
		}()
		select {
		case <-copied:
		case <-time.After(2 * time.Second):
			for _, r := range p.readers {
				_ = r.Close()
			}
			<-copied
		}
		for _, r := range p.readers {
			_ = r.Close()
		}
	})
}
