package call

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/voipkit/voipkit/audio"
)

// ErrConferenceClosed is returned by operations on a closed Conference.
var ErrConferenceClosed = errors.New("call: conference closed")

// ErrNotInConference is returned for a call that is not in the Conference.
var ErrNotInConference = errors.New("call: call not in this conference")

// Per-leg buffering between a call's media clock and the mixer's clock.
const (
	// ConferenceReserve is the audio each leg keeps buffered against
	// scheduling jitter in each direction.
	ConferenceReserve = 20 * time.Millisecond
	// conferenceCapacity is the most a leg buffers before dropping.
	conferenceCapacity = 120 * time.Millisecond
	// LocalRate is the sample rate of the local participant (AddLocal).
	LocalRate = 16000
)

// ConferenceConfig configures a Conference. The zero value is usable.
type ConferenceConfig struct {
	// Rate is the mixing rate in Hz; zero mixes at the highest rate of
	// the participants (see audio.MixerConfig).
	Rate int
	// SoftClip soft-clips loud sums instead of saturating them.
	SoftClip bool
	// CloseWhenEmpty closes the Conference once the last call in it has
	// ended (not when calls are removed with Remove or Split).
	CloseWhenEmpty bool
}

// Conference mixes calls, and optionally the local user, so that every
// party hears all the others but not itself. Each call in it sends the
// mix for its peer instead of its own source, and its received audio goes
// into the mix instead of its sink; both are buffered in small FIFOs
// because the call's media and the mixer run on separate clocks (see
// LegStats). A call that ends leaves the conference by itself.
//
// The mixer runs in real time on its own goroutine until Close. A
// Conference is safe for concurrent use.
type Conference struct {
	cfg ConferenceConfig
	mix *audio.Mixer

	mu     sync.Mutex // guards the fields below
	legs   map[*Call]*confLeg
	local  *audio.Participant
	closed bool

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// confLeg is one call in a conference.
type confLeg struct {
	p        *audio.Participant
	toCall   *audio.FIFO // the mix the call sends to its peer
	fromCall *audio.FIFO // the peer's audio, the call's contribution
	gone     chan struct{}
}

// LegStats describes the buffering of one call in a Conference, in
// samples: silence inserted because a FIFO ran dry, and audio dropped
// because one overflowed, in either direction.
type LegStats struct {
	Padded, Dropped int64
}

// NewConference starts an empty Conference.
func NewConference(cfg ConferenceConfig) (*Conference, error) {
	mix, err := audio.NewMixer(audio.MixerConfig{Rate: cfg.Rate, SoftClip: cfg.SoftClip})
	if err != nil {
		return nil, fmt.Errorf("call: conference: %w", err)
	}
	if err := mix.Start(); err != nil {
		return nil, fmt.Errorf("call: conference: %w", err)
	}
	return &Conference{cfg: cfg, mix: mix, legs: map[*Call]*confLeg{}, done: make(chan struct{})}, nil
}

// Add brings a connected call into the conference. Its peer then hears
// the mix instead of the call's source, and its audio goes into the mix
// instead of the call's sink (until Remove). Errors: ErrInvalidState for
// a call that is not connected or already in a conference,
// ErrConferenceClosed.
func (cf *Conference) Add(c *Call) error {
	if c == nil || c.media == nil || c.State() != StateConnected {
		return fmt.Errorf("%w: only a connected call can join a conference", ErrInvalidState)
	}
	rate := c.media.Codec().SampleRate
	if rate <= 0 {
		return fmt.Errorf("%w: call has no negotiated codec", ErrInvalidState)
	}
	leg := &confLeg{
		toCall:   audio.NewFIFO(rate, ConferenceReserve, conferenceCapacity),
		fromCall: audio.NewFIFO(rate, ConferenceReserve, conferenceCapacity),
		gone:     make(chan struct{}),
	}
	cf.mu.Lock()
	defer cf.mu.Unlock()
	if cf.closed {
		return ErrConferenceClosed
	}
	r := &c.route
	r.mu.Lock()
	if r.conf != nil || r.ended {
		r.mu.Unlock()
		return fmt.Errorf("%w: call is already in a conference or has ended", ErrInvalidState)
	}
	p, err := cf.mix.Add(leg.fromCall, leg.toCall, rate)
	if err != nil {
		r.mu.Unlock()
		return fmt.Errorf("call: conference: %w", err)
	}
	leg.p = p
	r.conf = leg
	r.apply(c)
	r.mu.Unlock()
	cf.legs[c] = leg
	cf.wg.Add(1)
	go cf.watch(c, leg)
	return nil
}

// watch takes c out when it ends.
func (cf *Conference) watch(c *Call, leg *confLeg) {
	defer cf.wg.Done()
	select {
	case <-c.Done():
	case <-leg.gone:
		return
	case <-cf.done:
		return
	}
	_ = cf.Remove(c)
	if cf.cfg.CloseWhenEmpty && cf.Len() == 0 {
		cf.shutdown()
	}
}

// Remove takes c out of the conference: it sends its own source again and
// its audio goes to its own sink (those set with SetSource and SetSink,
// or silence and discard if none were).
func (cf *Conference) Remove(c *Call) error {
	cf.mu.Lock()
	leg, ok := cf.legs[c]
	if ok {
		delete(cf.legs, c)
	}
	cf.mu.Unlock()
	if !ok {
		return ErrNotInConference
	}
	cf.detach(c, leg)
	return nil
}

func (cf *Conference) detach(c *Call, leg *confLeg) {
	_ = cf.mix.Remove(leg.p)
	r := &c.route
	r.mu.Lock()
	if r.conf == leg {
		r.conf = nil
		if !r.ended {
			r.apply(c)
		}
	}
	r.mu.Unlock()
	close(leg.gone)
}

// Split takes every call out of the conference (see Remove); the calls
// go on separately. The Conference stays open.
func (cf *Conference) Split() {
	cf.mu.Lock()
	legs := cf.legs
	cf.legs = map[*Call]*confLeg{}
	cf.mu.Unlock()
	for c, leg := range legs {
		cf.detach(c, leg)
	}
}

// Calls returns the calls in the conference.
func (cf *Conference) Calls() []*Call {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	out := make([]*Call, 0, len(cf.legs))
	for c := range cf.legs {
		out = append(out, c)
	}
	return out
}

// Len reports how many calls are in the conference.
func (cf *Conference) Len() int {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	return len(cf.legs)
}

func (cf *Conference) participant(c *Call) (*audio.Participant, error) {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	if leg, ok := cf.legs[c]; ok {
		return leg.p, nil
	}
	return nil, ErrNotInConference
}

// SetGain sets the gain of what c's peer says (in) and of what it hears
// (out); 1 leaves audio unchanged (see audio.Participant.SetGain).
func (cf *Conference) SetGain(c *Call, in, out float64) error {
	p, err := cf.participant(c)
	if err != nil {
		return err
	}
	return p.SetGain(in, out)
}

// Mute stops the others hearing c's peer; it still hears them.
func (cf *Conference) Mute(c *Call) error { return cf.setMute(c, true) }

// Unmute undoes Mute.
func (cf *Conference) Unmute(c *Call) error { return cf.setMute(c, false) }

func (cf *Conference) setMute(c *Call, m bool) error {
	p, err := cf.participant(c)
	if err != nil {
		return err
	}
	p.SetMute(m)
	return nil
}

// LegStats reports c's buffering counters.
func (cf *Conference) LegStats(c *Call) (LegStats, error) {
	cf.mu.Lock()
	leg, ok := cf.legs[c]
	cf.mu.Unlock()
	if !ok {
		return LegStats{}, ErrNotInConference
	}
	return LegStats{
		Padded:  leg.toCall.Padded() + leg.fromCall.Padded(),
		Dropped: leg.toCall.Dropped() + leg.fromCall.Dropped(),
	}, nil
}

// AddLocal adds the local user: src (a microphone stand-in) is heard by
// every call and sink (a speaker stand-in) hears them all, at LocalRate.
// It replaces an earlier local user.
func (cf *Conference) AddLocal(src audio.Source, sink audio.Sink) error {
	p, err := cf.mix.Add(src, sink, LocalRate)
	if err != nil {
		if errors.Is(err, audio.ErrClosed) {
			return ErrConferenceClosed
		}
		return fmt.Errorf("call: conference: %w", err)
	}
	cf.mu.Lock()
	old := cf.local
	cf.local = p
	cf.mu.Unlock()
	if old != nil {
		_ = cf.mix.Remove(old)
	}
	return nil
}

// RemoveLocal takes the local user out.
func (cf *Conference) RemoveLocal() {
	cf.mu.Lock()
	old := cf.local
	cf.local = nil
	cf.mu.Unlock()
	if old != nil {
		_ = cf.mix.Remove(old)
	}
}

// SetLocalGain sets the local user's gains (see SetGain).
func (cf *Conference) SetLocalGain(in, out float64) error {
	cf.mu.Lock()
	p := cf.local
	cf.mu.Unlock()
	if p == nil {
		return ErrNotInConference
	}
	return p.SetGain(in, out)
}

// MuteLocal mutes (true) or unmutes the local user.
func (cf *Conference) MuteLocal(muted bool) error {
	cf.mu.Lock()
	p := cf.local
	cf.mu.Unlock()
	if p == nil {
		return ErrNotInConference
	}
	p.SetMute(muted)
	return nil
}

// Record sends the full mix (every party) to sink every 20 ms at the
// mixing rate; nil stops. When it returns the previous sink is no longer
// written, so it may be closed.
func (cf *Conference) Record(sink audio.Sink) { cf.mix.Record(sink) }

// Rate reports the mixing rate in Hz (0 before the first frame).
func (cf *Conference) Rate() int { return cf.mix.Rate() }

// shutdown stops mixing and releases every call, without waiting for the
// watcher goroutines (one of them may be the caller).
func (cf *Conference) shutdown() {
	cf.closeOnce.Do(func() {
		cf.mu.Lock()
		cf.closed = true
		cf.mu.Unlock()
		cf.Split()
		close(cf.done)
		_ = cf.mix.Close()
	})
}

// Close takes every call out (see Split), stops the mixer and waits for
// the Conference's goroutines. It is idempotent and returns nil.
func (cf *Conference) Close() error {
	cf.shutdown()
	cf.wg.Wait()
	return nil
}
