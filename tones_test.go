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

// TestDisableVoiceActivity: with DisableVoiceActivity a call carrying a
// tone both ways reports no voice activity on that Phone (its periodic
// levels stay), while the default Phone at the other end reports it.
func TestDisableVoiceActivity(t *testing.T) {
	leakCheck(t)
	a := newTestPhone(t, Config{DisableVoiceActivity: true, LevelInterval: 200 * time.Millisecond})
	b := newTestPhone(t, Config{AutoAnswer: AutoAnswerPolicy{Always: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ca, cb := 0, 0
	out := dialPeer(t, ctx, a, b, WithSource(audio.NewTone(0.3, 1000)))
	in := waitEvent(t, b, &cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil)).Call
	in.SetSource(audio.NewTone(0.3, 700))
	waitEvent(t, a, &ca, 5*time.Second, callState(out, CallConnected))
	waitEvent(t, b, &cb, 5*time.Second, func(e *VoiceActivityEvent) bool { return e.Call == in && e.Direction == AudioRemote && e.Speaking })
	lv := waitEvent(t, a, &ca, 5*time.Second, func(e *LevelEvent) bool { return e.Call == out && e.Direction == AudioRemote && e.RMS > -20 })
	if lv.Speaking {
		t.Errorf("level event says speaking with voice activity off: %+v", lv)
	}
	a.log.mu.Lock()
	for _, e := range a.log.events {
		if v, ok := e.(*VoiceActivityEvent); ok {
			t.Errorf("voice activity reported with DisableVoiceActivity: %+v", v)
		}
	}
	a.log.mu.Unlock()
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

// TestFailureTones: with Config.FailureTone, a call the callee rejects
// with 486 plays the plan's busy tone into the caller's sink, one
// rejected with 503 the congestion tone at its faster cadence, and one
// the caller cancels plays nothing.
func TestFailureTones(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := newTestPhone(t, Config{})
	cb := 0
	for _, tt := range []struct {
		name   string
		plan   TonePlan
		code   int // 0: the caller cancels
		freqs  []float64
		period time.Duration // of the cadence's on-off cycle
	}{
		{"Busy/US", audio.PlanUS(), 486, []float64{480, 620}, time.Second},
		{"Congestion/Europe", audio.PlanEurope(), 503, []float64{425}, 500 * time.Millisecond},
		{"Cancelled", audio.PlanUS(), 0, nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestPhone(t, Config{FailureTone: 2 * time.Second, TonePlan: tt.plan, DisableLocalRingback: true})
			ca := 0
			capture := audio.NewCapture(8000, time.Minute)
			out := dialPeer(t, ctx, a, b, WithSink(capture))
			in := waitEvent(t, b, &cb, 5*time.Second, func(e *IncomingCallEvent) bool { return e.Call.RemoteURI().User == out.LocalURI().User }).Call
			if tt.code == 0 {
				if err := out.Hangup(ctx); err != nil {
					t.Fatal(err)
				}
			} else if err := in.Reject(tt.code, ""); err != nil {
				t.Fatal(err)
			}
			end := waitEvent(t, a, &ca, 5*time.Second, callState(out, CallTerminated))
			if tt.code == 0 {
				// Give a tone every chance to start before checking that
				// none did.
				time.Sleep(500 * time.Millisecond)
				if d := capture.Duration(); d != 0 {
					t.Fatalf("%v of audio after cancelling (cause %v)", d, end.Cause)
				}
				return
			}
			if end.Cause.Code != tt.code {
				t.Fatalf("cause %v, want %d", end.Cause, tt.code)
			}
			waitCaptured(t, capture, 1900*time.Millisecond, 5*time.Second)
			s := capture.Samples()
			// The frequencies, within the first burst (bursts need not
			// be in phase with each other).
			start := 0
			for start+160 <= len(s) && audio.RMS(s[start:start+160]) < 0.02 {
				start += 160
			}
			burst := s[start:min(start+1600, len(s))]
			for _, f := range tt.freqs {
				if lvl := math.Sqrt(audio.Goertzel(burst, 8000, f)); lvl < 0.05 {
					t.Errorf("%v Hz at %.3f", f, lvl)
				}
			}
			if lvl := math.Sqrt(audio.Goertzel(burst, 8000, 1000)); lvl > 0.02 {
				t.Errorf("1000 Hz at %.3f in a call-progress tone", lvl)
			}
			// The cadence: count the on-off cycles in 20 ms energy steps.
			cycles, on := 0, false
			for i := 0; i+160 <= len(s); i += 160 {
				loud := audio.RMS(s[i:i+160]) > 0.02
				if loud && !on {
					cycles++
				}
				on = loud
			}
			if want := int(capture.Duration() / tt.period); cycles < want-1 || cycles > want+1 {
				t.Errorf("%d tone bursts in %v, want about %d", cycles, capture.Duration(), want)
			}
			// The tone ends by itself after FailureTone: 100 frames of 20 ms.
			waitCaptured(t, capture, 2*time.Second, 5*time.Second)
			time.Sleep(200 * time.Millisecond)
			if d := capture.Duration(); d != 2*time.Second {
				t.Errorf("%v of tone, want 2s", d)
			}
		})
	}
}
