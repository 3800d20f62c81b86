package voipkit

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/voipkit/voipkit/audio"
)

// TestRingbackAndVADPhoneToPhone: A dials B, B rings with 180 and no SDP,
// and A's sink hears the US ringback (440+480 Hz) before the answer.
// After the answer, a tone from B raises a remote VoiceActivityEvent at
// A, and B's switch to silence ends it after the hangover.
func TestRingbackAndVADPhoneToPhone(t *testing.T) {
	leakCheck(t)
	a := newTestPhone(t, Config{VADHangover: 200 * time.Millisecond, LevelInterval: 500 * time.Millisecond})
	b := newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ca, cb := 0, 0
	capture := audio.NewCapture(8000, time.Minute)
	out := dialPeer(t, ctx, a, b, WithSink(capture))
	in := waitEvent(t, b, &cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil)).Call
	if err := in.Ring(); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, &ca, 5*time.Second, callState(out, CallRinging))
	waitCaptured(t, capture, 1500*time.Millisecond, 5*time.Second)
	ring := capture.Samples()
	for _, f := range []float64{440, 480} {
		if lvl := math.Sqrt(audio.Goertzel(ring, 8000, f)); lvl < 0.08 {
			t.Fatalf("ringback %v Hz at %.3f before the answer", f, lvl)
		}
	}
	if lvl := math.Sqrt(audio.Goertzel(ring, 8000, 425)); lvl > 0.03 {
		t.Fatalf("425 Hz at %.3f in US ringback", lvl)
	}

	in.SetSource(audio.NewTone(0.3, 1000))
	if err := in.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, &ca, 5*time.Second, callState(out, CallConnected))
	ev := waitEvent(t, a, &ca, 5*time.Second, func(e *VoiceActivityEvent) bool { return e.Call == out && e.Direction == AudioRemote })
	if !ev.Speaking || ev.Level < -30 {
		t.Fatalf("remote voice activity %+v, want speaking near -13 dBFS", ev)
	}
	lv := waitEvent(t, a, &ca, 5*time.Second, func(e *LevelEvent) bool {
		return e.Call == out && e.Direction == AudioRemote && e.Speaking
	})
	if math.Abs(lv.RMS-audio.DBFS(0.3/math.Sqrt2)) > 2 {
		t.Fatalf("remote level %.1f dBFS, want about %.1f", lv.RMS, audio.DBFS(0.3/math.Sqrt2))
	}
	in.SetSource(audio.Silence{})
	ev = waitEvent(t, a, &ca, 5*time.Second, func(e *VoiceActivityEvent) bool { return e.Call == out && e.Direction == AudioRemote })
	if ev.Speaking {
		t.Fatalf("remote voice activity %+v after silence", ev)
	}
	// The ringback stopped at the answer: once the jitter buffer has
	// drained the tone's tail, the latest audio is silence.
	waitCaptured(t, capture, capture.Duration()+400*time.Millisecond, 5*time.Second)
	s := capture.Samples()
	if r := audio.RMS(s[len(s)-1600:]); r > 0.01 {
		t.Fatalf("audio after the peer went silent at RMS %.3f", r)
	}
	if err := out.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, &ca, 5*time.Second, callState(out, CallTerminated))
}

// TestRingbackDisabledEurope: with DisableLocalRingback nothing is
// written to the sink while ringing; with PlanEurope the ringback is
// 425 Hz.
func TestRingbackDisabledEurope(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, disabled := range []bool{true, false} {
		a := newTestPhone(t, Config{TonePlan: audio.PlanEurope(), DisableLocalRingback: disabled})
		b := newTestPhone(t, Config{})
		ca, cb := 0, 0
		capture := audio.NewCapture(16000, time.Minute)
		out := dialPeer(t, ctx, a, b, WithSink(capture))
		in := waitEvent(t, b, &cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil)).Call
		if err := in.Ring(); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, a, &ca, 5*time.Second, callState(out, CallRinging))
		if disabled {
			time.Sleep(500 * time.Millisecond)
			if n := capture.Len(); n != 0 {
				t.Fatalf("%d samples with local ringback disabled", n)
			}
		} else {
			waitCaptured(t, capture, 800*time.Millisecond, 5*time.Second)
			if lvl := math.Sqrt(audio.Goertzel(capture.Samples(), 16000, 425)); lvl < 0.15 {
				t.Fatalf("Europe ringback 425 Hz at %.3f", lvl)
			}
		}
		if err := out.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, a, &ca, 5*time.Second, callState(out, CallTerminated))
	}
}
