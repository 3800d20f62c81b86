package call

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	gsip "github.com/emiago/sipgo/sip"

	"github.com/voipkit/voipkit/sip"
)

// DTMFMethod is how a DTMF digit travels.
type DTMFMethod int

// DTMF methods.
const (
	DTMFUnknown DTMFMethod = iota
	// DTMFInfo sends digits as SIP INFO requests (application/dtmf-relay).
	DTMFInfo
)

func (m DTMFMethod) String() string {
	switch m {
	case DTMFInfo:
		return "INFO"
	}
	return "unknown"
}

// ErrInvalidDigit is returned for characters that are not DTMF digits.
var ErrInvalidDigit = errors.New("call: invalid DTMF digit")

// DTMF is a digit received from the peer.
type DTMF struct {
	Digit    rune
	Method   DTMFMethod
	Duration time.Duration
}

// validDigit reports whether r is a DTMF event (RFC 4733 §3.2: 0-9 * # A-D).
func validDigit(r rune) bool {
	return r >= '0' && r <= '9' || r == '*' || r == '#' || r >= 'A' && r <= 'D'
}

// SendDTMF sends digits to the peer with method. A space or comma in
// digits pauses for pause (default 500 ms), so "12 34#" dials 12, waits,
// then 34#. Each digit lasts 160 ms.
func (c *Call) SendDTMF(ctx context.Context, digits string, method DTMFMethod) error {
	digits = strings.ToUpper(digits)
	for _, r := range digits {
		if r != ' ' && r != ',' && !validDigit(r) {
			return fmt.Errorf("%w: %q", ErrInvalidDigit, r)
		}
	}
	c.mu.Lock()
	d, state := c.dialog, c.state
	c.mu.Unlock()
	if d == nil || state != StateConnected {
		return fmt.Errorf("%w: %s", ErrInvalidState, state)
	}
	if method != DTMFInfo {
		return fmt.Errorf("call: DTMF method %s is not supported", method)
	}
	const duration = 160 * time.Millisecond
	for _, r := range digits {
		if r == ' ' || r == ',' {
			t := time.NewTimer(500 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
			continue
		}
		body := fmt.Sprintf("Signal=%c\r\nDuration=%d\r\n", r, duration/time.Millisecond)
		res, err := d.Request(ctx, "INFO", "application/dtmf-relay", []byte(body))
		if err != nil {
			return fmt.Errorf("call: DTMF INFO: %w", err)
		}
		if !res.IsSuccess() {
			return fmt.Errorf("call: DTMF INFO: %d %s", res.StatusCode, res.Reason)
		}
	}
	return nil
}

// handleInfo answers an INFO: DTMF (application/dtmf-relay or
// application/dtmf) becomes an event; other bodies are refused with 415.
func (c *Call) handleInfo(d *sip.Dialog, req *sip.Request, tx gsip.ServerTransaction) {
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.ToLower(strings.TrimSpace(strings.Split(h.Value(), ";")[0]))
	}
	var digit rune
	var dur time.Duration
	switch ct {
	case "application/dtmf-relay":
		digit, dur = parseDTMFRelay(string(req.Body()))
	case "application/dtmf":
		s := strings.TrimSpace(string(req.Body()))
		if len(s) == 1 {
			digit = rune(strings.ToUpper(s)[0])
		}
	case "":
		// An empty INFO is a keep-alive probe (RFC 6086 §4.2.1).
		_ = d.Respond(req, tx, 200, "OK")
		return
	default:
		_ = d.Respond(req, tx, 415, "Unsupported Media Type")
		return
	}
	if !validDigit(digit) {
		_ = d.Respond(req, tx, 400, "Bad DTMF")
		return
	}
	_ = d.Respond(req, tx, 200, "OK")
	c.notify(Event{Call: c, State: c.State(), Prev: c.State(), DTMF: &DTMF{Digit: digit, Method: DTMFInfo, Duration: dur}})
}

// parseDTMFRelay reads "Signal=5\r\nDuration=160" bodies.
func parseDTMFRelay(body string) (rune, time.Duration) {
	var digit rune
	var dur time.Duration
	for _, line := range strings.Split(body, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "signal":
			if len(v) == 1 {
				digit = rune(strings.ToUpper(v)[0])
			} else if n, err := strconv.Atoi(v); err == nil && n >= 10 && n <= 11 {
				digit = map[int]rune{10: '*', 11: '#'}[n]
			}
		case "duration":
			if ms, err := strconv.Atoi(v); err == nil && ms >= 0 && ms < 60000 {
				dur = time.Duration(ms) * time.Millisecond
			}
		}
	}
	return digit, dur
}
