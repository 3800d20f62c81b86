package audio

import (
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

const allDigits = "123A456B789C*0#D"

// dtmfSignal builds a test signal from segments of tone pairs (zero
// frequencies: silence), each tone at its own peak amplitude.
type segment struct {
	f1, f2   float64
	a1, a2   float64
	duration time.Duration
}

func signal(rate int, segs ...segment) []int16 {
	var out []int16
	var t0 int
	for _, s := range segs {
		n := int(s.duration.Seconds() * float64(rate))
		for i := range n {
			t := float64(t0+i) / float64(rate)
			v := s.a1*math.Sin(2*math.Pi*s.f1*t) + s.a2*math.Sin(2*math.Pi*s.f2*t)
			out = append(out, clip16(v*32767))
		}
		t0 += n
	}
	return out
}

// addWhiteNoise adds Gaussian noise snrDB below the power of s.
func addWhiteNoise(s []int16, snrDB float64, seed uint64) {
	var p float64
	var n int
	for _, v := range s {
		if v != 0 {
			p += float64(v) * float64(v)
			n++
		}
	}
	if n == 0 {
		return
	}
	sigma := math.Sqrt(p / float64(n) / math.Pow(10, snrDB/10))
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range s {
		s[i] = clip16(float64(s[i]) + rng.NormFloat64()*sigma)
	}
}

// detectAll runs samples through a detector in frames of 20 ms followed
// by 200 ms of silence and returns the digits found.
func detectAll(t *testing.T, d *DTMFDetector, samples []int16, rate int) []DTMFDetection {
	t.Helper()
	samples = append(samples, make([]int16, rate/5)...)
	var found []DTMFDetection
	step := rate / 50
	for i := 0; i < len(samples); i += step {
		f := Frame{Samples: samples[i:min(i+step, len(samples))], SampleRate: rate}
		var err error
		if found, err = d.Detect(&f, found); err != nil {
			t.Fatal(err)
		}
	}
	return found
}

func digitsOf(ds []DTMFDetection) string {
	b := make([]rune, len(ds))
	for i, d := range ds {
		b[i] = d.Digit
	}
	return string(b)
}

func TestDTMFFrequencies(t *testing.T) {
	lo, hi, ok := DTMFFrequencies('5')
	if !ok || lo != 770 || hi != 1336 {
		t.Fatalf("5: %v %v %v", lo, hi, ok)
	}
	if lo, hi, ok := DTMFFrequencies('d'); !ok || lo != 941 || hi != 1633 {
		t.Fatalf("d: %v %v %v", lo, hi, ok)
	}
	if _, _, ok := DTMFFrequencies('x'); ok {
		t.Fatal("x is a digit")
	}
	if _, err := NewDTMFTone('E', time.Second, 0.5); !errors.Is(err, ErrInvalidDigit) {
		t.Fatalf("NewDTMFTone(E): %v", err)
	}
}

// TestDTMFToneSource plays NewDTMFTone and checks both frequencies, the
// length and io.EOF.
func TestDTMFToneSource(t *testing.T) {
	src, err := NewDTMFTone('#', 100*time.Millisecond, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	var all []int16
	for range 10 {
		f := Frame{Samples: make([]int16, 160), SampleRate: 8000}
		if err := src.ReadFrame(&f); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		all = append(all, f.Samples...)
	}
	if len(all) != 800 {
		t.Fatalf("%d samples, want 800", len(all))
	}
	for _, fr := range []float64{941, 1477} {
		if a := math.Sqrt(Goertzel(all, 8000, fr)); math.Abs(a-0.25) > 0.02 {
			t.Errorf("%v Hz at %.3f, want 0.25", fr, a)
		}
	}
	if a := math.Sqrt(Goertzel(all, 8000, 1336)); a > 0.02 {
		t.Errorf("1336 Hz at %.3f", a)
	}
}

func TestDTMFDetectorAllDigitsWithNoise(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		for i, k := range allDigits {
			lo, hi, _ := DTMFFrequencies(k)
			segs := []segment{
				{duration: 30 * time.Millisecond},
				{f1: lo, f2: hi, a1: 0.2, a2: 0.25, duration: 60 * time.Millisecond},
				{duration: 50 * time.Millisecond},
				{f1: lo, f2: hi, a1: 0.3, a2: 0.3, duration: 100 * time.Millisecond},
			}
			s := signal(rate, segs...)
			addWhiteNoise(s, 15, uint64(rate+i))
			got := detectAll(t, NewDTMFDetector(DTMFDetectorConfig{}), s, rate)
			if want := string([]rune{k, k}); digitsOf(got) != want {
				t.Errorf("%d Hz, %c: detected %q, want %q", rate, k, digitsOf(got), want)
				continue
			}
			if d := got[1].Duration; d < 75*time.Millisecond || d > 115*time.Millisecond {
				t.Errorf("%d Hz, %c: duration %v of a 100 ms tone", rate, k, d)
			}
			if l := got[1].Level; l < -9 || l > -6 { // two tones of peak 0.3: 2·0.045 / 0.5 = -7.4 dB
				t.Errorf("%d Hz, %c: level %.1f dB", rate, k, l)
			}
		}
	}
}

func TestDTMFDetectorSequence(t *testing.T) {
	const rate = 8000
	var segs []segment
	want := "0123456789*#ABCD1"
	for _, k := range want {
		lo, hi, _ := DTMFFrequencies(k)
		segs = append(segs, segment{f1: lo, f2: hi, a1: 0.25, a2: 0.25, duration: 50 * time.Millisecond},
			segment{duration: 45 * time.Millisecond})
	}
	s := signal(rate, segs...)
	addWhiteNoise(s, 20, 3)
	if got := digitsOf(detectAll(t, NewDTMFDetector(DTMFDetectorConfig{}), s, rate)); got != want {
		t.Fatalf("detected %q, want %q", got, want)
	}
}

func TestDTMFDetectorRejects(t *testing.T) {
	lo, hi, _ := DTMFFrequencies('5')
	cases := []struct {
		name string
		segs []segment
	}{
		{"too short 20ms", []segment{{f1: lo, f2: hi, a1: 0.3, a2: 0.3, duration: 20 * time.Millisecond}}},
		{"forward twist 10dB", []segment{{f1: lo, f2: hi, a1: 0.3 / math.Sqrt(10), a2: 0.3, duration: 200 * time.Millisecond}}},
		{"reverse twist 6dB", []segment{{f1: lo, f2: hi, a1: 0.3, a2: 0.3 / 2, duration: 200 * time.Millisecond}}},
		{"row only", []segment{{f1: lo, a1: 0.5, duration: 200 * time.Millisecond}}},
		{"1000 Hz", []segment{{f1: 1000, a1: 0.5, duration: 500 * time.Millisecond}}},
		{"chord 600+1100 Hz", []segment{{f1: 600, f2: 1100, a1: 0.3, a2: 0.3, duration: 500 * time.Millisecond}}},
		{"chord 1050+1550 Hz", []segment{{f1: 1050, f2: 1550, a1: 0.3, a2: 0.3, duration: 500 * time.Millisecond}}},
		{"too weak", []segment{{f1: lo, f2: hi, a1: 0.005, a2: 0.005, duration: 200 * time.Millisecond}}},
	}
	for _, rate := range []int{8000, 16000} {
		for _, c := range cases {
			s := signal(rate, c.segs...)
			if got := detectAll(t, NewDTMFDetector(DTMFDetectorConfig{}), s, rate); len(got) != 0 {
				t.Errorf("%d Hz %s: detected %q", rate, c.name, digitsOf(got))
			}
		}
	}
	// Within the limits the same tones are accepted.
	for _, seg := range []segment{
		{f1: lo, f2: hi, a1: 0.3 / math.Sqrt(5), a2: 0.3, duration: 200 * time.Millisecond}, // forward 7 dB
		{f1: lo, f2: hi, a1: 0.3, a2: 0.3 / math.Sqrt(2), duration: 200 * time.Millisecond}, // reverse 3 dB
		{f1: lo, f2: hi, a1: 0.3, a2: 0.3, duration: 40 * time.Millisecond},
	} {
		if got := digitsOf(detectAll(t, NewDTMFDetector(DTMFDetectorConfig{}), signal(8000, seg), 8000)); got != "5" {
			t.Errorf("%+v: detected %q, want 5", seg, got)
		}
	}
}

// TestDTMFDetectorSpeechLike feeds voiced-speech-like signals (harmonics
// of a gliding pitch under formant peaks, with noise) and white noise:
// nothing may be detected.
func TestDTMFDetectorSpeechLike(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		n := rate * 3
		s := make([]int16, n)
		rng := rand.New(rand.NewPCG(9, 9))
		var phase float64
		formants := []float64{700, 1220, 2600}
		for i := range s {
			tm := float64(i) / float64(rate)
			pitch := 100 + 60*math.Sin(2*math.Pi*0.7*tm) // 40-160 Hz glide
			phase += pitch / float64(rate)
			var v float64
			for h := 1; float64(h)*pitch < 3400; h++ {
				f := float64(h) * pitch
				g := 0.0
				for _, fm := range formants {
					g += 1 / (1 + math.Pow((f-fm)/120, 2))
				}
				v += g * math.Sin(2*math.Pi*float64(h)*phase) / math.Sqrt(float64(h))
			}
			s[i] = clip16(v*3000 + rng.NormFloat64()*300)
		}
		if got := detectAll(t, NewDTMFDetector(DTMFDetectorConfig{}), s, rate); len(got) != 0 {
			t.Errorf("%d Hz speech-like: detected %q", rate, digitsOf(got))
		}
		for i := range s {
			s[i] = clip16(rng.NormFloat64() * 5000)
		}
		if got := detectAll(t, NewDTMFDetector(DTMFDetectorConfig{}), s, rate); len(got) != 0 {
			t.Errorf("%d Hz noise: detected %q", rate, digitsOf(got))
		}
	}
}

// TestDTMFDetectorPause: the same digit twice needs a pause; a short
// drop-out is bridged.
func TestDTMFDetectorPause(t *testing.T) {
	lo, hi, _ := DTMFFrequencies('8')
	tone := segment{f1: lo, f2: hi, a1: 0.3, a2: 0.3, duration: 80 * time.Millisecond}
	for _, c := range []struct {
		gap  time.Duration
		want string
	}{{10 * time.Millisecond, "8"}, {50 * time.Millisecond, "88"}} {
		s := signal(8000, tone, segment{duration: c.gap}, tone)
		if got := digitsOf(detectAll(t, NewDTMFDetector(DTMFDetectorConfig{}), s, 8000)); got != c.want {
			t.Errorf("gap %v: detected %q, want %q", c.gap, got, c.want)
		}
	}
	// A frame with a bad rate is an error and does not disturb the state.
	d := NewDTMFDetector(DTMFDetectorConfig{})
	if _, err := d.Detect(&Frame{Samples: make([]int16, 10), SampleRate: 1}, nil); !errors.Is(err, ErrSampleRate) {
		t.Fatalf("bad rate: %v", err)
	}
	if _, err := d.Detect(nil, nil); err == nil {
		t.Fatal("nil frame accepted")
	}
}

func BenchmarkDTMFDetector(b *testing.B) {
	const rate = 8000
	lo, hi, _ := DTMFFrequencies('7')
	s := signal(rate, segment{f1: lo, f2: hi, a1: 0.3, a2: 0.3, duration: 100 * time.Millisecond},
		segment{duration: 100 * time.Millisecond})
	d := NewDTMFDetector(DTMFDetectorConfig{})
	dst := make([]DTMFDetection, 0, 4)
	step := rate / 50
	frames := len(s) / step
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		j := i % frames * step
		f := Frame{Samples: s[j : j+step], SampleRate: rate}
		dst, _ = d.Detect(&f, dst[:0])
	}
}
