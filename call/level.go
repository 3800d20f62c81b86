package call

import (
	"errors"
	"sync"
	"time"

	"github.com/voipkit/voipkit/audio"
)

// AudioDirection tells which side of a call a level refers to.
type AudioDirection int

// Audio directions.
const (
	// AudioLocal is what we send: the local user's voice.
	AudioLocal AudioDirection = iota + 1
	// AudioRemote is what we receive: the peer's voice.
	AudioRemote
)

func (d AudioDirection) String() string {
	switch d {
	case AudioLocal:
		return "local"
	case AudioRemote:
		return "remote"
	}
	return "unknown"
}

// LevelConfig turns on level metering and voice activity detection of
// both directions of a call (Config.Levels).
type LevelConfig struct {
	// VAD sets the voice activity detector's Threshold and Hangover
	// (zero fields: audio's defaults) used for each direction.
	VAD audio.VAD
	// Interval, when positive, adds a periodic report of the RMS and
	// peak levels of each direction for every Interval of audio.
	Interval time.Duration
	// NoVAD leaves voice activity detection out: only the periodic
	// reports remain (periodic reports then carry Speaking false).
	NoVAD bool
}

// LevelReport is set on an Event that reports audio activity rather than
// a state change: a voice activity transition, or (Periodic) a level
// report.
type LevelReport struct {
	Direction AudioDirection
	// Periodic marks a level report every LevelConfig.Interval; otherwise
	// the event is a voice activity transition to Speaking.
	Periodic bool
	Speaking bool
	// Level is the RMS level in dBFS: of the frame that caused the
	// transition, or over the interval of a periodic report.
	Level float64
	// Peak is the peak level in dBFS over the interval (periodic reports
	// only).
	Peak float64
}

// levelState meters one call's two directions. The taps installed in the
// media session change with the route, the state stays here.
type levelState struct {
	local, remote levelDir
}

type levelDir struct {
	mu    sync.Mutex
	vad   audio.VAD
	meter audio.LevelMeter
	init  bool
}

// tapLevels wraps the chain's source and sink with meters when levels are
// configured. Called from route.apply with the route locked.
func (c *Call) tapLevels(src audio.Source, sink audio.Sink) (audio.Source, audio.Sink) {
	if c.cfg.Levels == nil {
		return src, sink
	}
	return &levelSource{c: c, src: src}, &levelSink{c: c, sink: sink}
}

// measure runs a frame through one direction's VAD and meter and reports
// what changed.
func (c *Call) measure(dir AudioDirection, f *audio.Frame) {
	cfg := c.cfg.Levels
	d := &c.lv.local
	if dir == AudioRemote {
		d = &c.lv.remote
	}
	var reports []LevelReport
	d.mu.Lock()
	if !d.init {
		d.vad.Threshold, d.vad.Hangover, d.init = cfg.VAD.Threshold, cfg.VAD.Hangover, true
	}
	if !cfg.NoVAD {
		if sp, changed, lvl := d.vad.Process(f); changed {
			reports = append(reports, LevelReport{Direction: dir, Speaking: sp, Level: lvl})
		}
	}
	if cfg.Interval > 0 {
		_ = d.meter.WriteFrame(f)
		if d.meter.Duration() >= cfg.Interval {
			rms, peak := d.meter.Level()
			d.meter.Reset()
			reports = append(reports, LevelReport{Direction: dir, Periodic: true, Speaking: d.vad.Speaking(), Level: rms, Peak: peak})
		}
	}
	d.mu.Unlock()
	for i := range reports {
		c.notify(Event{Call: c, State: c.State(), Prev: c.State(), Level: &reports[i]})
	}
}

// levelSource meters what the call sends. Like teeSource it turns a
// missing or failed source into silence so the meter keeps time.
type levelSource struct {
	c    *Call
	src  audio.Source
	done bool
}

func (l *levelSource) ReadFrame(f *audio.Frame) error {
	if l.src == nil || l.done {
		clear(f.Samples)
	} else if err := l.src.ReadFrame(f); err != nil {
		if !errors.Is(err, audio.ErrSampleRate) {
			l.done = true
		}
		clear(f.Samples)
	}
	l.c.measure(AudioLocal, f)
	return nil
}

// levelSink meters what the call receives.
type levelSink struct {
	c    *Call
	sink audio.Sink
}

func (l *levelSink) WriteFrame(f *audio.Frame) error {
	l.c.measure(AudioRemote, f)
	if l.sink == nil {
		return nil
	}
	return l.sink.WriteFrame(f)
}
