package call

import (
	"context"
	"errors"
	"fmt"

	gsip "github.com/emiago/sipgo/sip"

	"github.com/voipkit/voipkit/media"
	"github.com/voipkit/voipkit/sip"
)

// Hold puts the call on hold with a re-INVITE offering sendonly (RFC 3264
// §8.4): the peer stops sending, we keep sending (music on hold, or
// silence). A challenged re-INVITE is retried with the account's
// credentials; 491 glare is retried after the RFC 3261 back-off.
func (c *Call) Hold(ctx context.Context) error { return c.setHold(ctx, true) }

// Unhold resumes a held call with a re-INVITE offering sendrecv.
func (c *Call) Unhold(ctx context.Context) error { return c.setHold(ctx, false) }

// OnHold reports whether we hold the call (local) and whether the peer
// holds it (remote: its last offer was sendonly, inactive or c=0.0.0.0).
func (c *Call) OnHold() (local, remote bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.localHold, c.remoteHold
}

func (c *Call) setHold(ctx context.Context, hold bool) error {
	c.mu.Lock()
	d, state := c.dialog, c.state
	c.mu.Unlock()
	if d == nil || state != StateConnected {
		return fmt.Errorf("%w: %s", ErrInvalidState, state)
	}
	dir := media.DirectionSendRecv
	if hold {
		dir = media.DirectionSendOnly
	}
	c.media.SetDirection(dir)
	offer, err := c.media.CreateOffer()
	if err != nil {
		return fmt.Errorf("call: hold offer: %w", err)
	}
	res, err := d.ReInvite(ctx, offer)
	if err != nil {
		// The session stays as it was: restore the direction we had.
		if hold {
			c.media.SetDirection(media.DirectionSendRecv)
		} else {
			c.media.SetDirection(media.DirectionSendOnly)
		}
		var se *sip.StatusError
		if errors.As(err, &se) && se.Code == 481 {
			c.terminate(Cause{By: PartySystem, Code: 481, Reason: "dialog gone at the peer", Err: err})
		}
		return fmt.Errorf("call: re-INVITE: %w", err)
	}
	if body := res.Body(); len(body) > 0 {
		if err := c.media.SetRemoteAnswer(body); err != nil {
			return fmt.Errorf("call: re-INVITE answer: %w", err)
		}
	}
	c.mu.Lock()
	c.localHold = hold
	c.mu.Unlock()
	c.notifyHold()
	return nil
}

func (c *Call) notifyHold() {
	c.mu.Lock()
	local, remote, state := c.localHold, c.remoteHold, c.state
	c.mu.Unlock()
	c.notify(Event{Call: c, State: state, Prev: state, HoldChanged: true, LocalHold: local, RemoteHold: remote})
}

// handleInDialog serves requests the peer sends inside the call's dialog,
// one at a time: each is answered before its event is emitted (so that
// what the application does about the event follows the answer), and the
// next request waits, so that its event cannot overtake this one's.
func (c *Call) handleInDialog(d *sip.Dialog) sip.RequestHandler {
	return func(req *sip.Request, tx gsip.ServerTransaction) {
		c.inDialogMu.Lock()
		defer c.inDialogMu.Unlock()
		switch req.Method {
		case gsip.INVITE:
			c.handleReInvite(d, req, tx)
		case gsip.UPDATE:
			c.handleUpdate(d, req, tx)
		case gsip.INFO:
			c.handleInfo(d, req, tx)
		case gsip.REFER:
			c.handleRefer(d, req, tx)
		case gsip.NOTIFY:
			c.handleNotify(d, req, tx)
		default:
			_ = d.Respond(req, tx, 501, "Not Implemented")
		}
	}
}

// handleReInvite answers a re-INVITE: a new offer (hold, resume, codec or
// address change) or, without a body, our current session as the offer.
func (c *Call) handleReInvite(d *sip.Dialog, req *sip.Request, tx gsip.ServerTransaction) {
	body := req.Body()
	if len(body) == 0 {
		// Offer-less re-INVITE: the 2xx carries our offer and the ACK the
		// answer, which the dialog layer does not hand up yet; offering
		// our current session keeps media as it is.
		offer, err := c.media.CreateOffer()
		if err != nil {
			_ = d.Respond(req, tx, 500, "Server Internal Error")
			return
		}
		_ = d.Answer2xx(req, tx, offer)
		return
	}
	answer, err := c.media.AcceptOffer(body)
	if err != nil {
		_ = d.Respond(req, tx, 488, "Not Acceptable Here")
		return
	}
	if err := d.Answer2xx(req, tx, answer); err != nil {
		c.log.Warn("call: answer re-INVITE", "id", c.id, "err", err)
		return
	}
	c.updateRemoteHold()
}

// handleUpdate answers an UPDATE (RFC 3311): a new offer is answered like
// a re-INVITE's; one without a body only refreshes the session.
func (c *Call) handleUpdate(d *sip.Dialog, req *sip.Request, tx gsip.ServerTransaction) {
	body := req.Body()
	if len(body) == 0 {
		_ = d.Answer2xx(req, tx, nil)
		return
	}
	answer, err := c.media.AcceptOffer(body)
	if err != nil {
		_ = d.Respond(req, tx, 488, "Not Acceptable Here")
		return
	}
	_ = d.Answer2xx(req, tx, answer)
	c.updateRemoteHold()
}

// updateRemoteHold re-reads the peer's direction after a new offer.
func (c *Call) updateRemoteHold() {
	remoteHold := false
	if r := c.media.Remote(); r != nil {
		remoteHold = !r.Direction.Receives() || r.Addr.Addr().IsUnspecified()
	}
	c.mu.Lock()
	changed := c.remoteHold != remoteHold
	c.remoteHold = remoteHold
	c.mu.Unlock()
	if changed {
		c.notifyHold()
	}
}

// Update sends an UPDATE with a fresh offer of the current session (RFC
// 3311), e.g. after a local change, and applies the answer.
//
// Before the answer, on an outgoing call that has had a provisional
// response, the UPDATE goes in the early dialog (RFC 3311 §5.1).
func (c *Call) Update(ctx context.Context) error {
	c.mu.Lock()
	d, early, state := c.dialog, c.early, c.state
	c.mu.Unlock()
	var send func(context.Context, []byte) (*sip.Response, error)
	switch {
	case d != nil && state == StateConnected:
		send = d.Update
	case d == nil && early != nil && (state == StateRinging || state == StateEarlyMedia):
		send = early.Update
	default:
		return fmt.Errorf("%w: %s", ErrInvalidState, state)
	}
	offer, err := c.media.CreateOffer()
	if err != nil {
		return fmt.Errorf("call: UPDATE offer: %w", err)
	}
	res, err := send(ctx, offer)
	if err != nil {
		return fmt.Errorf("call: UPDATE: %w", err)
	}
	if body := res.Body(); len(body) > 0 {
		if err := c.media.SetRemoteAnswer(body); err != nil {
			return fmt.Errorf("call: UPDATE answer: %w", err)
		}
	}
	return nil
}
