package voipkit

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/internal/peertest"
)

// baresipHeard returns the level of freq in the audio baresip decoded
// (its sndfile dump), read after the peer has stopped.
func baresipHeard(t *testing.T, b *peertest.Baresip, freq float64) float64 {
	t.Helper()
	b.Stop()
	dec := b.DecodedWAVs()
	if len(dec) != 1 {
		t.Fatalf("baresip decoded dumps: %v", dec)
	}
	w, err := peertest.ReadWAV(dec[0])
	if err != nil {
		t.Fatal(err)
	}
	s := w.Channel(0)
	skip := w.SampleRate / 2
	if len(s) < skip+w.SampleRate/2 {
		t.Fatalf("baresip decoded only %.2f s", w.Duration())
	}
	return math.Sqrt(audio.Goertzel(s[skip:], w.SampleRate, freq))
}

// TestInteropBaresipCallAudio: the Phone calls baresip through Kamailio;
// each side verifies the other's tone.
func TestInteropBaresipCallAudio(t *testing.T) {
	callBaresipAudio(t, Config{})
}

// TestInteropBaresipSharedMediaPortCallAudio: the same call with the
// Phone's media on its shared port pair, which baresip (announcing no
// SSRC) reaches as a plain RTP peer.
func TestInteropBaresipSharedMediaPortCallAudio(t *testing.T) {
	callBaresipAudio(t, Config{SharedMediaPort: true})
}

func callBaresipAudio(t *testing.T, cfg Config) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	u2 := kam.User("1002")
	b := peertest.StartBaresip(t, peertest.BaresipOptions{User: u2.Name, Password: u2.Password, Registrar: kam.Addr(),
		AudioSource: peertest.WAVTone(t, "", 1000, 30, 8000, 1)})
	p, cur := registeredPhone(t, kam, "1001", cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	heard := audio.NewCapture(8000, 10*time.Second)
	c, err := p.Dial(ctx, u2.Name, WithSource(audio.NewTone(0.5, 697)), WithSink(heard))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	if _, err := b.WaitEvent(ctx, "CALL_ESTABLISHED"); err != nil {
		t.Fatal(err)
	}
	waitCaptured(t, heard, 2*time.Second, 10*time.Second)
	if l := toneLevel(heard, 1000); l < 0.2 {
		t.Errorf("Phone heard baresip's 1000 Hz at %.3f", l)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if ev, err := b.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("baresip: CALL_CLOSED %q", ev.Param)
	}
	if l := baresipHeard(t, b, 697); l < 0.2 {
		t.Errorf("baresip heard the Phone's 697 Hz at %.3f", l)
	}
}

// TestInteropBaresipCallsPhone: baresip calls the Phone through Kamailio,
// the Phone answers, audio is verified both ways and baresip hangs up.
func TestInteropBaresipCallsPhone(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	u2 := kam.User("1002")
	b := peertest.StartBaresip(t, peertest.BaresipOptions{User: u2.Name, Password: u2.Password, Registrar: kam.Addr(),
		AudioSource: peertest.WAVTone(t, "", 1000, 30, 8000, 1)})
	p, cur := registeredPhone(t, kam, "1001", Config{})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Dial(ctx, "sip:1001@"+kam.Domain); err != nil {
		t.Fatal(err)
	}
	in := waitEvent(t, p, &cur, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	heard := audio.NewCapture(8000, 10*time.Second)
	in.Call.SetSink(heard)
	in.Call.SetSource(audio.NewTone(0.5, 697))
	if err := in.Call.Ring(); err != nil {
		t.Fatal(err)
	}
	if err := in.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEvent(ctx, "CALL_ESTABLISHED"); err != nil {
		t.Fatal(err)
	}
	waitCaptured(t, heard, 2*time.Second, 10*time.Second)
	if l := toneLevel(heard, 1000); l < 0.2 {
		t.Errorf("Phone heard baresip's 1000 Hz at %.3f", l)
	}
	if err := b.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	end := waitEvent(t, p, &cur, 5*time.Second, callState(in.Call, CallTerminated))
	if end.Cause.By.String() != "remote" || end.Cause.Code != 200 {
		t.Fatalf("cause = %v, want remote BYE", end.Cause)
	}
	if l := baresipHeard(t, b, 697); l < 0.2 {
		t.Errorf("baresip heard the Phone's 697 Hz at %.3f", l)
	}
}
