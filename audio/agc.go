package audio

import (
	"math"
	"sync"
	"time"
)

// Defaults of AGCConfig's zero fields.
const (
	DefaultAGCTarget     = -18.0 // dBFS RMS
	DefaultAGCMaxGain    = 30.0  // dB
	DefaultAGCNoiseFloor = -60.0 // dBFS RMS
	DefaultAGCAttack     = 20 * time.Millisecond
	DefaultAGCRelease    = 500 * time.Millisecond
)

// agcCeiling is the highest peak (fraction of full scale) the AGC's gain
// takes a frame to: about -0.2 dBFS.
const agcCeiling = 32000 / fullScale

// AGCConfig tunes an AGC. Zero fields take the defaults above.
type AGCConfig struct {
	// Target is the RMS level in dBFS the AGC steers towards.
	Target float64
	// MaxGain bounds the gain in dB, both ways: the AGC amplifies by at
	// most MaxGain and attenuates by at most MaxGain.
	MaxGain float64
	// NoiseFloor is the RMS level in dBFS below which a frame is taken as
	// silence and the gain is held, so pauses are not pumped up to the
	// target.
	NoiseFloor float64
	// Attack is the time constant for lowering the gain (the input got
	// louder); Release the one for raising it.
	Attack, Release time.Duration
}

// AGC is an automatic gain control: it measures each frame's RMS level
// and moves a gain towards the one that would bring the level to the
// target, quickly down (Attack) and slowly up (Release). The gain never
// makes a frame clip: it is capped so the frame's peak stays just under
// full scale. The gain changes smoothly across each frame.
//
// An AGC is safe for concurrent use.
type AGC struct {
	mu   sync.Mutex
	cfg  AGCConfig
	gain float64 // current gain, dB
}

// NewAGC returns an AGC with cfg (zero fields: defaults) and unity gain.
func NewAGC(cfg AGCConfig) *AGC {
	if cfg.Target == 0 {
		cfg.Target = DefaultAGCTarget
	}
	cfg.Target = min(cfg.Target, 0)
	if cfg.MaxGain <= 0 {
		cfg.MaxGain = DefaultAGCMaxGain
	}
	if cfg.NoiseFloor == 0 {
		cfg.NoiseFloor = DefaultAGCNoiseFloor
	}
	if cfg.Attack <= 0 {
		cfg.Attack = DefaultAGCAttack
	}
	if cfg.Release <= 0 {
		cfg.Release = DefaultAGCRelease
	}
	return &AGC{cfg: cfg}
}

// Gain returns the current gain in dB.
func (a *AGC) Gain() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gain
}

// Process applies the AGC to f in place.
func (a *AGC) Process(f *Frame) {
	if len(f.Samples) == 0 || f.SampleRate <= 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	start := a.gain
	level := DBFS(RMS(f.Samples))
	want := start
	if level >= a.cfg.NoiseFloor {
		want = max(min(a.cfg.Target-level, a.cfg.MaxGain), -a.cfg.MaxGain)
		tau := a.cfg.Release
		if want < start {
			tau = a.cfg.Attack
		}
		k := 1 - math.Exp(-float64(f.Duration())/float64(tau))
		want = start + (want-start)*k
	}
	// Never clip: cap the gain at the one that takes the peak to just
	// under full scale (agcCeiling).
	if p := Peak(f.Samples); p > 0 {
		ceiling := DBFS(agcCeiling / p)
		want = min(want, ceiling)
		start = min(start, ceiling)
	}
	a.gain = want
	g0, g1 := math.Pow(10, start/20), math.Pow(10, want/20)
	n := float64(len(f.Samples))
	for i, x := range f.Samples {
		g := g0 + (g1-g0)*float64(i+1)/n
		f.Samples[i] = clip16(math.Round(float64(x) * g))
	}
}

// AGCSource is a Source whose audio passes through an AGC.
//
// An AGCSource is safe for concurrent use if its underlying Source is.
type AGCSource struct {
	src Source
	agc *AGC
}

// NewAGCSource returns src with automatic gain control by an AGC with
// cfg: a quiet microphone is brought up towards cfg.Target (by at most
// cfg.MaxGain) and a loud one brought down, without clipping. Use it as a
// call's source:
//
//	call.SetSource(audio.NewAGCSource(mic, audio.AGCConfig{Target: -20}))
func NewAGCSource(src Source, cfg AGCConfig) *AGCSource {
	return &AGCSource{src: src, agc: NewAGC(cfg)}
}

// AGC returns the source's AGC, to read its gain.
func (s *AGCSource) AGC() *AGC { return s.agc }

// ReadFrame reads a frame from the underlying source and applies the
// AGC. Errors of the source are returned as they are; a frame returned
// with an error is left untouched.
func (s *AGCSource) ReadFrame(f *Frame) error {
	if err := s.src.ReadFrame(f); err != nil {
		return err
	}
	s.agc.Process(f)
	return nil
}
