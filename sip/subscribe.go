package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	gsip "github.com/emiago/sipgo/sip"
)

// ErrSubscriptionTerminated is wrapped by the error of a subscription the
// notifier ended for good (reason rejected, noresource or invariant) and
// by operations on a closed subscription.
var ErrSubscriptionTerminated = errors.New("sip: subscription terminated")

// SubscriptionState is the state a notifier reports in the
// Subscription-State header of a NOTIFY (RFC 6665 §8.2.3).
type SubscriptionState string

// Subscription states.
const (
	SubscriptionActive     SubscriptionState = "active"
	SubscriptionPending    SubscriptionState = "pending"
	SubscriptionTerminated SubscriptionState = "terminated"
)

// Notification is one NOTIFY received for a Subscription, already answered
// with 200.
type Notification struct {
	// Request is the NOTIFY as received.
	Request *Request
	// Event is the event package named in the Event header, e.g. "dialog".
	Event string
	// State, Reason, Expires and RetryAfter are read from the
	// Subscription-State header; the durations are zero when absent.
	State      SubscriptionState
	Reason     string
	Expires    time.Duration
	RetryAfter time.Duration
	// ContentType is the Content-Type header value, "" without a body.
	ContentType string
	// Body is the NOTIFY body; empty means the notifier has no state to
	// report yet.
	Body []byte
	// Dialog counts the subscription dialogs: 1 for the first, one more
	// each time the Subscription subscribes afresh (after a terminated
	// NOTIFY or a 481). Versioned documents (dialog-info) restart with
	// each dialog.
	Dialog int
}

// SubscribeOptions describes a subscription (RFC 6665).
type SubscribeOptions struct {
	// Target is the resource subscribed to (Request-URI and To).
	Target URI
	// From is our address of record; DisplayName goes with it.
	From        URI
	DisplayName string
	// Proxy, when it has a host, receives the initial SUBSCRIBE instead of
	// the target's host. Its transport parameter chooses the transport.
	Proxy URI
	// Credentials answer 401/407 challenges.
	Credentials Credentials
	// Event is the event package: "presence", "dialog",
	// "message-summary"... Required.
	Event string
	// Accept lists the body types we accept; empty sends no Accept header.
	Accept []string
	// Expires is the requested subscription lifetime. Zero means 3600 s.
	Expires time.Duration
	// Headers are extra headers added to every SUBSCRIBE.
	Headers []Header
	// Timeout bounds each transaction. Zero means the UA's RequestTimeout.
	Timeout time.Duration
	// RetryInterval is the first wait before subscribing again after a
	// failure or a terminated NOTIFY without retry-after; it doubles up to
	// MaxRetryInterval. Zero means 5 s and 5 min.
	RetryInterval, MaxRetryInterval time.Duration
	// Notify receives every NOTIFY in the order received (stale
	// reordered ones are dropped). It is called on a SIP goroutine and
	// must not block for long.
	Notify func(*Notification)
	// OnError, when set, is told of refresh and re-subscribe attempts that
	// failed (the Subscription keeps retrying) and of the final error
	// that ends it. It must not block.
	OnError func(error)
}

// Subscription is a client-side subscription (RFC 6665): it keeps its
// dialog refreshed, answers NOTIFYs, subscribes afresh after the notifier
// ends the subscription (honouring retry-after) or forgets it (481), and
// unsubscribes on Close. It is safe for concurrent use.
type Subscription struct {
	ua      *UA
	o       SubscribeOptions
	auth    *authSession
	dest    string
	tp      Transport
	contact URI

	mu           sync.Mutex
	callID       string
	localTag     string
	remoteTag    string
	remoteTarget URI
	routeSet     []URI
	localSeq     uint32
	remoteSeq    uint32
	established  bool
	gen          int
	state        SubscriptionState
	deadline     time.Time // when the current subscription expires
	term         *Notification
	err          error

	nmu     sync.Mutex // serializes NOTIFY handling
	termCh  chan struct{}
	resched chan struct{}
	loopControl
}

// subRegistry maps Call-ID + local tag to the subscription owning that
// dialog. The zero value is ready to use.
type subRegistry struct {
	mu sync.Mutex
	m  map[string]*Subscription
}

func (r *subRegistry) add(k string, s *Subscription) {
	r.mu.Lock()
	if r.m == nil {
		r.m = map[string]*Subscription{}
	}
	r.m[k] = s
	r.mu.Unlock()
}

func (r *subRegistry) remove(k string, s *Subscription) {
	r.mu.Lock()
	if r.m[k] == s {
		delete(r.m, k)
	}
	r.mu.Unlock()
}

func (r *subRegistry) get(k string) *Subscription {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[k]
}

// Subscribe sends the initial SUBSCRIBE and, once it is accepted (2xx),
// returns the Subscription, which refreshes itself until Close. NOTIFYs
// may reach o.Notify before Subscribe returns. A non-2xx final response
// is returned as an error wrapping a *StatusError.
func (u *UA) Subscribe(ctx context.Context, o SubscribeOptions) (*Subscription, error) {
	if u.isClosed() {
		return nil, ErrClosed
	}
	if o.Target.Host == "" {
		return nil, fmt.Errorf("%w: subscription target has no host", ErrInvalidURI)
	}
	if o.From.Host == "" {
		return nil, fmt.Errorf("%w: subscriber has no host", ErrInvalidURI)
	}
	o.Event = strings.TrimSpace(o.Event)
	if o.Event == "" || strings.ContainsAny(o.Event, "\r\n,; \t") {
		return nil, fmt.Errorf("sip: SUBSCRIBE: invalid event package %q", o.Event)
	}
	for _, a := range o.Accept {
		if strings.ContainsAny(a, "\r\n") {
			return nil, fmt.Errorf("sip: SUBSCRIBE: invalid Accept %q", a)
		}
	}
	if o.Expires <= 0 {
		o.Expires = time.Hour
	}
	o.RetryInterval, o.MaxRetryInterval = retryBounds(o.RetryInterval, o.MaxRetryInterval)
	next := o.Target
	if o.Proxy.Host != "" {
		next = o.Proxy
	}
	s := &Subscription{
		ua:          u,
		o:           o,
		auth:        newAuthSession(o.Credentials),
		dest:        hostPort(next),
		tp:          uriTransport(next, uriTransport(o.Target, UDP)),
		termCh:      make(chan struct{}, 1),
		resched:     make(chan struct{}, 1),
		loopControl: newLoopControl(),
	}
	u.LearnHost(s.dest)
	s.contact = u.ContactURI(o.From.User, s.tp)
	granted, err := s.subscribeFresh(ctx)
	if err != nil {
		return nil, fmt.Errorf("sip: SUBSCRIBE %s: %w", o.Event, err)
	}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		s.run(granted)
	}()
	return s, nil
}

// Event returns the subscription's event package.
func (s *Subscription) Event() string { return s.o.Event }

// Target returns the subscribed resource.
func (s *Subscription) Target() URI { return s.o.Target }

// State returns the state of the last NOTIFY ("" before the first one).
func (s *Subscription) State() SubscriptionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Done is closed when the subscription has ended: after Close, when the
// UA closes, or when the notifier ended it for good (see Err).
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err reports why the subscription ended on its own; nil while it runs
// and after Close.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Refresh sends a refreshing SUBSCRIBE now, which makes the notifier send
// a NOTIFY with the full current state.
func (s *Subscription) Refresh() { s.poke() }

// Close unsubscribes (SUBSCRIBE with Expires: 0, bounded by ctx) and
// stops the refresh loop. It is idempotent.
func (s *Subscription) Close(ctx context.Context) error { return s.halt(ctx) }

func (s *Subscription) key() string { return dialogKey(s.callID, s.localTag) }

// newDialogIDs starts a new dialog: fresh Call-ID, tag and CSeq. The
// Subscription is registered under the new key before anything is sent,
// because the first NOTIFY may overtake the 2xx.
func (s *Subscription) newDialogIDs() {
	s.mu.Lock()
	old := s.key()
	hadOld := s.callID != ""
	s.callID = gsip.GenerateTagN(32)
	s.localTag = gsip.GenerateTagN(16)
	s.remoteTag = ""
	s.remoteTarget = URI{}
	s.routeSet = nil
	s.localSeq = rand.Uint32N(1<<15) + 1
	s.remoteSeq = 0
	s.established = false
	s.term = nil
	s.state = ""
	s.gen++
	k := s.key()
	s.mu.Unlock()
	if hadOld {
		s.ua.subs.remove(old, s)
	}
	s.ua.subs.add(k, s)
	// A terminated NOTIFY of the old dialog must not end the new one.
	select {
	case <-s.termCh:
	default:
	}
}

// subscribeFresh starts a new dialog with an out-of-dialog SUBSCRIBE and
// returns the granted lifetime.
func (s *Subscription) subscribeFresh(ctx context.Context) (time.Duration, error) {
	s.newDialogIDs()
	expires := s.o.Expires
	for attempt := 0; ; attempt++ {
		res, err := s.send(ctx, expires, false)
		if err != nil {
			s.forget()
			return 0, err
		}
		if res.StatusCode == 423 && attempt == 0 {
			if me := parseSeconds(res.GetHeader("Min-Expires")); me > expires {
				expires = me
				continue
			}
		}
		if !res.IsSuccess() {
			s.forget()
			return 0, statusError(res)
		}
		s.establish(res)
		g := grantedSubscription(res, expires)
		s.setDeadline(g)
		return g, nil
	}
}

// forget unregisters the current dialog.
func (s *Subscription) forget() {
	s.mu.Lock()
	k := s.key()
	s.mu.Unlock()
	s.ua.subs.remove(k, s)
}

// grantedSubscription reads the lifetime from a 2xx's Expires header
// (mandatory per RFC 6665 §4.2.1.1), falling back to what we asked for.
func grantedSubscription(res *gsip.Response, asked time.Duration) time.Duration {
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}

func (s *Subscription) setDeadline(granted time.Duration) {
	s.mu.Lock()
	s.deadline = time.Now().Add(granted)
	s.mu.Unlock()
}

// establish takes the dialog's remote tag, target and route set from a
// 2xx, unless a NOTIFY already established it.
func (s *Subscription) establish(res *gsip.Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.established {
		return
	}
	if to := res.To(); to != nil {
		if tag, ok := to.Params.Get("tag"); ok && tag != "" {
			s.remoteTag = tag
			s.established = true
		}
	}
	if c := res.Contact(); c != nil {
		s.remoteTarget = c.Address
	}
	var routes []URI
	for _, h := range res.GetHeaders("Record-Route") {
		if rr, ok := h.(*gsip.RecordRouteHeader); ok {
			routes = append([]URI{rr.Address}, routes...)
		}
	}
	s.routeSet = routes
}

// send sends one SUBSCRIBE: out of dialog when the dialog is not
// established yet (or inDialog is false), within it otherwise.
func (s *Subscription) send(ctx context.Context, expires time.Duration, inDialog bool) (*gsip.Response, error) {
	s.mu.Lock()
	s.localSeq++
	seq := s.localSeq
	callID, localTag, remoteTag := s.callID, s.localTag, s.remoteTag
	target := s.remoteTarget
	routes := append([]URI(nil), s.routeSet...)
	established := s.established
	s.mu.Unlock()

	recipient, dest, tp := s.o.Target, s.dest, s.tp
	if inDialog && established {
		if target.Host != "" {
			recipient = target
		}
		if len(routes) > 0 {
			dest, tp = hostPort(routes[0]), uriTransport(routes[0], s.tp)
		} else if target.Host != "" {
			dest, tp = hostPort(target), uriTransport(target, s.tp)
		}
	} else {
		routes, remoteTag = nil, ""
	}
	req := s.ua.newRequest(gsip.SUBSCRIBE, recipient, tp, dest)
	for _, r := range routes {
		req.AppendHeader(&gsip.RouteHeader{Address: r})
	}
	from := &gsip.FromHeader{DisplayName: s.o.DisplayName, Address: s.o.From, Params: gsip.NewParams()}
	from.Address.UriParams = nil
	from.Params.Add("tag", localTag)
	to := &gsip.ToHeader{Address: s.o.Target, Params: gsip.NewParams()}
	to.Address.UriParams = nil
	if remoteTag != "" {
		to.Params.Add("tag", remoteTag)
	}
	cid := gsip.CallIDHeader(callID)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&gsip.CSeqHeader{SeqNo: seq, MethodName: gsip.SUBSCRIBE})
	req.AppendHeader(&gsip.ContactHeader{Address: s.contact, Params: gsip.NewParams()})
	req.AppendHeader(gsip.NewHeader("Event", s.o.Event))
	if len(s.o.Accept) > 0 {
		req.AppendHeader(gsip.NewHeader("Accept", strings.Join(s.o.Accept, ", ")))
	}
	req.AppendHeader(gsip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	req.AppendHeader(gsip.NewHeader("Allow", allowHeader))
	for _, h := range s.o.Headers {
		req.AppendHeader(h)
	}
	req.SetBody(nil)
	res, err := s.ua.transact(ctx, req, s.auth, s.o.Timeout, nil)
	// The auth loop may have raised CSeq.
	s.mu.Lock()
	if cs := req.CSeq(); cs != nil && cs.SeqNo > s.localSeq && s.callID == callID {
		s.localSeq = cs.SeqNo
	}
	s.mu.Unlock()
	return res, err
}

// action is what the refresh loop does next.
type subAction int

const (
	actRefresh subAction = iota
	actResubscribe
)

func (s *Subscription) run(granted time.Duration) {
	defer close(s.done)
	ctx, cancel, stopping := loopContext(s.stop, s.ua.closeCh)
	defer cancel()

	retry := s.o.RetryInterval
	action := actRefresh
	next := time.Now().Add(refreshDelay(granted))
	for {
		t := time.NewTimer(max(time.Until(next), 0))
		select {
		case <-t.C:
		case <-s.kick:
			t.Stop()
		case <-s.resched:
			t.Stop()
			if action == actRefresh {
				s.mu.Lock()
				left := time.Until(s.deadline)
				s.mu.Unlock()
				next = time.Now().Add(refreshDelay(max(left, time.Second)))
			}
			continue
		case <-s.termCh:
			t.Stop()
			s.mu.Lock()
			n := s.term
			s.mu.Unlock()
			if n == nil {
				continue
			}
			switch n.Reason {
			case "rejected", "noresource", "invariant":
				s.end(fmt.Errorf("%w: %s", ErrSubscriptionTerminated, n.Reason))
				return
			}
			s.forget()
			action = actResubscribe
			switch {
			case n.RetryAfter > 0:
				next = time.Now().Add(min(n.RetryAfter, 24*time.Hour))
			case n.Reason == "deactivated" || n.Reason == "timeout":
				next = time.Now()
			default:
				next = time.Now().Add(jitter(retry))
				retry = min(retry*2, s.o.MaxRetryInterval)
			}
			continue
		case <-stopping:
			t.Stop()
			if action == actRefresh && !s.ua.isClosed() {
				s.unsubscribe()
			}
			s.forget()
			return
		}
		if ctx.Err() != nil {
			continue // stopping: handled at the top
		}
		switch action {
		case actRefresh:
			res, err := s.send(ctx, s.o.Expires, true)
			switch {
			case ctx.Err() != nil:
				continue
			case err == nil && res.IsSuccess():
				g := grantedSubscription(res, s.o.Expires)
				if g == 0 {
					// The notifier ended it; a terminated NOTIFY follows.
					s.forget()
					action, next = actResubscribe, time.Now().Add(jitter(retry))
					continue
				}
				s.setDeadline(g)
				retry = s.o.RetryInterval
				next = time.Now().Add(refreshDelay(g))
				continue
			case err == nil && res.StatusCode == 423:
				if me := parseSeconds(res.GetHeader("Min-Expires")); me > s.o.Expires {
					s.o.Expires = me
					next = time.Now()
					continue
				}
			}
			if err == nil {
				err = statusError(res)
			}
			s.report(fmt.Errorf("sip: SUBSCRIBE %s refresh: %w", s.o.Event, err))
			// 481 or any other failure: start a new subscription.
			s.forget()
			action = actResubscribe
			next = time.Now()
			var se *StatusError
			if !errors.As(err, &se) || se.Code != 481 {
				next = next.Add(jitter(retry))
				retry = min(retry*2, s.o.MaxRetryInterval)
			}
		case actResubscribe:
			g, err := s.subscribeFresh(ctx)
			if ctx.Err() != nil {
				continue
			}
			if err != nil {
				s.report(fmt.Errorf("sip: SUBSCRIBE %s: %w", s.o.Event, err))
				next = time.Now().Add(jitter(retry))
				retry = min(retry*2, s.o.MaxRetryInterval)
				continue
			}
			retry = s.o.RetryInterval
			action = actRefresh
			next = time.Now().Add(refreshDelay(g))
		}
	}
}

func (s *Subscription) report(err error) {
	s.ua.log.Info("sip: subscription", "event", s.o.Event, "target", s.o.Target.String(), "err", err)
	if s.o.OnError != nil {
		s.o.OnError(err)
	}
}

// end finishes the subscription on the notifier's word.
func (s *Subscription) end(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	s.forget()
	s.report(err)
}

// unsubscribe sends SUBSCRIBE with Expires: 0 and waits briefly for the
// final NOTIFY, so the notifier does not get a 481 for it.
func (s *Subscription) unsubscribe() {
	s.mu.Lock()
	est := s.established && s.term == nil
	s.mu.Unlock()
	if !est {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(s.timeout(), 5*time.Second))
	defer cancel()
	res, err := s.send(ctx, 0, true)
	if err != nil || !res.IsSuccess() {
		return
	}
	t := time.NewTimer(300 * time.Millisecond)
	defer t.Stop()
	select {
	case <-s.termCh:
	case <-t.C:
	case <-s.ua.closeCh:
	}
}

func (s *Subscription) timeout() time.Duration {
	if s.o.Timeout > 0 {
		return s.o.Timeout
	}
	return s.ua.cfg.RequestTimeout
}
