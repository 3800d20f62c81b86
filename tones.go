package voipkit

import (
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/call"
)

// TonePlan is a national set of call-progress tones; see audio.PlanUS and
// audio.PlanEurope.
type TonePlan = audio.TonePlan

// AudioDirection tells which side of a call a level refers to:
// AudioLocal (what we send) or AudioRemote (what we receive).
type AudioDirection = call.AudioDirection

// Audio directions.
const (
	AudioLocal  = call.AudioLocal
	AudioRemote = call.AudioRemote
)

// VoiceActivityEvent reports that speech started (Speaking) or ended on
// one direction of a call, as detected by an energy VAD with
// Config.VADThreshold and Config.VADHangover.
type VoiceActivityEvent struct {
	eventBase
	Call      *Call
	Direction AudioDirection
	Speaking  bool
	// Level is the RMS level in dBFS of the frame that caused the change.
	Level float64
}

// LevelEvent reports the RMS and peak levels in dBFS of one direction of
// a call over the last Config.LevelInterval of audio.
type LevelEvent struct {
	eventBase
	Call      *Call
	Direction AudioDirection
	RMS, Peak float64
	Speaking  bool
}

// ringbackFrame is the period of local ringback generation.
const ringbackFrame = 20 * time.Millisecond

// maxRingback bounds how long local ringback plays.
const maxRingback = 10 * time.Minute

// ringbackLevel is the peak amplitude of local ringback (fraction of full
// scale).
const ringbackLevel = 0.25

// tonePlan returns the configured tone plan (zero: US).
func (p *Phone) tonePlan() TonePlan {
	if p.cfg.TonePlan.IsZero() {
		return audio.PlanUS()
	}
	return p.cfg.TonePlan
}

// levelConfig is the calls' metering configuration: voice activity
// detection is always on.
func (p *Phone) levelConfig() *call.LevelConfig {
	return &call.LevelConfig{
		VAD:      audio.VAD{Threshold: p.cfg.VADThreshold, Hangover: p.cfg.VADHangover},
		Interval: p.cfg.LevelInterval,
	}
}

// onLevel turns a call's level report into an event.
func (p *Phone) onLevel(e call.Event) {
	r := e.Level
	base := eventBase{time.Now()}
	if r.Periodic {
		p.emit(&LevelEvent{eventBase: base, Call: e.Call, Direction: r.Direction, RMS: r.Level, Peak: r.Peak, Speaking: r.Speaking})
		return
	}
	p.emit(&VoiceActivityEvent{eventBase: base, Call: e.Call, Direction: r.Direction, Speaking: r.Speaking, Level: r.Level})
}

// onRinging starts local ringback when an outgoing call is alerting
// without early media: the callee sent 180 without SDP, so until the
// answer no audio reaches the call's sink and nothing tells the user the
// call is ringing. The media session is not running yet, so a goroutine
// writes the plan's ringback into the call's sink every 20 ms until the
// call leaves StateRinging (answer, early media or end).
func (p *Phone) onRinging(e call.Event) {
	c := e.Call
	if p.cfg.DisableLocalRingback || c.Direction() != call.Outgoing {
		return
	}
	src := p.tonePlan().Source(audio.ToneRingback, ringbackLevel)
	p.goTracked(func() { playRingback(c, src) })
}

// playRingback feeds src into c's sink in real time while c rings.
func playRingback(c *Call, src audio.Source) {
	tick := time.NewTicker(ringbackFrame)
	defer tick.Stop()
	var f audio.Frame
	for n := int(maxRingback / ringbackFrame); n > 0; n-- {
		select {
		case <-c.Done():
			return
		case <-tick.C:
		}
		if c.State() != call.StateRinging {
			return
		}
		sink := c.Sink()
		if sink == nil {
			continue
		}
		rate := 8000
		if r, ok := sink.(interface{ SampleRate() int }); ok && r.SampleRate() > 0 {
			rate = r.SampleRate()
		}
		size := rate * int(ringbackFrame) / int(time.Second)
		if cap(f.Samples) < size {
			f.Samples = make([]int16, size)
		}
		f.Samples, f.SampleRate = f.Samples[:size], rate
		if err := src.ReadFrame(&f); err != nil {
			return
		}
		if err := sink.WriteFrame(&f); err != nil {
			return
		}
	}
}
