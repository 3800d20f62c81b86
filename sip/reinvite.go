package sip

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	gsip "github.com/emiago/sipgo/sip"
)

// ReInvite sends an INVITE inside the dialog with a new offer (hold,
// resume, codec change), acknowledges its 2xx and returns it. Challenges
// are answered with the dialog's credentials. A 491 Request Pending (glare)
// is retried after the RFC 3261 14.1 back-off, a bounded number of times.
func (d *Dialog) ReInvite(ctx context.Context, body []byte) (*Response, error) {
	for attempt := 0; ; attempt++ {
		res, err := d.reInviteOnce(ctx, body)
		if res == nil || res.StatusCode != 491 || attempt >= 3 {
			return res, err
		}
		// The owner of the Call-ID (the original caller) waits 2.1-4 s,
		// the other side 0-2 s, so the two retries do not collide again.
		var wait time.Duration
		if d.isCaller {
			wait = 2100*time.Millisecond + time.Duration(rand.Int64N(int64(1900*time.Millisecond)))
		} else {
			wait = time.Duration(rand.Int64N(int64(2 * time.Second)))
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return res, ctx.Err()
		case <-d.done:
			t.Stop()
			return res, ErrDialogTerminated
		}
	}
}

func (d *Dialog) reInviteOnce(ctx context.Context, body []byte) (*Response, error) {
	if d.isTerminated() {
		return nil, ErrDialogTerminated
	}
	req := d.newRequest(gsip.INVITE)
	req.AppendHeader(gsip.NewHeader("Allow", allowHeader))
	d.addTimerHeaders(req)
	if len(body) > 0 {
		ct := gsip.ContentTypeHeader("application/sdp")
		req.AppendHeader(&ct)
	}
	req.SetBody(body)
	fresh := false
	for round := 0; ; round++ {
		res, err := d.ua.inviteOnce(ctx, req, nil)
		if err != nil {
			return res, err
		}
		if res.IsSuccess() {
			d.ackInDialog(req, res)
			d.timerRefreshed(res)
			return res, nil
		}
		if (res.StatusCode == 401 || res.StatusCode == 407) && d.auth != nil && d.auth.creds.Username != "" && round < 3 {
			stale, aerr := d.auth.answer(req, res)
			if aerr != nil || (fresh && !stale) {
				return res, fmt.Errorf("%w: %w", ErrAuthFailed, statusError(res))
			}
			fresh = true
			req.RemoveHeader("Via")
			d.ua.addVia(req)
			d.mu.Lock()
			d.localSeq++
			req.CSeq().SeqNo = d.localSeq
			d.mu.Unlock()
			continue
		}
		return res, statusError(res)
	}
}

// ackInDialog acknowledges a 2xx to a re-INVITE, updating the remote
// target from its Contact (RFC 3261 12.2.1.2).
func (d *Dialog) ackInDialog(inv *gsip.Request, res *gsip.Response) {
	if c := res.Contact(); c != nil {
		d.mu.Lock()
		d.remoteTarget = c.Address
		d.remoteBody = res.Body()
		d.mu.Unlock()
	}
	ack := d.newRequest(gsip.ACK)
	ack.CSeq().SeqNo = inv.CSeq().SeqNo
	for _, h := range inv.GetHeaders("Proxy-Authorization") {
		ack.AppendHeader(gsip.HeaderClone(h))
	}
	ack.SetBody(nil)
	d.mu.Lock()
	d.lastAck = ack
	d.mu.Unlock()
	if err := d.ua.cli.WriteRequest(ack.Clone(), noBuild); err != nil {
		d.ua.log.Warn("sip: send ACK", "err", err)
	}
}

// Update sends an UPDATE (RFC 3311) with an optional new offer, or
// without a body as a session refresh, and returns its final response.
func (d *Dialog) Update(ctx context.Context, body []byte) (*Response, error) {
	if d.isTerminated() {
		return nil, ErrDialogTerminated
	}
	req := d.newRequest(gsip.UPDATE)
	d.addTimerHeaders(req)
	if len(body) > 0 {
		ct := gsip.ContentTypeHeader("application/sdp")
		req.AppendHeader(&ct)
	}
	req.SetBody(body)
	res, err := d.ua.transact(ctx, req, d.auth, 0, nil)
	if err != nil {
		return nil, err
	}
	if !res.IsSuccess() {
		return res, statusError(res)
	}
	d.timerRefreshed(res)
	return res, nil
}

// Refresh refreshes the session (RFC 4028 §7.4/§9): by UPDATE without a
// body when the peer allows UPDATE, otherwise by re-INVITE with offer.
func (d *Dialog) Refresh(ctx context.Context, offer func() ([]byte, error)) (*Response, error) {
	if d.PeerAllows("UPDATE") {
		return d.Update(ctx, nil)
	}
	body, err := offer()
	if err != nil {
		return nil, err
	}
	return d.ReInvite(ctx, body)
}

// Refreshed signals (without blocking) each time the session was
// refreshed: a 2xx to our refresh or our 2xx to the peer's.
func (d *Dialog) Refreshed() <-chan struct{} { return d.refreshed }

// addTimerHeaders carries the session timer in refresh requests.
func (d *Dialog) addTimerHeaders(req *gsip.Request) {
	d.mu.Lock()
	st := d.timer
	d.mu.Unlock()
	if st.Interval <= 0 {
		return
	}
	req.AppendHeader(gsip.NewHeader("Supported", "timer"))
	req.AppendHeader(gsip.NewHeader("Session-Expires", formatSessionExpires(st)))
}

// timerRefreshed records a refresh and any new interval the message sets.
func (d *Dialog) timerRefreshed(m interface{ GetHeader(string) gsip.Header }) {
	if st, ok := parseSessionExpires(sessionExpiresHeader(m)); ok {
		d.mu.Lock()
		if st.Refresher == RefresherUnknown {
			st.Refresher = d.timer.Refresher
		}
		d.timer = st
		d.mu.Unlock()
	}
	select {
	case d.refreshed <- struct{}{}:
	default:
	}
}

// Answer2xx answers an in-dialog request received by a RequestHandler
// with 200 OK, our Contact and body (an SDP answer for a re-INVITE).
func (d *Dialog) Answer2xx(req *Request, tx gsip.ServerTransaction, body []byte) error {
	res := gsip.NewResponseFromRequest(req, 200, "OK", body)
	res.AppendHeader(&gsip.ContactHeader{Address: d.contact, Params: gsip.NewParams()})
	if len(body) > 0 {
		ct := gsip.ContentTypeHeader("application/sdp")
		res.AppendHeader(&ct)
	}
	if req.Method == gsip.INVITE {
		if c := req.Contact(); c != nil {
			d.mu.Lock()
			d.remoteTarget = c.Address
			d.mu.Unlock()
		}
	}
	refresh := req.Method == gsip.INVITE || req.Method == gsip.UPDATE
	if refresh {
		if st, ok := parseSessionExpires(sessionExpiresHeader(req)); ok {
			d.mu.Lock()
			if st.Refresher == RefresherUnknown {
				st.Refresher = d.timer.Refresher
			}
			d.timer = st
			d.mu.Unlock()
			res.AppendHeader(gsip.NewHeader("Session-Expires", formatSessionExpires(st)))
			res.AppendHeader(gsip.NewHeader("Require", "timer"))
		}
	}
	if err := tx.Respond(res); err != nil {
		return fmt.Errorf("%w: %w", ErrTransport, err)
	}
	if refresh {
		select {
		case d.refreshed <- struct{}{}:
		default:
		}
	}
	return nil
}

// Respond answers an in-dialog request with a status and no body.
func (d *Dialog) Respond(req *Request, tx gsip.ServerTransaction, code int, reason string) error {
	if err := tx.Respond(gsip.NewResponseFromRequest(req, code, reason, nil)); err != nil {
		return fmt.Errorf("%w: %w", ErrTransport, err)
	}
	return nil
}
