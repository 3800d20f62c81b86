package voipkit

import (
	"context"
	"testing"
	"time"

	"github.com/voipkit/voipkit/internal/peertest"
)

// sentStops reports whether c's sent-packet count stays still over a while.
func sentStops(c *Call) bool {
	time.Sleep(200 * time.Millisecond) // let packets in flight settle
	before := c.Stats().PacketsSent
	time.Sleep(400 * time.Millisecond)
	return c.Stats().PacketsSent == before
}

func receivedGrows(c *Call) bool {
	before := c.Stats().PacketsReceived
	time.Sleep(400 * time.Millisecond)
	return c.Stats().PacketsReceived > before+5
}

func TestInteropKamailioHold(t *testing.T) {
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

	if err := c.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	h := waitEvent(t, a, ca, 5*time.Second, func(e *CallHoldEvent) bool { return e.Call == c })
	if !h.LocalHold || h.RemoteHold {
		t.Fatalf("caller hold event %+v", h)
	}
	h = waitEvent(t, b, cb, 5*time.Second, func(e *CallHoldEvent) bool { return e.Call == in.Call })
	if !h.RemoteHold || h.LocalHold {
		t.Fatalf("callee hold event %+v", h)
	}
	if !sentStops(in.Call) {
		t.Error("held callee keeps sending RTP")
	}
	if !receivedGrows(in.Call) {
		t.Error("callee stopped receiving the holder's RTP (sendonly)")
	}

	// The callee resumes nothing; the caller unholds.
	if err := c.Unhold(ctx); err != nil {
		t.Fatal(err)
	}
	h = waitEvent(t, b, cb, 5*time.Second, func(e *CallHoldEvent) bool { return e.Call == in.Call })
	if h.RemoteHold {
		t.Fatalf("callee still sees remote hold: %+v", h)
	}
	if !receivedGrows(c) {
		t.Error("caller receives no RTP after unhold")
	}
	if local, remote := c.OnHold(); local || remote {
		t.Fatalf("caller OnHold = %v %v", local, remote)
	}

	// Hold from the callee's side works the same way.
	if err := in.Call.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	h = waitEvent(t, a, ca, 5*time.Second, func(e *CallHoldEvent) bool { return e.Call == c && e.RemoteHold })
	if h.LocalHold {
		t.Fatalf("caller's hold flags %+v", h)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, b, cb, 5*time.Second, callState(in.Call, CallTerminated))
}

func TestInteropBaresipHold(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	u2 := kam.User("1002")
	b := peertest.StartBaresip(t, peertest.BaresipOptions{User: u2.Name, Password: u2.Password, Registrar: kam.Addr()})
	p, cur := registeredPhone(t, kam, "1001", Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := p.Dial(ctx, u2.Name)
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	if _, err := b.WaitEvent(ctx, "CALL_ESTABLISHED"); err != nil {
		t.Fatal(err)
	}
	// We hold baresip: it must stop sending to us.
	if err := c.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if receivedGrows(c) {
		t.Error("baresip keeps sending while held")
	}
	if err := c.Unhold(ctx); err != nil {
		t.Fatal(err)
	}
	if !receivedGrows(c) {
		t.Error("no RTP from baresip after unhold")
	}
	// baresip holds us: we see remote hold, then resume.
	if _, err := b.Command(ctx, "hold", ""); err != nil {
		t.Fatal(err)
	}
	h := waitEvent(t, p, &cur, 5*time.Second, func(e *CallHoldEvent) bool { return e.Call == c && e.RemoteHold })
	if h.LocalHold {
		t.Fatalf("hold event %+v", h)
	}
	if _, err := b.Command(ctx, "resume", ""); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, p, &cur, 5*time.Second, func(e *CallHoldEvent) bool { return e.Call == c && !e.RemoteHold })
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
		t.Fatal(err)
	}
}
