package voipkit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/voipkit/voipkit/call"
)

// Transfer asks the peer of c to call target instead (blind transfer by
// REFER). It returns once the peer has accepted; TransferEvents report the
// progress, and on success c is hung up.
func (p *Phone) Transfer(ctx context.Context, c *Call, target string) error {
	p.mu.Lock()
	acc := p.calls[c]
	p.mu.Unlock()
	domain := p.ua.Host()
	if acc != nil {
		domain = acc.domain()
	}
	uri, err := parseTarget(target, domain)
	if err != nil {
		return fmt.Errorf("voipkit: transfer: %w", err)
	}
	return c.Transfer(ctx, uri)
}

// startTransfer carries out a transfer the peer of old asked for: it
// dials the Refer-To target from the same account and reports the new
// call's progress back to the transferor.
func (p *Phone) startTransfer(acc *Account, old *Call, rr *call.ReferRequest) {
	opts := []DialOption{}
	if acc != nil {
		opts = append(opts, WithAccount(acc))
	}
	if rr.Replaces != "" {
		opts = append(opts, WithHeader("Replaces", rr.Replaces))
	}
	nc, err := p.Dial(context.Background(), rr.Target.String(), opts...)
	p.emit(&TransferRequestEvent{eventBase: eventBase{time.Now()}, Call: old, Target: rr.Target.String(), ReferredBy: rr.ReferredBy, NewCall: nc})
	p.goTracked(func() {
		notify := func(code int, reason string, final bool) {
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
			defer cancel()
			_ = old.NotifyTransfer(ctx, code, reason, final)
		}
		if err != nil {
			notify(503, "Service Unavailable", true)
			return
		}
		ringing := false
		for {
			select {
			case <-nc.Done():
				cause := nc.Cause()
				code := cause.Code
				if code < 300 {
					code = 487
				}
				notify(code, cause.Reason, true)
				return
			case <-old.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			switch nc.State() {
			case call.StateRinging, call.StateEarlyMedia:
				if !ringing {
					ringing = true
					notify(180, "Ringing", false)
				}
			case call.StateConnected:
				notify(200, "OK", true)
				return
			}
		}
	})
}

// TransferAttended completes an attended transfer: the peer of c is asked
// to call the party of consult, replacing consult (REFER with Replaces).
// On success both c and consult end.
func (p *Phone) TransferAttended(ctx context.Context, c, consult *Call) error {
	if err := c.TransferAttended(ctx, consult); err != nil {
		return fmt.Errorf("voipkit: attended transfer: %w", err)
	}
	return nil
}

// replacedCall finds the call an INVITE with Replaces (RFC 3891) targets:
// same Call-ID, to-tag equal to our tag and from-tag equal to the peer's.
// earlyOnly reports the header's early-only flag: the sender wants only
// a call that has not been answered (call pickup) replaced.
func (p *Phone) replacedCall(value string) (c *Call, earlyOnly, ok bool) {
	parts := strings.Split(value, ";")
	callID := strings.TrimSpace(parts[0])
	var toTag, fromTag string
	for _, kv := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch strings.ToLower(k) {
		case "to-tag":
			toTag = v
		case "from-tag":
			fromTag = v
		case "early-only":
			earlyOnly = true
		}
	}
	for _, c := range p.Calls() {
		id, local, remote, ok := c.ReplacesTarget()
		if ok && id == callID && local == toTag && remote == fromTag && c.State() != call.StateTerminated {
			return c, earlyOnly, true
		}
	}
	return nil, earlyOnly, false
}

// acceptReplacement answers an INVITE with Replaces at once and ends the
// replaced call, as the user is already talking to the transferee.
func (p *Phone) acceptReplacement(c, old *Call) {
	p.goTracked(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		if err := c.Answer(ctx); err != nil {
			return
		}
		_ = old.Hangup(ctx)
	})
}
