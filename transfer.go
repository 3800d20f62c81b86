package voipkit

import (
	"context"
	"fmt"
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
	nc, err := p.Dial(context.Background(), rr.Target.String(), opts...)
	p.emit(&TransferRequestEvent{eventBase: eventBase{time.Now()}, Call: old, Target: rr.Target.String(), ReferredBy: rr.ReferredBy, NewCall: nc})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
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
	}()
}
