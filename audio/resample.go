package audio

import (
	"fmt"
	"math"
)

// Resampler design parameters.
const (
	// resampleZeroCrossings is the number of sinc zero crossings on each
	// side of the interpolation kernel.
	resampleZeroCrossings = 24
	// resampleCutoff is the kernel cutoff as a fraction of the lower of the
	// two Nyquist frequencies; the rest is the transition band.
	resampleCutoff = 0.92
	// resampleKaiserBeta shapes the Kaiser window (about 85 dB stop band).
	resampleKaiserBeta = 8.5
	// resampleMaxCoefs bounds the polyphase table. Ratios that would need
	// more phases use the nearest of fewer, evenly spaced phases.
	resampleMaxCoefs = 1 << 16
	// resampleMinPhases is the least number of phases used when the table
	// has to be bounded.
	resampleMinPhases = 32
)

// Resampler converts a stream of mono 16-bit PCM from one sample rate to
// another.
//
// It is a band-limited polyphase interpolator: a sinc kernel with 24 zero
// crossings per side under a Kaiser window (beta 8.5), with its cutoff at
// 92% of the lower Nyquist frequency. Measured on sines, the gain is flat
// to within 0.01 dB up to 80% of the lower Nyquist frequency, -0.2 dB at
// 85% (3.4 kHz for 8 kHz audio) and -3 dB at 90%; components above 105%
// are attenuated by more than 85 dB; and in-band tones come out with
// distortion and noise more than 90 dB below the signal, at the limit of
// 16-bit samples. Ratios whose reduced form needs very many filter phases
// (for example 8000 to 44099 Hz) round each output instant to the nearest
// of a bounded number of phases, which lowers that figure to about 60 dB.
// Common telephony and audio rates (8, 16, 32, 44.1 and 48 kHz) are exact.
//
// The output lags the input by a fixed group delay (see Delay: 27 input
// samples when raising the rate, proportionally more when lowering it);
// the first outputs are the kernel settling on silence. In return, every call produces exactly the
// number of samples the rate ratio calls for: after n input samples in
// total, ceil(n*to/from) output samples have been produced.
//
// A Resampler is not safe for concurrent use.
type Resampler struct {
	from, to int
	up, down int // to and from divided by their greatest common divisor
	taps     int
	phases   int
	coef     []float32 // (phases+1) rows of taps coefficients
	delay    int       // group delay in input samples
	hist     []float32 // input history; hist[pos] is the first tap of the next output
	pos      int
	frac     int // position of the next output between hist[pos+half] and the next sample, in 1/up
	err      error
}

// NewResampler returns a Resampler from rate from to rate to, both in Hz.
// When from equals to it copies samples unchanged with no delay.
//
// Rates outside [MinSampleRate, MaxSampleRate] make an inert Resampler
// that produces no output and reports an error wrapping ErrSampleRate from
// Err.
func NewResampler(from, to int) *Resampler {
	r := &Resampler{from: from, to: to}
	if !validRate(from) || !validRate(to) {
		r.err = fmt.Errorf("%w: cannot resample %d Hz to %d Hz (supported %d to %d Hz)",
			ErrSampleRate, from, to, MinSampleRate, MaxSampleRate)
		return r
	}
	g := gcd(from, to)
	r.up, r.down = to/g, from/g
	if from == to {
		r.taps, r.phases = 1, 1
		r.coef = []float32{1, 1}
		r.Reset()
		return r
	}
	// Cutoff in cycles per input sample, and the kernel half-width in input
	// samples that holds the wanted number of zero crossings.
	fc := 0.5 * resampleCutoff * math.Min(1, float64(to)/float64(from))
	width := resampleZeroCrossings / (2 * fc)
	half := int(math.Ceil(width))
	r.delay = half
	r.taps = 2 * half
	r.phases = r.up
	if r.up*r.taps > resampleMaxCoefs {
		r.phases = min(r.up, max(resampleMinPhases, resampleMaxCoefs/r.taps))
	}
	r.coef = make([]float32, (r.phases+1)*r.taps)
	i0beta := besselI0(resampleKaiserBeta)
	vals := make([]float64, r.taps)
	for p := 0; p <= r.phases; p++ {
		phi := float64(p) / float64(r.phases)
		row := r.coef[p*r.taps : (p+1)*r.taps]
		var sum float64
		for j := range row {
			t := float64(j-(half-1)) - phi // distance from the output instant
			v := 0.0
			if u := t / width; u > -1 && u < 1 {
				v = 2 * fc * sinc(2*fc*t) * besselI0(resampleKaiserBeta*math.Sqrt(1-u*u)) / i0beta
			}
			vals[j] = v
			sum += v
		}
		// Unity gain at DC for every phase.
		for j, v := range vals {
			row[j] = float32(v / sum)
		}
	}
	r.Reset()
	return r
}

// Err reports why the Resampler is inert, or nil if it works.
func (r *Resampler) Err() error { return r.err }

// From reports the input sample rate in Hz.
func (r *Resampler) From() int { return r.from }

// To reports the output sample rate in Hz.
func (r *Resampler) To() int { return r.to }

// Delay reports the group delay in input samples: output sample k
// corresponds to input instant k*From()/To() - Delay().
func (r *Resampler) Delay() int { return r.delay }

// Reset discards all buffered input and pending output, returning the
// Resampler to its initial state.
func (r *Resampler) Reset() {
	if r.err != nil {
		return
	}
	r.hist = r.hist[:0]
	for range r.taps - 1 {
		r.hist = append(r.hist, 0)
	}
	r.pos, r.frac = 0, 0
}

// OutputLen reports how many samples the next Resample call with n input
// samples produces if dst is large enough, including samples left pending
// by earlier calls whose dst was too short.
func (r *Resampler) OutputLen(n int) int {
	if r.err != nil || n < 0 {
		return 0
	}
	d := int64(len(r.hist)) + int64(n) - int64(r.taps) - int64(r.pos)
	if d < 0 {
		return 0
	}
	up, down := int64(r.up), int64(r.down)
	return int(((d+1)*up - int64(r.frac) + down - 1) / down)
}

// Resample consumes all of src and writes resampled samples to dst,
// returning how many it wrote. The number of samples produced is
// OutputLen(len(src)); if dst is shorter, the rest stay pending and come
// out first on the next call (which may pass an empty src to collect them).
func (r *Resampler) Resample(dst, src []int16) int {
	if r.err != nil {
		return 0
	}
	for _, s := range src {
		r.hist = append(r.hist, float32(s))
	}
	n := 0
	hist, coef, taps := r.hist, r.coef, r.taps
	exact := r.phases == r.up
	for n < len(dst) && r.pos+taps <= len(hist) {
		p := r.frac
		if !exact {
			p = int((int64(r.frac)*int64(r.phases) + int64(r.up/2)) / int64(r.up))
		}
		row := coef[p*taps : (p+1)*taps]
		win := hist[r.pos : r.pos+taps]
		dst[n] = clip16(float64(dot(row, win)))
		n++
		r.frac += r.down
		r.pos += r.frac / r.up
		r.frac %= r.up
	}
	// Drop history no future output needs.
	if drop := min(r.pos, len(r.hist)); drop > 0 {
		keep := copy(r.hist, r.hist[drop:])
		r.hist = r.hist[:keep]
		r.pos -= drop
	}
	return n
}

// dot returns the inner product of a and b, which have the same length.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the zeroth-order modified Bessel function of the first kind,
// by its power series.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 200; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// converter wraps a Resampler for the sources and sinks of this package:
// it drops the outputs that precede the first input sample, so that the
// converted stream is aligned with its input, and can flush the tail that
// the group delay holds back.
//
// A converter is not safe for concurrent use.
type converter struct {
	rs   *Resampler
	skip int
}

func newConverter(from, to int) *converter {
	rs := NewResampler(from, to)
	skip := 0
	if rs.delay > 0 {
		skip = (rs.delay*rs.up + rs.down - 1) / rs.down
	}
	return &converter{rs: rs, skip: skip}
}

// outputLen bounds the number of samples process(dst, src) produces for
// len(src) == n.
func (c *converter) outputLen(n int) int { return c.rs.OutputLen(n) }

// process converts src into dst like Resampler.Resample, dropping the
// leading delay samples.
func (c *converter) process(dst, src []int16) int {
	n := c.rs.Resample(dst, src)
	for c.skip > 0 && n > 0 {
		d := min(c.skip, n)
		copy(dst, dst[d:n])
		n -= d
		c.skip -= d
		// Collect any pending output into the freed space.
		n += c.rs.Resample(dst[n:], nil)
	}
	return n
}

// flushLen is the number of input samples flush feeds.
func (c *converter) flushLen() int { return c.rs.delay }

// flush feeds the resampler enough silence to release the samples its
// delay holds back and writes them to dst like process.
func (c *converter) flush(dst []int16) int {
	zeros := make([]int16, c.rs.delay)
	return c.process(dst, zeros)
}
