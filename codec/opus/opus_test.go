//go:build cgo

package opus

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	libopus "github.com/hraban/opus"

	"github.com/voipkit/voipkit/codec"
)

// sine48k returns n samples of a sine of freq Hz at 48 kHz starting at
// sample offset off.
func sine48k(off, n int, freq, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(off+i)/SampleRate)))
	}
	return s
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
	return 2 * math.Sqrt(math.Max(s1*s1+s2*s2-coeff*s1*s2, 0)) / float64(len(s))
}

// zeroCrossingHz estimates a tone's frequency from its upward zero
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

// roundTrip encodes frames of a tone through the registered codec and
// decodes them, returning the decoded PCM and the payload sizes.
func roundTrip(t testing.TB, freq, amp float64, frames int) ([]int16, []int) {
	t.Helper()
	c, err := codec.Lookup("opus")
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
	var out []int16
	var sizes []int
	buf := make([]byte, 1500)
	pcm := make([]int16, MaxPacketSamples)
	for f := range frames {
		n, err := enc.Encode(buf, sine48k(f*FrameSamples, FrameSamples, freq, amp))
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, n)
		m, err := dec.Decode(pcm, buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		if m != FrameSamples {
			t.Fatalf("frame %d decoded to %d samples, want %d", f, m, FrameSamples)
		}
		out = append(out, pcm[:m]...)
	}
	return out, sizes
}

func TestInfo(t *testing.T) {
	c, err := codec.Lookup("OPUS")
	if err != nil {
		t.Fatal(err)
	}
	info := c.Info()
	want := codec.Info{Name: "opus", PayloadType: 111, ClockRate: 48000, SampleRate: 48000, Channels: 2,
		FrameDuration: 20 * time.Millisecond, Fmtp: Fmtp}
	if info != want {
		t.Fatalf("Info() = %+v, want %+v", info, want)
	}
	if info.FrameSamples() != 960 || info.FrameTimestamp() != 960 {
		t.Errorf("FrameSamples %d, FrameTimestamp %d; want 960, 960", info.FrameSamples(), info.FrameTimestamp())
	}
}

func TestToneRoundTrip(t *testing.T) {
	for _, freq := range []float64{1000, 6000} {
		out, sizes := roundTrip(t, freq, 10000, 50) // 1 s
		steady := out[SampleRate/5:]
		hz := zeroCrossingHz(steady, SampleRate)
		amp := goertzelAmp(steady, SampleRate, freq)
		total := 0
		for _, s := range sizes {
			total += s
		}
		t.Logf("%.0f Hz: decoded %.1f Hz at amplitude %.0f; %d bytes in 1 s", freq, hz, amp, total)
		if math.Abs(hz-freq) > freq*0.005 {
			t.Errorf("%.0f Hz tone decoded at %.1f Hz", freq, hz)
		}
		if amp < 7000 || amp > 13000 {
			t.Errorf("%.0f Hz tone decoded at amplitude %.0f, want about 10000", freq, amp)
		}
		// About DefaultBitrate: 4000 bytes per second, VBR.
		if total < 2000 || total > 8000 {
			t.Errorf("1 s of audio took %d bytes at %d bit/s", total, DefaultBitrate)
		}
	}
}

func TestDecodesStereoStreamToMono(t *testing.T) {
	// A peer may send stereo (sprop-stereo is only a hint): the mono
	// decoder mixes it down.
	enc, err := libopus.NewEncoder(SampleRate, 2, libopus.AppAudio)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	stereo := make([]int16, 2*FrameSamples)
	out := make([]int16, MaxPacketSamples)
	var mono []int16
	for f := range 25 {
		l := sine48k(f*FrameSamples, FrameSamples, 1000, 8000)
		for i, v := range l {
			stereo[2*i], stereo[2*i+1] = v, v
		}
		n, err := enc.Encode(stereo, buf)
		if err != nil {
			t.Fatal(err)
		}
		m, err := dec.Decode(out, buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		if m != FrameSamples {
			t.Fatalf("decoded %d samples from a 20 ms stereo packet, want %d", m, FrameSamples)
		}
		mono = append(mono, out[:m]...)
	}
	if hz := zeroCrossingHz(mono[SampleRate/5:], SampleRate); math.Abs(hz-1000) > 5 {
		t.Errorf("stereo 1000 Hz decoded to mono at %.1f Hz", hz)
	}
}

func TestGarbagePayload(t *testing.T) {
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int16, MaxPacketSamples)
	for _, p := range [][]byte{
		{0x03, 0x00},             // code 3 packet with no frames
		{0x03},                   // code 3 packet without its frame count
		{0xfb, 0x83, 0x01, 0x02}, // code 3, 60 ms frames × 3 = 180 ms > 120 ms
		{0x01, 0x01, 0x02, 0x03}, // code 1 (two equal frames) with an odd length
		{0x02, 0xfd},             // code 2 with a frame length past the end
	} {
		n, err := dec.Decode(out, p)
		if !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("Decode(% x) = %d, %v; want ErrInvalidPacket", p, n, err)
		}
	}
	// Random bytes decode or fail, never crash.
	r := rand.New(rand.NewPCG(5, 6))
	p := make([]byte, 400)
	failed := 0
	for range 500 {
		for i := range p {
			p[i] = byte(r.UintN(256))
		}
		n, err := dec.Decode(out, p[:1+r.IntN(len(p))])
		switch {
		case err != nil:
			failed++
			if !errors.Is(err, ErrInvalidPacket) && !errors.Is(err, codec.ErrShortBuffer) {
				t.Fatalf("random payload: %v", err)
			}
		case n <= 0 || n > MaxPacketSamples:
			t.Fatalf("random payload decoded to %d samples", n)
		}
	}
	t.Logf("%d of 500 random payloads were rejected", failed)
	if failed == 0 {
		t.Error("no random payload was rejected")
	}
}

func TestShortBuffers(t *testing.T) {
	enc, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Encode(make([]byte, 100), make([]int16, 1000)); !errors.Is(err, codec.ErrFrameSize) {
		t.Errorf("Encode of 1000 samples: %v, want codec.ErrFrameSize", err)
	}
	if _, err := enc.Encode(nil, make([]int16, FrameSamples)); !errors.Is(err, codec.ErrShortBuffer) {
		t.Errorf("Encode into nothing: %v, want codec.ErrShortBuffer", err)
	}
	// A 60 ms packet does not fit a 20 ms buffer.
	buf := make([]byte, 1500)
	n, err := enc.Encode(buf, sine48k(0, 3*FrameSamples, 440, 5000))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Decode(make([]int16, FrameSamples), buf[:n]); !errors.Is(err, codec.ErrShortBuffer) {
		t.Errorf("Decode of 60 ms into 20 ms: %v, want codec.ErrShortBuffer", err)
	}
	if m, err := dec.Decode(make([]int16, 3*FrameSamples), buf[:n]); err != nil || m != 3*FrameSamples {
		t.Errorf("Decode of 60 ms = %d, %v", m, err)
	}
	if _, err := dec.Decode(nil, buf[:n]); !errors.Is(err, codec.ErrShortBuffer) {
		t.Errorf("Decode into nothing: %v, want codec.ErrShortBuffer", err)
	}
	// Concealment needs the length of the last packet (60 ms now).
	if _, err := dec.Conceal(make([]int16, FrameSamples)); !errors.Is(err, codec.ErrShortBuffer) {
		t.Errorf("Conceal of 60 ms into 20 ms: %v, want codec.ErrShortBuffer", err)
	}
}

func TestConcealAndFEC(t *testing.T) {
	enc, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	const frames = 40
	packets := make([][]byte, frames)
	buf := make([]byte, 1500)
	for f := range frames {
		n, err := enc.Encode(buf, sine48k(f*FrameSamples, FrameSamples, 800, 8000))
		if err != nil {
			t.Fatal(err)
		}
		packets[f] = append([]byte(nil), buf[:n]...)
	}
	out := make([]int16, MaxPacketSamples)
	for f := range 20 {
		if _, err := dec.Decode(out, packets[f]); err != nil {
			t.Fatal(err)
		}
	}
	// Packet 20 is lost: an empty payload conceals it.
	n, err := dec.Decode(out, nil)
	if err != nil || n != FrameSamples {
		t.Fatalf("Decode(nil) = %d, %v; want %d concealed samples", n, err, FrameSamples)
	}
	if a := goertzelAmp(out[:n], SampleRate, 800); a < 2000 {
		t.Errorf("concealed frame has the 800 Hz tone at %.0f only", a)
	}
	for f := 21; f < 30; f++ {
		if _, err := dec.Decode(out, packets[f]); err != nil {
			t.Fatal(err)
		}
	}
	// Packet 30 is lost but 31 carries its FEC data.
	n, err = dec.DecodeFEC(out, packets[31])
	if err != nil || n != FrameSamples {
		t.Fatalf("DecodeFEC = %d, %v", n, err)
	}
	a := goertzelAmp(out[:n], SampleRate, 800)
	t.Logf("800 Hz in the FEC-recovered frame: %.0f", a)
	if a < 4000 {
		t.Errorf("FEC-recovered frame has the 800 Hz tone at %.0f only", a)
	}
	if n, err := dec.Decode(out, packets[31]); err != nil || n != FrameSamples {
		t.Fatalf("Decode after FEC = %d, %v", n, err)
	}
	if _, err := dec.DecodeFEC(out, []byte{0x03}); !errors.Is(err, ErrInvalidPacket) {
		t.Errorf("DecodeFEC of garbage: %v, want ErrInvalidPacket", err)
	}
}

func TestReset(t *testing.T) {
	enc, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	frame := sine48k(0, FrameSamples, 1000, 8000)
	first := make([]byte, 1500)
	n1, err := enc.Encode(first, frame)
	if err != nil {
		t.Fatal(err)
	}
	second := make([]byte, 1500)
	if _, err := enc.Encode(second, frame); err != nil {
		t.Fatal(err)
	}
	if err := enc.Reset(); err != nil {
		t.Fatal(err)
	}
	again := make([]byte, 1500)
	n2, err := enc.Encode(again, frame)
	if err != nil {
		t.Fatal(err)
	}
	if string(first[:n1]) != string(again[:n2]) {
		t.Error("after Reset the encoder does not produce the first packet again")
	}
	if err := enc.SetBitrate(0); err == nil {
		t.Error("SetBitrate(0) succeeded")
	}
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	a, b := make([]int16, FrameSamples), make([]int16, FrameSamples)
	if _, err := dec.Decode(a, first[:n1]); err != nil {
		t.Fatal(err)
	}
	if err := dec.Reset(); err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Decode(b, first[:n1]); err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("after Reset sample %d decodes to %d, was %d", i, b[i], a[i])
		}
	}
}

func TestNoAllocations(t *testing.T) {
	enc, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	pcm := sine48k(0, FrameSamples, 1000, 8000)
	buf := make([]byte, 1500)
	out := make([]int16, FrameSamples)
	n := 0
	if a := testing.AllocsPerRun(50, func() { n, _ = enc.Encode(buf, pcm) }); a != 0 {
		t.Errorf("Encode allocates %.1f times per frame", a)
	}
	if a := testing.AllocsPerRun(50, func() { _, _ = dec.Decode(out, buf[:n]) }); a != 0 {
		t.Errorf("Decode allocates %.1f times per frame", a)
	}
}

func FuzzDecode(f *testing.F) {
	enc, err := NewEncoder()
	if err != nil {
		f.Fatal(err)
	}
	buf := make([]byte, 1500)
	n, err := enc.Encode(buf, sine48k(0, FrameSamples, 1000, 8000))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append([]byte(nil), buf[:n]...))
	f.Add([]byte{0x03, 0x00})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		dec, err := NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		out := make([]int16, MaxPacketSamples)
		n, err := dec.Decode(out, payload)
		if err != nil {
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("Decode: %v", err)
			}
			return
		}
		if n <= 0 || n > MaxPacketSamples {
			t.Fatalf("Decode returned %d samples", n)
		}
	})
}

func BenchmarkOpusEncodeFrame(b *testing.B) {
	enc, err := NewEncoder()
	if err != nil {
		b.Fatal(err)
	}
	pcm := sine48k(0, FrameSamples, 1000, 8000)
	buf := make([]byte, 1500)
	b.ReportAllocs()
	b.SetBytes(2 * FrameSamples)
	for b.Loop() {
		if _, err := enc.Encode(buf, pcm); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpusDecodeFrame(b *testing.B) {
	enc, err := NewEncoder()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1500)
	var n int
	for f := range 10 { // past the encoder's start-up
		if n, err = enc.Encode(buf, sine48k(f*FrameSamples, FrameSamples, 1000, 8000)); err != nil {
			b.Fatal(err)
		}
	}
	dec, err := NewDecoder()
	if err != nil {
		b.Fatal(err)
	}
	out := make([]int16, FrameSamples)
	b.ReportAllocs()
	b.SetBytes(int64(n))
	for b.Loop() {
		if _, err := dec.Decode(out, buf[:n]); err != nil {
			b.Fatal(err)
		}
	}
}
