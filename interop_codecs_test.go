package voipkit

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/internal/peertest"
)

// codecCall describes an interop call with baresip that uses one codec
// other than G.711.
type codecCall struct {
	codec    string // the Phone's codec name, e.g. "G722"
	baresip  string // baresip's audio_codecs, e.g. "G722/16000/1"
	rate     int    // the codec's PCM rate: the Phone's capture and baresip's WAV
	channels int    // channels of baresip's WAV source
	// phoneTone is what the Phone sends. Above 4 kHz it can only reach
	// baresip's decoder through a wideband codec.
	phoneTone float64
}

// baresipDecoded stops baresip and returns its decoded-audio dump.
func baresipDecoded(t *testing.T, b *peertest.Baresip) peertest.WAV {
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
	return w
}

// purity returns the share of the signal's power that is the tone at
// level (the amplitude Goertzel measured): 1 for a clean sine, lower with
// codec noise or distortion.
func purity(s []int16, level float64) float64 {
	rms := audio.RMS(s)
	if rms == 0 {
		return 0
	}
	return level * level / (2 * rms * rms)
}

// checkBaresipHeard verifies that baresip decoded the Phone's tone.
func checkBaresipHeard(t *testing.T, b *peertest.Baresip, freq float64) {
	t.Helper()
	w := baresipDecoded(t, b)
	s := w.Channel(0)
	skip := w.SampleRate / 2
	if len(s) < skip+w.SampleRate/2 {
		t.Fatalf("baresip decoded only %.2f s", w.Duration())
	}
	s = s[skip:]
	level := math.Sqrt(audio.Goertzel(s, w.SampleRate, freq))
	dominant := audio.DominantFrequency(s, w.SampleRate)
	pure := purity(s, level)
	t.Logf("baresip decoded %.2f s at %d Hz, %d ch: %.0f Hz at %.3f (%.1f%% of the power), dominant %.0f Hz",
		w.Duration(), w.SampleRate, w.Channels, freq, level, 100*pure, dominant)
	if 2*freq >= float64(w.SampleRate) {
		t.Fatalf("baresip decoded at %d Hz, which cannot hold the Phone's %.0f Hz", w.SampleRate, freq)
	}
	if level < 0.2 {
		t.Errorf("baresip heard the Phone's %.0f Hz at %.3f, want at least 0.2", freq, level)
	}
	if math.Abs(dominant-freq) > freq*0.02 {
		t.Errorf("baresip's decoded audio peaks at %.0f Hz, want %.0f Hz", dominant, freq)
	}
	// Encoder and decoder disagreeing about the codec's state would show
	// as noise and distortion.
	if pure < 0.9 {
		t.Errorf("only %.1f%% of baresip's decoded audio is the %.0f Hz tone", 100*pure, freq)
	}
}

// checkPhoneHeard verifies that the Phone decoded baresip's 1000 Hz tone
// at the codec's rate.
func checkPhoneHeard(t *testing.T, heard *audio.Capture, c *Call, want string) {
	t.Helper()
	if got := c.Codec(); !strings.EqualFold(got, want) {
		t.Fatalf("negotiated codec %q, want %s", got, want)
	}
	waitCaptured(t, heard, 2*time.Second, 10*time.Second)
	level := toneLevel(heard, 1000)
	s := heard.Samples()
	s = s[heard.SampleRate()*3/10:] // as toneLevel
	dominant := audio.DominantFrequency(s, heard.SampleRate())
	pure := purity(s, level)
	st := c.Stats()
	t.Logf("Phone decoded %v at %d Hz: 1000 Hz at %.3f (%.1f%% of the power), dominant %.0f Hz; RTP sent %d received %d lost %d concealed %d garbage %d",
		heard.Duration(), heard.SampleRate(), level, 100*pure, dominant, st.PacketsSent, st.PacketsReceived, st.PacketsLost, st.Concealed, st.Garbage)
	if level < 0.2 {
		t.Errorf("Phone heard baresip's 1000 Hz at %.3f, want at least 0.2", level)
	}
	if math.Abs(dominant-1000) > 20 {
		t.Errorf("Phone's decoded audio peaks at %.0f Hz, want 1000 Hz", dominant)
	}
	if pure < 0.9 {
		t.Errorf("only %.1f%% of the Phone's decoded audio is the 1000 Hz tone", 100*pure)
	}
	if st.Garbage != 0 {
		t.Errorf("%d of baresip's packets were not accepted", st.Garbage)
	}
	// Playout paced by the wrong frame length (for example 2-channel
	// frames taken for mono PCM) conceals every other frame.
	if st.Concealed*10 > st.PacketsReceived {
		t.Errorf("%d frames concealed for %d packets received", st.Concealed, st.PacketsReceived)
	}
}

// runCodecCall sets up a call between a Phone limited to cc.codec and
// baresip through Kamailio, the Phone calling or (baresipCalls) being
// called, and verifies the audio both ways.
func runCodecCall(t *testing.T, cc codecCall, baresipCalls bool) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	u2 := kam.User("1002")
	b := peertest.StartBaresip(t, peertest.BaresipOptions{User: u2.Name, Password: u2.Password, Registrar: kam.Addr(),
		Codecs: cc.baresip, AudioSource: peertest.WAVTone(t, "", 1000, 30, cc.rate, cc.channels)})
	p, cur := registeredPhone(t, kam, "1001", Config{Codecs: []string{cc.codec}})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	heard := audio.NewCapture(cc.rate, 10*time.Second)
	var c *Call
	if baresipCalls {
		if err := b.Dial(ctx, "sip:1001@"+kam.Domain); err != nil {
			t.Fatal(err)
		}
		in := waitEvent(t, p, &cur, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
		c = in.Call
		c.SetSink(heard)
		c.SetSource(audio.NewTone(0.5, cc.phoneTone))
		if err := c.Answer(ctx); err != nil {
			t.Fatal(err)
		}
	} else {
		var err error
		c, err = p.Dial(ctx, u2.Name, WithSource(audio.NewTone(0.5, cc.phoneTone)), WithSink(heard))
		if err != nil {
			t.Fatal(err)
		}
		waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	}
	if _, err := b.WaitEvent(ctx, "CALL_ESTABLISHED"); err != nil {
		t.Fatalf("%v\n%s", err, b.Log())
	}
	checkPhoneHeard(t, heard, c, cc.codec)

	if baresipCalls {
		if err := b.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		end := waitEvent(t, p, &cur, 5*time.Second, callState(c, CallTerminated))
		if end.Cause.By.String() != "remote" {
			t.Errorf("cause = %v, want remote BYE", end.Cause)
		}
	} else {
		if err := c.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := b.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
			t.Fatal(err)
		}
	}
	checkBaresipHeard(t, b, cc.phoneTone)
}

// g722Call: 16 kHz audio, payload type 9, RTP clock 8000 Hz. The Phone
// sends 5000 Hz, beyond narrowband's 4 kHz.
var g722Call = codecCall{codec: "G722", baresip: "G722/16000/1", rate: 16000, channels: 1, phoneTone: 5000}

// TestInteropBaresipG722CallAudio: a Phone offering only G.722 calls
// baresip through Kamailio, and baresip calls it; baresip's 1000 Hz and
// the Phone's 5000 Hz are heard on the other side.
func TestInteropBaresipG722CallAudio(t *testing.T) {
	t.Run("PhoneCalls", func(t *testing.T) { runCodecCall(t, g722Call, false) })
	t.Run("BaresipCalls", func(t *testing.T) { runCodecCall(t, g722Call, true) })
}
