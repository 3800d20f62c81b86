package voipkit

import (
	"context"
	"testing"
	"time"

	"github.com/voipkit/voipkit/internal/peertest"
)

// TestInteropSippSessionTimerRefresh: sipp grants a 4 s session timer
// that we refresh; sipp fails unless the refresh (UPDATE, as it allows
// UPDATE) arrives before it expects the BYE.
func TestInteropSippSessionTimerRefresh(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, c := dialSipp(ctx, t, p, "uas_timer_refresh")
	cur := 0
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	if err := s.WaitMessage(ctx, "UPDATE sip:"); err != nil {
		t.Fatalf("no refresh sent: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	if s := c.State(); s != CallConnected {
		t.Fatalf("call %s after refresh", s)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	requireSippOK(t, s.Wait(ctx))
}

// TestInteropSippSessionTimerExpiry: sipp is the refresher of a 6 s
// session and never refreshes; we hang up before the interval ends.
func TestInteropSippSessionTimerExpiry(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, c := dialSipp(ctx, t, p, "uas_timer_expire")
	cur := 0
	up := waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	end := waitEvent(t, p, &cur, 10*time.Second, callState(c, CallTerminated))
	if end.Cause.Reason != "session timer expired" || end.Cause.By.String() != "system" {
		t.Fatalf("cause %v", end.Cause)
	}
	if d := end.Time().Sub(up.Time()); d < 3*time.Second || d > 6*time.Second {
		t.Fatalf("expired after %v, want about 4 s (6 s - 6 s/3)", d)
	}
	requireSippOK(t, s.Wait(ctx))
}

// TestInteropSippSessionTimer422: sipp answers 422 with Min-SE 1900; we
// retry with a Session-Expires of at least 1900 and the call connects.
func TestInteropSippSessionTimer422(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{SessionExpires: 300 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, c := dialSipp(ctx, t, p, "uas_422")
	cur := 0
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	requireSippOK(t, s.Wait(ctx))
}

// TestInteropSippSessionTimerUAS: sipp calls and asks us (the callee) to
// refresh a 4 s session; sipp fails unless our UPDATE arrives in time.
func TestInteropSippSessionTimerUAS(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{MinSE: 2 * time.Second, AutoAnswer: AutoAnswerPolicy{Always: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := peertest.RunSipp(ctx, t, "uac_timer", "-s", "1002", sippTarget(p))
	requireSippOK(t, r)
	cur := 0
	in := waitEvent(t, p, &cur, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	end := waitEvent(t, p, &cur, 5*time.Second, callState(in.Call, CallTerminated))
	if end.Cause.By.String() != "remote" {
		t.Fatalf("cause %v", end.Cause)
	}
}

// TestSessionTimerTooSmall: a caller asking for less than our Min-SE gets
// 422 and retries with our minimum.
func TestSessionTimerTooSmall(t *testing.T) {
	leakCheck(t)
	a := newTestPhone(t, Config{SessionExpires: 30 * time.Second, MinSE: 30 * time.Second})
	b := newTestPhone(t, Config{MinSE: 120 * time.Second, AutoAnswer: AutoAnswerPolicy{Always: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := dialPeer(t, ctx, a, b)
	ca := 0
	waitEvent(t, a, &ca, 5*time.Second, callState(c, CallConnected))
	_ = c.Hangup(ctx)
}
