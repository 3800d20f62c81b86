package voipkit

import (
	"context"
	"testing"
	"time"

	"github.com/voipkit/voipkit/call"
	"github.com/voipkit/voipkit/internal/peertest"
)

// TestRFC4733PhoneToPhone: with the default method, digits travel as
// RFC 4733 telephone-events (the peer negotiated them) both ways.
func TestRFC4733PhoneToPhone(t *testing.T) {
	leakCheck(t)
	a := newTestPhone(t, Config{})
	b := newTestPhone(t, Config{AutoAnswer: AutoAnswerPolicy{Always: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ca, cb := 0, 0
	out, in := connectedPair(t, ctx, a, b, &ca, &cb)
	if m := out.DTMFMethod(); m != call.DTMFRFC4733 {
		t.Fatalf("default method %s, want RFC4733", m)
	}
	if err := out.SendDTMF(ctx, "0123456789*#ABCD", call.DTMFUnknown); err != nil {
		t.Fatal(err)
	}
	for _, d := range "0123456789*#ABCD" {
		ev := waitEvent(t, b, &cb, 5*time.Second, func(e *DTMFEvent) bool { return e.Call == in })
		if ev.Digit != d || ev.Method != call.DTMFRFC4733 || ev.Duration != 160*time.Millisecond {
			t.Fatalf("DTMF event %c %s %v, want %c RFC4733 160ms", ev.Digit, ev.Method, ev.Duration, d)
		}
	}
	if err := in.SendDTMF(ctx, "5 5", call.DTMFRFC4733); err != nil {
		t.Fatal(err)
	}
	expectDigits(t, a, &ca, out, "55", call.DTMFRFC4733)
	if st := in.Stats(); st.TelephoneEvents < 16*10 || st.DTMFReceived != 16 {
		t.Errorf("callee received %d telephone-event packets, %d digits", st.TelephoneEvents, st.DTMFReceived)
	}
	if err := out.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestInteropBaresipRFC4733: the Phone calls baresip through Kamailio;
// keys pressed on baresip arrive as RFC 4733 DTMFEvents in order, and
// digits the Phone sends with RFC 4733 arrive at baresip as
// CALL_DTMF_START events.
func TestInteropBaresipRFC4733(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	u2 := kam.User("1002")
	b := peertest.StartBaresip(t, peertest.BaresipOptions{User: u2.Name, Password: u2.Password, Registrar: kam.Addr(),
		AudioSource: peertest.WAVTone(t, "", 1000, 30, 8000, 1)})
	p, cur := registeredPhone(t, kam, "1001", Config{})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := p.Dial(ctx, u2.Name)
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	if _, err := b.WaitEvent(ctx, "CALL_ESTABLISHED"); err != nil {
		t.Fatal(err)
	}
	if m := c.DTMFMethod(); m != call.DTMFRFC4733 {
		t.Fatalf("baresip did not negotiate telephone-event (method %s)", m)
	}
	time.Sleep(300 * time.Millisecond)

	// baresip → Phone.
	const fromBaresip = "159#*0" // baresip 1.0's console sends no A-D
	if err := b.SendDTMF(fromBaresip); err != nil {
		t.Fatal(err)
	}
	for _, d := range fromBaresip {
		ev := waitEvent(t, p, &cur, 5*time.Second, func(e *DTMFEvent) bool { return e.Call == c })
		if ev.Digit != d || ev.Method != call.DTMFRFC4733 {
			t.Fatalf("DTMF event %c %s (%v), want %c RFC4733", ev.Digit, ev.Method, ev.Duration, d)
		}
		t.Logf("from baresip: %c %v", ev.Digit, ev.Duration)
	}

	// Phone → baresip.
	const fromPhone = "2468*#AB"
	after := b.EventCount()
	if err := c.SendDTMF(ctx, fromPhone, call.DTMFRFC4733); err != nil {
		t.Fatal(err)
	}
	for _, d := range fromPhone {
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
		ev, i, err := b.WaitEventAfter(wctx, after, "CALL_DTMF_START")
		wcancel()
		if err != nil {
			t.Fatalf("digit %c: %v", d, err)
		}
		if ev.Param != string(d) {
			t.Fatalf("baresip got DTMF %q, want %q", ev.Param, string(d))
		}
		after = i + 1
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
		t.Fatal(err)
	}
}
