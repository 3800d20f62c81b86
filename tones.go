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
	if p.cfg.DisableVoiceActivity && p.cfg.LevelInterval <= 0 {
		return nil
	}
	return &call.LevelConfig{
		NoVAD:    p.cfg.DisableVoiceActivity,
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

// failureTone returns the tone for how an outgoing call ended before
// the answer, and false when it gets none: we ended it ourselves, or it
// was answered.
func failureTone(e call.Event) (audio.ToneKind, bool) {
	if e.Call.Direction() != call.Outgoing || e.Cause.By == call.PartyLocal {
		return 0, false
	}
	switch e.Prev {
	case call.StateDialing, call.StateRinging, call.StateEarlyMedia:
	default:
		return 0, false
	}
	switch e.Cause.Code {
	case 486, 600:
		return audio.ToneBusy, true
	case 487: // cancelled
		return 0, false
	}
	return audio.ToneCongestion, true
}

// onFailed plays the busy or congestion tone into the sink of an
// outgoing call that failed before the answer, for Config.FailureTone.
func (p *Phone) onFailed(e call.Event) {
	kind, ok := failureTone(e)
	if !ok || p.cfg.FailureTone <= 0 {
		return
	}
	sink := e.Call.Sink()
	if sink == nil {
		return
	}
	stop := make(chan struct{})
	p.mu.Lock()
	if p.toneStop != nil {
		close(p.toneStop)
	}
	p.toneStop = stop
	p.mu.Unlock()
	src := p.tonePlan().Source(kind, ringbackLevel)
	frames := int(p.cfg.FailureTone / ringbackFrame)
	p.goTracked(func() {
		defer p.endTone(stop)
		playTone(sink, src, frames, stop, p.quit)
	})
}

// stopTone stops the failure tone, if one is playing.
func (p *Phone) stopTone() {
	p.mu.Lock()
	if p.toneStop != nil {
		close(p.toneStop)
		p.toneStop = nil
	}
	p.mu.Unlock()
}

// endTone forgets stop once its tone has ended by itself.
func (p *Phone) endTone(stop chan struct{}) {
	p.mu.Lock()
	if p.toneStop == stop {
		p.toneStop = nil
	}
	p.mu.Unlock()
}

// playTone writes frames 20 ms frames of src into sink in real time,
// until stop or quit closes.
func playTone(sink audio.Sink, src audio.Source, frames int, stop, quit <-chan struct{}) {
	tick := time.NewTicker(ringbackFrame)
	defer tick.Stop()
	var f audio.Frame
	for ; frames > 0; frames-- {
		select {
		case <-stop:
			return
		case <-quit:
			return
		case <-tick.C:
		}
		if !writeToneFrame(sink, src, &f) {
			return
		}
	}
}

// writeToneFrame writes the next 20 ms of src into sink. It reports
// false when either fails.
func writeToneFrame(sink audio.Sink, src audio.Source, f *audio.Frame) bool {
	sizeToneFrame(sink, f)
	return src.ReadFrame(f) == nil && sink.WriteFrame(f) == nil
}

// sizeToneFrame makes f 20 ms long at sink's sample rate when it tells
// one (else 8 kHz).
func sizeToneFrame(sink audio.Sink, f *audio.Frame) {
	rate := 8000
	if r, ok := sink.(interface{ SampleRate() int }); ok && r.SampleRate() > 0 {
		rate = r.SampleRate()
	}
	size := rate * int(ringbackFrame) / int(time.Second)
	if cap(f.Samples) < size {
		f.Samples = make([]int16, size)
	}
	f.Samples, f.SampleRate = f.Samples[:size], rate
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
		if !writeToneFrame(sink, src, &f) {
			return
		}
	}
}
