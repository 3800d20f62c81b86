package voipkit

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/voipkit/voipkit/audio"
)

// leakCheck registers a goroutine-leak check that runs after every other
// cleanup of the test (cleanups run last-in first-out).
func leakCheck(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// eventLog records a Phone's events so tests can wait for them in order.
type eventLog struct {
	mu     sync.Mutex
	events []Event
	wake   chan struct{}
	done   chan struct{}
}

// testPhone is a Phone on 127.0.0.1 whose events are recorded.
type testPhone struct {
	*Phone
	log *eventLog
}

func newTestPhone(t *testing.T, cfg Config) *testPhone {
	t.Helper()
	if !cfg.ListenAddr.IsValid() {
		cfg.ListenAddr = netip.MustParseAddrPort("127.0.0.1:0")
	}
	p, err := NewPhone(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := &eventLog{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for ev := range p.Events() {
			l.mu.Lock()
			l.events = append(l.events, ev)
			l.mu.Unlock()
			select {
			case l.wake <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = p.Close()
		<-l.done
	})
	return &testPhone{Phone: p, log: l}
}

// waitEvent returns the first event at index >= *cursor matching match,
// advancing the cursor past it. It fails the test after timeout.
func waitEvent[E Event](t *testing.T, tp *testPhone, cursor *int, timeout time.Duration, match func(E) bool) E {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		tp.log.mu.Lock()
		for i := *cursor; i < len(tp.log.events); i++ {
			if e, ok := tp.log.events[i].(E); ok && (match == nil || match(e)) {
				*cursor = i + 1
				tp.log.mu.Unlock()
				return e
			}
		}
		tp.log.mu.Unlock()
		select {
		case <-tp.log.wake:
		case <-deadline.C:
			var zero E
			tp.log.mu.Lock()
			var seen []string
			for _, e := range tp.log.events {
				seen = append(seen, describe(e))
			}
			tp.log.mu.Unlock()
			t.Fatalf("no %T within %v; events so far: %v", zero, timeout, seen)
			return zero
		}
	}
}

func describe(e Event) string {
	switch e := e.(type) {
	case *RegistrationEvent:
		return "reg:" + e.State.String()
	case *CallStateEvent:
		return "call:" + e.State.String()
	case *IncomingCallEvent:
		return "incoming:" + e.From
	case *CDREvent:
		return "cdr"
	case *CallHoldEvent:
		return fmt.Sprintf("hold(local=%v,remote=%v)", e.LocalHold, e.RemoteHold)
	case *DTMFEvent:
		return fmt.Sprintf("dtmf:%c/%v", e.Digit, e.Method)
	}
	return fmt.Sprintf("%T", e)
}

func callState(c *Call, s CallState) func(*CallStateEvent) bool {
	return func(e *CallStateEvent) bool { return e.Call == c && e.State == s }
}

// toneLevel returns the amplitude (0..1 of full scale) of freq in the
// captured audio, skipping the first 300 ms.
func toneLevel(c *audio.Capture, freq float64) float64 {
	s := c.Samples()
	skip := c.SampleRate() * 3 / 10
	if len(s) <= skip+800 {
		return 0
	}
	return math.Sqrt(audio.Goertzel(s[skip:], c.SampleRate(), freq))
}

// waitCaptured waits until the capture holds at least d of audio.
func waitCaptured(t *testing.T, c *audio.Capture, d time.Duration, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for c.Duration() < d {
		select {
		case <-ctx.Done():
			t.Fatalf("captured only %v of audio, want %v", c.Duration(), d)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
