package media

import (
	"errors"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/voipkit/voipkit/codec"
)

// toneFrames returns n frames of size samples of a sum of sines
// (frequency in Hz and amplitude) at rate.
func toneFrames(rate, size, n int, parts ...[2]float64) [][]int16 {
	frames := make([][]int16, n)
	for f := range frames {
		frames[f] = make([]int16, size)
		for i := range frames[f] {
			t := float64(f*size+i) / float64(rate)
			v := 0.0
			for _, p := range parts {
				v += p[1] * math.Sin(2*math.Pi*p[0]*t)
			}
			frames[f][i] = int16(v)
		}
	}
	return frames
}

// playPLC runs frames through a plc at rate, concealing those listed in
// lost, and returns the output advanced by the plc's delay so that it
// lines up with the input.
func playPLC(rate int, frames [][]int16, lost map[int]bool) []int16 {
	var p plc
	p.reset(rate)
	var out []int16
	for i, f := range frames {
		o := make([]int16, len(f))
		if lost[i] {
			p.conceal(o)
		} else {
			p.good(f, o)
		}
		out = append(out, o...)
	}
	return out[p.delay:]
}

// snr returns the ratio in dB of the power of ref to that of got-ref.
func snr(ref, got []int16) float64 {
	var s, e float64
	for i := range ref {
		d := float64(got[i]) - float64(ref[i])
		s += float64(ref[i]) * float64(ref[i])
		e += d * d
	}
	if e == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(s/e)
}

func TestPLCConcealsOneFrame(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rate  int
		parts [][2]float64
		min   float64 // dB over the lost frame and the 10 ms after it
	}{
		{"1 kHz tone, 8 kHz", 8000, [][2]float64{{1000, 12000}}, 15},
		{"1 kHz tone, 16 kHz", 16000, [][2]float64{{1000, 12000}}, 15},
		// A voiced-speech-like sound: 125 Hz with falling harmonics.
		{"125 Hz harmonics", 8000, [][2]float64{{125, 6000}, {250, 4000}, {375, 2500}, {500, 1500}, {750, 800}}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			size := tc.rate / 50
			frames := toneFrames(tc.rate, size, 12, tc.parts...)
			got := playPLC(tc.rate, frames, map[int]bool{8: true})
			var ref []int16
			for _, f := range frames {
				ref = append(ref, f...)
			}
			a, b := 8*size, 9*size+tc.rate/100
			plcSNR := snr(ref[a:b], got[a:b])
			silence := make([]int16, b-a) // what inserting silence would give
			copy(silence[size:], ref[9*size:b])
			silenceSNR := snr(ref[a:b], silence)
			t.Logf("SNR over the lost frame: concealment %.1f dB, silence 0 dB; with the 10 ms after: %.1f dB, silence %.1f dB",
				snr(ref[a:a+size], got[a:a+size]), plcSNR, silenceSNR)
			if plcSNR < tc.min || plcSNR < silenceSNR+tc.min {
				t.Errorf("concealment SNR %.1f dB, silence %.1f dB, want at least %.0f dB better than silence", plcSNR, silenceSNR, tc.min)
			}
			// Before the loss the output is the input.
			if s := snr(ref[size:a], got[size:a]); !math.IsInf(s, 1) {
				t.Errorf("good frames altered: %.1f dB", s)
			}
		})
	}
}

func TestPLCLongLossFadesToSilence(t *testing.T) {
	const rate, size = 8000, 80 // 10 ms frames
	frames := toneFrames(rate, size, 20, [2]float64{440, 10000})
	lost := map[int]bool{}
	for i := 5; i < 15; i++ { // 100 ms
		lost[i] = true
	}
	got := playPLC(rate, frames, lost)
	level := func(i int) float64 { // RMS of 10 ms frame i of the output
		var s float64
		for _, v := range got[i*size : (i+1)*size] {
			s += float64(v) * float64(v)
		}
		return math.Sqrt(s / size)
	}
	full := level(3)
	if l := level(5); l < 0.8*full {
		t.Errorf("first 10 ms concealed at %.0f, want about %.0f", l, full)
	}
	// 20% less per 10 ms after the first 10 ms, silence from 60 ms.
	for i := 6; i < 10; i++ {
		want := full * (1 - 0.2*(float64(i-5)-0.5))
		if l := level(i); math.Abs(l-want) > 0.15*full {
			t.Errorf("concealed frame %d (%d ms in) at %.0f, want about %.0f", i-5, (i-5)*10, l, want)
		}
	}
	for i := 11; i < 15; i++ {
		if l := level(i); l != 0 {
			t.Errorf("concealed frame %d (%d ms in) at %.0f, want silence", i-5, (i-5)*10, l)
		}
	}
	// Audio resumes, faded in.
	if l := level(16); l < 0.9*full {
		t.Errorf("after the loss: level %.0f", l)
	}
}

func TestPLCJoinsSmoothly(t *testing.T) {
	// Around a concealed frame of a harmonic signal, sample-to-sample
	// steps stay within what the signal itself has.
	const rate, size = 8000, 160
	frames := toneFrames(rate, size, 10, [2]float64{180, 8000}, [2]float64{360, 3000})
	got := playPLC(rate, frames, map[int]bool{5: true})
	maxStep := func(s []int16) float64 {
		m := 0.0
		for i := 1; i < len(s); i++ {
			m = max(m, math.Abs(float64(s[i])-float64(s[i-1])))
		}
		return m
	}
	in := maxStep(frames[2])
	if out := maxStep(got[4*size : 7*size]); out > 1.5*in {
		t.Errorf("largest step %.0f around the loss, %.0f in the signal", out, in)
	}
}

func TestShortenAndLengthen(t *testing.T) {
	const rate = 8000
	frames := toneFrames(rate, 160, 2, [2]float64{500, 10000}) // 16-sample period
	s := append(append([]int16(nil), frames[0]...), frames[1]...)
	dst := make([]int16, 2*len(s))

	x := shorten(dst, s, 1, 40, 120, rate)
	if x < 40 || x > 120 || x%16 != 0 {
		t.Errorf("shortened by %d samples, want a multiple of the 16-sample period in 40-120", x)
	}
	// Cut at a whole number of periods, the tone goes on unchanged.
	if got := snr(s[:len(s)-x], dst[:len(s)-x]); got < 40 {
		t.Errorf("shortened tone: %.1f dB", got)
	}

	y := lengthen(dst, s[:160], 1, 30, 100, rate)
	if y < 30 || y > 100 || y%16 != 0 {
		t.Errorf("lengthened by %d samples, want a multiple of 16 in 30-100", y)
	}
	ref := toneFrames(rate, 160+y, 1, [2]float64{500, 10000})[0]
	if got := snr(ref, dst[:160+y]); got < 40 {
		t.Errorf("lengthened tone: %.1f dB", got)
	}

	// Silence: any cut will do, the longest is taken.
	clear(s)
	if x := shorten(dst, s, 1, 10, 100, rate); x != 100 {
		t.Errorf("silence shortened by %d", x)
	}
}

// BenchmarkPLCConceal measures a 20 ms loss of 8 kHz audio: one good
// frame, then one concealed (pitch search, repetition, attenuation).
func BenchmarkPLCConceal(b *testing.B) {
	frames := toneFrames(8000, 160, 2, [2]float64{180, 8000}, [2]float64{360, 3000})
	var p plc
	p.reset(8000)
	out := make([]int16, 160)
	b.ReportAllocs()
	for b.Loop() {
		p.good(frames[0], out)
		p.conceal(out)
	}
}

// concealCodec is a test codec (not registered) whose decoder has its own
// concealment, as the Opus decoder has: payload byte b decodes to a
// sample of 100*b, and each concealed frame is 160 samples of 7777.
type concealCodec struct{ conceals *int }

func (c concealCodec) Info() codec.Info {
	return codec.Info{Name: "X-CONCEAL", PayloadType: 96, ClockRate: 8000, SampleRate: 8000, Channels: 1, FrameDuration: 20 * time.Millisecond}
}
func (c concealCodec) NewEncoder() (codec.Encoder, error) { return nil, errors.New("decode only") }
func (c concealCodec) NewDecoder() (codec.Decoder, error) { return concealDecoder(c), nil }

type concealDecoder struct{ conceals *int }

func (d concealDecoder) Decode(dst []int16, payload []byte) (int, error) {
	for i, b := range payload {
		dst[i] = 100 * int16(b)
	}
	return len(payload), nil
}

func (d concealDecoder) Conceal(dst []int16) (int, error) {
	*d.conceals++
	for i := range 160 {
		dst[i] = 7777
	}
	return 160, nil
}

// playWithPacket10Lost plays 30 packets of c (payload type pt, each
// byte 1) through a socketless Session's receive and playout paths, with
// packet 10 missing, until packet 29 has been played. It returns the
// Session and what reached its sink.
func playWithPacket10Lost(t *testing.T, c codec.Codec, pt uint8) (*Session, *captureSink) {
	t.Helper()
	remote := netip.MustParseAddrPort("127.0.0.1:40000")
	s := socketlessSession(adaptive, bind(c, pt, 20*time.Millisecond), remote)
	sink := &captureSink{}
	s.SetSink(sink)
	r, p := newReceiver(s), newPlayer(s)
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = 1
	}
	for i := range 30 {
		at := time.Duration(i) * 20 * time.Millisecond
		for p.now < at {
			p.playOne()
		}
		if i != 10 {
			r.handle(rtpPacket(t, pt, uint16(i), uint32(160*i), 1, payload), remote, at)
		}
	}
	for range 10 {
		if p.playOne(); p.out.kind == popPacket && p.out.seq == 29 {
			break
		}
	}
	return s, sink
}

func TestPlayerUsesDecoderConcealment(t *testing.T) {
	conceals := 0
	s, sink := playWithPacket10Lost(t, concealCodec{&conceals}, 96)
	if conceals != 1 || s.Stats().Concealed != 1 {
		t.Errorf("decoder concealed %d frames, stats say %d, want 1", conceals, s.Stats().Concealed)
	}
	counts := map[int16]int{}
	for _, v := range sink.samples {
		counts[v]++
	}
	// No waveform concealment (nor its delay) is mixed in.
	if counts[7777] != 160 || counts[100] != 29*160 || len(counts) != 2 {
		t.Errorf("sample values: %v", counts)
	}
}

// TestPlayerGrowsForLongPackets: the player reserves room for a few of
// the negotiated frames, and a peer that sends much longer packets (here
// 120 ms of PCMU where 20 ms was negotiated) is still played in full.
func TestPlayerGrowsForLongPackets(t *testing.T) {
	remote := netip.MustParseAddrPort("127.0.0.1:40000")
	pcmu, err := codec.Lookup("PCMU")
	if err != nil {
		t.Fatal(err)
	}
	s := socketlessSession(adaptive, bind(pcmu, 0, 20*time.Millisecond), remote)
	sink := &captureSink{}
	s.SetSink(sink)
	r, p := newReceiver(s), newPlayer(s)
	const frame = 960 // 120 ms at 8 kHz
	payload := make([]byte, frame)
	for i := range payload {
		payload[i] = 0x8f // a constant, non-silent PCMU value
	}
	for i := range 10 {
		at := time.Duration(i) * 120 * time.Millisecond
		for p.now < at {
			p.playOne()
		}
		r.handle(rtpPacket(t, 0, uint16(i), uint32(frame*i), 1, payload), remote, at)
	}
	for range 40 {
		p.playOne()
	}
	if p.unit < frame {
		t.Errorf("room for %d samples after %d-sample packets", p.unit, frame)
	}
	want, _ := pcmu.NewDecoder()
	ref := make([]int16, 1)
	if _, err := want.Decode(ref, payload[:1]); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range sink.samples {
		if v == ref[0] {
			n++
		}
	}
	// The jitter buffer may shorten or lengthen a packet while it finds
	// its delay, so count decoded samples rather than exact frames.
	if n < 8*frame {
		t.Errorf("%d of %d samples played as decoded (unit %d, concealed %d)", n, 10*frame, p.unit, s.Stats().Concealed)
	}
}
