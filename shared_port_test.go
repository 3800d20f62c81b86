package voipkit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/voipkit/voipkit/audio"
)

// TestSharedMediaPortCalls: two Phones with SharedMediaPort hold three
// calls at once, each call's media on the same port pair as the others
// at both ends; every end hears its own peer's tone and no other.
func TestSharedMediaPortCalls(t *testing.T) {
	leakCheck(t)
	a := newTestPhone(t, Config{SharedMediaPort: true})
	b := newTestPhone(t, Config{SharedMediaPort: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const calls = 3
	toneA := func(i int) float64 { return 500 + 250*float64(i) }
	toneB := func(i int) float64 { return 1400 + 250*float64(i) }
	var (
		outgoing, incoming [calls]*Call
		heardA, heardB     [calls]*audio.Capture
	)
	ca, cb := 0, 0
	for i := range calls {
		heardA[i] = audio.NewCapture(8000, 10*time.Second)
		outgoing[i] = dialPeer(t, ctx, a, b, WithSource(audio.NewTone(0.5, toneA(i))), WithSink(heardA[i]))
		in := waitEvent(t, b, &cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
		heardB[i] = audio.NewCapture(8000, 10*time.Second)
		in.Call.SetSink(heardB[i])
		in.Call.SetSource(audio.NewTone(0.5, toneB(i)))
		if err := in.Call.Answer(ctx); err != nil {
			t.Fatal(err)
		}
		incoming[i] = in.Call
		waitEvent(t, a, &ca, 5*time.Second, callState(outgoing[i], CallConnected))
	}
	for i := range calls {
		waitCaptured(t, heardA[i], 2*time.Second, 10*time.Second)
		waitCaptured(t, heardB[i], 2*time.Second, 10*time.Second)
	}
	for i := range calls {
		for j := range calls {
			want := func(l float64) bool { return l < 0.02 } // another call's tone
			if i == j {
				want = func(l float64) bool { return l > 0.2 }
			}
			if l := toneLevel(heardB[i], toneA(j)); !want(l) {
				t.Errorf("call %d: B heard call %d's %.0f Hz at %.3f", i, j, toneA(j), l)
			}
			if l := toneLevel(heardA[i], toneB(j)); !want(l) {
				t.Errorf("call %d: A heard call %d's %.0f Hz at %.3f", i, j, toneB(j), l)
			}
		}
	}
	for i := range calls {
		sa, sb := outgoing[i].Stats(), incoming[i].Stats()
		t.Logf("call %d: A sends to %v, B sends to %v", i, sa.RemoteAddr, sb.RemoteAddr)
		if sa.RemoteAddr != outgoing[0].Stats().RemoteAddr || sb.RemoteAddr != incoming[0].Stats().RemoteAddr {
			t.Errorf("call %d does not share the port pair: %v, %v", i, sa.RemoteAddr, sb.RemoteAddr)
		}
		if sb.PacketsLost != 0 || sb.Garbage != 0 {
			t.Errorf("call %d at B: lost %d, garbage %d", i, sb.PacketsLost, sb.Garbage)
		}
	}
	for i := range calls {
		if err := outgoing[i].Hangup(ctx); err != nil {
			t.Fatal(fmt.Errorf("call %d: %w", i, err))
		}
		waitEvent(t, b, &cb, 5*time.Second, callState(incoming[i], CallTerminated))
	}
}
