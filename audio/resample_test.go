package audio

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

var resampleRatios = []struct{ from, to int }{
	{8000, 16000},
	{16000, 8000},
	{8000, 48000},
	{48000, 8000},
	{8000, 44100},
	{44100, 8000},
	{44100, 48000},
	{11025, 16000},
	{8000, 44099}, // too many phases: uses the nearest of a bounded set
	{16000, 16000},
}

func TestResamplerOutputCount(t *testing.T) {
	for _, rr := range resampleRatios {
		t.Run(fmt.Sprintf("%dto%d", rr.from, rr.to), func(t *testing.T) {
			r := NewResampler(rr.from, rr.to)
			if r.Err() != nil {
				t.Fatal(r.Err())
			}
			rng := rand.New(rand.NewPCG(7, 7))
			total, produced := 0, 0
			for range 200 {
				src := make([]int16, rng.IntN(700))
				want := r.OutputLen(len(src))
				dst := make([]int16, want+5)
				n := r.Resample(dst, src)
				if n != want {
					t.Fatalf("Resample produced %d, OutputLen said %d", n, want)
				}
				total += len(src)
				produced += n
				exact := int((int64(total)*int64(rr.to) + int64(rr.from) - 1) / int64(rr.from))
				if produced != exact {
					t.Fatalf("after %d inputs: %d outputs, want ceil(n*to/from) = %d", total, produced, exact)
				}
			}
		})
	}
}

func TestResamplerChunkingInvariant(t *testing.T) {
	for _, rr := range resampleRatios {
		t.Run(fmt.Sprintf("%dto%d", rr.from, rr.to), func(t *testing.T) {
			in := sine(rr.from/2, rr.from, 440, 0.6)
			addNoise(in, 0.05, 3)
			whole := NewResampler(rr.from, rr.to)
			want := make([]int16, whole.OutputLen(len(in)))
			want = want[:whole.Resample(want, in)]

			// Random input chunks and deliberately short outputs; leftovers
			// come out on later calls.
			r := NewResampler(rr.from, rr.to)
			rng := rand.New(rand.NewPCG(1, 2))
			var got []int16
			rest := in
			for len(rest) > 0 || r.OutputLen(0) > 0 {
				k := min(len(rest), rng.IntN(300))
				dst := make([]int16, rng.IntN(400))
				n := r.Resample(dst, rest[:k])
				got = append(got, dst[:n]...)
				rest = rest[k:]
			}
			if !slices.Equal(got, want) {
				t.Fatalf("chunked output (%d samples) differs from one-shot output (%d samples)", len(got), len(want))
			}
		})
	}
}

func TestResamplerIdentity(t *testing.T) {
	r := NewResampler(16000, 16000)
	in := sine(1000, 16000, 1234, 0.9)
	out := make([]int16, len(in))
	if n := r.Resample(out, in); n != len(in) {
		t.Fatalf("identity produced %d of %d samples", n, len(in))
	}
	if !slices.Equal(out, in) || r.Delay() != 0 {
		t.Fatalf("identity resampler changed the samples or delays them (%d)", r.Delay())
	}
}

func TestResamplerInvalidRates(t *testing.T) {
	for _, rr := range []struct{ from, to int }{{0, 8000}, {8000, -1}, {8000, MaxSampleRate + 1}, {100, 8000}} {
		r := NewResampler(rr.from, rr.to)
		if !errors.Is(r.Err(), ErrSampleRate) {
			t.Errorf("NewResampler(%d, %d).Err() = %v, want ErrSampleRate", rr.from, rr.to, r.Err())
		}
		dst := make([]int16, 100)
		if n := r.Resample(dst, make([]int16, 100)); n != 0 || r.OutputLen(100) != 0 {
			t.Errorf("inert resampler produced %d samples", n)
		}
		r.Reset()
	}
}

// resampleAll runs in through a fresh resampler and returns the output.
func resampleAll(from, to int, in []int16) []int16 {
	r := NewResampler(from, to)
	out := make([]int16, r.OutputLen(len(in)))
	return out[:r.Resample(out, in)]
}

func TestResamplerRoundTripQuality(t *testing.T) {
	in := sine(8000, 8000, 1000, 0.5)
	up := resampleAll(8000, 16000, in)
	back := resampleAll(16000, 8000, up)
	if len(up) != 16000 || len(back) != 8000 {
		t.Fatalf("lengths %d and %d, want 16000 and 8000", len(up), len(back))
	}
	// Ignore the settling at both ends.
	mid := back[400 : len(back)-400]
	if f := DominantFrequency(mid, 8000); math.Abs(f-1000) > 1 {
		t.Errorf("dominant frequency after 8k->16k->8k = %.2f Hz, want 1000", f)
	}
	snr, amp := sineSNR(mid, 8000, 1000)
	t.Logf("8k->16k->8k 1 kHz: SNR %.1f dB, amplitude %.4f", snr, amp)
	if snr < 30 {
		t.Errorf("SNR %.1f dB, want >= 30 dB", snr)
	}
	if math.Abs(amp-0.5) > 0.01 {
		t.Errorf("amplitude %.4f, want 0.5", amp)
	}
	upMid := up[800 : len(up)-800]
	if f := DominantFrequency(upMid, 16000); math.Abs(f-1000) > 1 {
		t.Errorf("dominant frequency at 16 kHz = %.2f Hz, want 1000", f)
	}
}

func TestResamplerQualityAcrossRatios(t *testing.T) {
	for _, rr := range resampleRatios {
		for _, freq := range []float64{300, 1000, 3000} {
			t.Run(fmt.Sprintf("%dto%d/%v", rr.from, rr.to, freq), func(t *testing.T) {
				in := sine(rr.from/2, rr.from, freq, 0.7)
				out := resampleAll(rr.from, rr.to, in)
				trim := rr.to / 20
				mid := out[trim : len(out)-trim]
				snr, amp := sineSNR(mid, rr.to, freq)
				minSNR := 85.0
				if r := NewResampler(rr.from, rr.to); r.phases < r.up {
					minSNR = 60
				}
				if snr < minSNR {
					t.Errorf("SNR %.1f dB, want >= %.0f dB", snr, minSNR)
				}
				if math.Abs(20*math.Log10(amp/0.7)) > 0.2 {
					t.Errorf("gain %.3f dB, want within 0.2 dB", 20*math.Log10(amp/0.7))
				}
			})
		}
	}
}

func TestResamplerRejectsAliases(t *testing.T) {
	// 6 kHz cannot be represented at 8 kHz and must be filtered out, not
	// folded back to 2 kHz.
	in := sine(16000, 16000, 6000, 0.9)
	out := resampleAll(16000, 8000, in)
	mid := out[400 : len(out)-400]
	if rms := RMS(mid); rms > 0.9*0.707*1e-3 { // at least 60 dB down
		t.Errorf("6 kHz leaked through 16k->8k at RMS %.2e (%.1f dB)", rms, 20*math.Log10(rms/(0.9*0.707)))
	}
	// An image of a 3 kHz tone upsampled 8k->16k would sit at 5 kHz.
	up := resampleAll(8000, 16000, sine(8000, 8000, 3000, 0.9))
	mid = up[800 : len(up)-800]
	img, sig := Goertzel(mid, 16000, 5000), Goertzel(mid, 16000, 3000)
	if db := 10 * math.Log10(img/sig); db > -60 {
		t.Errorf("5 kHz image of a 3 kHz tone is at %.1f dB, want below -60 dB", db)
	}
}

func TestResamplerDelay(t *testing.T) {
	for _, rr := range resampleRatios {
		in := make([]int16, rr.from/10)
		const at = 100
		in[at] = 30000
		out := resampleAll(rr.from, rr.to, in)
		peak := 0
		for i, v := range out {
			if v > out[peak] {
				peak = i
			}
		}
		want := float64(at+NewResampler(rr.from, rr.to).Delay()) * float64(rr.to) / float64(rr.from)
		if math.Abs(float64(peak)-want) > 1 {
			t.Errorf("%d->%d: impulse at %d came out at %d, want %.1f", rr.from, rr.to, at, peak, want)
		}
	}
}

func TestResamplerReset(t *testing.T) {
	in := sine(800, 8000, 700, 0.5)
	r := NewResampler(8000, 16000)
	a := make([]int16, r.OutputLen(len(in)))
	a = a[:r.Resample(a, in)]
	r.Resample(make([]int16, 50), in[:33]) // leave state behind
	r.Reset()
	b := make([]int16, r.OutputLen(len(in)))
	b = b[:r.Resample(b, in)]
	if !slices.Equal(a, b) {
		t.Fatal("output after Reset differs from a fresh resampler's")
	}
}

func TestResamplerNoAllocs(t *testing.T) {
	r := NewResampler(8000, 16000)
	src := sine(160, 8000, 1000, 0.5)
	dst := make([]int16, 320)
	r.Resample(dst, src)
	if a := testing.AllocsPerRun(100, func() { r.Resample(dst, src) }); a != 0 {
		t.Fatalf("Resample allocates %v times per frame", a)
	}
}

func TestConverterAligned(t *testing.T) {
	// The converter used by sources and sinks removes the group delay and
	// keeps the duration.
	for _, rr := range resampleRatios {
		in := make([]int16, rr.from/10)
		const at = 300
		in[at] = 30000
		c := newConverter(rr.from, rr.to)
		out := make([]int16, c.outputLen(len(in)))
		n := c.process(out, in)
		tail := make([]int16, c.outputLen(c.flushLen()))
		out = append(out[:n], tail[:c.flush(tail)]...)
		wantLen := float64(len(in)) * float64(rr.to) / float64(rr.from)
		if math.Abs(float64(len(out))-wantLen) > 1 {
			t.Errorf("%d->%d: %d samples, want %.1f", rr.from, rr.to, len(out), wantLen)
		}
		peak := 0
		for i, v := range out {
			if v > out[peak] {
				peak = i
			}
		}
		if want := float64(at) * float64(rr.to) / float64(rr.from); math.Abs(float64(peak)-want) > 1 {
			t.Errorf("%d->%d: impulse at %d came out at %d, want %.1f", rr.from, rr.to, at, peak, want)
		}
	}
}

func BenchmarkResample8to16(b *testing.B) {
	r := NewResampler(8000, 16000)
	src := sine(160, 8000, 1000, 0.5)
	dst := make([]int16, 320)
	b.ReportAllocs()
	for b.Loop() {
		if n := r.Resample(dst, src); n != 320 {
			b.Fatalf("got %d samples", n)
		}
	}
}
