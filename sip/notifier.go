package sip

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	gsip "github.com/emiago/sipgo/sip"
)

// MaxSubscriptionExpires is the longest lifetime granted to a subscription
// we accept as notifier; it is also the lifetime granted when the
// SUBSCRIBE has no Expires header.
const MaxSubscriptionExpires = 3600 * time.Second

// fetchGrace is how long a fetch (SUBSCRIBE with Expires: 0) waits for the
// one NOTIFY its owner owes before the subscription is dropped.
const fetchGrace = 32 * time.Second

// SubscribeHandler is an optional interface for a Config.Handler: a
// Handler that also implements it acts as notifier (RFC 6665) for
// out-of-dialog SUBSCRIBE requests. Without it they are answered 405.
//
// HandleSubscribe is called on its own goroutine and should return
// quickly: the response waits for it. It returns the status to answer:
// 200 or 202 accept the subscription (0 means 200), 489 refuses its event
// package, any other 3xx-6xx (403, 603...) rejects it. Once it has
// accepted, the owner must send a NOTIFY with Notify promptly, send one
// again whenever Refreshed fires, and forget the subscription when Done
// is closed.
type SubscribeHandler interface {
	HandleSubscribe(s *IncomingSubscribe) int
}

// IncomingSubscribe is a subscription a peer made to us, the notifier
// side of an RFC 6665 subscription. It is safe for concurrent use.
type IncomingSubscribe struct {
	// Request is the initial SUBSCRIBE as received.
	Request *Request

	ua          *UA
	d           *Dialog
	event       string // package, lower-case, without parameters
	eventHeader string // the Event header value as received (keeps id)
	from        URI

	nmu sync.Mutex // serializes NOTIFYs so they leave in CSeq order

	mu       sync.Mutex
	deadline time.Time
	ended    bool

	reset     chan struct{}
	refreshed chan struct{}
	done      chan struct{}
}

// Event returns the event package, e.g. "presence".
func (s *IncomingSubscribe) Event() string { return s.event }

// From returns the subscriber's address (From of the SUBSCRIBE).
func (s *IncomingSubscribe) From() URI { return s.from }

// Expires returns the lifetime left to the subscription, zero once it has
// expired or ended.
func (s *IncomingSubscribe) Expires() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return 0
	}
	return max(time.Until(s.deadline), 0)
}

// Dialog returns the subscription's dialog.
func (s *IncomingSubscribe) Dialog() *Dialog { return s.d }

// Done is closed when the subscription has ended: the subscriber
// unsubscribed, it expired, a terminated NOTIFY was sent, the peer
// answered a NOTIFY with 481, or the UA closed.
func (s *IncomingSubscribe) Done() <-chan struct{} { return s.done }

// Refreshed receives a value (buffered, at most one pending) each time
// the subscriber refreshes the subscription; the owner then sends the
// current state again with Notify (RFC 6665 §4.2.2).
func (s *IncomingSubscribe) Refreshed() <-chan struct{} { return s.refreshed }

// Notify sends a NOTIFY in the subscription's dialog and waits for its
// final response. state is "active" (Subscription-State: active with the
// lifetime left) or "terminated" (reason=noresource; the subscription
// ends). An active NOTIFY sent after the lifetime has run out is sent as
// terminated;reason=timeout and ends the subscription too. A 481 answer
// ends the subscription. After the end it returns an error wrapping
// ErrSubscriptionTerminated.
func (s *IncomingSubscribe) Notify(ctx context.Context, state string, contentType string, body []byte) error {
	if strings.ContainsAny(contentType, "\r\n") {
		return fmt.Errorf("sip: NOTIFY: invalid content type %q", contentType)
	}
	switch SubscriptionState(state) {
	case SubscriptionActive:
		return s.notify(ctx, false, "", contentType, body)
	case SubscriptionTerminated:
		return s.notify(ctx, true, "noresource", contentType, body)
	}
	return fmt.Errorf("sip: NOTIFY: unsupported subscription state %q", state)
}

func (s *IncomingSubscribe) notify(ctx context.Context, terminate bool, reason, contentType string, body []byte) error {
	s.nmu.Lock()
	defer s.nmu.Unlock()
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return fmt.Errorf("sip: NOTIFY: %w", ErrSubscriptionTerminated)
	}
	left := time.Until(s.deadline)
	if !terminate && left < time.Second {
		terminate, reason = true, "timeout"
	}
	if terminate {
		// No other NOTIFY may follow this one.
		s.ended = true
	}
	s.mu.Unlock()
	ss := "terminated;reason=" + reason
	if !terminate {
		ss = "active;expires=" + strconv.Itoa(int(left/time.Second))
	}
	if len(body) == 0 {
		contentType = ""
	}
	res, err := s.d.Request(ctx, "NOTIFY", contentType, body,
		gsip.NewHeader("Event", s.eventHeader), gsip.NewHeader("Subscription-State", ss))
	if terminate {
		s.finish(Termination{Cause: CauseLocal, Code: 200, Reason: "subscription terminated"})
	}
	if err != nil {
		return fmt.Errorf("sip: NOTIFY: %w", err)
	}
	if res.StatusCode == 481 {
		s.finish(Termination{Cause: CauseRemote, Code: 481, Reason: "subscription unknown to the subscriber"})
	}
	if !res.IsSuccess() {
		return fmt.Errorf("sip: NOTIFY: %w", statusError(res))
	}
	return nil
}

// finish ends the subscription and its dialog. It is idempotent.
func (s *IncomingSubscribe) finish(t Termination) {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	s.d.terminate(t)
}

// run waits for the subscription to expire or its dialog to end, then
// closes done.
func (s *IncomingSubscribe) run() {
	defer close(s.done)
	timer := time.NewTimer(s.until())
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			// Expired: ended without NOTIFY (RFC 6665 §4.2.2).
			s.finish(Termination{Cause: CauseTimeout, Code: 408, Reason: "subscription expired"})
			return
		case <-s.reset:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(s.until())
		case <-s.d.done:
			s.finish(Termination{Cause: CauseLocal})
			return
		case <-s.ua.closeCh:
			s.finish(Termination{Cause: CauseLocal, Reason: "user agent closed"})
			return
		}
	}
}

// until returns how long the timer waits: the lifetime left, or the fetch
// grace for a fetch.
func (s *IncomingSubscribe) until() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := time.Until(s.deadline)
	if left <= 0 {
		return fetchGrace
	}
	return left
}

// requestExpires reads the Expires header of a SUBSCRIBE, capped at
// MaxSubscriptionExpires; absent means MaxSubscriptionExpires.
func requestExpires(req *gsip.Request) (time.Duration, bool) {
	h := req.GetHeader("Expires")
	if h == nil {
		return MaxSubscriptionExpires, true
	}
	n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
	if err != nil {
		return 0, false
	}
	return min(time.Duration(n)*time.Second, MaxSubscriptionExpires), true
}

// onSubscribe routes a SUBSCRIBE: within a dialog to that dialog's
// request handler, otherwise to the Handler's SubscribeHandler.
func (u *UA) onSubscribe(req *gsip.Request, tx gsip.ServerTransaction) {
	to := req.To()
	if to == nil || req.CallID() == nil || req.From() == nil || req.CSeq() == nil {
		_ = tx.Respond(gsip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	if _, ok := to.Params.Get("tag"); ok {
		u.onInDialog(req, tx)
		return
	}
	h, ok := u.cfg.Handler.(SubscribeHandler)
	if !ok {
		u.onNoRoute(req, tx)
		return
	}
	respond := func(code int, reason string) {
		res := gsip.NewResponseFromRequest(req, code, reason, nil)
		res.AppendHeader(gsip.NewHeader("User-Agent", u.cfg.UserAgent))
		_ = tx.Respond(res)
	}
	evh := req.GetHeader("Event")
	if evh == nil {
		evh = req.GetHeader("o")
	}
	if evh == nil || eventType(evh.Value()) == "" {
		respond(400, "Missing Event")
		return
	}
	expires, ok := requestExpires(req)
	if !ok {
		respond(400, "Bad Expires")
		return
	}

	from := req.From()
	tag := gsip.GenerateTagN(16)
	local := &gsip.FromHeader{DisplayName: to.DisplayName, Address: to.Address, Params: to.Params.Clone()}
	local.Params.Add("tag", tag)
	remote := &gsip.ToHeader{DisplayName: from.DisplayName, Address: from.Address, Params: from.Params.Clone()}
	tp := Transport(req.Transport())
	d := newDialog(u, string(*req.CallID()), local, remote, tp)
	d.contact = u.ContactURI(req.Recipient.User, tp)
	d.remoteSeq = req.CSeq().SeqNo
	d.localSeq = rand.Uint32N(1<<15) + 1
	if c := req.Contact(); c != nil {
		d.remoteTarget = c.Address
	}
	for _, hd := range req.GetHeaders("Record-Route") {
		if rr, ok := hd.(*gsip.RecordRouteHeader); ok {
			d.routeSet = append(d.routeSet, rr.Address)
		}
	}
	d.outbound = req.Source()
	d.markAcked()
	s := &IncomingSubscribe{
		Request:     req,
		ua:          u,
		d:           d,
		event:       eventType(evh.Value()),
		eventHeader: strings.TrimSpace(evh.Value()),
		from:        from.Address,
		deadline:    time.Now().Add(expires),
		reset:       make(chan struct{}, 1),
		refreshed:   make(chan struct{}, 1),
		done:        make(chan struct{}),
	}
	d.SetRequestHandler(s.handleInDialog)
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		respond(503, "Service Unavailable")
		return
	}
	u.dialogs[dialogKey(d.callID, d.localTag)] = d
	u.mu.Unlock()

	code := h.HandleSubscribe(s)
	if code == 0 {
		code = 200
	}
	if code < 200 || code > 699 {
		u.log.Warn("sip: subscribe handler returned an invalid status", "code", code)
		code = 500
	}
	reason := reasonPhrase(code)
	if code == 489 {
		reason = "Bad Event"
	}
	res := gsip.NewResponseFromRequest(req, code, reason, nil)
	if code < 300 {
		res.To().Params.Add("tag", tag)
		res.AppendHeader(&gsip.ContactHeader{Address: d.contact, Params: gsip.NewParams()})
		res.AppendHeader(gsip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	}
	res.AppendHeader(gsip.NewHeader("User-Agent", u.cfg.UserAgent))
	// Start the lifetime before answering, so that UA close or an early
	// unsubscribe always finds it running.
	if code < 300 {
		u.mu.Lock()
		if u.closed {
			u.mu.Unlock()
			s.finish(Termination{Cause: CauseLocal, Reason: "user agent closed"})
			close(s.done)
			respond(503, "Service Unavailable")
			return
		}
		u.wg.Add(1)
		u.mu.Unlock()
		go func() {
			defer u.wg.Done()
			s.run()
		}()
	} else {
		s.finish(Termination{Cause: CauseLocal, Code: code, Reason: "subscription refused"})
		close(s.done)
	}
	if err := tx.Respond(res); err != nil {
		u.log.Info("sip: respond to SUBSCRIBE", "err", err)
		if code < 300 {
			s.finish(Termination{Cause: CauseLocal, Code: 500, Reason: "could not answer SUBSCRIBE"})
		}
	}
}

// handleInDialog answers requests in the subscription's dialog: refreshes
// and unsubscribes.
func (s *IncomingSubscribe) handleInDialog(req *Request, tx gsip.ServerTransaction) {
	respond := func(res *gsip.Response) {
		res.AppendHeader(gsip.NewHeader("User-Agent", s.ua.cfg.UserAgent))
		if err := tx.Respond(res); err != nil {
			s.ua.log.Info("sip: respond in subscription", "method", req.Method, "err", err)
		}
	}
	if req.Method != gsip.SUBSCRIBE {
		respond(gsip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil))
		return
	}
	if requestEvent(req) != s.event {
		respond(gsip.NewResponseFromRequest(req, 489, "Bad Event", nil))
		return
	}
	expires, ok := requestExpires(req)
	if !ok {
		respond(gsip.NewResponseFromRequest(req, 400, "Bad Expires", nil))
		return
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		respond(gsip.NewResponseFromRequest(req, 481, "Subscription Does Not Exist", nil))
		return
	}
	if expires > 0 {
		s.deadline = time.Now().Add(expires)
	}
	s.mu.Unlock()
	res := gsip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(gsip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	res.AppendHeader(&gsip.ContactHeader{Address: s.d.contact, Params: gsip.NewParams()})
	respond(res)
	if expires == 0 {
		// Unsubscribe: a final NOTIFY, then the subscription is over.
		ctx, cancel := context.WithTimeout(context.Background(), min(s.ua.cfg.RequestTimeout, 5*time.Second))
		defer cancel()
		if err := s.notify(ctx, true, "timeout", "", nil); err != nil {
			s.ua.log.Info("sip: final NOTIFY", "err", err)
		}
		s.finish(Termination{Cause: CauseRemote, Code: 200, Reason: "unsubscribed"})
		return
	}
	for _, ch := range []chan struct{}{s.reset, s.refreshed} {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
