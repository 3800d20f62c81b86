package codec

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestULawKnownVectors(t *testing.T) {
	enc := []struct {
		in   int16
		want byte
	}{
		{0, 0xFF},
		{-1, 0x7F},
		{32767, 0x80},
		{-32768, 0x00},
		{32635, 0x80},
		{100, 0xF2},
		{-100, 0x72},
	}
	for _, c := range enc {
		if got := ULawFromLinear(c.in); got != c.want {
			t.Errorf("ULawFromLinear(%d) = %#02x, want %#02x", c.in, got, c.want)
		}
	}
	dec := []struct {
		in   byte
		want int16
	}{
		{0x00, -32124},
		{0x01, -31100},
		{0x80, 32124},
		{0xFF, 0},
		{0x7F, 0},
		{0xF2, 104},
		{0x7E, -8},
	}
	for _, c := range dec {
		if got := LinearFromULaw(c.in); got != c.want {
			t.Errorf("LinearFromULaw(%#02x) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestALawKnownVectors(t *testing.T) {
	enc := []struct {
		in   int16
		want byte
	}{
		{0, 0xD5},
		{-1, 0x55},
		{7, 0xD5},
		{-8, 0x55},
		{32767, 0xAA},
		{-32768, 0x2A},
	}
	for _, c := range enc {
		if got := ALawFromLinear(c.in); got != c.want {
			t.Errorf("ALawFromLinear(%d) = %#02x, want %#02x", c.in, got, c.want)
		}
	}
	dec := []struct {
		in   byte
		want int16
	}{
		{0xD5, 8},
		{0x55, -8},
		{0x00, -5504},
		{0x80, 5504},
		{0xAA, 32256},
		{0x2A, -32256},
	}
	for _, c := range dec {
		if got := LinearFromALaw(c.in); got != c.want {
			t.Errorf("LinearFromALaw(%#02x) = %d, want %d", c.in, got, c.want)
		}
	}
}

// refULaw is a straightforward µ-law encoder that finds the segment by
// walking the segment boundaries, used to cross-check the tables.
func refULaw(x int16) byte {
	v := int(x)
	sign := 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, 32635) + 132
	seg := 0
	for seg < 7 && v >= 256<<seg {
		seg++
	}
	step := (v - 128<<seg) / (8 << seg)
	return ^byte(sign | seg<<4 | step)
}

// refALaw is a straightforward A-law encoder on the 13-bit scale.
func refALaw(x int16) byte {
	v := int(x)
	sign := 0x80
	if v < 0 {
		v, sign = -v-1, 0
	}
	v >>= 3 // 0..4095
	seg := 0
	for seg < 7 && v >= 32<<seg {
		seg++
	}
	var step int
	if seg == 0 {
		step = v / 2
	} else {
		step = (v - 16<<seg) >> seg
	}
	return byte(sign|seg<<4|step) ^ 0x55
}

func TestG711MatchesReference(t *testing.T) {
	for x := math.MinInt16; x <= math.MaxInt16; x++ {
		s := int16(x)
		if got, want := ULawFromLinear(s), refULaw(s); got != want {
			t.Fatalf("ULawFromLinear(%d) = %#02x, reference %#02x", s, got, want)
		}
		if got, want := ALawFromLinear(s), refALaw(s); got != want {
			t.Fatalf("ALawFromLinear(%d) = %#02x, reference %#02x", s, got, want)
		}
	}
}

// halfStepULaw is half the quantisation step of the µ-law segment of code.
func halfStepULaw(code byte) int {
	return 4 << ((^code >> 4) & 7)
}

// halfStepALaw is half the quantisation step of the A-law segment of code.
func halfStepALaw(code byte) int {
	seg := ((code ^ 0x55) >> 4) & 7
	if seg == 0 {
		return 8
	}
	return 8 << (seg - 1)
}

func TestULawRoundTripLinear(t *testing.T) {
	prev := math.MinInt16
	for x := math.MinInt16; x <= math.MaxInt16; x++ {
		code := ULawFromLinear(int16(x))
		y := int(LinearFromULaw(code))
		// Magnitudes above the clip level saturate at the clip level.
		target := max(-32635, min(32635, x))
		if d := abs(y - target); d > halfStepULaw(code) {
			t.Fatalf("µ-law %d -> %#02x -> %d: error %d exceeds half step %d", x, code, y, d, halfStepULaw(code))
		}
		if y < prev {
			t.Fatalf("µ-law not monotonic at %d: %d after %d", x, y, prev)
		}
		prev = y
	}
}

func TestALawRoundTripLinear(t *testing.T) {
	prev := math.MinInt16
	for x := math.MinInt16; x <= math.MaxInt16; x++ {
		code := ALawFromLinear(int16(x))
		y := int(LinearFromALaw(code))
		// One's complement on negative inputs shifts them by one LSB.
		if d := abs(y - x); d > halfStepALaw(code)+1 {
			t.Fatalf("A-law %d -> %#02x -> %d: error %d exceeds half step %d", x, code, y, d, halfStepALaw(code))
		}
		if y < prev {
			t.Fatalf("A-law not monotonic at %d: %d after %d", x, y, prev)
		}
		prev = y
	}
}

func TestG711RoundTripCodes(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		want := b
		if b == 0x7F { // µ-law "negative zero" decodes to 0, which encodes as 0xFF
			want = 0xFF
		}
		if got := ULawFromLinear(LinearFromULaw(b)); got != want {
			t.Errorf("µ-law %#02x -> %d -> %#02x, want %#02x", b, LinearFromULaw(b), got, want)
		}
		if got := ALawFromLinear(LinearFromALaw(b)); got != b {
			t.Errorf("A-law %#02x -> %d -> %#02x", b, LinearFromALaw(b), got)
		}
	}
}

func TestBlockHelpersMatchPerSample(t *testing.T) {
	pcm := make([]int16, 1000)
	for i := range pcm {
		pcm[i] = int16(i*131 - 30000)
	}
	ul := make([]byte, len(pcm))
	al := make([]byte, len(pcm))
	if n := EncodeULaw(ul, pcm); n != len(pcm) {
		t.Fatalf("EncodeULaw = %d, want %d", n, len(pcm))
	}
	if n := EncodeALaw(al, pcm); n != len(pcm) {
		t.Fatalf("EncodeALaw = %d, want %d", n, len(pcm))
	}
	ud := make([]int16, len(pcm))
	ad := make([]int16, len(pcm))
	if n := DecodeULaw(ud, ul); n != len(pcm) {
		t.Fatalf("DecodeULaw = %d", n)
	}
	if n := DecodeALaw(ad, al); n != len(pcm) {
		t.Fatalf("DecodeALaw = %d", n)
	}
	for i, s := range pcm {
		if ul[i] != ULawFromLinear(s) || al[i] != ALawFromLinear(s) {
			t.Fatalf("sample %d: block encode differs from per-sample encode", i)
		}
		if ud[i] != LinearFromULaw(ul[i]) || ad[i] != LinearFromALaw(al[i]) {
			t.Fatalf("sample %d: block decode differs from per-sample decode", i)
		}
	}
	// Short destinations are filled as far as they go.
	if n := EncodeULaw(ul[:10], pcm); n != 10 {
		t.Errorf("EncodeULaw into 10 bytes = %d", n)
	}
	if n := DecodeALaw(ad[:3], al); n != 3 {
		t.Errorf("DecodeALaw into 3 samples = %d", n)
	}
}

func TestG711Codecs(t *testing.T) {
	tests := []struct {
		name   string
		pt     uint8
		encode func(int16) byte
		decode func(byte) int16
	}{
		{"PCMU", 0, ULawFromLinear, LinearFromULaw},
		{"PCMA", 8, ALawFromLinear, LinearFromALaw},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Lookup(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			info := c.Info()
			want := Info{Name: tc.name, PayloadType: tc.pt, ClockRate: 8000, SampleRate: 8000,
				Channels: 1, FrameDuration: 20 * time.Millisecond}
			if info != want {
				t.Fatalf("Info() = %+v, want %+v", info, want)
			}
			if info.FrameSamples() != 160 || info.FrameTimestamp() != 160 {
				t.Fatalf("FrameSamples %d FrameTimestamp %d, want 160 and 160",
					info.FrameSamples(), info.FrameTimestamp())
			}
			enc, err := c.NewEncoder()
			if err != nil {
				t.Fatal(err)
			}
			dec, err := c.NewDecoder()
			if err != nil {
				t.Fatal(err)
			}
			pcm := make([]int16, 160)
			for i := range pcm {
				pcm[i] = int16(math.Round(12000 * math.Sin(2*math.Pi*1000*float64(i)/8000)))
			}
			payload := make([]byte, 160)
			n, err := enc.Encode(payload, pcm)
			if err != nil || n != 160 {
				t.Fatalf("Encode = %d, %v", n, err)
			}
			out := make([]int16, 160)
			n, err = dec.Decode(out, payload)
			if err != nil || n != 160 {
				t.Fatalf("Decode = %d, %v", n, err)
			}
			for i := range pcm {
				if payload[i] != tc.encode(pcm[i]) {
					t.Fatalf("payload[%d] = %#02x, want %#02x", i, payload[i], tc.encode(pcm[i]))
				}
				if out[i] != tc.decode(payload[i]) {
					t.Fatalf("out[%d] = %d, want %d", i, out[i], tc.decode(payload[i]))
				}
			}
			if _, err := enc.Encode(payload[:159], pcm); !errors.Is(err, ErrShortBuffer) {
				t.Errorf("Encode into short buffer: err = %v, want ErrShortBuffer", err)
			}
			if _, err := dec.Decode(out[:100], payload); !errors.Is(err, ErrShortBuffer) {
				t.Errorf("Decode into short buffer: err = %v, want ErrShortBuffer", err)
			}
			if n, err := dec.Decode(out, nil); n != 0 || err != nil {
				t.Errorf("Decode(empty) = %d, %v", n, err)
			}
			allocs := testing.AllocsPerRun(100, func() {
				_, _ = enc.Encode(payload, pcm)
				_, _ = dec.Decode(out, payload)
			})
			if allocs != 0 {
				t.Errorf("Encode+Decode allocate %v times per frame, want 0", allocs)
			}
		})
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func benchmarkEncode(b *testing.B, name string) {
	c, err := Lookup(name)
	if err != nil {
		b.Fatal(err)
	}
	enc, err := c.NewEncoder()
	if err != nil {
		b.Fatal(err)
	}
	pcm := make([]int16, c.Info().FrameSamples())
	for i := range pcm {
		pcm[i] = int16(math.Round(16000 * math.Sin(2*math.Pi*440*float64(i)/8000)))
	}
	payload := make([]byte, len(pcm))
	b.ReportAllocs()
	b.SetBytes(int64(len(pcm) * 2))
	for b.Loop() {
		if _, err := enc.Encode(payload, pcm); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkDecode(b *testing.B, name string) {
	c, err := Lookup(name)
	if err != nil {
		b.Fatal(err)
	}
	dec, err := c.NewDecoder()
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, c.Info().FrameSamples())
	for i := range payload {
		payload[i] = byte(i * 37)
	}
	pcm := make([]int16, len(payload))
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := dec.Decode(pcm, payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkG711ULawEncodeFrame(b *testing.B) { benchmarkEncode(b, "PCMU") }
func BenchmarkG711ULawDecodeFrame(b *testing.B) { benchmarkDecode(b, "PCMU") }
func BenchmarkG711ALawEncodeFrame(b *testing.B) { benchmarkEncode(b, "PCMA") }
func BenchmarkG711ALawDecodeFrame(b *testing.B) { benchmarkDecode(b, "PCMA") }
