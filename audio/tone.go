package audio

import (
	"io"
	"math"
	"math/bits"
	"sync"
	"time"
)

// Tone is a Source that generates a sum of sine waves, such as a test tone
// or a dual-frequency call-progress tone. It works at any frame sample rate
// the package supports, and the phase of every component carries on across
// frames and across changes of the frame sample rate, so consecutive frames
// join without clicks.
//
// A Tone is safe for concurrent use.
type Tone struct {
	mu      sync.Mutex
	amp     float64   // peak amplitude of each component, in sample units
	freqs   []float64 // component frequencies in Hz
	phases  []float64 // component phases in cycles, in [0, 1)
	limited bool
	limit   time.Duration
	base    time.Duration // time produced at earlier sample rates
	rate    int           // sample rate of the current run
	count   int64         // samples produced at rate since base
	done    bool
}

// NewTone returns an endless Tone summing sines at freqs Hz. amplitude is
// the peak level of the sum as a fraction of full scale (0 to 1; values
// outside are clamped) and is divided equally among the components, so the
// sum never clips. Frequencies that are not positive and finite are
// ignored, and components at or above half the frame sample rate are left
// out of that frame rather than aliased. With no usable frequency the Tone
// produces silence.
func NewTone(amplitude float64, freqs ...float64) *Tone {
	t := &Tone{}
	for _, f := range freqs {
		if f > 0 && !math.IsInf(f, 0) {
			t.freqs = append(t.freqs, f)
		}
	}
	t.phases = make([]float64, len(t.freqs))
	if !(amplitude > 0) { // also NaN
		amplitude = 0
	}
	amplitude = math.Min(amplitude, 1)
	if len(t.freqs) > 0 {
		t.amp = amplitude * math.MaxInt16 / float64(len(t.freqs))
	}
	return t
}

// NewToneFor returns a Tone like NewTone that ends after d: the frame that
// reaches d is padded with silence and the following ReadFrame returns
// io.EOF. A d of zero or less gives a Tone that is over at once.
func NewToneFor(d time.Duration, amplitude float64, freqs ...float64) *Tone {
	t := NewTone(amplitude, freqs...)
	t.limited = true
	t.limit = max(d, 0)
	return t
}

// Reset restarts the Tone from phase zero with its full duration.
func (t *Tone) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.phases {
		t.phases[i] = 0
	}
	t.base, t.rate, t.count, t.done = 0, 0, 0, false
}

// ReadFrame fills f.Samples with the next stretch of the tone at
// f.SampleRate. It returns io.EOF once a NewToneFor duration has passed.
func (t *Tone) ReadFrame(f *Frame) error {
	if err := checkFrame(f); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return io.EOF
	}
	if f.SampleRate != t.rate {
		if t.rate > 0 {
			t.base += samplesDuration(t.count, t.rate)
		}
		t.rate, t.count = f.SampleRate, 0
	}
	n := len(f.Samples)
	if t.limited {
		left := t.remaining()
		if left <= 0 {
			t.done = true
			return io.EOF
		}
		if left < int64(n) {
			n = int(left)
			t.done = true
		}
	}
	out := f.Samples[:n]
	rate := float64(f.SampleRate)
	for j := range out {
		var v float64
		for i, freq := range t.freqs {
			if freq < rate/2 {
				v += math.Sin(2 * math.Pi * (t.phases[i] + float64(j)*freq/rate))
			}
		}
		out[j] = clip16(t.amp * v)
	}
	// Advance the phases exactly and keep them small so precision does not
	// degrade over long runs.
	for i, freq := range t.freqs {
		_, t.phases[i] = math.Modf(t.phases[i] + float64(n)*freq/rate)
	}
	clear(f.Samples[n:])
	t.count += int64(n)
	return nil
}

// remaining reports how many samples at t.rate are left before the limit.
func (t *Tone) remaining() int64 {
	left := t.limit - t.base
	if left <= 0 {
		return 0
	}
	// ceil(left * rate / 1s) without overflow.
	hi, lo := bits.Mul64(uint64(left), uint64(t.rate))
	q, r := bits.Div64(hi, lo, uint64(time.Second))
	if r != 0 {
		q++
	}
	return int64(q) - t.count
}

// samplesDuration converts n samples at rate Hz to a duration, rounding
// down.
func samplesDuration(n int64, rate int) time.Duration {
	hi, lo := bits.Mul64(uint64(n), uint64(time.Second))
	if hi >= uint64(rate) {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, uint64(rate))
	return time.Duration(min(q, math.MaxInt64))
}

// Silence is a Source of endless silence at any supported sample rate.
//
// Silence holds no state and is safe for concurrent use.
type Silence struct{}

// ReadFrame fills f.Samples with zeros. It never returns io.EOF.
func (Silence) ReadFrame(f *Frame) error {
	if err := checkFrame(f); err != nil {
		return err
	}
	clear(f.Samples)
	return nil
}
