package voipkit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/voipkit/voipkit/internal/peertest"
)

// registerThird registers a third Phone as 1003.
func registerThird(t *testing.T, kam *peertest.Kamailio) (*testPhone, *int) {
	t.Helper()
	c, cur := registeredPhone(t, kam, "1003", Config{})
	return c, &cur
}

// connectedThree starts Kamailio with Phones A (1001), B (1002) and C
// (1003) registered, and connects a call from A to B. It returns the
// Phones, their event cursors, and A's and B's ends of the call.
func connectedThree(t *testing.T, ctx context.Context) (a, b, c *testPhone, ca, cb, cc *int, ab, ba *Call) {
	t.Helper()
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	a, b, ca, cb = registerPair(t, kam)
	c, cc = registerThird(t, kam)
	ab, err := a.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	ba = waitEvent(t, b, cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil)).Call
	if err := ba.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, ca, 5*time.Second, callState(ab, CallConnected))
	return a, b, c, ca, cb, cc, ab, ba
}

// TestInteropKamailioBlindTransfer: A calls B, A transfers B to C with
// REFER; B calls C, C answers, A sees the NOTIFY progress to 200 and its
// call ends, B and C stay connected.
func TestInteropKamailioBlindTransfer(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b, c, ca, cb, cc, ab, ba := connectedThree(t, ctx)

	if err := a.Transfer(ctx, ab, "1003"); err != nil {
		t.Fatal(err)
	}
	req := waitEvent(t, b, cb, 5*time.Second, (func(*TransferRequestEvent) bool)(nil))
	if req.NewCall == nil || !strings.Contains(req.Target, "1003") {
		t.Fatalf("transfer request %+v", req)
	}
	inC := waitEvent(t, c, cc, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if !strings.Contains(inC.From, "1002") {
		t.Fatalf("C's caller = %s, want 1002", inC.From)
	}
	if err := inC.Call.Ring(); err != nil {
		t.Fatal(err)
	}
	if err := inC.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	var codes []int
	for {
		ev := waitEvent(t, a, ca, 5*time.Second, func(e *TransferEvent) bool { return e.Call == ab })
		codes = append(codes, ev.Code)
		if ev.Final {
			if ev.Code != 200 {
				t.Fatalf("transfer ended with %d %s", ev.Code, ev.Reason)
			}
			break
		}
	}
	if codes[0] != 100 {
		t.Fatalf("progress codes %v, want 100 first", codes)
	}
	end := waitEvent(t, a, ca, 5*time.Second, callState(ab, CallTerminated))
	if end.Cause.Reason != "transferred" {
		t.Fatalf("transferor's call ended with %v", end.Cause)
	}
	waitEvent(t, b, cb, 5*time.Second, callState(ba, CallTerminated))
	if s := req.NewCall.State(); s != CallConnected {
		t.Fatalf("B-C call is %s", s)
	}
	if err := req.NewCall.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, c, cc, 5*time.Second, callState(inC.Call, CallTerminated))
}

// TestInteropKamailioBlindTransferFails: the target rejects, the
// transferor sees the failure and keeps its call.
func TestInteropKamailioBlindTransferFails(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, _, c, ca, _, cc, ab, _ := connectedThree(t, ctx)
	if err := a.Transfer(ctx, ab, "1003"); err != nil {
		t.Fatal(err)
	}
	inC := waitEvent(t, c, cc, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if err := inC.Call.Reject(486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, a, ca, 5*time.Second, func(e *TransferEvent) bool { return e.Call == ab && e.Final })
	if ev.Code != 486 {
		t.Fatalf("final transfer code %d, want 486", ev.Code)
	}
	time.Sleep(300 * time.Millisecond)
	if s := ab.State(); s != CallConnected {
		t.Fatalf("transferor's call is %s after a failed transfer", s)
	}
	if err := ab.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestInteropBaresipBlindTransfer: the Phone transfers baresip to another
// Phone; baresip carries out the REFER.
func TestInteropBaresipBlindTransfer(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	u2 := kam.User("1002")
	peertest.StartBaresip(t, peertest.BaresipOptions{User: u2.Name, Password: u2.Password, Registrar: kam.Addr()})
	a := newTestPhone(t, Config{})
	u1 := kam.User("1001")
	if _, err := a.AddAccount(AccountConfig{Server: kam.Addr(), User: u1.Name, Password: u1.Password}); err != nil {
		t.Fatal(err)
	}
	ca := 0
	waitEvent(t, a, &ca, 5*time.Second, registered)
	c, cc := registerThird(t, kam)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ab, err := a.Dial(ctx, u2.Name)
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, &ca, 5*time.Second, callState(ab, CallConnected))
	if err := a.Transfer(ctx, ab, "1003"); err != nil {
		t.Fatal(err)
	}
	inC := waitEvent(t, c, cc, 10*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if !strings.Contains(inC.From, "1002") {
		t.Fatalf("C's caller = %s, want baresip's 1002", inC.From)
	}
	if err := inC.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, a, &ca, 10*time.Second, func(e *TransferEvent) bool { return e.Call == ab && e.Final })
	if ev.Code != 200 {
		t.Fatalf("transfer final %d %s", ev.Code, ev.Reason)
	}
	waitEvent(t, a, &ca, 5*time.Second, callState(ab, CallTerminated))
	if err := inC.Call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestInteropKamailioAttendedTransfer: A talks to B, puts B on hold,
// consults C, then joins B and C (REFER with Replaces); C's Phone accepts
// B's INVITE with Replaces and drops its call with A.
func TestInteropKamailioAttendedTransfer(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b, c, ca, cb, cc, ab, _ := connectedThree(t, ctx)
	if err := ab.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	ac, err := a.Dial(ctx, "1003")
	if err != nil {
		t.Fatal(err)
	}
	inC := waitEvent(t, c, cc, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if err := inC.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, ca, 5*time.Second, callState(ac, CallConnected))

	from := *ca // the events below come in any order
	if err := a.TransferAttended(ctx, ab, ac); err != nil {
		t.Fatal(err)
	}
	repl := waitEvent(t, c, cc, 5*time.Second, func(e *IncomingCallEvent) bool { return e.Replaces != nil })
	if repl.Replaces != inC.Call || !strings.Contains(repl.From, "1002") {
		t.Fatalf("replacing call from %s replaces %v", repl.From, repl.Replaces)
	}
	waitEvent(t, c, cc, 5*time.Second, callState(repl.Call, CallConnected))
	ev := waitEvent(t, a, ca, 5*time.Second, func(e *TransferEvent) bool { return e.Call == ab && e.Final })
	if ev.Code != 200 {
		t.Fatalf("transfer final %d %s", ev.Code, ev.Reason)
	}
	waitEvent(t, a, ca, 5*time.Second, callState(ab, CallTerminated))
	end := waitEvent(t, a, &from, 5*time.Second, callState(ac, CallTerminated))
	if end.Cause.By.String() != "remote" {
		t.Fatalf("consultation call ended %v, want by C", end.Cause)
	}
	req := waitEvent(t, b, cb, 5*time.Second, (func(*TransferRequestEvent) bool)(nil))
	if req.NewCall == nil || req.NewCall.State() != CallConnected {
		t.Fatalf("B's new call: %+v", req.NewCall)
	}
	if len(a.Calls()) != 0 {
		t.Fatalf("transferor still has %d calls", len(a.Calls()))
	}
	_ = req.NewCall.Hangup(ctx)
	waitEvent(t, c, cc, 5*time.Second, callState(repl.Call, CallTerminated))
}
