package sip

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	gsip "github.com/emiago/sipgo/sip"
)

// isReliable reports whether a provisional response must be acknowledged
// with PRACK (RFC 3262 §4: Require: 100rel and an RSeq).
func isReliable(res *gsip.Response) (uint32, bool) {
	if res.StatusCode <= 100 || res.StatusCode >= 200 || !headerHasToken(res, "Require", "100rel") {
		return 0, false
	}
	h := res.GetHeader("RSeq")
	if h == nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint32(n), true
}

// earlyRequest builds a request inside the early dialog a provisional
// response created (RFC 3262 §7.2, RFC 3311 §5.1): Request-URI from its
// Contact, route set from its Record-Route, To with its tag.
func (u *UA) earlyRequest(method gsip.RequestMethod, inv *gsip.Request, res *gsip.Response, seq uint32) *gsip.Request {
	target := inv.Recipient
	if c := res.Contact(); c != nil {
		target = c.Address
	}
	var routes []URI
	for _, h := range res.GetHeaders("Record-Route") {
		if rr, ok := h.(*gsip.RecordRouteHeader); ok {
			routes = append(routes, rr.Address)
		}
	}
	slices.Reverse(routes)
	dest := inv.Destination()
	tp := Transport(inv.Transport())
	if len(routes) > 0 {
		dest = hostPort(routes[0])
		tp = uriTransport(routes[0], tp)
	} else if res.Contact() != nil {
		dest = hostPort(target)
		tp = uriTransport(target, tp)
	}
	req := u.newRequest(method, target, tp, dest)
	for _, r := range routes {
		req.AppendHeader(&gsip.RouteHeader{Address: r})
	}
	req.AppendHeader(gsip.HeaderClone(inv.From()))
	to := res.To()
	req.AppendHeader(&gsip.ToHeader{DisplayName: to.DisplayName, Address: to.Address, Params: to.Params.Clone()})
	req.AppendHeader(gsip.HeaderClone(inv.CallID()))
	req.AppendHeader(&gsip.CSeqHeader{SeqNo: seq, MethodName: method})
	return req
}

// sendPrack acknowledges a reliable provisional response.
func (u *UA) sendPrack(inv *gsip.Request, res *gsip.Response, rseq uint32, auth *authSession, cseq *atomic.Uint32) {
	req := u.earlyRequest(gsip.PRACK, inv, res, cseq.Add(1))
	req.AppendHeader(gsip.NewHeader("RAck", fmt.Sprintf("%d %d INVITE", rseq, inv.CSeq().SeqNo)))
	req.SetBody(nil)
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
		defer cancel()
		if _, err := u.transact(ctx, req, auth, 0, nil); err != nil {
			u.log.Debug("sip: PRACK", "err", err)
		}
	}()
}

// EarlyDialog is the dialog a provisional response with a To tag creates
// before the call is answered. It is safe for concurrent use.
type EarlyDialog struct {
	ua   *UA
	inv  *gsip.Request
	res  *gsip.Response
	auth *authSession
	cseq *atomic.Uint32
}

// Update sends an UPDATE with a new offer in the early dialog (RFC 3311
// §5.1) and returns the final response; a non-2xx is a *StatusError.
func (e *EarlyDialog) Update(ctx context.Context, body []byte) (*Response, error) {
	req := e.ua.earlyRequest(gsip.UPDATE, e.inv, e.res, e.cseq.Add(1))
	req.AppendHeader(&gsip.ContactHeader{Address: e.ua.ContactURI(e.inv.From().Address.User, Transport(e.inv.Transport())), Params: gsip.NewParams()})
	if len(body) > 0 {
		ct := gsip.ContentTypeHeader("application/sdp")
		req.AppendHeader(&ct)
	}
	req.SetBody(body)
	res, err := e.ua.transact(ctx, req, e.auth, 0, nil)
	if err != nil {
		return nil, err
	}
	if !res.IsSuccess() {
		return res, statusError(res)
	}
	return res, nil
}

// CallID, LocalTag and RemoteTag identify the early dialog (for an INVITE
// with Replaces that picks the call up, RFC 3891).
func (e *EarlyDialog) CallID() string { return string(*e.inv.CallID()) }

// LocalTag returns our tag (the INVITE's From tag).
func (e *EarlyDialog) LocalTag() string {
	tag, _ := e.inv.From().Params.Get("tag")
	return tag
}

// RemoteTag returns the callee's tag from its provisional response.
func (e *EarlyDialog) RemoteTag() string {
	tag, _ := e.res.To().Params.Get("tag")
	return tag
}
