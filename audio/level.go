package audio

import (
	"math"
	"sync"
	"time"
)

// MinDBFS is the level reported for silence: DBFS never returns less.
const MinDBFS = -120.0

// DBFS converts a level given as a fraction of full scale (as returned by
// RMS) to decibels relative to full scale. With RMS levels, 0 dBFS is a
// full-scale square wave, so a full-scale sine is about -3 dBFS and a
// half-scale sine about -9 dBFS. Silence, negative and NaN levels give
// MinDBFS.
func DBFS(level float64) float64 {
	if !(level > 0) {
		return MinDBFS
	}
	return max(20*math.Log10(level), MinDBFS)
}

// Peak returns the largest absolute sample value of samples as a fraction
// of full scale (0 to 1); 0 for an empty slice.
func Peak(samples []int16) float64 {
	var p int32
	for _, x := range samples {
		v := int32(x)
		if v < 0 {
			v = -v
		}
		p = max(p, v)
	}
	return float64(p) / fullScale
}

// LevelMeter measures the RMS and peak level of the frames written to it
// since it was created or last Reset. It is a Sink, so it can be set as a
// call's sink or put after a tee.
//
// A LevelMeter is safe for concurrent use. The zero value is ready to use.
type LevelMeter struct {
	mu     sync.Mutex
	sum    float64 // sum of squared samples, in sample units
	n      int64
	peak   int32
	covers time.Duration
}

// WriteFrame adds the frame's samples to the measurement. It never
// fails.
func (m *LevelMeter) WriteFrame(f *Frame) error {
	var sum float64
	var peak int32
	for _, x := range f.Samples {
		v := float64(x)
		sum += v * v
		a := int32(x)
		if a < 0 {
			a = -a
		}
		peak = max(peak, a)
	}
	m.mu.Lock()
	m.sum += sum
	m.n += int64(len(f.Samples))
	m.peak = max(m.peak, peak)
	m.covers += f.Duration()
	m.mu.Unlock()
	return nil
}

// Level returns the RMS and peak levels in dBFS of the audio measured so
// far (MinDBFS for none).
func (m *LevelMeter) Level() (rms, peak float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n == 0 {
		return MinDBFS, MinDBFS
	}
	return DBFS(math.Sqrt(m.sum/float64(m.n)) / fullScale), DBFS(float64(m.peak) / fullScale)
}

// Duration reports how much audio has been measured.
func (m *LevelMeter) Duration() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.covers
}

// Reset starts a new measurement.
func (m *LevelMeter) Reset() {
	m.mu.Lock()
	m.sum, m.n, m.peak, m.covers = 0, 0, 0, 0
	m.mu.Unlock()
}

// Defaults of a VAD's zero fields.
const (
	DefaultVADThreshold = -40.0                  // dBFS
	DefaultVADHangover  = 300 * time.Millisecond // of quiet before silence
)

// VAD is a simple energy voice activity detector: a frame whose RMS level
// reaches Threshold starts (or continues) speech at once, and speech ends
// once the level has stayed below Threshold for Hangover, which bridges
// the short pauses between words.
//
// Set the fields before the first frame. A VAD is not safe for concurrent
// use.
type VAD struct {
	// Threshold is the speech level in dBFS (RMS). Zero: -40 dBFS.
	Threshold float64
	// Hangover is how long the level must stay below Threshold before
	// speech ends. Zero: 300 ms.
	Hangover time.Duration

	speaking bool
	quiet    time.Duration
}

// Process runs the VAD over one frame. It returns whether speech is
// active after the frame, whether that changed with this frame, and the
// frame's RMS level in dBFS.
func (v *VAD) Process(f *Frame) (speaking, changed bool, level float64) {
	level = DBFS(RMS(f.Samples))
	speaking, changed = v.Update(level, f.Duration())
	return speaking, changed, level
}

// Update runs the VAD on a stretch of audio lasting d at RMS level dBFS,
// as Process does for a frame.
func (v *VAD) Update(level float64, d time.Duration) (speaking, changed bool) {
	th, hang := v.Threshold, v.Hangover
	if th == 0 {
		th = DefaultVADThreshold
	}
	if hang <= 0 {
		hang = DefaultVADHangover
	}
	if level >= th {
		v.quiet = 0
		if !v.speaking {
			v.speaking = true
			return true, true
		}
		return true, false
	}
	if !v.speaking {
		return false, false
	}
	v.quiet += d
	if v.quiet >= hang {
		v.speaking, v.quiet = false, 0
		return false, true
	}
	return true, false
}

// Speaking reports whether speech is active.
func (v *VAD) Speaking() bool { return v.speaking }

// Reset returns the VAD to silence.
func (v *VAD) Reset() { v.speaking, v.quiet = false, 0 }
