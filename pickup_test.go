package voipkit

import (
	"context"
	"testing"
	"time"

	"github.com/voipkit/voipkit/internal/peertest"
	"github.com/voipkit/voipkit/presence"
)

// TestInteropKamailioBLFPickup: C watches extension 1002; while A's call
// rings at B, C picks it up with an INVITE/Replaces to A built from the
// dialog-info. A answers C and cancels its call to B.
func TestInteropKamailioBLFPickup(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	a, b, ca, cb := registerPair(t, kam)
	c, cc := registerThird(t, kam)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := watchFor(t)(c.WatchBLF(ctx, "1002"))
	ringing := func(e *BLFEvent) bool { return e.Extension == "1002" && e.State == presence.StateRinging }

	ab, err := a.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	inB := waitEvent(t, b, cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if err := inB.Call.Ring(); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, ca, 5*time.Second, callState(ab, CallRinging))
	waitEvent(t, c, cc, 10*time.Second, ringing)

	picked, err := c.Pickup(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	repl := waitEvent(t, a, ca, 5*time.Second, func(e *IncomingCallEvent) bool { return e.Replaces != nil })
	if repl.Replaces != ab {
		t.Fatalf("pickup replaced %v, want A's ringing call", repl.Replaces)
	}
	waitEvent(t, c, cc, 5*time.Second, callState(picked, CallConnected))
	end := waitEvent(t, b, cb, 5*time.Second, callState(inB.Call, CallTerminated))
	if end.Cause.Code != 487 {
		t.Fatalf("B's ringing call ended %v, want 487", end.Cause)
	}
	_ = picked.Hangup(ctx)
	waitEvent(t, a, ca, 5*time.Second, callState(repl.Call, CallTerminated))
}

// TestPickupFeatureCode: with a PBX pickup code the Phone dials code+ext.
func TestPickupFeatureCode(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{PickupCode: "*8"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := peertest.StartSipp(ctx, t, "uas_reject")
	if _, err := p.AddAccount(AccountConfig{Server: s.Addr(), User: "1003", DisableRegistration: true}); err != nil {
		t.Fatal(err)
	}
	w := &Watch{target: "1002"}
	c, err := p.Pickup(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if c.RemoteURI().User != "*81002" {
		u := c.RemoteURI()
		t.Fatalf("pickup dialled %s", u.String())
	}
	requireSippOK(t, s.Wait(ctx))
}
