package sip

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// sendPrack acknowledges a reliable provisional response inside the early
// dialog it creates (RFC 3262 §7.2): Request-URI from its Contact, route
// set from its Record-Route, the INVITE's next CSeq and RAck.
func (u *UA) sendPrack(inv *gsip.Request, res *gsip.Response, rseq uint32, auth *authSession, cseq *uint32) {
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
	req := u.newRequest(gsip.PRACK, target, tp, dest)
	for _, r := range routes {
		req.AppendHeader(&gsip.RouteHeader{Address: r})
	}
	req.AppendHeader(gsip.HeaderClone(inv.From()))
	to := res.To()
	req.AppendHeader(&gsip.ToHeader{DisplayName: to.DisplayName, Address: to.Address, Params: to.Params.Clone()})
	req.AppendHeader(gsip.HeaderClone(inv.CallID()))
	*cseq++
	req.AppendHeader(&gsip.CSeqHeader{SeqNo: *cseq, MethodName: gsip.PRACK})
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
