package call

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gsip "github.com/emiago/sipgo/sip"

	"github.com/voipkit/voipkit/media"
	"github.com/voipkit/voipkit/sip"
)

// Accept wraps an incoming INVITE into a Call in StateIncoming. When the
// offer is unusable (malformed SDP, no common codec) it answers 488 itself
// and returns the call already terminated together with the error.
func Accept(cfg Config, inv *sip.IncomingInvite) (*Call, error) {
	c := newCall(cfg, Incoming)
	req := inv.Request()
	c.inv = inv
	c.peerMsg = req
	c.local = req.Recipient
	if to := req.To(); to != nil {
		c.local = to.Address
	}
	if from := req.From(); from != nil {
		c.remote, c.remoteNm = from.Address, from.DisplayName
	}
	c.remoteNm, c.remote = callerIdentity(req, c.remoteNm, c.remote)
	c.state = StateIncoming
	if err := c.newMedia(); err != nil {
		_ = inv.Reject(500, "Server Internal Error")
		c.terminate(Cause{By: PartySystem, Code: 500, Reason: "media setup failed", Err: err})
		return c, err
	}
	if len(req.Body()) == 0 {
		// Offer-less INVITEs (offer in 200, answer in ACK) are not handled yet.
		_ = inv.Reject(488, "Not Acceptable Here")
		c.terminate(Cause{By: PartySystem, Code: 488, Reason: "INVITE without SDP offer"})
		return c, fmt.Errorf("%w: INVITE without SDP offer", media.ErrNoOffer)
	}
	answer, err := c.media.AcceptOffer(req.Body())
	if err != nil {
		_ = inv.Reject(488, "Not Acceptable Here")
		c.terminate(Cause{By: PartyLocal, Code: 488, Reason: "unacceptable SDP offer", Err: err})
		return c, err
	}
	c.answer = answer
	inv.SetUpdateHandler(func(offer []byte) ([]byte, error) {
		a, err := c.media.AcceptOffer(offer)
		if err == nil {
			c.mu.Lock()
			c.answer = a
			c.mu.Unlock()
			c.updateRemoteHold()
		}
		return a, err
	})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		select {
		case <-inv.Cancelled():
			c.terminate(Cause{By: PartyRemote, Code: 487, Reason: "cancelled by caller"})
		case <-c.done:
		}
	}()
	return c, nil
}

// AnnounceIncoming emits the call's first event (StateIncoming); the owner
// calls it once it has registered the call.
func (c *Call) AnnounceIncoming() {
	c.notify(Event{Call: c, State: StateIncoming})
}

// Ring sends 180 Ringing for an incoming call.
func (c *Call) Ring() error {
	if c.inv == nil {
		return ErrInvalidState
	}
	if s := c.State(); s != StateIncoming && s != StateRinging {
		return fmt.Errorf("%w: %s", ErrInvalidState, s)
	}
	if err := c.inv.Provisional(180, "Ringing", nil); err != nil {
		if errors.Is(err, sip.ErrAlreadyAnswered) {
			return fmt.Errorf("%w: %w", ErrInvalidState, err)
		}
		return fmt.Errorf("call: ring: %w", err)
	}
	c.setState(StateRinging, 180, "Ringing")
	return nil
}

// Answer accepts an incoming call with 200 OK and starts media.
func (c *Call) Answer(ctx context.Context) error {
	if c.inv == nil {
		return ErrInvalidState
	}
	if s := c.State(); s != StateIncoming && s != StateRinging {
		return fmt.Errorf("%w: %s", ErrInvalidState, s)
	}
	if c.cfg.BeforeAnswer != nil {
		c.cfg.BeforeAnswer(ctx, c)
	}
	c.mu.Lock()
	answer := c.answer
	c.mu.Unlock()
	d, err := c.inv.Accept(answer)
	if err != nil {
		if errors.Is(err, sip.ErrAlreadyAnswered) {
			return fmt.Errorf("%w: %w", ErrInvalidState, err)
		}
		c.terminate(Cause{By: PartySystem, Code: 500, Reason: "could not answer", Err: err})
		return err
	}
	c.startMedia()
	c.watchDialog(d)
	c.setState(StateConnected, 200, "OK")
	return nil
}

// Forward redirects an unanswered incoming call to target with 302 Moved
// Temporarily (call forwarding).
func (c *Call) Forward(target sip.URI) error {
	if c.inv == nil {
		return ErrInvalidState
	}
	if err := c.inv.Redirect(302, "Moved Temporarily", target); err != nil {
		if errors.Is(err, sip.ErrAlreadyAnswered) {
			return fmt.Errorf("%w: %w", ErrInvalidState, err)
		}
		return err
	}
	c.terminate(Cause{By: PartyLocal, Code: 302, Reason: "forwarded to " + target.String()})
	return nil
}

// Reject refuses an incoming call with a final status (486 Busy Here,
// 603 Decline, 480 Temporarily Unavailable...).
func (c *Call) Reject(code int, reason string) error {
	if c.inv == nil {
		return ErrInvalidState
	}
	if err := c.inv.Reject(code, reason); err != nil {
		if errors.Is(err, sip.ErrAlreadyAnswered) {
			return fmt.Errorf("%w: %w", ErrInvalidState, err)
		}
		return err
	}
	c.terminate(Cause{By: PartyLocal, Code: code, Reason: reason})
	return nil
}

// callerIdentity prefers the network-asserted identity (RFC 3325
// P-Asserted-Identity, then the older Remote-Party-ID) over From, as PBXs
// put the real caller there.
func callerIdentity(req *sip.Request, name string, uri sip.URI) (string, sip.URI) {
	for _, hn := range []string{"P-Asserted-Identity", "Remote-Party-ID"} {
		h := req.GetHeader(hn)
		if h == nil {
			continue
		}
		var u sip.URI
		params := gsip.NewParams()
		// A header may list a sip: and a tel: identity; the first that
		// parses wins.
		for _, v := range strings.Split(h.Value(), ",") {
			n, err := gsip.ParseAddressValue(strings.TrimSpace(v), &u, &params)
			if err == nil && u.Host != "" {
				if n == "" {
					n = name
				}
				return n, u
			}
		}
	}
	return name, uri
}
