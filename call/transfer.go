package call

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	gsip "github.com/emiago/sipgo/sip"

	"github.com/voipkit/voipkit/sip"
)

// TransferProgress reports how a transfer we asked for (REFER) goes, from
// the transferee's NOTIFY sipfrag bodies (RFC 3515 §2.4.5).
type TransferProgress struct {
	// Code and Reason are the transferee's new call's status (100, 180,
	// 200, 486...).
	Code   int
	Reason string
	// Final is set on the last report; with a 2xx the transfer succeeded
	// and our call is hung up.
	Final bool
}

// ReferRequest is a transfer the peer asks us to make (we are the
// transferee): call Target and report progress with NotifyTransfer.
type ReferRequest struct {
	// Target is the Refer-To URI.
	Target sip.URI
	// ReferredBy is the Referred-By header's value, if any.
	ReferredBy string
	// Replaces, for an attended transfer, is the Replaces header value
	// (RFC 3891) the new INVITE must carry.
	Replaces string
}

// Transfer asks the peer to call target (blind transfer, RFC 3515): it
// sends REFER and returns once the peer accepted it (202). Progress
// arrives as events with TransferProgress; when the transfer succeeds the
// call is hung up, when it fails the call stays up.
func (c *Call) Transfer(ctx context.Context, target sip.URI) error {
	return c.refer(ctx, "<"+target.String()+">")
}

func (c *Call) refer(ctx context.Context, referTo string) error {
	c.mu.Lock()
	d, state := c.dialog, c.state
	c.mu.Unlock()
	if d == nil || state != StateConnected {
		return fmt.Errorf("%w: %s", ErrInvalidState, state)
	}
	res, err := d.Request(ctx, "REFER", "", nil,
		sip.NewHeader("Refer-To", referTo),
		sip.NewHeader("Referred-By", "<"+c.local.String()+">"))
	if err != nil {
		return fmt.Errorf("call: REFER: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("call: REFER: %w", &sip.StatusError{Code: res.StatusCode, Reason: res.Reason, Response: res})
	}
	return nil
}

// TransferAttended asks the peer to replace our call with consult, a
// call we made to (or took from) the transfer target: REFER with a
// Refer-To that carries Replaces (RFC 3891, RFC 5589 §7). Both calls end
// when the transfer succeeds.
func (c *Call) TransferAttended(ctx context.Context, consult *Call) error {
	consult.mu.Lock()
	cd := consult.dialog
	consult.mu.Unlock()
	if cd == nil || consult.State() != StateConnected {
		return fmt.Errorf("%w: consultation call is %s", ErrInvalidState, consult.State())
	}
	// The target matches to-tag against its own tag and from-tag against
	// ours, so from our side to-tag is the remote tag.
	replaces := cd.CallID() + ";to-tag=" + cd.RemoteTag() + ";from-tag=" + cd.LocalTag()
	target := consult.remote
	target.UriParams = nil
	target.Headers = nil
	return c.refer(ctx, "<"+target.String()+"?Replaces="+url.QueryEscape(replaces)+">")
}

// ReplacesTarget reports the Call-ID, local and remote tag of the call's
// dialog, for matching an INVITE with Replaces.
func (c *Call) ReplacesTarget() (callID, localTag, remoteTag string, ok bool) {
	c.mu.Lock()
	d, early, state := c.dialog, c.early, c.state
	c.mu.Unlock()
	if d == nil {
		// An outgoing call still ringing can be replaced too: that is how
		// another phone picks it up.
		if early != nil && (state == StateRinging || state == StateEarlyMedia) {
			return early.CallID(), early.LocalTag(), early.RemoteTag(), true
		}
		return "", "", "", false
	}
	return d.CallID(), d.LocalTag(), d.RemoteTag(), true
}

// handleRefer accepts or declines a REFER according to Config.AcceptRefer
// and hands accepted ones to the owner as an event.
func (c *Call) handleRefer(d *sip.Dialog, req *sip.Request, tx gsip.ServerTransaction) {
	rt := req.ReferTo()
	if rt == nil || rt.Address.Host == "" {
		_ = d.Respond(req, tx, 400, "Bad Refer-To")
		return
	}
	target := rt.Address
	replaces := ""
	if v, ok := target.Headers.Get("Replaces"); ok {
		unescaped, err := url.QueryUnescape(v)
		if err != nil {
			_ = d.Respond(req, tx, 400, "Bad Replaces")
			return
		}
		replaces = unescaped
		target.Headers = nil
	}
	if c.cfg.AcceptRefer != nil && !c.cfg.AcceptRefer(c, target) {
		_ = d.Respond(req, tx, 603, "Declined")
		return
	}
	_ = d.Respond(req, tx, 202, "Accepted")
	rr := &ReferRequest{Target: target, Replaces: replaces}
	if h := req.GetHeader("Referred-By"); h != nil {
		rr.ReferredBy = h.Value()
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		// RFC 3515 §2.4.4: the implicit subscription starts with 100 Trying.
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		_ = c.NotifyTransfer(ctx, 100, "Trying", false)
		cancel()
		c.notify(Event{Call: c, State: c.State(), Prev: c.State(), Refer: rr})
	}()
}

// NotifyTransfer reports the progress of a transfer the peer asked us to
// make (NOTIFY with a message/sipfrag body, RFC 3515 §2.4.5).
func (c *Call) NotifyTransfer(ctx context.Context, code int, reason string, final bool) error {
	c.mu.Lock()
	d := c.dialog
	c.mu.Unlock()
	if d == nil {
		return ErrInvalidState
	}
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	body := fmt.Sprintf("SIP/2.0 %d %s\r\n", code, reason)
	res, err := d.Request(ctx, "NOTIFY", "message/sipfrag;version=2.0", []byte(body),
		sip.NewHeader("Event", "refer"), sip.NewHeader("Subscription-State", state))
	if err != nil {
		return fmt.Errorf("call: NOTIFY: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("call: NOTIFY: %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

// handleNotify takes the transferee's progress reports for our REFER.
func (c *Call) handleNotify(d *sip.Dialog, req *sip.Request, tx gsip.ServerTransaction) {
	ev := req.GetHeader("Event")
	if ev == nil || !strings.EqualFold(strings.TrimSpace(strings.Split(ev.Value(), ";")[0]), "refer") {
		_ = d.Respond(req, tx, 489, "Bad Event")
		return
	}
	code, reason, ok := parseSipfrag(string(req.Body()))
	if !ok {
		_ = d.Respond(req, tx, 400, "Bad sipfrag")
		return
	}
	_ = d.Respond(req, tx, 200, "OK")
	final := code >= 200
	if ss := req.GetHeader("Subscription-State"); ss != nil && strings.HasPrefix(strings.ToLower(strings.TrimSpace(ss.Value())), "terminated") {
		final = true
	}
	c.notify(Event{Call: c, State: c.State(), Prev: c.State(), Transfer: &TransferProgress{Code: code, Reason: reason, Final: final}})
	if final && code >= 200 && code < 300 {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
			defer cancel()
			c.terminate(Cause{By: PartyLocal, Code: 200, Reason: "transferred"})
			_ = d.Bye(ctx, "")
		}()
	}
}

// parseSipfrag reads the status line of a message/sipfrag body.
func parseSipfrag(body string) (int, string, bool) {
	line, _, _ := strings.Cut(body, "\n")
	line = strings.TrimSpace(line)
	rest, ok := strings.CutPrefix(line, "SIP/2.0 ")
	if !ok {
		return 0, "", false
	}
	codeStr, reason, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(codeStr)
	if err != nil || code < 100 || code > 699 {
		return 0, "", false
	}
	return code, reason, true
}
