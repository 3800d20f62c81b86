package voipkit

import (
	"context"
	"testing"
	"time"

	"github.com/voipkit/voipkit/internal/peertest"
)

// TestInteropSippPRACK: reliable provisional responses both ways. As the
// caller we PRACK sipp's 183 with early media; as the callee we send a
// reliable 180 when sipp requires 100rel and wait for its PRACK.
func TestInteropSippPRACK(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	t.Run("UAC", func(t *testing.T) {
		p := newTestPhone(t, Config{})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s := peertest.StartSipp(ctx, t, "uas_prack")
		c, err := p.Dial(ctx, "sip:1002@"+s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		cur := 0
		early := waitEvent(t, p, &cur, 5*time.Second, callState(c, CallEarlyMedia))
		if early.Code != 183 {
			t.Fatalf("early media on %d", early.Code)
		}
		waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
		if err := c.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		requireSippOK(t, s.Wait(ctx))
	})
	t.Run("UAS", func(t *testing.T) {
		p := newTestPhone(t, Config{})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s := peertest.StartSipp(ctx, t, "uac_prack", "-s", "1002", sippTarget(p))
		cur := 0
		in := waitEvent(t, p, &cur, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
		if err := in.Call.Ring(); err != nil {
			t.Fatal(err)
		}
		if err := in.Call.Answer(ctx); err != nil {
			t.Fatal(err)
		}
		end := waitEvent(t, p, &cur, 10*time.Second, callState(in.Call, CallTerminated))
		if end.Cause.By.String() != "remote" {
			t.Fatalf("cause %v", end.Cause)
		}
		requireSippOK(t, s.Wait(ctx))
	})
}
