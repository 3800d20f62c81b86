package audio

import (
	"math"
	"math/rand/v2"
	"testing"
)

// sine returns n samples of a sine at freq Hz and peak amplitude amp (of
// full scale) sampled at rate Hz, starting at phase 0.
func sine(n, rate int, freq, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * 32767 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return s
}

// addNoise adds uniform white noise of the given RMS level (of full scale)
// to s, deterministically.
func addNoise(s []int16, rms float64, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	peak := rms * math.Sqrt(3) * 32767
	for i := range s {
		s[i] = clip16(float64(s[i]) + (2*rng.Float64()-1)*peak)
	}
}

// sineSNR fits a*cos + b*sin + c at freq Hz to s by least squares and
// returns the ratio of the fitted sine's power to the residual power in dB,
// and the fitted peak amplitude as a fraction of full scale.
func sineSNR(s []int16, rate int, freq float64) (snr, amp float64) {
	w := 2 * math.Pi * freq / float64(rate)
	// Normal equations for the basis cos, sin, 1.
	var m [3][3]float64
	var v [3]float64
	for i, x := range s {
		b := [3]float64{math.Cos(w * float64(i)), math.Sin(w * float64(i)), 1}
		for r := range 3 {
			for c := range 3 {
				m[r][c] += b[r] * b[c]
			}
			v[r] += b[r] * float64(x)
		}
	}
	coef := solve3(m, v)
	var sig, res float64
	for i, x := range s {
		fit := coef[0]*math.Cos(w*float64(i)) + coef[1]*math.Sin(w*float64(i))
		sig += fit * fit
		d := float64(x) - fit - coef[2]
		res += d * d
	}
	amp = math.Hypot(coef[0], coef[1]) / 32767
	if res == 0 {
		return math.Inf(1), amp
	}
	return 10 * math.Log10(sig/res), amp
}

// solve3 solves m x = v by Cramer's rule.
func solve3(m [3][3]float64, v [3]float64) [3]float64 {
	det := func(a [3][3]float64) float64 {
		return a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) -
			a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) +
			a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
	}
	d := det(m)
	var x [3]float64
	for c := range 3 {
		a := m
		for r := range 3 {
			a[r][c] = v[r]
		}
		x[c] = det(a) / d
	}
	return x
}

// readAll reads src in frames of frameLen samples at rate until io.EOF or
// an error, at most maxFrames frames.
func readAll(t testing.TB, src Source, rate, frameLen, maxFrames int) ([]int16, error) {
	t.Helper()
	var out []int16
	f := &Frame{Samples: make([]int16, frameLen), SampleRate: rate}
	for range maxFrames {
		if err := src.ReadFrame(f); err != nil {
			return out, err
		}
		out = append(out, f.Samples...)
	}
	t.Fatalf("source did not end within %d frames", maxFrames)
	return nil, nil
}

func TestSineSNRHelper(t *testing.T) {
	// The helper itself must tell a clean sine from a noisy one.
	clean := sine(8000, 8000, 1000, 0.5)
	snr, amp := sineSNR(clean, 8000, 1000)
	if snr < 80 || math.Abs(amp-0.5) > 0.001 {
		t.Fatalf("clean sine: SNR %.1f dB, amplitude %.4f", snr, amp)
	}
	noisy := sine(8000, 8000, 1000, 0.5)
	addNoise(noisy, 0.05, 1) // signal power 0.125, noise 0.0025: 17 dB
	snr, _ = sineSNR(noisy, 8000, 1000)
	if snr < 15 || snr > 19 {
		t.Fatalf("noisy sine: SNR %.1f dB, want about 17", snr)
	}
}
