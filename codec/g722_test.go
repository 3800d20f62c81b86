package codec

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// g722Frame is one 20 ms frame at 16 kHz.
const g722Frame = 320

// sine16k returns n samples of a sine of freq Hz at 16 kHz with the given
// peak amplitude.
func sine16k(n int, freq, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/16000)))
	}
	return s
}

// g722RoundTrip encodes pcm frame by frame with the registered G722 codec
// and decodes the result. It returns the payload and the decoded PCM.
func g722RoundTrip(t testing.TB, pcm []int16) ([]byte, []int16) {
	t.Helper()
	c, err := Lookup("G722")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := c.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	var payload []byte
	out := make([]int16, 0, len(pcm))
	buf := make([]byte, g722Frame/2)
	frame := make([]int16, g722Frame)
	for off := 0; off+g722Frame <= len(pcm); off += g722Frame {
		n, err := enc.Encode(buf, pcm[off:off+g722Frame])
		if err != nil {
			t.Fatal(err)
		}
		if n != g722Frame/2 {
			t.Fatalf("Encode wrote %d bytes, want %d", n, g722Frame/2)
		}
		payload = append(payload, buf[:n]...)
		m, err := dec.Decode(frame, buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		if m != g722Frame {
			t.Fatalf("Decode wrote %d samples, want %d", m, g722Frame)
		}
		out = append(out, frame[:m]...)
	}
	return payload, out
}

// alignedSNR finds the codec delay (0..maxLag samples) that maximises the
// cross-correlation of in and out, and returns it with the signal-to-noise
// ratio in dB of out against in at that delay, measured after skip samples.
func alignedSNR(in, out []int16, skip, maxLag int) (lag int, snr float64) {
	best := math.Inf(-1)
	for l := 0; l <= maxLag; l++ {
		var c float64
		for i := skip; i+l < len(out) && i < len(in); i++ {
			c += float64(in[i]) * float64(out[i+l])
		}
		if c > best {
			best, lag = c, l
		}
	}
	var sig, noise float64
	for i := skip; i+lag < len(out) && i < len(in); i++ {
		d := float64(out[i+lag]) - float64(in[i])
		sig += float64(in[i]) * float64(in[i])
		noise += d * d
	}
	if noise == 0 {
		return lag, math.Inf(1)
	}
	return lag, 10 * math.Log10(sig/noise)
}

// goertzelAmp returns the amplitude (in sample units) of freq in s.
func goertzelAmp(s []int16, rate int, freq float64) float64 {
	w := 2 * math.Pi * freq / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range s {
		s0 := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(math.Max(power, 0)) / float64(len(s))
}

// zeroCrossingHz estimates the frequency of a tone from its upward zero
// crossings.
func zeroCrossingHz(s []int16, rate int) float64 {
	first, last, n := -1, -1, 0
	for i := 1; i < len(s); i++ {
		if s[i-1] < 0 && s[i] >= 0 {
			if first < 0 {
				first = i
			}
			last = i
			n++
		}
	}
	if n < 2 {
		return 0
	}
	return float64(n-1) * float64(rate) / float64(last-first)
}

func TestG722Info(t *testing.T) {
	c, err := Lookup("g722")
	if err != nil {
		t.Fatal(err)
	}
	info := c.Info()
	want := Info{Name: "G722", PayloadType: 9, ClockRate: 8000, SampleRate: 16000, Channels: 1, FrameDuration: 20 * time.Millisecond}
	if info != want {
		t.Fatalf("Info() = %+v, want %+v", info, want)
	}
	if got := info.FrameSamples(); got != 320 {
		t.Errorf("FrameSamples() = %d, want 320", got)
	}
	// RFC 3551 section 4.5.2: the RTP clock is 8000 Hz although the audio
	// is sampled at 16 kHz.
	if got := info.FrameTimestamp(); got != 160 {
		t.Errorf("FrameTimestamp() = %d, want 160", got)
	}
	got, err := Resolve([]string{"G722", "PCMU"})
	if err != nil || len(got) != 2 || got[0].Info().Name != "G722" {
		t.Errorf("Resolve(G722, PCMU) = %v, %v", got, err)
	}
}

func TestG7221kHzRoundTrip(t *testing.T) {
	in := sine16k(16000, 1000, 10000) // 1 s
	payload, out := g722RoundTrip(t, in)
	if len(payload) != len(in)/2 {
		t.Fatalf("payload %d bytes, want %d", len(payload), len(in)/2)
	}
	lag, snr := alignedSNR(in, out, 1600, 64)
	t.Logf("1 kHz: delay %d samples (modulo the 16-sample period), SNR %.1f dB", lag, snr)
	if snr < 20 {
		t.Errorf("SNR %.1f dB, want at least 20 dB", snr)
	}
	steady := out[1600:]
	if hz := zeroCrossingHz(steady, 16000); math.Abs(hz-1000) > 5 {
		t.Errorf("decoded tone at %.1f Hz, want 1000 Hz", hz)
	}
	if a := goertzelAmp(steady, 16000, 1000); a < 9000 || a > 11000 {
		t.Errorf("decoded 1 kHz amplitude %.0f, want about 10000", a)
	}
}

func TestG722SpeechBandTones(t *testing.T) {
	// A mix of tones across the lower band keeps a high SNR.
	n := 16000
	in := make([]int16, n)
	for i := range in {
		x := float64(i) / 16000
		in[i] = int16(4000*math.Sin(2*math.Pi*300*x) + 3000*math.Sin(2*math.Pi*1700*x+1) + 2000*math.Sin(2*math.Pi*3100*x+2))
	}
	_, out := g722RoundTrip(t, in)
	lag, snr := alignedSNR(in, out, 1600, 64)
	t.Logf("multi-tone: delay %d, SNR %.1f dB", lag, snr)
	if snr < 20 {
		t.Errorf("SNR %.1f dB, want at least 20 dB", snr)
	}
	// The QMF pair delays by 23 samples (22 with the decimation phase used
	// here); the ADPCM adds none.
	if lag < 21 || lag > 24 {
		t.Errorf("codec delay %d samples, want 22-23", lag)
	}
}

func TestG722WidebandTone(t *testing.T) {
	// 6 kHz is above G.711's 4 kHz band edge: only a wideband codec passes
	// it, and the QMF must cancel its alias at 8000-6000 = 2000 Hz.
	in := sine16k(16000, 6000, 8000)
	_, out := g722RoundTrip(t, in)
	steady := out[1600:]
	a6 := goertzelAmp(steady, 16000, 6000)
	a2 := goertzelAmp(steady, 16000, 2000)
	lag, snr := alignedSNR(in, out, 1600, 64)
	t.Logf("6 kHz: amplitude %.0f (alias at 2 kHz %.0f), delay %d, SNR %.1f dB", a6, a2, lag, snr)
	if a6 < 0.7*8000 || a6 > 1.3*8000 {
		t.Errorf("6 kHz amplitude %.0f, want about 8000", a6)
	}
	if a2 > a6/30 {
		t.Errorf("alias at 2 kHz %.0f is not 30 dB below the 6 kHz tone (%.0f)", a2, a6)
	}
	if hz := zeroCrossingHz(steady, 16000); math.Abs(hz-6000) > 30 {
		t.Errorf("decoded tone at %.1f Hz, want 6000 Hz", hz)
	}
	if snr < 10 {
		t.Errorf("6 kHz SNR %.1f dB, want at least 10 dB", snr)
	}
}

func TestG722Silence(t *testing.T) {
	in := make([]int16, 8000)
	_, out := g722RoundTrip(t, in)
	peak := 0
	for _, v := range out {
		peak = max(peak, int(v), -int(v))
	}
	t.Logf("silence decodes with a peak of %d", peak)
	if peak > 8 {
		t.Errorf("silence decodes with a peak of %d", peak)
	}
	// After a loud burst, silence decays back to near silence.
	in = append(sine16k(3200, 440, 20000), make([]int16, 16000)...)
	_, out = g722RoundTrip(t, in)
	peak = 0
	for _, v := range out[len(out)-8000:] {
		peak = max(peak, int(v), -int(v))
	}
	if peak > 16 {
		t.Errorf("silence after a tone decodes with a peak of %d", peak)
	}
}

func TestG722StateContinuity(t *testing.T) {
	in := make([]int16, 8*g722Frame)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range in {
		x := float64(i) / 16000
		in[i] = int16(6000*math.Sin(2*math.Pi*523*x) + 3000*math.Sin(2*math.Pi*5100*x) + float64(r.IntN(801)-400))
	}
	// One call over the whole signal equals frame-by-frame calls.
	whole := make([]byte, len(in)/2)
	if _, err := NewG722Encoder().Encode(whole, in); err != nil {
		t.Fatal(err)
	}
	framed, _ := g722RoundTrip(t, in)
	if !bytes.Equal(whole, framed) {
		t.Fatal("encoding in frames differs from encoding in one call")
	}
	// A fresh encoder for a later frame gives other codes: the state
	// carried across frames matters.
	fresh := make([]byte, g722Frame/2)
	if _, err := NewG722Encoder().Encode(fresh, in[4*g722Frame:5*g722Frame]); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(fresh, whole[2*g722Frame:5*g722Frame/2]) {
		t.Fatal("a fresh encoder produced the same frame as a running one")
	}

	dec, _ := NewG722Decoder(G722Rate64k)
	all := make([]int16, len(in))
	if _, err := dec.Decode(all, whole); err != nil {
		t.Fatal(err)
	}
	dec.Reset()
	var pieces []int16
	buf := make([]int16, g722Frame)
	for off := 0; off < len(whole); off += 37 { // odd-sized pieces
		end := min(off+37, len(whole))
		n, err := dec.Decode(buf, whole[off:end])
		if err != nil {
			t.Fatal(err)
		}
		pieces = append(pieces, buf[:n]...)
	}
	for i := range all {
		if all[i] != pieces[i] {
			t.Fatalf("sample %d: %d decoding in one call, %d in pieces (after Reset)", i, all[i], pieces[i])
		}
	}
	// Reset makes the encoder start over.
	enc := NewG722Encoder()
	first := make([]byte, len(whole))
	_, _ = enc.Encode(first, in)
	enc.Reset()
	again := make([]byte, len(whole))
	_, _ = enc.Encode(again, in)
	if !bytes.Equal(first, again) {
		t.Fatal("Reset did not restore the initial encoder state")
	}
}

func TestG722LowerRates(t *testing.T) {
	in := sine16k(16000, 1000, 10000)
	payload, ref := g722RoundTrip(t, in)
	_, snr64 := alignedSNR(in, ref, 1600, 64)
	prev := snr64
	for _, tc := range []struct {
		rate   int
		minSNR float64
	}{{G722Rate56k, 18}, {G722Rate48k, 12}} {
		dec, err := NewG722Decoder(tc.rate)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]int16, len(in))
		if _, err := dec.Decode(out, payload); err != nil {
			t.Fatal(err)
		}
		lag, snr := alignedSNR(in, out, 1600, 64)
		t.Logf("%d bit/s: delay %d, SNR %.1f dB", tc.rate, lag, snr)
		if snr < tc.minSNR {
			t.Errorf("%d bit/s: SNR %.1f dB, want at least %.0f dB", tc.rate, snr, tc.minSNR)
		}
		if snr > prev+0.5 {
			t.Errorf("%d bit/s: SNR %.1f dB is better than at the higher rate (%.1f dB)", tc.rate, snr, prev)
		}
		prev = snr
	}
	for _, bad := range []int{0, 32000, 64, -1} {
		if _, err := NewG722Decoder(bad); !errors.Is(err, ErrBitRate) {
			t.Errorf("NewG722Decoder(%d) err = %v, want ErrBitRate", bad, err)
		}
	}
}

func TestG722DecodeRandomBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	dec, _ := NewG722Decoder(G722Rate64k)
	out := make([]int16, 2*1000)
	p := make([]byte, 1000)
	for range 50 {
		for i := range p {
			p[i] = byte(r.UintN(256))
		}
		n, err := dec.Decode(out, p[:r.IntN(len(p)+1)])
		if err != nil {
			t.Fatal(err)
		}
		if n%2 != 0 {
			t.Fatalf("decoded %d samples, want an even number", n)
		}
	}
	// Saturating codes (largest levels of both bands, alternating signs)
	// must not overflow.
	for _, c := range []byte{0x20, 0x04, 0xa0, 0x04, 0xff, 0x00} {
		for i := range p {
			p[i] = c
		}
		if _, err := dec.Decode(out, p); err != nil {
			t.Fatal(err)
		}
	}
}

func TestG722FullScaleInput(t *testing.T) {
	// Full-scale square waves and extreme values saturate inside the
	// codec instead of wrapping around.
	in := make([]int16, 16000)
	for i := range in {
		if (i/8)%2 == 0 {
			in[i] = math.MaxInt16
		} else {
			in[i] = math.MinInt16
		}
	}
	_, out := g722RoundTrip(t, in)
	a := goertzelAmp(out[1600:], 16000, 1000)
	if a < 20000 {
		t.Errorf("full-scale 1 kHz square wave decodes with a fundamental of %.0f", a)
	}
	in = sine16k(16000, 1000, 32767)
	_, out = g722RoundTrip(t, in)
	_, snr := alignedSNR(in, out, 1600, 64)
	if snr < 15 {
		t.Errorf("full-scale sine: SNR %.1f dB", snr)
	}
}

func TestG722Errors(t *testing.T) {
	enc := NewG722Encoder()
	if _, err := enc.Encode(make([]byte, 159), make([]int16, 320)); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("Encode into 159 bytes: err = %v, want ErrShortBuffer", err)
	}
	if _, err := enc.Encode(make([]byte, 160), make([]int16, 319)); !errors.Is(err, ErrFrameSize) {
		t.Errorf("Encode of 319 samples: err = %v, want ErrFrameSize", err)
	}
	if n, err := enc.Encode(nil, nil); n != 0 || err != nil {
		t.Errorf("Encode of nothing = %d, %v", n, err)
	}
	dec, _ := NewG722Decoder(G722Rate64k)
	if _, err := dec.Decode(make([]int16, 319), make([]byte, 160)); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("Decode into 319 samples: err = %v, want ErrShortBuffer", err)
	}
	if n, err := dec.Decode(make([]int16, 320), nil); n != 0 || err != nil {
		t.Errorf("Decode of nothing = %d, %v", n, err)
	}
}

func TestG722NoAllocations(t *testing.T) {
	enc := NewG722Encoder()
	dec, _ := NewG722Decoder(G722Rate64k)
	pcm := sine16k(g722Frame, 1000, 10000)
	buf := make([]byte, g722Frame/2)
	out := make([]int16, g722Frame)
	if a := testing.AllocsPerRun(100, func() { _, _ = enc.Encode(buf, pcm) }); a != 0 {
		t.Errorf("Encode allocates %.1f times per frame", a)
	}
	if a := testing.AllocsPerRun(100, func() { _, _ = dec.Decode(out, buf) }); a != 0 {
		t.Errorf("Decode allocates %.1f times per frame", a)
	}
}

func FuzzG722Decode(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add(bytes.Repeat([]byte{0xff}, 160), uint8(0))
	f.Add(bytes.Repeat([]byte{0x20, 0x04}, 80), uint8(1))
	f.Add([]byte("G.722 is a byte per sample pair"), uint8(2))
	rates := [...]int{G722Rate64k, G722Rate56k, G722Rate48k}
	f.Fuzz(func(t *testing.T, payload []byte, mode uint8) {
		dec, err := NewG722Decoder(rates[int(mode)%len(rates)])
		if err != nil {
			t.Fatal(err)
		}
		out := make([]int16, 2*len(payload))
		n, err := dec.Decode(out, payload)
		if err != nil || n != len(out) {
			t.Fatalf("Decode = %d, %v; want %d samples", n, err, len(out))
		}
		if len(payload) > 0 {
			if _, err := dec.Decode(out[:len(out)-1], payload); !errors.Is(err, ErrShortBuffer) {
				t.Fatalf("Decode into a short buffer: %v", err)
			}
		}
	})
}

func BenchmarkG722EncodeFrame(b *testing.B) {
	enc := NewG722Encoder()
	pcm := sine16k(g722Frame, 1000, 10000)
	buf := make([]byte, g722Frame/2)
	b.ReportAllocs()
	b.SetBytes(2 * g722Frame)
	for b.Loop() {
		if _, err := enc.Encode(buf, pcm); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkG722DecodeFrame(b *testing.B) {
	enc := NewG722Encoder()
	pcm := sine16k(g722Frame, 1000, 10000)
	buf := make([]byte, g722Frame/2)
	_, _ = enc.Encode(buf, pcm)
	dec, _ := NewG722Decoder(G722Rate64k)
	out := make([]int16, g722Frame)
	b.ReportAllocs()
	b.SetBytes(g722Frame / 2)
	for b.Loop() {
		if _, err := dec.Decode(out, buf); err != nil {
			b.Fatal(err)
		}
	}
}
