package voipkit

import (
	"context"
	"testing"
	"time"

	"github.com/voipkit/voipkit/call"
	"github.com/voipkit/voipkit/internal/peertest"
)

// TestInteropKamailioINFO sends DTMF by SIP INFO both ways between two
// Phones through Kamailio, with a pause in the digit string.
func TestInteropKamailioINFO(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	a, b, ca, cb := registerPair(t, kam)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := a.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	in := waitEvent(t, b, cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if err := in.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, ca, 5*time.Second, callState(c, CallConnected))

	if err := c.SendDTMF(ctx, "12 *#", call.DTMFInfo); err != nil {
		t.Fatal(err)
	}
	var got []rune
	for range 4 {
		ev := waitEvent(t, b, cb, 5*time.Second, func(e *DTMFEvent) bool { return e.Call == in.Call })
		if ev.Method != call.DTMFInfo || ev.Duration != 160*time.Millisecond {
			t.Fatalf("DTMF event %+v", ev)
		}
		got = append(got, ev.Digit)
	}
	if string(got) != "12*#" {
		t.Fatalf("callee got %q, want 12*#", string(got))
	}
	// The callee answers with digits of its own.
	if err := in.Call.SendDTMF(ctx, "9D", call.DTMFInfo); err != nil {
		t.Fatal(err)
	}
	for _, want := range "9D" {
		ev := waitEvent(t, a, ca, 5*time.Second, func(e *DTMFEvent) bool { return e.Call == c })
		if ev.Digit != want {
			t.Fatalf("caller got %q, want %q", ev.Digit, want)
		}
	}
	if err := c.SendDTMF(ctx, "x", call.DTMFInfo); err == nil {
		t.Fatal("invalid digit accepted")
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}
