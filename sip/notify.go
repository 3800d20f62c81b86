package sip

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	gsip "github.com/emiago/sipgo/sip"
)

// IncomingNotify is a NOTIFY that belongs to no subscription of ours nor
// to an INVITE dialog (an unsolicited NOTIFY, e.g. message-waiting from a
// voicemail server), handed to a NotifyHandler.
type IncomingNotify struct {
	// Request is the NOTIFY as received.
	Request *Request
	// From is the notifier, To the addressed party, RequestURI where the
	// request was delivered.
	From, To, RequestURI URI
	// Event is the event package from the Event header, e.g.
	// "message-summary"; "" when absent.
	Event string
	// State is from the Subscription-State header, "" when absent.
	State SubscriptionState
	// ContentType is the Content-Type header value, "" when absent.
	ContentType string
	// Body is the notification body.
	Body []byte
}

// NotifyHandler is an optional interface for a Config.Handler: a Handler
// that also implements it receives unsolicited NOTIFYs. Without it they
// are answered 481.
//
// HandleNotify is called on its own goroutine and should return quickly:
// the response waits for it. It returns the status to answer: 0 or a 2xx
// accept the notification (0 means 200), 489 refuses its event package,
// any other 3xx-6xx rejects it.
type NotifyHandler interface {
	HandleNotify(n *IncomingNotify) int
}

// eventType returns the event package of an Event header value, without
// parameters, lower-cased.
func eventType(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// requestEvent reads the event package of req ("o" is the compact form).
func requestEvent(req *gsip.Request) string {
	h := req.GetHeader("Event")
	if h == nil {
		h = req.GetHeader("o")
	}
	if h == nil {
		return ""
	}
	return eventType(h.Value())
}

// subscriptionStateHeader is a parsed Subscription-State header.
type subscriptionStateHeader struct {
	State      SubscriptionState
	Reason     string
	Expires    time.Duration
	RetryAfter time.Duration
}

// parseSubscriptionState parses "active;expires=600",
// "terminated;reason=probation;retry-after=30"... Unknown states are
// errors; unknown parameters are ignored.
func parseSubscriptionState(v string) (subscriptionStateHeader, error) {
	var h subscriptionStateHeader
	parts := strings.Split(v, ";")
	if len(parts) > 16 {
		return h, fmt.Errorf("too many parameters")
	}
	switch st := SubscriptionState(strings.ToLower(strings.TrimSpace(parts[0]))); st {
	case SubscriptionActive, SubscriptionPending, SubscriptionTerminated:
		h.State = st
	default:
		return h, fmt.Errorf("unknown state %q", parts[0])
	}
	for _, p := range parts[1:] {
		name, val, _ := strings.Cut(p, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.Trim(strings.TrimSpace(val), `"`)
		switch name {
		case "reason":
			h.Reason = strings.ToLower(val)
		case "expires", "retry-after":
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return h, fmt.Errorf("bad %s %q", name, val)
			}
			d := time.Duration(n) * time.Second
			if name == "expires" {
				h.Expires = d
			} else {
				h.RetryAfter = d
			}
		}
	}
	return h, nil
}

// onNotify routes a NOTIFY: to the subscription whose dialog it belongs
// to, else to the INVITE dialog (REFER progress), else to the Handler's
// NotifyHandler as an unsolicited notification.
func (u *UA) onNotify(req *gsip.Request, tx gsip.ServerTransaction) {
	to := req.To()
	if cid := req.CallID(); cid != nil && to != nil {
		tag, _ := to.Params.Get("tag")
		if s := u.subs.get(dialogKey(string(*cid), tag)); s != nil {
			s.handleNotify(req, tx)
			return
		}
		if tag != "" && u.dialogFor(cid, req.From(), to, false) != nil {
			u.onInDialog(req, tx)
			return
		}
	}
	h, ok := u.cfg.Handler.(NotifyHandler)
	if !ok {
		_ = tx.Respond(gsip.NewResponseFromRequest(req, 481, "Subscription Does Not Exist", nil))
		return
	}
	n := &IncomingNotify{Request: req, RequestURI: req.Recipient, Body: req.Body(), Event: requestEvent(req)}
	if f := req.From(); f != nil {
		n.From = f.Address
	}
	if to != nil {
		n.To = to.Address
	}
	if ct := req.ContentType(); ct != nil {
		n.ContentType = strings.TrimSpace(ct.Value())
	}
	if ss := req.GetHeader("Subscription-State"); ss != nil {
		if st, err := parseSubscriptionState(ss.Value()); err == nil {
			n.State = st.State
		}
	}
	code := h.HandleNotify(n)
	if code == 0 {
		code = 200
	}
	if code < 200 || code > 699 {
		u.log.Warn("sip: notify handler returned an invalid status", "code", code)
		code = 500
	}
	reason := reasonPhrase(code)
	if code == 489 {
		reason = "Bad Event"
	}
	res := gsip.NewResponseFromRequest(req, code, reason, nil)
	res.AppendHeader(gsip.NewHeader("User-Agent", u.cfg.UserAgent))
	if err := tx.Respond(res); err != nil {
		u.log.Info("sip: respond to NOTIFY", "err", err)
	}
}

// handleNotify answers a NOTIFY of this subscription and delivers it.
func (s *Subscription) handleNotify(req *gsip.Request, tx gsip.ServerTransaction) {
	s.nmu.Lock()
	defer s.nmu.Unlock()
	respond := func(code int, reason string) {
		res := gsip.NewResponseFromRequest(req, code, reason, nil)
		res.AppendHeader(gsip.NewHeader("User-Agent", s.ua.cfg.UserAgent))
		if err := tx.Respond(res); err != nil {
			s.ua.log.Info("sip: respond to NOTIFY", "err", err)
		}
	}
	if ev := requestEvent(req); ev != eventType(s.o.Event) {
		respond(489, "Bad Event")
		return
	}
	ssh := req.GetHeader("Subscription-State")
	if ssh == nil {
		respond(400, "Missing Subscription-State")
		return
	}
	st, err := parseSubscriptionState(ssh.Value())
	if err != nil {
		respond(400, "Bad Subscription-State")
		return
	}
	from := req.From()
	remoteTag := ""
	if from != nil {
		remoteTag, _ = from.Params.Get("tag")
	}
	cs := req.CSeq()

	s.mu.Lock()
	if s.established && remoteTag != s.remoteTag {
		// A second notifier from a forked SUBSCRIBE: we keep one dialog.
		s.mu.Unlock()
		respond(481, "Subscription Does Not Exist")
		return
	}
	stale := cs != nil && s.remoteSeq != 0 && cs.SeqNo <= s.remoteSeq
	if !stale && cs != nil {
		s.remoteSeq = cs.SeqNo
	}
	if !s.established && remoteTag != "" {
		// The NOTIFY overtook the 2xx: it establishes the dialog
		// (RFC 6665 §4.1.2.4), with its Record-Route as the route set.
		s.remoteTag = remoteTag
		s.established = true
		if c := req.Contact(); c != nil {
			s.remoteTarget = c.Address
		}
		var routes []URI
		for _, h := range req.GetHeaders("Record-Route") {
			if rr, ok := h.(*gsip.RecordRouteHeader); ok {
				routes = append(routes, rr.Address)
			}
		}
		s.routeSet = routes
	} else if c := req.Contact(); c != nil && !stale {
		s.remoteTarget = c.Address
	}
	n := &Notification{
		Request: req, Event: eventType(s.o.Event),
		State: st.State, Reason: st.Reason, Expires: st.Expires, RetryAfter: st.RetryAfter,
		Body: req.Body(), Dialog: s.gen,
	}
	if ct := req.ContentType(); ct != nil {
		n.ContentType = strings.TrimSpace(ct.Value())
	}
	if !stale {
		s.state = st.State
	}
	resched := false
	if !stale && st.State == SubscriptionTerminated {
		s.term = n
	} else if !stale && st.Expires > 0 {
		if d := time.Now().Add(st.Expires); d.Before(s.deadline) {
			s.deadline = d
			resched = true
		}
	}
	s.mu.Unlock()
	respond(200, "OK")
	if stale {
		return
	}
	if s.o.Notify != nil {
		s.o.Notify(n)
	}
	if st.State == SubscriptionTerminated {
		select {
		case s.termCh <- struct{}{}:
		default:
		}
	}
	if resched {
		select {
		case s.resched <- struct{}{}:
		default:
		}
	}
}
