package voipkit

import (
	"context"
	"errors"
	"fmt"

	"github.com/voipkit/voipkit/presence"
)

// ErrNothingToPickUp is returned by Pickup when the watched extension has
// no ringing call.
var ErrNothingToPickUp = errors.New("voipkit: no ringing call to pick up")

// Pickup answers a call ringing at an extension watched with WatchBLF
// (directed call pickup). With Config.PickupCode set it dials that feature
// code followed by the extension and lets the PBX connect the call.
// Otherwise it sends an INVITE with Replaces (RFC 3891) to the caller of
// the ringing dialog, built from the dialog-info: the caller answers us
// and cancels its call to the extension.
func (p *Phone) Pickup(ctx context.Context, w *Watch, options ...DialOption) (*Call, error) {
	if p.cfg.PickupCode != "" {
		return p.Dial(ctx, p.cfg.PickupCode+w.target, options...)
	}
	w.mu.Lock()
	dialogs := w.tracker.Dialogs()
	w.mu.Unlock()
	for _, d := range dialogs {
		if d.State() != presence.StateRinging || d.Direction != presence.DirectionRecipient || d.CallID == "" {
			continue
		}
		target := d.Remote.Target
		if target == "" {
			target = d.Remote.Identity
		}
		if target == "" {
			continue
		}
		// The caller matches to-tag against its own tag, which the
		// extension's dialog-info lists as the remote tag.
		replaces := d.CallID + ";to-tag=" + d.RemoteTag + ";from-tag=" + d.LocalTag + ";early-only"
		c, err := p.Dial(ctx, target, append(options, WithHeader("Replaces", replaces))...)
		if err != nil {
			return nil, fmt.Errorf("voipkit: pickup: %w", err)
		}
		return c, nil
	}
	return nil, ErrNothingToPickUp
}
