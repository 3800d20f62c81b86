package audio

import (
	"fmt"
	"math"
	"testing"
)

func TestGoertzel(t *testing.T) {
	tests := []struct {
		name string
		amp  float64
		tone float64 // Hz of the sine in the signal
		at   float64 // Hz probed
		want float64
		tol  float64
	}{
		{"full scale on bin", 1, 1000, 1000, 1, 0.01},
		{"half scale on bin", 0.5, 1000, 1000, 0.25, 0.005},
		{"off bin tone", 0.5, 1633, 1633, 0.25, 0.005},
		{"other frequency", 0.5, 1000, 2000, 0, 1e-6},
		{"neighbouring DTMF row", 0.5, 697, 770, 0, 1e-3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sine(8000, 8000, tc.tone, tc.amp)
			if got := Goertzel(s, 8000, tc.at); math.Abs(got-tc.want) > tc.tol {
				t.Errorf("Goertzel = %.6f, want %.4f ± %g", got, tc.want, tc.tol)
			}
		})
	}
	s := sine(800, 8000, 1000, 0.5)
	for _, c := range []struct {
		s    []int16
		rate int
		f    float64
	}{{nil, 8000, 1000}, {s, 0, 1000}, {s, 8000, 0}, {s, 8000, -5}, {s, 8000, 4000}, {s, 8000, math.NaN()}} {
		if got := Goertzel(c.s, c.rate, c.f); got != 0 {
			t.Errorf("Goertzel(len %d, %d, %v) = %v, want 0", len(c.s), c.rate, c.f, got)
		}
	}
}

func TestRMS(t *testing.T) {
	square := make([]int16, 1000)
	for i := range square {
		square[i] = 32767
		if i%2 == 1 {
			square[i] = -32767
		}
	}
	tests := []struct {
		name string
		s    []int16
		want float64
	}{
		{"empty", nil, 0},
		{"silence", make([]int16, 100), 0},
		{"square", square, 32767.0 / 32768},
		{"half sine", sine(8000, 8000, 1000, 0.5), 0.5 / math.Sqrt2},
	}
	for _, tc := range tests {
		if got := RMS(tc.s); math.Abs(got-tc.want) > 1e-4 {
			t.Errorf("RMS(%s) = %.5f, want %.5f", tc.name, got, tc.want)
		}
	}
}

func TestDominantFrequency(t *testing.T) {
	type tc struct {
		freq     float64
		rate     int
		dur      float64 // seconds
		amp      float64 // tone peak, of full scale
		noiseRMS float64 // of full scale
		tol      float64
	}
	var tests []tc
	for _, f := range []float64{440, 1000, 1633} {
		for _, rate := range []int{8000, 16000, 48000} {
			tests = append(tests,
				tc{f, rate, 1, 0.5, 0, 0.05},
				tc{f, rate, 1, 0.5, 0.05, 0.1},   // tone 17 dB above the noise
				tc{f, rate, 0.5, 0.5, 0.5, 1},    // noise 3 dB above the tone
				tc{f, rate, 0.5, 0.1, 0.2236, 1}, // noise 10 dB above the tone
				tc{f, rate, 0.1, 0.5, 0.02, 0.5}, // 100 ms
				tc{f, rate, 0.02, 0.5, 0.02, 2},  // one 20 ms frame
			)
		}
	}
	tests = append(tests, tc{3400, 8000, 1, 0.5, 0.05, 0.1}, tc{150, 8000, 1, 0.5, 0.05, 0.1}, tc{12000, 48000, 0.2, 0.5, 0.05, 0.5})
	for i, c := range tests {
		t.Run(fmt.Sprintf("%vHz@%d/%vs/noise%v", c.freq, c.rate, c.dur, c.noiseRMS), func(t *testing.T) {
			s := sine(int(c.dur*float64(c.rate)), c.rate, c.freq, c.amp)
			addNoise(s, c.noiseRMS, uint64(i))
			if got := DominantFrequency(s, c.rate); math.Abs(got-c.freq) > c.tol {
				t.Errorf("DominantFrequency = %.2f Hz, want %v ± %v", got, c.freq, c.tol)
			}
		})
	}
}

func TestDominantFrequencyPicksStrongest(t *testing.T) {
	a := sine(8000, 8000, 697, 0.2)
	b := sine(8000, 8000, 1209, 0.4)
	for i := range a {
		a[i] += b[i]
	}
	if got := DominantFrequency(a, 8000); math.Abs(got-1209) > 0.5 {
		t.Errorf("DominantFrequency of 697 Hz at 0.2 + 1209 Hz at 0.4 = %.2f, want 1209", got)
	}
}

func TestDominantFrequencyDegenerate(t *testing.T) {
	dc := make([]int16, 1000)
	for i := range dc {
		dc[i] = 5000
	}
	for _, c := range []struct {
		name string
		s    []int16
		rate int
	}{
		{"empty", nil, 8000},
		{"too short", sine(10, 8000, 1000, 0.5), 8000},
		{"silence", make([]int16, 8000), 8000},
		{"constant", dc, 8000},
		{"zero rate", sine(800, 8000, 1000, 0.5), 0},
	} {
		if got := DominantFrequency(c.s, c.rate); got != 0 {
			t.Errorf("DominantFrequency(%s) = %v, want 0", c.name, got)
		}
	}
}

func BenchmarkGoertzel(b *testing.B) {
	s := sine(160, 8000, 1000, 0.5)
	b.ReportAllocs()
	for b.Loop() {
		if Goertzel(s, 8000, 1000) < 0.2 {
			b.Fatal("tone not found")
		}
	}
}

func BenchmarkDominantFrequency(b *testing.B) {
	s := sine(8000, 8000, 1000, 0.5)
	b.ReportAllocs()
	for b.Loop() {
		DominantFrequency(s, 8000)
	}
}
