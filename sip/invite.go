package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gsip "github.com/emiago/sipgo/sip"
)

// InviteOptions describes an outgoing call.
type InviteOptions struct {
	// Target is the Request-URI (the callee).
	Target URI
	// From is our address of record; DisplayName goes with it.
	From        URI
	DisplayName string
	// Proxy, when it has a host, receives the INVITE instead of the
	// target's host (outbound proxy / registrar). Its transport parameter
	// chooses the transport.
	Proxy URI
	// Credentials answer 401/407 challenges.
	Credentials Credentials
	// Body is the SDP offer.
	Body []byte
	// Headers are extra headers added to the INVITE.
	Headers []Header
	// OnProvisional receives 1xx responses (except 100) on the calling
	// goroutine.
	OnProvisional func(*Response)
	// OnEarlyDialog receives the early dialog of each provisional response
	// with a new To tag, for UPDATE before the answer.
	OnEarlyDialog func(*EarlyDialog)
	// SessionExpires asks for a session timer (RFC 4028) of this interval;
	// zero leaves session timers out. MinSE is our minimum (default 90 s).
	SessionExpires, MinSE time.Duration
}

// Invite sends an INVITE and waits for the final response. On 2xx it sends
// the ACK and returns the confirmed dialog. A non-2xx final response is
// returned as a *StatusError. Cancelling ctx sends CANCEL (once the callee
// has answered provisionally) and returns an error wrapping ErrCanceled.
func (u *UA) Invite(ctx context.Context, o InviteOptions) (*Dialog, *Response, error) {
	if u.isClosed() {
		return nil, nil, ErrClosed
	}
	if o.Target.Host == "" {
		return nil, nil, fmt.Errorf("%w: target has no host", ErrInvalidURI)
	}
	next := o.Target
	if o.Proxy.Host != "" {
		next = o.Proxy
	}
	dest := hostPort(next)
	tp := uriTransport(next, uriTransport(o.Target, UDP))
	u.LearnHost(dest)

	from := &gsip.FromHeader{DisplayName: o.DisplayName, Address: o.From, Params: gsip.NewParams()}
	from.Params.Add("tag", gsip.GenerateTagN(16))
	to := &gsip.ToHeader{Address: o.Target, Params: gsip.NewParams()}
	to.Address.UriParams = nil
	callID := gsip.CallIDHeader(gsip.GenerateTagN(32))
	contact := u.ContactURI(o.From.User, tp)

	req := u.newRequest(gsip.INVITE, o.Target, tp, dest)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&gsip.CSeqHeader{SeqNo: rand.Uint32N(1<<15) + 1, MethodName: gsip.INVITE})
	req.AppendHeader(&gsip.ContactHeader{Address: contact, Params: gsip.NewParams()})
	req.AppendHeader(gsip.NewHeader("Allow", allowHeader))
	for _, h := range o.Headers {
		req.AppendHeader(h)
	}
	supported := "100rel, replaces"
	if o.SessionExpires > 0 {
		supported += ", timer"
	}
	req.AppendHeader(gsip.NewHeader("Supported", supported))
	if o.SessionExpires > 0 {
		if o.MinSE <= 0 {
			o.MinSE = 90 * time.Second
		}
		req.AppendHeader(gsip.NewHeader("Session-Expires", formatSessionExpires(SessionTimer{Interval: max(o.SessionExpires, o.MinSE)})))
		req.AppendHeader(gsip.NewHeader("Min-SE", strconv.Itoa(int(o.MinSE/time.Second))))
	}
	if len(o.Body) > 0 {
		ct := gsip.ContentTypeHeader("application/sdp")
		req.AppendHeader(&ct)
	}
	req.SetBody(o.Body)

	auth := newAuthSession(o.Credentials)
	tooSmall := 0
	fresh := false
	for round := 0; ; round++ {
		var prackSeq atomic.Uint32
		prackSeq.Store(req.CSeq().SeqNo)
		onProv := o.OnProvisional
		if o.OnEarlyDialog != nil {
			seen := map[string]bool{}
			inv := req
			onProv = func(res *gsip.Response) {
				if tag, ok := res.To().Params.Get("tag"); ok && !seen[tag] {
					seen[tag] = true
					o.OnEarlyDialog(&EarlyDialog{ua: u, inv: inv, res: res, auth: auth, cseq: &prackSeq})
				}
				if o.OnProvisional != nil {
					o.OnProvisional(res)
				}
			}
		}
		res, err := u.inviteOnceAuth(ctx, req, onProv, auth, &prackSeq)
		if err != nil && res == nil {
			return nil, nil, err
		}
		if res.IsSuccess() {
			d := u.confirmClientDialog(req, res, tp, dest, auth, contact)
			// Later requests in the dialog go above the PRACKs' CSeqs.
			d.mu.Lock()
			d.localSeq = max(d.localSeq, prackSeq.Load())
			d.mu.Unlock()
			if err != nil { // answered after we cancelled: hang up at once
				bctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = d.Bye(bctx, "")
				cancel()
				return nil, res, err
			}
			return d, res, nil
		}
		if err != nil {
			return nil, res, err
		}
		if res.StatusCode == 422 && tooSmall < 2 {
			// Session Interval Too Small: retry with the peer's Min-SE
			// (RFC 4028 §7.4).
			if minSE := parseSeconds(res.GetHeader("Min-SE")); minSE > 0 {
				tooSmall++
				req.RemoveHeader("Session-Expires")
				req.RemoveHeader("Min-SE")
				req.AppendHeader(gsip.NewHeader("Session-Expires", formatSessionExpires(SessionTimer{Interval: minSE})))
				req.AppendHeader(gsip.NewHeader("Min-SE", strconv.Itoa(int(minSE/time.Second))))
				req.RemoveHeader("Via")
				u.addVia(req)
				req.CSeq().SeqNo++
				continue
			}
		}
		if (res.StatusCode == 401 || res.StatusCode == 407) && o.Credentials.Username != "" && round < 3 {
			stale, aerr := auth.answer(req, res)
			if aerr != nil {
				return nil, res, fmt.Errorf("%w: %w", ErrAuthFailed, aerr)
			}
			if fresh && !stale {
				return nil, res, fmt.Errorf("%w: %w", ErrAuthFailed, statusError(res))
			}
			fresh = true
			req.RemoveHeader("Via")
			u.addVia(req)
			req.CSeq().SeqNo++
			continue
		}
		return nil, res, statusError(res)
	}
}

// inviteOnce runs one INVITE client transaction. When ctx ends it sends
// CANCEL and keeps waiting for the final response, returning it together
// with an error wrapping ErrCanceled.
func (u *UA) inviteOnce(ctx context.Context, req *gsip.Request, onProvisional func(*gsip.Response)) (*gsip.Response, error) {
	return u.inviteOnceAuth(ctx, req, onProvisional, nil, nil)
}

// inviteOnceAuth is inviteOnce that also acknowledges reliable provisional
// responses with PRACK, using auth and advancing *cseq.
func (u *UA) inviteOnceAuth(ctx context.Context, req *gsip.Request, onProvisional func(*gsip.Response), auth *authSession, cseq *atomic.Uint32) (*gsip.Response, error) {
	lastRSeq := map[string]uint32{} // per early dialog (To tag)
	tx, err := u.cli.TransactionRequest(context.Background(), req, noBuild)
	if err != nil {
		return nil, fmt.Errorf("%w: send INVITE: %w", ErrTransport, err)
	}
	defer tx.Terminate()
	var (
		provisional  bool
		cancelled    bool
		cancelSent   bool
		cancelWait   <-chan time.Time
		ctxDone      = ctx.Done()
		cancelResult error
	)
	anyResponse := false
	sendCancel := func() {
		cancelSent = true
		u.sendCancel(req)
		// A peer that has answered provisionally normally sends 487 at
		// once; give it up to 64*T1 like Timer B. One that never answered
		// at all (dead or unreachable) is not waited for.
		wait := 32 * time.Second
		if !anyResponse {
			wait = 2 * time.Second
		}
		cancelWait = time.After(wait)
	}
	for {
		select {
		case res := <-tx.Responses():
			anyResponse = true
			if res.IsProvisional() {
				if res.StatusCode > 100 {
					provisional = true
				}
				if rseq, ok := isReliable(res); ok && cseq != nil {
					tag, _ := res.To().Params.Get("tag")
					if rseq <= lastRSeq[tag] {
						continue // a retransmission, already acknowledged
					}
					lastRSeq[tag] = rseq
					u.sendPrack(req, res, rseq, auth, cseq)
				}
				if cancelled && !cancelSent {
					sendCancel()
				}
				if onProvisional != nil && res.StatusCode > 100 && !cancelled {
					onProvisional(res)
				}
				continue
			}
			if cancelled {
				return res, cancelResult
			}
			return res, nil
		case <-ctxDone:
			ctxDone = nil
			cancelled = true
			cancelResult = fmt.Errorf("%w: %w", ErrCanceled, context.Cause(ctx))
			_ = provisional
			// RFC 3261 9.1: CANCEL only after a provisional response. A
			// 100 Trying counts: the server transaction exists.
			sendCancel()
		case <-cancelWait:
			return nil, cancelResult
		case <-tx.Done():
			if cancelled {
				return nil, cancelResult
			}
			if err := tx.Err(); err != nil && errors.Is(err, gsip.ErrTransactionTimeout) {
				return nil, fmt.Errorf("%w: no final response to INVITE", ErrTimeout)
			}
			return nil, fmt.Errorf("%w: INVITE transaction ended: %v", ErrTransport, tx.Err())
		case <-u.closeCh:
			return nil, ErrClosed
		}
	}
}

// sendCancel sends a CANCEL matching req (RFC 3261 9.1): same Request-URI,
// Call-ID, From, To, CSeq number and top Via.
func (u *UA) sendCancel(inv *gsip.Request) {
	c := gsip.NewRequest(gsip.CANCEL, inv.Recipient)
	c.SetTransport(inv.Transport())
	c.SetDestination(inv.Destination())
	c.Laddr = inv.Laddr
	if v := inv.Via(); v != nil {
		c.AppendHeader(v.Clone())
	}
	for _, h := range inv.GetHeaders("Route") {
		c.AppendHeader(gsip.HeaderClone(h))
	}
	mf := gsip.MaxForwardsHeader(70)
	c.AppendHeader(&mf)
	c.AppendHeader(gsip.HeaderClone(inv.From()))
	c.AppendHeader(gsip.HeaderClone(inv.To()))
	c.AppendHeader(gsip.HeaderClone(inv.CallID()))
	c.AppendHeader(&gsip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: gsip.CANCEL})
	c.SetBody(nil)
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		_, _ = u.transactOnce(ctx, c, 8*time.Second, nil)
	}()
}

func (u *UA) confirmClientDialog(req *gsip.Request, res *gsip.Response, tp Transport, dest string, auth *authSession, contact URI) *Dialog {
	to := res.To()
	remote := &gsip.ToHeader{DisplayName: to.DisplayName, Address: to.Address, Params: to.Params.Clone()}
	d := newDialog(u, string(*req.CallID()), req.From(), remote, tp)
	d.auth = auth
	d.isCaller = true
	d.outbound = dest
	d.contact = contact
	d.localSeq = req.CSeq().SeqNo
	d.remoteBody = res.Body()
	d.peerAllow = allowList(res)
	if st, ok := parseSessionExpires(sessionExpiresHeader(res)); ok {
		if st.Refresher == RefresherUnknown {
			st.Refresher = RefresherUAC
		}
		d.timer = st
	}
	if c := res.Contact(); c != nil {
		d.remoteTarget = c.Address
	} else {
		d.remoteTarget = req.Recipient
	}
	var routes []URI
	for _, h := range res.GetHeaders("Record-Route") {
		if rr, ok := h.(*gsip.RecordRouteHeader); ok {
			routes = append(routes, rr.Address)
		}
	}
	slices.Reverse(routes)
	d.routeSet = routes
	d.markAcked()
	u.addDialog(d)

	ack := d.newRequest(gsip.ACK)
	ack.CSeq().SeqNo = req.CSeq().SeqNo
	for _, h := range req.GetHeaders("Proxy-Authorization") {
		ack.AppendHeader(gsip.HeaderClone(h))
	}
	ack.SetBody(nil)
	d.mu.Lock()
	d.lastAck = ack
	d.mu.Unlock()
	if err := u.cli.WriteRequest(ack.Clone(), noBuild); err != nil {
		u.log.Warn("sip: send ACK", "err", err)
	}
	return d
}

// IncomingInvite is a new INVITE waiting for the application's decision.
// It is safe for concurrent use.
type IncomingInvite struct {
	ua  *UA
	req *gsip.Request
	tx  gsip.ServerTransaction

	mu        sync.Mutex
	localTag  string
	rseq      uint32        // last RSeq sent in a reliable provisional
	pracked   chan struct{} // closed when the pending reliable provisional is PRACKed
	onUpdate  func(offer []byte) ([]byte, error)
	answered  bool
	dialog    *Dialog
	cancelled chan struct{}
	final     chan struct{} // closed once a final response is sent
}

// Request returns the INVITE.
func (in *IncomingInvite) Request() *Request { return in.req }

// Cancelled is closed when the caller cancels the INVITE before we answer
// (sipgo has already replied 487).
func (in *IncomingInvite) Cancelled() <-chan struct{} { return in.cancelled }

func (u *UA) onInvite(req *gsip.Request, tx gsip.ServerTransaction) {
	if to := req.To(); to != nil {
		if _, ok := to.Params.Get("tag"); ok {
			u.onInDialog(req, tx)
			return
		}
	}
	in := &IncomingInvite{ua: u, req: req, tx: tx, localTag: gsip.GenerateTagN(16), cancelled: make(chan struct{}), final: make(chan struct{})}
	if stx, ok := tx.(*gsip.ServerTx); ok {
		stx.OnCancel(func(*gsip.Request) {
			in.mu.Lock()
			answered := in.answered
			in.answered = true
			in.mu.Unlock()
			if !answered {
				close(in.cancelled)
			}
		})
	}
	_ = tx.Respond(gsip.NewResponseFromRequest(req, 100, "Trying", nil))
	if st, ok := parseSessionExpires(sessionExpiresHeader(req)); ok && st.Interval < u.minSE() {
		res := gsip.NewResponseFromRequest(req, 422, "Session Interval Too Small", nil)
		res.AppendHeader(gsip.NewHeader("Min-SE", strconv.Itoa(int(u.minSE()/time.Second))))
		_ = tx.Respond(res)
		return
	}
	if u.cfg.Handler == nil {
		_ = in.Reject(480, "Temporarily Unavailable")
		return
	}
	u.cfg.Handler.HandleInvite(in)
	// sipgo ends the server transaction when this handler returns, so stay
	// until the application has answered (or the caller gave up).
	select {
	case <-in.final:
	case <-in.cancelled:
	case <-u.closeCh:
		_ = in.Reject(503, "Service Unavailable")
	}
	u.mu.Lock()
	delete(u.invites, dialogKey(string(*req.CallID()), in.localTag))
	u.mu.Unlock()
}

func (in *IncomingInvite) response(code int, reason string, body []byte) *gsip.Response {
	res := gsip.NewResponseFromRequest(in.req, code, reason, body)
	if to := res.To(); to != nil && code > 100 {
		// sipgo invents a tag per response; a dialog needs one tag for all.
		to.Params.Add("tag", in.localTag)
	}
	if code > 100 && code < 300 {
		tp := Transport(in.req.Transport())
		user := in.req.Recipient.User
		res.AppendHeader(&gsip.ContactHeader{Address: in.ua.ContactURI(user, tp), Params: gsip.NewParams()})
	}
	if len(body) > 0 {
		ct := gsip.ContentTypeHeader("application/sdp")
		res.AppendHeader(&ct)
	}
	res.AppendHeader(gsip.NewHeader("User-Agent", in.ua.cfg.UserAgent))
	return res
}

// Provisional sends a 1xx (180 Ringing, 183 Session Progress with an SDP
// body for early media). When the caller requires 100rel (RFC 3262) it is
// sent reliably: retransmitted until the caller's PRACK, and a further
// reliable provisional or the final answer waits for that PRACK.
func (in *IncomingInvite) Provisional(code int, reason string, body []byte) error {
	if code <= 100 || code >= 200 {
		return fmt.Errorf("sip: %d is not a provisional status", code)
	}
	in.awaitPrack(32 * time.Second)
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.answered {
		return ErrAlreadyAnswered
	}
	res := in.response(code, reason, body)
	reliable := headerHasToken(in.req, "Require", "100rel")
	// The early dialog this provisional creates can carry PRACK and UPDATE.
	in.ua.mu.Lock()
	in.ua.invites[dialogKey(string(*in.req.CallID()), in.localTag)] = in
	in.ua.mu.Unlock()
	if reliable {
		if in.rseq == 0 {
			in.rseq = rand.Uint32N(1<<30) + 1
		} else {
			in.rseq++
		}
		res.AppendHeader(gsip.NewHeader("Require", "100rel"))
		res.AppendHeader(gsip.NewHeader("RSeq", strconv.FormatUint(uint64(in.rseq), 10)))
		in.pracked = make(chan struct{})
	}
	if err := in.tx.Respond(res); err != nil {
		return fmt.Errorf("%w: %w", ErrTransport, err)
	}
	if reliable {
		done := in.pracked
		in.ua.wg.Add(1)
		go func() {
			defer in.ua.wg.Done()
			in.retransmitReliable(res, done)
		}()
	}
	return nil
}

// retransmitReliable resends a reliable provisional at T1, 2*T1, ... until
// its PRACK arrives (RFC 3262 §3), giving up after 64*T1.
func (in *IncomingInvite) retransmitReliable(res *gsip.Response, pracked <-chan struct{}) {
	interval := 500 * time.Millisecond
	deadline := time.NewTimer(32 * time.Second)
	defer deadline.Stop()
	tick := time.NewTimer(interval)
	defer tick.Stop()
	for {
		select {
		case <-pracked:
			return
		case <-in.final:
			return
		case <-in.ua.closeCh:
			return
		case <-deadline.C:
			return
		case <-tick.C:
			_ = in.tx.Respond(res)
			interval *= 2
			tick.Reset(interval)
		}
	}
}

// awaitPrack waits (bounded) for the PRACK of a pending reliable
// provisional.
func (in *IncomingInvite) awaitPrack(limit time.Duration) {
	in.mu.Lock()
	ch := in.pracked
	in.mu.Unlock()
	if ch == nil {
		return
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-in.final:
	case <-in.cancelled:
	}
}

// SetUpdateHandler installs what answers an UPDATE received in the early
// dialog (RFC 3311 §5.2): it gets the offer (nil for a refresh) and
// returns the answer or an error (answered 488).
func (in *IncomingInvite) SetUpdateHandler(f func(offer []byte) ([]byte, error)) {
	in.mu.Lock()
	in.onUpdate = f
	in.mu.Unlock()
}

// handleEarlyUpdate answers an UPDATE that arrives before the INVITE is
// answered.
func (in *IncomingInvite) handleEarlyUpdate(req *gsip.Request, tx gsip.ServerTransaction) {
	in.mu.Lock()
	f := in.onUpdate
	in.mu.Unlock()
	if f == nil {
		_ = tx.Respond(gsip.NewResponseFromRequest(req, 501, "Not Implemented", nil))
		return
	}
	var answer []byte
	if len(req.Body()) > 0 {
		a, err := f(req.Body())
		if err != nil {
			_ = tx.Respond(gsip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
			return
		}
		answer = a
	}
	res := gsip.NewResponseFromRequest(req, 200, "OK", answer)
	res.AppendHeader(&gsip.ContactHeader{Address: in.ua.ContactURI(in.req.Recipient.User, Transport(in.req.Transport())), Params: gsip.NewParams()})
	if len(answer) > 0 {
		ct := gsip.ContentTypeHeader("application/sdp")
		res.AppendHeader(&ct)
	}
	_ = tx.Respond(res)
}

// handlePrack answers a PRACK for our reliable provisional (RFC 3262 §4).
func (in *IncomingInvite) handlePrack(req *gsip.Request, tx gsip.ServerTransaction) {
	var rseq, cseq uint32
	method := ""
	if h := req.GetHeader("RAck"); h != nil {
		var r, c uint64
		if _, err := fmt.Sscanf(h.Value(), "%d %d %s", &r, &c, &method); err == nil {
			rseq, cseq = uint32(r), uint32(c)
		}
	}
	in.mu.Lock()
	match := in.pracked != nil && rseq == in.rseq && cseq == in.req.CSeq().SeqNo && strings.EqualFold(method, "INVITE")
	if match {
		select {
		case <-in.pracked:
		default:
			close(in.pracked)
		}
	}
	in.mu.Unlock()
	if !match {
		_ = tx.Respond(gsip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	_ = tx.Respond(gsip.NewResponseFromRequest(req, 200, "OK", nil))
}

// Reject sends a final non-2xx response (486 Busy Here, 603 Decline...).
func (in *IncomingInvite) Reject(code int, reason string) error {
	if code < 300 || code > 699 {
		return fmt.Errorf("sip: %d is not a rejection status", code)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.answered {
		return ErrAlreadyAnswered
	}
	in.answered = true
	defer close(in.final)
	if err := in.tx.Respond(in.response(code, reason, nil)); err != nil {
		return fmt.Errorf("%w: %w", ErrTransport, err)
	}
	return nil
}

// Redirect answers with a 3xx (302 Moved Temporarily by default) that
// lists contacts where the caller should try instead (call forwarding).
func (in *IncomingInvite) Redirect(code int, reason string, contacts ...URI) error {
	if code < 300 || code > 399 {
		code, reason = 302, "Moved Temporarily"
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.answered {
		return ErrAlreadyAnswered
	}
	in.answered = true
	defer close(in.final)
	res := in.response(code, reason, nil)
	for _, c := range contacts {
		res.AppendHeader(&gsip.ContactHeader{Address: c, Params: gsip.NewParams()})
	}
	if err := in.tx.Respond(res); err != nil {
		return fmt.Errorf("%w: %w", ErrTransport, err)
	}
	return nil
}

// Accept answers 200 OK with body (the SDP answer) and returns the dialog.
// Over UDP the 200 is retransmitted until the ACK arrives; without an ACK
// within 32 s the dialog ends with CauseTimeout.
func (in *IncomingInvite) Accept(body []byte) (*Dialog, error) {
	// A 2xx must not overtake the PRACK of a reliable provisional that
	// carried an answer (RFC 3262 §3); wait for it briefly.
	in.awaitPrack(4 * time.Second)
	in.mu.Lock()
	if in.answered {
		in.mu.Unlock()
		return nil, ErrAlreadyAnswered
	}
	in.answered = true
	u := in.ua
	req := in.req
	res := in.response(200, "OK", body)
	from := req.From()
	// Our From in requests we send is the INVITE's To with our tag.
	local := &gsip.FromHeader{DisplayName: req.To().DisplayName, Address: req.To().Address, Params: req.To().Params.Clone()}
	local.Params.Add("tag", in.localTag)
	remote := &gsip.ToHeader{DisplayName: from.DisplayName, Address: from.Address, Params: from.Params.Clone()}
	tp := Transport(req.Transport())
	d := newDialog(u, string(*req.CallID()), local, remote, tp)
	d.contact = u.ContactURI(req.Recipient.User, tp)
	d.remoteBody = req.Body()
	d.localBody = body
	d.remoteSeq = req.CSeq().SeqNo
	d.localSeq = rand.Uint32N(1<<15) + 1
	d.peerAllow = allowList(req)
	if st, ok := parseSessionExpires(sessionExpiresHeader(req)); ok {
		// The caller may name the refresher; otherwise it refreshes itself
		// when it supports timers, which it said by sending the header.
		if st.Refresher == RefresherUnknown {
			st.Refresher = RefresherUAC
		}
		d.timer = st
		res.AppendHeader(gsip.NewHeader("Session-Expires", formatSessionExpires(st)))
		if headerHasToken(req, "Supported", "timer") || headerHasToken(req, "Require", "timer") {
			res.AppendHeader(gsip.NewHeader("Require", "timer"))
		}
	}
	d.inviteRemote = req
	if c := req.Contact(); c != nil {
		d.remoteTarget = c.Address
	}
	for _, h := range req.GetHeaders("Record-Route") {
		if rr, ok := h.(*gsip.RecordRouteHeader); ok {
			d.routeSet = append(d.routeSet, rr.Address)
		}
	}
	d.outbound = req.Source()
	in.dialog = d
	u.addDialog(d)
	err := in.tx.Respond(res)
	close(in.final)
	in.mu.Unlock()
	if err != nil {
		d.terminate(Termination{Cause: CauseLocal, Code: 500, Reason: "could not send 200 OK"})
		return nil, fmt.Errorf("%w: %w", ErrTransport, err)
	}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		in.awaitAck(d, res, tp == UDP)
	}()
	return d, nil
}

// awaitAck retransmits the 2xx over unreliable transports (RFC 3261
// 13.3.1.4) until the ACK arrives, and ends the dialog if none does.
func (in *IncomingInvite) awaitAck(d *Dialog, res *gsip.Response, retransmit bool) {
	const t1, t2 = 500 * time.Millisecond, 4 * time.Second
	interval := t1
	deadline := time.NewTimer(64 * t1)
	defer deadline.Stop()
	tick := time.NewTimer(interval)
	defer tick.Stop()
	for {
		select {
		case <-d.acked:
			return
		case <-d.done:
			return
		case <-in.ua.closeCh:
			return
		case <-deadline.C:
			if d.terminate(Termination{Cause: CauseTimeout, Code: 408, Reason: "no ACK for 200 OK"}) {
				// The peer may still think the call is up.
				req := d.newRequest(gsip.BYE)
				req.SetBody(nil)
				ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
				_, _ = in.ua.transactOnce(ctx, req, 4*time.Second, nil)
				cancel()
			}
			return
		case <-tick.C:
			if retransmit {
				_ = in.tx.Respond(res)
			}
			interval = min(interval*2, t2)
			tick.Reset(interval)
		}
	}
}
