package audio

import (
	"errors"
	"io"
	"math"
	"sync"
	"testing"
	"time"
)

func TestToneFrequencyAndLevel(t *testing.T) {
	for _, rate := range []int{8000, 16000, 44100, 48000} {
		for _, freq := range []float64{440, 1000, 1633} {
			tone := NewTone(0.5, freq)
			f := &Frame{Samples: make([]int16, rate), SampleRate: rate}
			if err := tone.ReadFrame(f); err != nil {
				t.Fatal(err)
			}
			if got := DominantFrequency(f.Samples, rate); math.Abs(got-freq) > 0.05 {
				t.Errorf("%v Hz at %d: dominant frequency %.3f", freq, rate, got)
			}
			snr, amp := sineSNR(f.Samples, rate, freq)
			if snr < 80 || math.Abs(amp-0.5) > 1e-3 {
				t.Errorf("%v Hz at %d: SNR %.1f dB, amplitude %.4f, want a clean 0.5", freq, rate, snr, amp)
			}
		}
	}
}

func TestTonePhaseContinuity(t *testing.T) {
	whole := NewTone(0.7, 697, 1209)
	framed := NewTone(0.7, 697, 1209)
	big := &Frame{Samples: make([]int16, 8000), SampleRate: 8000}
	if err := whole.ReadFrame(big); err != nil {
		t.Fatal(err)
	}
	f := &Frame{Samples: make([]int16, 160), SampleRate: 8000}
	for i := 0; i < 8000; i += 160 {
		if err := framed.ReadFrame(f); err != nil {
			t.Fatal(err)
		}
		for j, v := range f.Samples {
			if d := int(v) - int(big.Samples[i+j]); d < -1 || d > 1 {
				t.Fatalf("sample %d: framed %d, continuous %d", i+j, v, big.Samples[i+j])
			}
		}
	}
}

func TestTonePhaseAcrossRates(t *testing.T) {
	const freq = 1000.0
	tone := NewTone(1, freq)
	// 3 ms at 8 kHz, then 16 kHz: the 16 kHz frame must start where a
	// continuous 1 kHz sine is after 3 ms.
	if err := tone.ReadFrame(&Frame{Samples: make([]int16, 24), SampleRate: 8000}); err != nil {
		t.Fatal(err)
	}
	f := &Frame{Samples: make([]int16, 64), SampleRate: 16000}
	if err := tone.ReadFrame(f); err != nil {
		t.Fatal(err)
	}
	for i, v := range f.Samples {
		tm := 0.003 + float64(i)/16000
		want := 32767 * math.Sin(2*math.Pi*freq*tm)
		if math.Abs(float64(v)-want) > 1 {
			t.Fatalf("sample %d at 16 kHz = %d, want %.0f", i, v, want)
		}
	}
}

func TestToneMix(t *testing.T) {
	tone := NewTone(0.8, 350, 440) // dial tone
	f := &Frame{Samples: make([]int16, 8000), SampleRate: 8000}
	if err := tone.ReadFrame(f); err != nil {
		t.Fatal(err)
	}
	for _, freq := range []float64{350, 440} {
		if p := Goertzel(f.Samples, 8000, freq); math.Abs(p-0.16) > 0.005 {
			t.Errorf("power at %v Hz = %.4f, want 0.16 (0.4 peak)", freq, p)
		}
	}
	for _, v := range f.Samples {
		if math.Abs(float64(v)) > 0.8*32767+1 {
			t.Fatalf("sample %d exceeds the requested peak", v)
		}
	}
	// Full scale split across many components never wraps around.
	loud := NewTone(1, 100, 200, 300, 400, 500, 600, 700)
	if err := loud.ReadFrame(f); err != nil {
		t.Fatal(err)
	}
	if f.Samples[0] != 0 || RMS(f.Samples) < 0.2 {
		t.Fatalf("unexpected 7-tone mix: first %d, RMS %.3f", f.Samples[0], RMS(f.Samples))
	}
	for i := 1; i < len(f.Samples); i++ {
		if d := int(f.Samples[i]) - int(f.Samples[i-1]); d > 20000 || d < -20000 {
			t.Fatalf("jump of %d at sample %d: the sum wrapped around", d, i)
		}
	}
}

func TestToneOmitsComponentsAboveNyquist(t *testing.T) {
	tone := NewTone(0.5, 1000, 6000)
	f := &Frame{Samples: make([]int16, 8000), SampleRate: 8000}
	if err := tone.ReadFrame(f); err != nil {
		t.Fatal(err)
	}
	// 6 kHz would alias to 2 kHz at 8 kHz.
	if p := Goertzel(f.Samples, 8000, 2000); p > 1e-6 {
		t.Errorf("alias of 6 kHz present at 8 kHz: %.2e", p)
	}
	if p := Goertzel(f.Samples, 8000, 1000); math.Abs(p-0.0625) > 0.001 {
		t.Errorf("1 kHz power %.4f, want 0.0625 (0.25 peak)", p)
	}
	f.SampleRate = 16000
	f.Samples = make([]int16, 16000)
	if err := tone.ReadFrame(f); err != nil {
		t.Fatal(err)
	}
	if p := Goertzel(f.Samples, 16000, 6000); math.Abs(p-0.0625) > 0.001 {
		t.Errorf("6 kHz power at 16 kHz %.4f, want 0.0625", p)
	}
}

func TestToneFor(t *testing.T) {
	tests := []struct {
		name      string
		d         time.Duration
		rates     []int // per frame; the last repeats
		frameDur  time.Duration
		wantTone  int // samples of tone over all frames
		wantFrame int // frames before io.EOF
	}{
		{"whole frames", time.Second, []int{8000}, 20 * time.Millisecond, 8000, 50},
		{"partial last frame", 25 * time.Millisecond, []int{8000}, 20 * time.Millisecond, 200, 2},
		{"zero", 0, []int{8000}, 20 * time.Millisecond, 0, 0},
		{"negative", -time.Second, []int{16000}, 20 * time.Millisecond, 0, 0},
		{"rate change", 50 * time.Millisecond, []int{8000, 16000}, 20 * time.Millisecond, 160 + 480, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tone := NewToneFor(tc.d, 0.5, 1000)
			frames, toneSamples := 0, 0
			for i := 0; ; i++ {
				if i > 1000 {
					t.Fatal("tone did not end")
				}
				rate := tc.rates[min(i, len(tc.rates)-1)]
				f := &Frame{Samples: make([]int16, int(tc.frameDur)*rate/int(time.Second)), SampleRate: rate}
				err := tone.ReadFrame(f)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				frames++
				// Count up to the last non-zero sample; the tone starts at
				// phase 0 so the first sample of each stretch may be 0.
				last := -1
				for j, v := range f.Samples {
					if v != 0 {
						last = j
					}
				}
				toneSamples += last + 1
			}
			if frames != tc.wantFrame {
				t.Errorf("%d frames before io.EOF, want %d", frames, tc.wantFrame)
			}
			if d := toneSamples - tc.wantTone; d < -2 || d > 0 {
				t.Errorf("%d samples of tone, want %d", toneSamples, tc.wantTone)
			}
			if err := tone.ReadFrame(&Frame{Samples: make([]int16, 160), SampleRate: 8000}); err != io.EOF {
				t.Errorf("ReadFrame after the end = %v, want io.EOF", err)
			}
		})
	}
}

func TestToneReset(t *testing.T) {
	tone := NewToneFor(20*time.Millisecond, 0.5, 440)
	a := &Frame{Samples: make([]int16, 160), SampleRate: 8000}
	if err := tone.ReadFrame(a); err != nil {
		t.Fatal(err)
	}
	if err := tone.ReadFrame(&Frame{Samples: make([]int16, 160), SampleRate: 8000}); err != io.EOF {
		t.Fatalf("second frame: %v, want io.EOF", err)
	}
	tone.Reset()
	b := &Frame{Samples: make([]int16, 160), SampleRate: 8000}
	if err := tone.ReadFrame(b); err != nil {
		t.Fatal(err)
	}
	for i := range a.Samples {
		if a.Samples[i] != b.Samples[i] {
			t.Fatalf("sample %d after Reset = %d, want %d", i, b.Samples[i], a.Samples[i])
		}
	}
}

func TestToneBadParameters(t *testing.T) {
	for _, tone := range []*Tone{
		NewTone(0.5),
		NewTone(0.5, math.NaN(), -100, 0, math.Inf(1)),
		NewTone(math.NaN(), 1000),
		NewTone(-1, 1000),
	} {
		f := &Frame{Samples: []int16{1, 2, 3, 4}, SampleRate: 8000}
		if err := tone.ReadFrame(f); err != nil {
			t.Fatal(err)
		}
		for _, v := range f.Samples {
			if v != 0 {
				t.Fatalf("tone without usable parameters produced %v", f.Samples)
			}
		}
	}
	loud := NewTone(7, 1000) // clamped to full scale
	f := &Frame{Samples: make([]int16, 8000), SampleRate: 8000}
	if err := loud.ReadFrame(f); err != nil {
		t.Fatal(err)
	}
	if _, amp := sineSNR(f.Samples, 8000, 1000); math.Abs(amp-1) > 1e-3 {
		t.Fatalf("amplitude 7 gave a %.3f peak, want 1", amp)
	}
}

func TestSourcesRejectBadFrames(t *testing.T) {
	sources := map[string]Source{"tone": NewTone(0.5, 440), "silence": Silence{}}
	for name, src := range sources {
		if err := src.ReadFrame(nil); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: ReadFrame(nil) = %v, want ErrFormat", name, err)
		}
		for _, rate := range []int{0, -8000, 100, MaxSampleRate + 1} {
			err := src.ReadFrame(&Frame{Samples: make([]int16, 10), SampleRate: rate})
			if !errors.Is(err, ErrSampleRate) {
				t.Errorf("%s at %d Hz: %v, want ErrSampleRate", name, rate, err)
			}
		}
	}
}

func TestSilence(t *testing.T) {
	f := &Frame{Samples: []int16{5, -5, 100}, SampleRate: 48000}
	for range 3 {
		if err := (Silence{}).ReadFrame(f); err != nil {
			t.Fatal(err)
		}
		if f.Samples[0] != 0 || f.Samples[1] != 0 || f.Samples[2] != 0 {
			t.Fatalf("Silence produced %v", f.Samples)
		}
	}
}

func TestToneConcurrentUse(t *testing.T) {
	tone := NewToneFor(2*time.Second, 0.5, 440)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := &Frame{Samples: make([]int16, 160), SampleRate: 8000 * (1 + g%2)}
			for range 1000 {
				if err := tone.ReadFrame(f); err != nil {
					return
				}
				mu.Lock()
				total += len(f.Samples) * 8000 / f.SampleRate
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// 2 s of tone in 8 kHz-equivalent samples, give or take rounding at
	// rate changes and the padded last frame.
	if total < 16000 || total > 16000+160*4 {
		t.Fatalf("concurrent readers got %d 8 kHz-equivalent samples, want about 16000", total)
	}
}

func BenchmarkToneReadFrame(b *testing.B) {
	tone := NewTone(0.5, 1000)
	f := &Frame{Samples: make([]int16, 160), SampleRate: 8000}
	b.ReportAllocs()
	for b.Loop() {
		if err := tone.ReadFrame(f); err != nil {
			b.Fatal(err)
		}
	}
}
