package voipkit

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/voipkit/voipkit/call"
	"github.com/voipkit/voipkit/sip"
)

// AutoAnswerPolicy decides which incoming calls are answered without the
// application's Answer.
type AutoAnswerPolicy struct {
	// Always answers every incoming call after Delay.
	Always bool
	// Delay is how long an always-answered call rings first.
	Delay time.Duration
	// Intercom answers calls whose INVITE asks for it, as PBXs do for
	// paging and intercom: Call-Info with answer-after=N (after N s),
	// Alert-Info with info=alert-autoanswer or "Auto Answer", and
	// Answer-Mode or Priv-Answer-Mode: Auto (RFC 5373).
	Intercom bool
}

// ForwardPolicy redirects incoming calls with 302 to another target
// (a number, user or URI, completed with the account's domain).
type ForwardPolicy struct {
	// Always forwards every call.
	Always string
	// Busy forwards calls that arrive while DoNotDisturb is on or all
	// lines are taken.
	Busy string
	// NoAnswer forwards calls still unanswered after NoAnswerAfter
	// (default 20 s).
	NoAnswer      string
	NoAnswerAfter time.Duration
}

// SetDoNotDisturb turns do-not-disturb on or off: incoming calls are then
// refused with Config.DNDCode (default 486 Busy Here) or forwarded by
// ForwardPolicy.Busy.
func (p *Phone) SetDoNotDisturb(on bool) {
	p.mu.Lock()
	p.dnd = on
	p.mu.Unlock()
}

// Block refuses future calls from the given callers (user, user@host or
// URI; matched on user and, when given, host) with 603 Decline.
func (p *Phone) Block(callers ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range callers {
		p.blocked[normalizeCaller(c)] = true
	}
}

// Unblock lifts Block for callers.
func (p *Phone) Unblock(callers ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range callers {
		delete(p.blocked, normalizeCaller(c))
	}
}

// Redial dials the last number dialled with Dial again.
func (p *Phone) Redial(ctx context.Context, options ...DialOption) (*Call, error) {
	p.mu.Lock()
	last := p.lastDialled
	p.mu.Unlock()
	if last == "" {
		return nil, ErrInvalidTarget
	}
	return p.Dial(ctx, last, options...)
}

func normalizeCaller(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "sip:"), "sips:")
	if i := strings.IndexAny(s, ";>"); i >= 0 {
		s = s[:i]
	}
	return s
}

// isBlocked matches the caller on user@host and on the user alone.
func (p *Phone) isBlocked(u sip.URI) bool {
	user := strings.ToLower(u.User)
	return p.blocked[user+"@"+strings.ToLower(u.Host)] || (user != "" && p.blocked[user])
}

// screen applies do-not-disturb, the blocklist, the line limit and
// forwarding to a new incoming call. It reports whether the call was
// handled (refused or forwarded) so no incoming-call event is due.
func (p *Phone) screen(c *Call, acc *Account) bool {
	p.mu.Lock()
	dnd, blocked := p.dnd, p.isBlocked(c.RemoteURI())
	active := 0
	for other := range p.calls {
		if other != c && other.State() != call.StateTerminated {
			active++
		}
	}
	p.mu.Unlock()
	fw := p.cfg.Forward
	switch {
	case blocked:
		_ = c.Reject(603, "Decline")
		return true
	case fw.Always != "":
		return p.forward(c, acc, fw.Always)
	case dnd || p.cfg.MaxCalls > 0 && active >= p.cfg.MaxCalls:
		if fw.Busy != "" {
			return p.forward(c, acc, fw.Busy)
		}
		code, reason := 486, "Busy Here"
		if dnd && p.cfg.DNDCode == 480 {
			code, reason = 480, "Temporarily Unavailable"
		}
		_ = c.Reject(code, reason)
		return true
	}
	return false
}

func (p *Phone) forward(c *Call, acc *Account, target string) bool {
	domain := p.ua.Host()
	if acc != nil {
		domain = acc.domain()
	}
	uri, err := parseTarget(target, domain)
	if err != nil {
		p.log.Warn("voipkit: bad forwarding target", "target", target, "err", err)
		_ = c.Reject(480, "Temporarily Unavailable")
		return true
	}
	_ = c.Forward(uri)
	return true
}

// afterIncoming starts the timers that act on an announced incoming call:
// auto-answer and forwarding on no answer.
func (p *Phone) afterIncoming(c *Call, acc *Account, req *sip.Request) {
	delay, auto := p.autoAnswerDelay(req)
	fw := p.cfg.Forward
	if !auto && fw.NoAnswer == "" {
		return
	}
	noAnswer := fw.NoAnswerAfter
	if noAnswer <= 0 {
		noAnswer = 20 * time.Second
	}
	p.goTracked(func() {
		if auto {
			_ = c.Ring()
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = c.Answer(ctx)
				cancel()
			case <-c.Done():
			}
			return
		}
		t := time.NewTimer(noAnswer)
		defer t.Stop()
		select {
		case <-t.C:
			if s := c.State(); s == call.StateIncoming || s == call.StateRinging {
				p.forward(c, acc, fw.NoAnswer)
			}
		case <-c.Done():
		}
	})
}

// autoAnswerDelay reads the auto-answer policy and the request's
// intercom headers.
func (p *Phone) autoAnswerDelay(req *sip.Request) (time.Duration, bool) {
	pol := p.cfg.AutoAnswer
	if pol.Intercom {
		if d, ok := intercomRequest(req); ok {
			return d, true
		}
	}
	if pol.Always {
		return pol.Delay, true
	}
	return 0, false
}

// intercomRequest recognises the auto-answer requests PBXs send for paging
// and intercom calls.
func intercomRequest(req *sip.Request) (time.Duration, bool) {
	for _, h := range req.GetHeaders("Call-Info") {
		v := strings.ToLower(h.Value())
		if i := strings.Index(v, "answer-after="); i >= 0 {
			n := v[i+len("answer-after="):]
			if j := strings.IndexAny(n, ";, "); j >= 0 {
				n = n[:j]
			}
			if secs, err := strconv.Atoi(n); err == nil && secs >= 0 && secs < 3600 {
				return time.Duration(secs) * time.Second, true
			}
		}
	}
	for _, h := range req.GetHeaders("Alert-Info") {
		v := strings.ToLower(h.Value())
		if strings.Contains(v, "info=alert-autoanswer") || strings.Contains(v, "auto answer") || strings.Contains(v, "auto-answer") || strings.Contains(v, "intercom") {
			return 0, true
		}
	}
	for _, name := range []string{"Answer-Mode", "Priv-Answer-Mode"} {
		if h := req.GetHeader(name); h != nil {
			mode, _, _ := strings.Cut(h.Value(), ";")
			if strings.EqualFold(strings.TrimSpace(mode), "auto") {
				return 0, true
			}
		}
	}
	return 0, false
}
