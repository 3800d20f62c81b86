package voipkit

import (
	"context"
	"fmt"

	"github.com/voipkit/voipkit/call"
)

// Conference mixes calls and the local user; see call.Conference.
type Conference = call.Conference

// ConferenceConfig configures a Conference; see call.ConferenceConfig.
type ConferenceConfig = call.ConferenceConfig

// Conference starts an empty conference bridge. Add connected calls with
// its Add method and the local user with AddLocal; Close it when done.
func (p *Phone) Conference(cfg ConferenceConfig) (*Conference, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	return call.NewConference(cfg)
}

// Merge joins two connected calls and the local user into a three-way
// call: it resumes whichever of a and b we hold, then mixes them. The
// local user speaks through the source and listens through the sink the
// application gave a (or b, if a has none; see Call.Source and Call.Sink);
// Conference.AddLocal changes them. The conference closes by itself once
// both calls have ended, or with Close; Split turns it back into two
// separate calls.
func (p *Phone) Merge(ctx context.Context, a, b *Call) (*Conference, error) {
	if a == nil || b == nil || a == b {
		return nil, fmt.Errorf("voipkit: merge: %w: need two different calls", call.ErrInvalidState)
	}
	for _, c := range []*Call{a, b} {
		if s := c.State(); s != CallConnected {
			return nil, fmt.Errorf("voipkit: merge: %w: call %s is %s", call.ErrInvalidState, c.ID(), s)
		}
		if local, _ := c.OnHold(); local {
			if err := c.Unhold(ctx); err != nil {
				return nil, fmt.Errorf("voipkit: merge: resume call %s: %w", c.ID(), err)
			}
		}
	}
	conf, err := p.Conference(ConferenceConfig{CloseWhenEmpty: true})
	if err != nil {
		return nil, fmt.Errorf("voipkit: merge: %w", err)
	}
	src, sink := a.Source(), a.Sink()
	if src == nil {
		src = b.Source()
	}
	if sink == nil {
		sink = b.Sink()
	}
	for _, c := range []*Call{a, b} {
		if err := conf.Add(c); err != nil {
			_ = conf.Close()
			return nil, fmt.Errorf("voipkit: merge: %w", err)
		}
	}
	if err := conf.AddLocal(src, sink); err != nil {
		_ = conf.Close()
		return nil, fmt.Errorf("voipkit: merge: %w", err)
	}
	return conf, nil
}
