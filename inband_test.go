package voipkit

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/call"
)

// connectedPair has a dial b (which answers automatically) directly and
// returns both ends once connected.
func connectedPair(t *testing.T, ctx context.Context, a, b *testPhone, ca, cb *int, opts ...DialOption) (out, in *Call) {
	t.Helper()
	out = dialPeer(t, ctx, a, b, opts...)
	waitEvent(t, a, ca, 5*time.Second, callState(out, CallConnected))
	ev := waitEvent(t, b, cb, 5*time.Second, func(e *CallStateEvent) bool { return e.State == CallConnected })
	return out, ev.Call
}

// expectDigits waits for the DTMF events of digits on call c of p, in
// order, with method m.
func expectDigits(t *testing.T, p *testPhone, cur *int, c *Call, digits string, m call.DTMFMethod) {
	t.Helper()
	for _, d := range digits {
		ev := waitEvent(t, p, cur, 5*time.Second, func(e *DTMFEvent) bool { return e.Call == c })
		if ev.Digit != d || ev.Method != m || ev.Duration < 40*time.Millisecond || ev.Duration > 300*time.Millisecond {
			t.Fatalf("DTMF event %c %s %v, want %c %s, 40-300 ms", ev.Digit, ev.Method, ev.Duration, d, m)
		}
	}
}

// TestInbandDTMFPhoneToPhone: over G.711, digits sent in-band arrive as
// DTMFEvent with Method Inband, both ways, and no telephone-event is sent.
func TestInbandDTMFPhoneToPhone(t *testing.T) {
	leakCheck(t)
	a := newTestPhone(t, Config{DTMFMethod: call.DTMFInband, Codecs: []string{"PCMA"}})
	b := newTestPhone(t, Config{DTMFMethod: call.DTMFInband, AutoAnswer: AutoAnswerPolicy{Always: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ca, cb := 0, 0
	out, in := connectedPair(t, ctx, a, b, &ca, &cb, WithSource(audio.NewTone(0.1, 440)))
	if out.Codec() != "PCMA" {
		t.Fatalf("codec %q", out.Codec())
	}
	if m := out.DTMFMethod(); m != call.DTMFInband {
		t.Fatalf("default method %s", m)
	}
	time.Sleep(200 * time.Millisecond)
	if err := out.SendDTMF(ctx, "19,#", call.DTMFUnknown); err != nil {
		t.Fatal(err)
	}
	expectDigits(t, b, &cb, in, "19#", call.DTMFInband)
	if err := in.SendDTMF(ctx, "*0D", call.DTMFInband); err != nil {
		t.Fatal(err)
	}
	expectDigits(t, a, &ca, out, "*0D", call.DTMFInband)
	if n := in.Stats().TelephoneEvents + out.Stats().TelephoneEvents; n != 0 {
		t.Errorf("%d telephone-event packets for in-band digits", n)
	}
	if err := out.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

// segmentLevels returns the level of freq and the RMS of the captured
// audio from sample index from on.
func segmentLevels(c *audio.Capture, from int, freq float64) (tone, rms float64) {
	s := c.Samples()[from:]
	return math.Sqrt(audio.Goertzel(s, c.SampleRate(), freq)), audio.RMS(s)
}

// TestMutePhoneToPhone: muting the microphone silences the far side's
// capture while RTP keeps flowing; unmuting brings the tone back. A muted
// speaker stops the local capture.
func TestMutePhoneToPhone(t *testing.T) {
	leakCheck(t)
	a := newTestPhone(t, Config{})
	b := newTestPhone(t, Config{AutoAnswer: AutoAnswerPolicy{Always: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ca, cb := 0, 0
	out, in := connectedPair(t, ctx, a, b, &ca, &cb, WithSource(audio.NewTone(0.5, 1000)))
	heard := audio.NewCapture(8000, 20*time.Second)
	in.SetSink(heard)
	waitCaptured(t, heard, time.Second, 5*time.Second)
	if l, _ := segmentLevels(heard, heard.Len()-4000, 1000); l < 0.2 {
		t.Fatalf("tone at %.3f before muting", l)
	}

	out.Mute(true, false)
	if mic, spk := out.Muted(); !mic || spk {
		t.Fatalf("Muted() = %v, %v", mic, spk)
	}
	time.Sleep(300 * time.Millisecond) // the jitter buffer drains
	from, recv := heard.Len(), in.Stats().PacketsReceived
	time.Sleep(time.Second)
	tone, rms := segmentLevels(heard, from, 1000)
	if tone >= 0.01 || rms >= 0.01 {
		t.Errorf("muted mic: far side hears tone %.4f, RMS %.4f", tone, rms)
	}
	if got := in.Stats().PacketsReceived - recv; got < 10 {
		t.Errorf("only %d packets in a second while muted", got)
	}

	out.Mute(false, false)
	time.Sleep(300 * time.Millisecond)
	from = heard.Len()
	time.Sleep(700 * time.Millisecond)
	if l, _ := segmentLevels(heard, from, 1000); l < 0.2 {
		t.Errorf("tone at %.3f after unmute", l)
	}

	in.Mute(false, true)
	time.Sleep(100 * time.Millisecond)
	from = heard.Len()
	time.Sleep(500 * time.Millisecond)
	if n := heard.Len() - from; n != 0 {
		t.Errorf("speaker muted, yet %d samples captured", n)
	}
	in.Mute(false, false)
	waitCaptured(t, heard, heard.Duration()+500*time.Millisecond, 3*time.Second)
	if err := out.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}
