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

// ErrNoETag is returned when a 2xx to PUBLISH carries no SIP-ETag, so the
// publication can be neither refreshed nor removed.
var ErrNoETag = errors.New("sip: PUBLISH answer without SIP-ETag")

// PublishOptions describes event state published to a presence agent
// (RFC 3903).
type PublishOptions struct {
	// Target is the resource whose state is published (Request-URI and
	// To), usually our own address of record.
	Target URI
	// From is our address of record; DisplayName goes with it.
	From        URI
	DisplayName string
	// Proxy, when it has a host, receives the PUBLISH instead of the
	// target's host.
	Proxy URI
	// Credentials answer 401/407 challenges.
	Credentials Credentials
	// Event is the event package, e.g. "presence". Required.
	Event string
	// ContentType and Body are the initial state, e.g.
	// "application/pidf+xml" and a PIDF document. Required.
	ContentType string
	Body        []byte
	// Expires is the requested lifetime. Zero means 3600 s.
	Expires time.Duration
	// Headers are extra headers added to every PUBLISH.
	Headers []Header
	// Timeout bounds each transaction. Zero means the UA's RequestTimeout.
	Timeout time.Duration
	// OnError, when set, is told of refreshes that failed. It must not
	// block.
	OnError func(error)
}

// Publication is event state published with PUBLISH: it refreshes the
// state with its entity tag before it expires, replaces it with Modify and
// removes it on Close. It is safe for concurrent use.
type Publication struct {
	ua   *UA
	o    PublishOptions
	auth *authSession
	dest string
	tp   Transport

	mu      sync.Mutex // guards the fields below; opMu serializes requests
	opMu    sync.Mutex
	etag    string
	ct      string
	body    []byte
	granted time.Duration
	seq     uint32
	callID  string
	stopped bool

	resched chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// Publish sends the initial PUBLISH and, once it is accepted, returns a
// Publication that keeps the state refreshed until Close. A non-2xx final
// response is returned as an error wrapping a *StatusError.
func (u *UA) Publish(ctx context.Context, o PublishOptions) (*Publication, error) {
	if u.isClosed() {
		return nil, ErrClosed
	}
	if o.Target.Host == "" || o.From.Host == "" {
		return nil, fmt.Errorf("%w: PUBLISH needs a target and a sender with a host", ErrInvalidURI)
	}
	o.Event = strings.TrimSpace(o.Event)
	if o.Event == "" || strings.ContainsAny(o.Event, "\r\n,; \t") {
		return nil, fmt.Errorf("sip: PUBLISH: invalid event package %q", o.Event)
	}
	if err := checkContentType(o.ContentType, o.Body); err != nil {
		return nil, err
	}
	if o.Expires <= 0 {
		o.Expires = time.Hour
	}
	next := o.Target
	if o.Proxy.Host != "" {
		next = o.Proxy
	}
	p := &Publication{
		ua: u, o: o, auth: newAuthSession(o.Credentials),
		dest: hostPort(next), tp: uriTransport(next, uriTransport(o.Target, UDP)),
		ct: o.ContentType, body: o.Body,
		seq:     rand.Uint32N(1<<15) + 1,
		callID:  gsip.GenerateTagN(32),
		resched: make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	u.LearnHost(p.dest)
	p.opMu.Lock()
	err := p.publish(ctx, true, o.Expires)
	p.opMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("sip: PUBLISH %s: %w", o.Event, err)
	}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		p.run()
	}()
	return p, nil
}

func checkContentType(ct string, body []byte) error {
	if strings.TrimSpace(ct) == "" || len(body) == 0 {
		return fmt.Errorf("sip: PUBLISH needs a content type and a body")
	}
	if strings.ContainsAny(ct, "\r\n") {
		return fmt.Errorf("sip: PUBLISH: invalid content type %q", ct)
	}
	return nil
}

// ETag returns the entity tag of the published state.
func (p *Publication) ETag() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.etag
}

// Modify replaces the published state (PUBLISH with SIP-If-Match and the
// new body). When the agent has lost the state (412) it is published
// afresh.
func (p *Publication) Modify(ctx context.Context, contentType string, body []byte) error {
	if err := checkContentType(contentType, body); err != nil {
		return err
	}
	p.mu.Lock()
	stopped := p.stopped
	p.mu.Unlock()
	if stopped {
		return fmt.Errorf("sip: PUBLISH: %w", ErrClosed)
	}
	p.opMu.Lock()
	defer p.opMu.Unlock()
	p.mu.Lock()
	p.ct, p.body = contentType, body
	p.mu.Unlock()
	err := p.publish(ctx, true, p.o.Expires)
	var se *StatusError
	if errors.As(err, &se) && se.Code == 412 {
		p.mu.Lock()
		p.etag = ""
		p.mu.Unlock()
		err = p.publish(ctx, true, p.o.Expires)
	}
	if err != nil {
		return fmt.Errorf("sip: PUBLISH %s: %w", p.o.Event, err)
	}
	select {
	case p.resched <- struct{}{}:
	default:
	}
	return nil
}

// Close removes the published state (PUBLISH with Expires: 0 and
// SIP-If-Match, bounded by ctx) and stops refreshing. It is idempotent.
func (p *Publication) Close(ctx context.Context) error {
	p.mu.Lock()
	first := !p.stopped
	p.stopped = true
	p.mu.Unlock()
	if !first {
		select {
		case <-p.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	close(p.stop)
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if p.ua.isClosed() {
		return nil
	}
	p.opMu.Lock()
	defer p.opMu.Unlock()
	if p.ETag() == "" {
		return nil
	}
	if err := p.publish(ctx, false, 0); err != nil {
		return fmt.Errorf("sip: PUBLISH %s removal: %w", p.o.Event, err)
	}
	return nil
}

// publish sends one PUBLISH: with the body when withBody is set (initial
// or modify), as a bodiless refresh otherwise. Callers hold opMu.
func (p *Publication) publish(ctx context.Context, withBody bool, expires time.Duration) error {
	p.mu.Lock()
	p.seq++
	seq, etag, ct, body := p.seq, p.etag, p.ct, p.body
	p.mu.Unlock()

	req := p.ua.newRequest(gsip.PUBLISH, p.o.Target, p.tp, p.dest)
	from := &gsip.FromHeader{DisplayName: p.o.DisplayName, Address: p.o.From, Params: gsip.NewParams()}
	from.Address.UriParams = nil
	from.Params.Add("tag", gsip.GenerateTagN(16))
	to := &gsip.ToHeader{Address: p.o.Target, Params: gsip.NewParams()}
	to.Address.UriParams = nil
	cid := gsip.CallIDHeader(p.callID)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&gsip.CSeqHeader{SeqNo: seq, MethodName: gsip.PUBLISH})
	req.AppendHeader(gsip.NewHeader("Event", p.o.Event))
	req.AppendHeader(gsip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	if etag != "" {
		req.AppendHeader(gsip.NewHeader("SIP-If-Match", etag))
	}
	for _, h := range p.o.Headers {
		req.AppendHeader(h)
	}
	if withBody {
		cth := gsip.ContentTypeHeader(ct)
		req.AppendHeader(&cth)
		req.SetBody(body)
	} else {
		req.SetBody(nil)
	}
	res, err := p.ua.transact(ctx, req, p.auth, p.o.Timeout, nil)
	p.mu.Lock()
	if cs := req.CSeq(); cs != nil && cs.SeqNo > p.seq {
		p.seq = cs.SeqNo
	}
	p.mu.Unlock()
	if err != nil {
		return err
	}
	if res.StatusCode == 423 && expires > 0 {
		if me := parseSeconds(res.GetHeader("Min-Expires")); me > expires {
			p.o.Expires = me
			return p.publish(ctx, withBody, me)
		}
	}
	if !res.IsSuccess() {
		return statusError(res)
	}
	if expires == 0 {
		p.mu.Lock()
		p.etag = ""
		p.mu.Unlock()
		return nil
	}
	h := res.GetHeader("SIP-ETag")
	if h == nil || strings.TrimSpace(h.Value()) == "" {
		return ErrNoETag
	}
	p.mu.Lock()
	p.etag = strings.TrimSpace(h.Value())
	p.granted = grantedSubscription(res, expires)
	p.mu.Unlock()
	return nil
}

func (p *Publication) run() {
	defer close(p.done)
	ctx, cancel, _ := loopContext(p.stop, p.ua.closeCh)
	defer cancel()
	retry := 5 * time.Second
	var override time.Duration
	for {
		p.mu.Lock()
		wait := refreshDelay(max(p.granted, time.Second))
		p.mu.Unlock()
		if override > 0 {
			wait, override = override, 0
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-p.resched:
			t.Stop()
			continue
		case <-ctx.Done():
			t.Stop()
			return
		}
		p.opMu.Lock()
		err := p.publish(ctx, false, p.o.Expires)
		var se *StatusError
		if errors.As(err, &se) && se.Code == 412 {
			// The agent lost our state: publish it afresh.
			p.mu.Lock()
			p.etag = ""
			p.mu.Unlock()
			err = p.publish(ctx, true, p.o.Expires)
		}
		p.opMu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if p.o.OnError != nil {
				p.o.OnError(fmt.Errorf("sip: PUBLISH %s refresh: %w", p.o.Event, err))
			}
			override = jitter(retry)
			retry = min(retry*2, 5*time.Minute)
			continue
		}
		retry = 5 * time.Second
	}
}
