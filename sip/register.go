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

// RegistrationState is where a registration stands.
type RegistrationState int

// Registration states.
const (
	RegistrationUnknown RegistrationState = iota
	// Registering: a REGISTER is in flight (first one or a retry).
	Registering
	// Registered: the registrar accepted the binding.
	Registered
	// RegistrationFailed: the last attempt failed; a retry is scheduled.
	RegistrationFailed
	// Unregistering: the binding is being removed (Expires: 0).
	Unregistering
	// Unregistered: no binding; the registration has stopped.
	Unregistered
)

func (s RegistrationState) String() string {
	switch s {
	case Registering:
		return "Registering"
	case Registered:
		return "Registered"
	case RegistrationFailed:
		return "Failed"
	case Unregistering:
		return "Unregistering"
	case Unregistered:
		return "Unregistered"
	}
	return "Unknown"
}

// RegistrationStatus reports a registration's state change.
type RegistrationStatus struct {
	State RegistrationState
	// Code and Reason are the last final response's status, 0 when none
	// arrived (timeout, transport error).
	Code   int
	Reason string
	// Expires is the binding lifetime granted by the registrar.
	Expires time.Duration
	// Err explains a failure; it wraps ErrAuthFailed, ErrTimeout,
	// ErrTransport or a *StatusError.
	Err error
	// RetryIn is when the next attempt happens after a failure.
	RetryIn time.Duration
}

// RegistrationConfig describes one account's registration.
type RegistrationConfig struct {
	// Registrar is the registrar's URI, e.g. sip:example.com or
	// sip:10.0.0.1:5070;transport=tcp.
	Registrar URI
	// AOR is the address of record, e.g. sip:1001@example.com.
	AOR URI
	// DisplayName goes into From and To.
	DisplayName string
	// Credentials answer digest challenges.
	Credentials Credentials
	// Expires is the requested binding lifetime. Zero means 3600 s.
	Expires time.Duration
	// RetryInterval is the first delay after a failure; it doubles up to
	// MaxRetryInterval. Zero means 5 s and 5 min.
	RetryInterval, MaxRetryInterval time.Duration
	// Timeout bounds each REGISTER transaction. Zero means the UA's
	// RequestTimeout.
	Timeout time.Duration
	// Notify receives every state change, in order, on the registration's
	// goroutine. It must not block.
	Notify func(RegistrationStatus)
}

// Registration keeps one binding alive: it registers, refreshes before
// expiry, retries with backoff after failures and unregisters on Close.
// It is safe for concurrent use.
type Registration struct {
	ua     *UA
	cfg    RegistrationConfig
	auth   *authSession
	callID string
	tp     Transport

	mu     sync.Mutex
	cseq   uint32
	status RegistrationStatus
	loopControl
}

// Register starts a registration loop for cfg. The first REGISTER is sent
// at once; progress is reported through cfg.Notify.
func (u *UA) Register(cfg RegistrationConfig) (*Registration, error) {
	if cfg.Registrar.Host == "" {
		return nil, fmt.Errorf("%w: registrar has no host", ErrInvalidURI)
	}
	if cfg.AOR.Host == "" || cfg.AOR.User == "" {
		return nil, fmt.Errorf("%w: address of record needs user and host", ErrInvalidURI)
	}
	if cfg.Expires <= 0 {
		cfg.Expires = time.Hour
	}
	cfg.RetryInterval, cfg.MaxRetryInterval = retryBounds(cfg.RetryInterval, cfg.MaxRetryInterval)
	if cfg.Credentials.Username == "" {
		cfg.Credentials.Username = cfg.AOR.User
	}
	u.LearnHost(hostPort(cfg.Registrar))
	r := &Registration{
		ua:          u,
		cfg:         cfg,
		auth:        newAuthSession(cfg.Credentials),
		callID:      gsip.GenerateTagN(24),
		tp:          uriTransport(cfg.Registrar, UDP),
		cseq:        rand.Uint32N(1 << 15),
		loopControl: newLoopControl(),
	}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		r.run()
	}()
	return r, nil
}

// Status returns the latest state.
func (r *Registration) Status() RegistrationStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Refresh sends a REGISTER now instead of waiting for the refresh timer
// or the retry backoff.
func (r *Registration) Refresh() { r.poke() }

// Close unregisters (bounded by ctx) and stops the loop. It is idempotent.
func (r *Registration) Close(ctx context.Context) error { return r.halt(ctx) }

// Done is closed when the registration loop has ended.
func (r *Registration) Done() <-chan struct{} { return r.done }

func (r *Registration) setStatus(s RegistrationStatus) {
	r.mu.Lock()
	r.status = s
	r.mu.Unlock()
	if r.cfg.Notify != nil {
		r.cfg.Notify(s)
	}
}

func (r *Registration) run() {
	defer close(r.done)
	ctx, cancel, _ := loopContext(r.stop, r.ua.closeCh)
	defer cancel()

	expires := r.cfg.Expires
	retry := r.cfg.RetryInterval
	registered := false
	for {
		r.setStatus(RegistrationStatus{State: Registering})
		res, granted, err := r.register(ctx, expires)
		var wait time.Duration
		switch {
		case err == nil:
			registered = true
			retry = r.cfg.RetryInterval
			r.setStatus(RegistrationStatus{State: Registered, Code: res.StatusCode, Reason: res.Reason, Expires: granted})
			wait = refreshDelay(granted)
		case ctx.Err() != nil:
			// Stopping.
		default:
			var se *StatusError
			if errors.As(err, &se) && se.Code == 423 {
				if minExp := parseSeconds(se.Response.GetHeader("Min-Expires")); minExp > expires {
					expires = minExp
					continue
				}
			}
			registered = false
			wait = jitter(retry)
			st := RegistrationStatus{State: RegistrationFailed, Err: err, RetryIn: wait}
			if errors.As(err, &se) {
				st.Code, st.Reason = se.Code, se.Reason
			}
			r.setStatus(st)
			retry = min(retry*2, r.cfg.MaxRetryInterval)
		}
		if ctx.Err() == nil {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-r.kick:
				t.Stop()
			case <-ctx.Done():
				t.Stop()
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	if registered && !r.ua.isClosed() {
		r.setStatus(RegistrationStatus{State: Unregistering})
		uctx, ucancel := context.WithTimeout(context.Background(), min(r.timeout(), 5*time.Second))
		res, _, err := r.register(uctx, 0)
		ucancel()
		st := RegistrationStatus{State: Unregistered, Err: err}
		if res != nil {
			st.Code, st.Reason = res.StatusCode, res.Reason
		}
		r.setStatus(st)
		return
	}
	r.setStatus(RegistrationStatus{State: Unregistered})
}

func (r *Registration) timeout() time.Duration {
	if r.cfg.Timeout > 0 {
		return r.cfg.Timeout
	}
	return r.ua.cfg.RequestTimeout
}

// refreshDelay refreshes at 90% of the lifetime, but at least 5 s before
// expiry and never sooner than half of it.
func refreshDelay(granted time.Duration) time.Duration {
	d := granted - granted/10
	if granted-d < 5*time.Second {
		d = granted - 5*time.Second
	}
	return max(d, granted/2, 500*time.Millisecond)
}

// jitter spreads retries of many accounts over ±20% to avoid storms.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + time.Duration(rand.Int64N(int64(d)*2/5+1))
}

func parseSeconds(h gsip.Header) time.Duration {
	if h == nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

func (r *Registration) register(ctx context.Context, expires time.Duration) (*gsip.Response, time.Duration, error) {
	recipient := r.cfg.Registrar
	recipient.User = ""
	req := r.ua.newRequest(gsip.REGISTER, recipient, r.tp, hostPort(r.cfg.Registrar))
	from := &gsip.FromHeader{DisplayName: r.cfg.DisplayName, Address: r.cfg.AOR, Params: gsip.NewParams()}
	from.Params.Add("tag", gsip.GenerateTagN(16))
	to := &gsip.ToHeader{DisplayName: r.cfg.DisplayName, Address: r.cfg.AOR, Params: gsip.NewParams()}
	callID := gsip.CallIDHeader(r.callID)
	r.mu.Lock()
	r.cseq++
	cseq := &gsip.CSeqHeader{SeqNo: r.cseq, MethodName: gsip.REGISTER}
	r.mu.Unlock()
	contact := &gsip.ContactHeader{Address: r.ua.ContactURI(r.cfg.AOR.User, r.tp), Params: gsip.NewParams()}
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(cseq)
	req.AppendHeader(contact)
	req.AppendHeader(gsip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	req.AppendHeader(gsip.NewHeader("Allow", allowHeader))
	req.SetBody(nil)

	res, err := r.ua.transact(ctx, req, r.auth, r.timeout(), nil)
	// The auth loop may have raised CSeq.
	r.mu.Lock()
	if cs := req.CSeq(); cs != nil && cs.SeqNo > r.cseq {
		r.cseq = cs.SeqNo
	}
	r.mu.Unlock()
	if err != nil {
		return nil, 0, err
	}
	if !res.IsSuccess() {
		return res, 0, statusError(res)
	}
	return res, grantedExpires(res, contact.Address, expires), nil
}

// grantedExpires reads the lifetime of our binding from the 2xx: the
// expires parameter of the Contact that matches ours, else the Expires
// header, else what we asked for.
func grantedExpires(res *gsip.Response, ours URI, asked time.Duration) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*gsip.ContactHeader)
		if !ok {
			continue
		}
		if c.Address.User == ours.User && c.Address.Host == ours.Host && c.Address.Port == ours.Port {
			if v, ok := c.Params.Get("expires"); ok {
				if n, err := strconv.Atoi(v); err == nil && n >= 0 {
					return time.Duration(n) * time.Second
				}
			}
		}
	}
	if d := parseSeconds(res.GetHeader("Expires")); d > 0 {
		return d
	}
	return asked
}
