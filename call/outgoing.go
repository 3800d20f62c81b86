package call

import (
	"context"
	"errors"

	"github.com/voipkit/voipkit/sip"
)

// Dial places an outgoing call. It returns at once with the call in
// StateDialing; progress arrives through Config.Notify. Cancelling ctx
// before the answer cancels the call (CANCEL is sent).
func Dial(ctx context.Context, cfg Config, o DialOptions) (*Call, error) {
	c := newCall(cfg, Outgoing)
	c.local, c.remote = o.From, o.Target
	if err := c.newMedia(); err != nil {
		return nil, err
	}
	c.SetSource(o.Source)
	c.SetSink(o.Sink)
	offer, err := c.media.CreateOffer()
	if err != nil {
		_ = c.media.Close()
		return nil, err
	}
	ictx, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	c.setState(StateDialing, 0, "")
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer cancel()
		c.runInvite(ictx, o, offer)
	}()
	return c, nil
}

// maxRedirects bounds how many 3xx responses an outgoing call follows.
const maxRedirects = 5

func (c *Call) runInvite(ctx context.Context, o DialOptions, offer []byte) {
	var (
		d   *sip.Dialog
		res *sip.Response
		err error
	)
	for hop := 0; ; hop++ {
		d, res, err = c.cfg.UA.Invite(ctx, sip.InviteOptions{
			Target: o.Target, From: o.From, DisplayName: o.DisplayName, Proxy: o.Proxy,
			Credentials: o.Credentials, Body: offer, Headers: o.Headers,
			OnProvisional: c.onProvisional,
			OnEarlyDialog: func(e *sip.EarlyDialog) {
				c.mu.Lock()
				c.early = e
				c.mu.Unlock()
			},
			SessionExpires: o.SessionExpires, MinSE: o.MinSE,
		})
		next, ok := redirectTarget(res, err)
		if !ok || hop >= maxRedirects {
			break
		}
		// Follow the redirect: the new target is tried directly, not
		// through the proxy that redirected us (RFC 3261 8.1.3.4).
		c.log.Debug("call: following redirect", "id", c.id, "to", next.String())
		o.Target = next
		c.mu.Lock()
		c.remote = next
		c.mu.Unlock()
	}
	if res != nil {
		c.mu.Lock()
		c.peerMsg = res
		c.mu.Unlock()
	}
	if err != nil {
		c.terminate(inviteFailure(res, err))
		return
	}
	if res.To() != nil {
		c.mu.Lock()
		c.remoteNm = res.To().DisplayName
		c.mu.Unlock()
	}
	if body := res.Body(); len(body) > 0 {
		if err := c.media.SetRemoteAnswer(body); err != nil {
			// RFC 3261 gives no way to refuse an answer: hang up.
			_ = d.Bye(context.WithoutCancel(ctx), "")
			c.terminate(Cause{By: PartySystem, Code: 488, Reason: "unusable SDP answer", Err: err})
			return
		}
	}
	c.startMedia()
	c.watchDialog(d)
	c.setState(StateConnected, res.StatusCode, res.Reason)
}

func (c *Call) onProvisional(res *sip.Response) {
	switch {
	case res.StatusCode == 183 && len(res.Body()) > 0 || res.StatusCode == 180 && len(res.Body()) > 0:
		if err := c.media.SetRemoteAnswer(res.Body()); err == nil {
			c.startMedia()
			c.setState(StateEarlyMedia, res.StatusCode, res.Reason)
			return
		}
		c.setState(StateRinging, res.StatusCode, res.Reason)
	case res.StatusCode == 180 || res.StatusCode == 181 || res.StatusCode == 182:
		c.setState(StateRinging, res.StatusCode, res.Reason)
	}
}

func inviteFailure(res *sip.Response, err error) Cause {
	var se *sip.StatusError
	switch {
	case errors.Is(err, sip.ErrCanceled):
		return Cause{By: PartyLocal, Code: 487, Reason: "cancelled", Err: err}
	case errors.As(err, &se):
		return Cause{By: PartyRemote, Code: se.Code, Reason: se.Reason, Err: err}
	case errors.Is(err, sip.ErrAuthFailed):
		code := 401
		if res != nil {
			code = res.StatusCode
		}
		return Cause{By: PartySystem, Code: code, Reason: "authentication failed", Err: err}
	case errors.Is(err, sip.ErrTimeout):
		return Cause{By: PartySystem, Code: 408, Reason: "request timeout", Err: err}
	default:
		return Cause{By: PartySystem, Code: 503, Reason: err.Error(), Err: err}
	}
}

// redirectTarget returns the first Contact of a 3xx final response.
func redirectTarget(res *sip.Response, err error) (sip.URI, bool) {
	var se *sip.StatusError
	if res == nil || !errors.As(err, &se) || se.Code < 300 || se.Code > 399 {
		return sip.URI{}, false
	}
	ct := res.Contact()
	if ct == nil || ct.Address.Host == "" {
		return sip.URI{}, false
	}
	return ct.Address, true
}
