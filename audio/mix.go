package audio

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// MixPeriod is the length of one mixing step: every participant's Source
// is read and its Sink written once per period.
const MixPeriod = 20 * time.Millisecond

// Gain limits accepted by Participant.SetGain.
const (
	MinGain = 0.0
	MaxGain = 16.0
)

// Mixer errors.
var (
	// ErrNotParticipant is returned for a Participant that is not (or no
	// longer) part of the Mixer.
	ErrNotParticipant = errors.New("audio: not a participant of this mixer")
	// ErrGain is returned for a gain outside [MinGain, MaxGain] or NaN.
	ErrGain = errors.New("audio: gain out of range")
)

// softKnee is where soft clipping starts compressing, as a sample value.
const softKnee = 24576 // 0.75 of full scale

// MixerConfig configures a Mixer. The zero value is usable.
type MixerConfig struct {
	// Rate is the internal mixing rate in Hz. Zero means the highest rate
	// of the participants present (8000 Hz when there are none); it is
	// re-chosen at the frame boundary after participants join or leave.
	Rate int
	// SoftClip compresses sums above three quarters of full scale smoothly
	// instead of saturating them hard at the int16 limits.
	SoftClip bool
}

// Mixer is a conference bridge. Each Participant has a Source (what it
// says) and a Sink (what it hears); every step of MixPeriod each
// participant hears the sum of all others' audio ("mix-minus"). The sum is
// computed once per step in a 32-bit accumulator and each participant's
// own contribution is subtracted from it, so a step costs O(N) for N
// participants. Sums beyond the int16 range saturate (or are soft-clipped,
// see MixerConfig.SoftClip).
//
// Participants may run at different sample rates; their audio is
// resampled to and from the internal rate with a Resampler, which delays
// it by a few milliseconds each way.
//
// Mix performs steps synchronously, for tests and offline use; Start runs
// them in real time on a goroutine until Close. Membership, gain and mute
// changes take effect at the next frame boundary.
//
// A Mixer is safe for concurrent use. Sources and Sinks are called from
// the goroutine running the step, and must not call back into the Mixer.
type Mixer struct {
	barriers uint64 // guarded by stepMu

	cfg MixerConfig

	mu      sync.Mutex // guards the fields below
	parts   []*Participant
	changed bool
	record  Sink
	closed  bool
	started bool

	// Owned by whoever holds stepMu: the state of the mixing step.
	stepMu  sync.Mutex
	active  []*Participant
	rate    int
	total   []int32
	mixed   []int16
	recSink Sink
	recErr  bool
	frame   Frame

	steps    atomic.Uint64
	overruns atomic.Uint64

	done chan struct{}
	wg   sync.WaitGroup
}

// NewMixer returns an idle Mixer. A Rate other than zero that is outside
// [MinSampleRate, MaxSampleRate] or not a multiple of 50 Hz (a whole number
// of samples per MixPeriod) gives an error wrapping ErrSampleRate.
func NewMixer(cfg MixerConfig) (*Mixer, error) {
	if cfg.Rate != 0 && (!validRate(cfg.Rate) || cfg.Rate%50 != 0) {
		return nil, fmt.Errorf("%w: mixing rate %d Hz (a multiple of 50 Hz from %d to %d Hz)", ErrSampleRate, cfg.Rate, MinSampleRate, MaxSampleRate)
	}
	return &Mixer{cfg: cfg, done: make(chan struct{})}, nil
}

// Participant is one party of a Mixer. Its methods are safe for
// concurrent use.
type Participant struct {
	m    *Mixer
	rate int
	src  Source
	sink Sink

	inGain  atomic.Uint64 // float64 bits
	outGain atomic.Uint64
	muted   atomic.Bool

	srcErrors  atomic.Uint64
	sinkErrors atomic.Uint64

	// Step state, owned by the Mixer's stepMu.
	n          int // samples per frame at rate
	mixRate    int
	up, down   *Resampler
	in         []int16 // read from src, at rate
	res        []int16 // at the mixing rate
	out        []int16 // written to sink, at rate
	contrib    []int32 // what the others hear from us, at the mixing rate
	frame      Frame
	srcDone    bool
	sinkFailed bool
}

// Add makes a new participant that says what src produces and hears the
// others through sink, both at rate Hz, a multiple of 50 Hz (otherwise the
// error wraps ErrSampleRate). A nil src says nothing; a nil sink hears
// nothing. The participant joins at the next frame boundary.
func (m *Mixer) Add(src Source, sink Sink, rate int) (*Participant, error) {
	if !validRate(rate) {
		return nil, rateError(rate)
	}
	if rate%50 != 0 {
		return nil, fmt.Errorf("%w: %d Hz does not divide into %v frames", ErrSampleRate, rate, MixPeriod)
	}
	p := &Participant{m: m, rate: rate, src: src, sink: sink}
	p.inGain.Store(math.Float64bits(1))
	p.outGain.Store(math.Float64bits(1))
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	m.parts = append(m.parts, p)
	m.changed = true
	return p, nil
}

// Remove takes p out of the mix at the next frame boundary. When Remove
// returns, the Mixer no longer calls p's Source and Sink (it waits for a
// step in progress), so it must not be called from a Source or Sink.
func (m *Mixer) Remove(p *Participant) error {
	m.mu.Lock()
	i := -1
	for j, q := range m.parts {
		if q == p {
			i = j
			break
		}
	}
	if i < 0 {
		m.mu.Unlock()
		return ErrNotParticipant
	}
	m.parts = append(m.parts[:i], m.parts[i+1:]...)
	m.changed = true
	m.mu.Unlock()
	m.barrier()
	return nil
}

// barrier waits for a step in progress to finish.
func (m *Mixer) barrier() {
	m.stepMu.Lock()
	defer m.stepMu.Unlock()
	m.barriers++ // taking the lock is the point; the count aids debugging
}

// Len reports how many participants the Mixer has.
func (m *Mixer) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.parts)
}

// Record sets a Sink that receives the full mix (everyone's audio) every
// step at the mixing rate; nil stops recording. When Record returns, the
// previous Sink is no longer written.
func (m *Mixer) Record(sink Sink) {
	m.mu.Lock()
	m.record = sink
	m.changed = true
	m.mu.Unlock()
	m.barrier()
}

// Rate reports the mixing rate of the last step (0 before the first).
func (m *Mixer) Rate() int {
	m.stepMu.Lock()
	defer m.stepMu.Unlock()
	return m.rate
}

// Steps reports how many frames have been mixed.
func (m *Mixer) Steps() uint64 { return m.steps.Load() }

// Overruns reports how many times the real-time driver fell so far behind
// that it skipped ahead instead of catching up.
func (m *Mixer) Overruns() uint64 { return m.overruns.Load() }

// Mix performs frames mixing steps at once, without waiting for real
// time. It returns ErrClosed after Close.
func (m *Mixer) Mix(frames int) error {
	for range frames {
		if err := m.step(); err != nil {
			return err
		}
	}
	return nil
}

// Start runs a step every MixPeriod on a goroutine, on a monotonic
// schedule, until Close. It fails with ErrClosed after Close and does
// nothing if already started.
func (m *Mixer) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if m.started {
		return nil
	}
	m.started = true
	m.wg.Add(1)
	go m.run()
	return nil
}

// maxMixLag is how many periods the driver may fall behind before it
// skips ahead rather than mixing frames back to back.
const maxMixLag = 5

func (m *Mixer) run() {
	defer m.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := time.Now()
	var k int64
	for {
		wait := time.Until(start.Add(time.Duration(k) * MixPeriod))
		if wait < -maxMixLag*MixPeriod {
			m.overruns.Add(1)
			start, k, wait = time.Now(), 0, 0
		}
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-m.done:
				return
			case <-timer.C:
			}
		} else {
			select {
			case <-m.done:
				return
			default:
			}
		}
		if m.step() != nil {
			return
		}
		k++
	}
}

// Close stops the real-time driver and waits for it. Later Add, Mix and
// Start calls fail with ErrClosed. It does not close any Source or Sink.
// Close is idempotent and returns nil.
func (m *Mixer) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	close(m.done)
	m.wg.Wait()
	return nil
}

// step mixes one frame.
func (m *Mixer) step() error {
	m.stepMu.Lock()
	defer m.stepMu.Unlock()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	if m.changed {
		m.active = append(m.active[:0], m.parts...)
		clear(m.active[len(m.active):cap(m.active)]) // let removed participants go
		if m.record != m.recSink {
			m.recSink, m.recErr = m.record, false
		}
		m.changed = false
	}
	m.mu.Unlock()

	rate := m.cfg.Rate
	if rate == 0 {
		rate = 8000
		for _, p := range m.active {
			rate = max(rate, p.rate)
		}
	}
	m.rate = rate
	n := rate / 50
	m.total = grow32(m.total, n)
	total := m.total
	clear(total)
	for _, p := range m.active {
		p.read(rate)
		c := p.contrib[:len(total)]
		for i := range total {
			total[i] += c[i]
		}
	}
	for _, p := range m.active {
		p.write(total, m.cfg.SoftClip)
	}
	if m.recSink != nil && !m.recErr {
		m.mixed = grow16(m.mixed, n)
		saturate(m.mixed, total, m.cfg.SoftClip)
		m.frame.Samples, m.frame.SampleRate = m.mixed, rate
		if err := m.recSink.WriteFrame(&m.frame); err != nil {
			m.recErr = true
		}
	}
	m.steps.Add(1)
	return nil
}

// prepare sizes p's buffers and resamplers for the mixing rate.
func (p *Participant) prepare(rate int) {
	if p.mixRate == rate && p.contrib != nil {
		return
	}
	p.mixRate = rate
	p.n = p.rate / 50
	nm := rate / 50
	p.in = make([]int16, p.n)
	p.out = make([]int16, p.n)
	p.res = make([]int16, nm)
	p.contrib = make([]int32, nm)
	p.up, p.down = nil, nil
	if p.rate != rate {
		p.up = NewResampler(p.rate, rate)
		p.down = NewResampler(rate, p.rate)
	}
}

// read fills p.contrib with what the others hear from p this step.
func (p *Participant) read(rate int) {
	p.prepare(rate)
	in := p.in
	if p.src == nil || p.srcDone {
		clear(in)
	} else {
		p.frame.Samples, p.frame.SampleRate = in, p.rate
		if err := p.src.ReadFrame(&p.frame); err != nil {
			p.srcDone = true
			if !errors.Is(err, io.EOF) {
				p.srcErrors.Add(1)
			}
			clear(in)
		}
	}
	x := in
	if p.up != nil {
		k := p.up.Resample(p.res, in)
		clear(p.res[k:])
		x = p.res
	}
	c := p.contrib
	if p.muted.Load() {
		clear(c)
		return
	}
	g := math.Float64frombits(p.inGain.Load())
	if g == 1 {
		for i, s := range x {
			c[i] = int32(s)
		}
		return
	}
	for i, s := range x {
		c[i] = int32(math.RoundToEven(float64(s) * g))
	}
}

// write sends p the mix of everyone else.
func (p *Participant) write(total []int32, soft bool) {
	if p.sink == nil || p.sinkFailed {
		return
	}
	res := p.res
	if p.down == nil {
		res = p.out
	}
	c := p.contrib
	g := math.Float64frombits(p.outGain.Load())
	if g == 1 && !soft {
		for i, t := range total {
			v := t - c[i]
			if v > math.MaxInt16 {
				v = math.MaxInt16
			} else if v < math.MinInt16 {
				v = math.MinInt16
			}
			res[i] = int16(v)
		}
	} else {
		for i, t := range total {
			res[i] = clipMix(math.RoundToEven(float64(t-c[i])*g), soft)
		}
	}
	if p.down != nil {
		k := p.down.Resample(p.out, res)
		clear(p.out[k:])
	}
	p.frame.Samples, p.frame.SampleRate = p.out, p.rate
	if err := p.sink.WriteFrame(&p.frame); err != nil {
		p.sinkFailed = true
		p.sinkErrors.Add(1)
	}
}

// saturate converts the accumulator to int16 samples.
func saturate(dst []int16, src []int32, soft bool) {
	for i, v := range src {
		dst[i] = clipMix(float64(v), soft)
	}
}

// clipMix limits v to the int16 range: hard saturation, or a soft knee
// that maps everything beyond softKnee smoothly into the remaining range.
func clipMix(v float64, soft bool) int16 {
	if soft {
		const room = math.MaxInt16 - softKnee
		switch {
		case v > softKnee:
			v = softKnee + room*math.Tanh((v-softKnee)/room)
		case v < -softKnee:
			v = -softKnee - room*math.Tanh((-v-softKnee)/room)
		}
	}
	switch {
	case v >= math.MaxInt16:
		return math.MaxInt16
	case v <= math.MinInt16:
		return math.MinInt16
	}
	return int16(math.Round(v))
}

func grow32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

// Rate reports the participant's sample rate in Hz.
func (p *Participant) Rate() int { return p.rate }

// SetGain sets the linear gain applied to what p says (in) and to what p
// hears (out); 1 leaves audio unchanged. Both must be within [MinGain,
// MaxGain] (ErrGain otherwise). The change applies from the next frame.
func (p *Participant) SetGain(in, out float64) error {
	for _, g := range []float64{in, out} {
		if !(g >= MinGain && g <= MaxGain) {
			return fmt.Errorf("%w: %v (allowed %v to %v)", ErrGain, g, MinGain, MaxGain)
		}
	}
	p.inGain.Store(math.Float64bits(in))
	p.outGain.Store(math.Float64bits(out))
	return nil
}

// Gain reports the input and output gains.
func (p *Participant) Gain() (in, out float64) {
	return math.Float64frombits(p.inGain.Load()), math.Float64frombits(p.outGain.Load())
}

// SetMute mutes (true) or unmutes p: while muted the others do not hear
// it, but it still hears them. It applies from the next frame.
func (p *Participant) SetMute(muted bool) { p.muted.Store(muted) }

// Muted reports whether p is muted.
func (p *Participant) Muted() bool { return p.muted.Load() }

// SourceErrors and SinkErrors count failures of p's Source (other than
// io.EOF) and Sink. After a failure (or io.EOF) the Source is treated as
// silent and the Sink is no longer written.
func (p *Participant) SourceErrors() uint64 { return p.srcErrors.Load() }

// SinkErrors counts failures of p's Sink; see SourceErrors.
func (p *Participant) SinkErrors() uint64 { return p.sinkErrors.Load() }
