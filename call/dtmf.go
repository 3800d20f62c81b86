package call

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	gsip "github.com/emiago/sipgo/sip"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/media"
	"github.com/voipkit/voipkit/sip"
)

// DTMFMethod is how a DTMF digit travels.
type DTMFMethod int

// DTMF methods.
const (
	// DTMFUnknown, given to SendDTMF, picks the default method (see
	// Config.DTMFMethod).
	DTMFUnknown DTMFMethod = iota
	// DTMFInfo sends digits as SIP INFO requests (application/dtmf-relay).
	DTMFInfo
	// DTMFRFC4733 sends digits as RTP telephone-event packets (RFC 4733,
	// formerly RFC 2833) on the call's media stream.
	DTMFRFC4733
	// DTMFInband sends digits as dual tones in the audio (ITU-T Q.23).
	DTMFInband
)

func (m DTMFMethod) String() string {
	switch m {
	case DTMFInfo:
		return "INFO"
	case DTMFRFC4733:
		return "RFC4733"
	case DTMFInband:
		return "Inband"
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

// dtmfDuration is the length of each digit SendDTMF sends.
const dtmfDuration = 160 * time.Millisecond

// validDigit reports whether r is a DTMF event (RFC 4733 §3.2: 0-9 * # A-D).
func validDigit(r rune) bool {
	return r >= '0' && r <= '9' || r == '*' || r == '#' || r >= 'A' && r <= 'D'
}

// DTMFMethod returns the method SendDTMF uses for DTMFUnknown:
// Config.DTMFMethod when set, else DTMFRFC4733 when the peer negotiated
// telephone-event and DTMFInfo when it did not.
func (c *Call) DTMFMethod() DTMFMethod {
	if c.cfg.DTMFMethod != DTMFUnknown {
		return c.cfg.DTMFMethod
	}
	if c.media != nil && c.media.TelephoneEvent() {
		return DTMFRFC4733
	}
	return DTMFInfo
}

// SendDTMF sends digits to the peer with method (DTMFUnknown: the
// default, see DTMFMethod). A space or comma in digits pauses for 500
// ms, so "12 34#" dials 12, waits, then 34#. Each digit lasts 160 ms;
// RFC 4733 and in-band digits are at least 60 ms (in-band 100 ms) apart.
// It returns when every digit has been sent (for INFO, answered). RFC
// 4733 fails when the peer did not negotiate telephone-event (wrapping
// media.ErrNoTelephoneEvent).
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
	if method == DTMFUnknown {
		method = c.DTMFMethod()
	}
	switch method {
	case DTMFInfo:
	case DTMFRFC4733:
		if !c.media.TelephoneEvent() {
			return fmt.Errorf("call: DTMF: %w", media.ErrNoTelephoneEvent)
		}
	case DTMFInband:
	default:
		return fmt.Errorf("call: DTMF method %s is not supported", method)
	}
	for _, r := range digits {
		if r == ' ' || r == ',' {
			if method != DTMFInfo {
				// The pause starts once the digits before it are out.
				if err := c.media.WaitDTMF(ctx); err != nil {
					return fmt.Errorf("call: DTMF: %w", err)
				}
			}
			t := time.NewTimer(500 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
			continue
		}
		var err error
		switch method {
		case DTMFInfo:
			err = c.sendInfoDigit(ctx, d, r)
		case DTMFRFC4733:
			err = c.media.SendDTMF(r, dtmfDuration)
		case DTMFInband:
			err = c.media.SendInbandDTMF(r, dtmfDuration)
		}
		if err != nil {
			return fmt.Errorf("call: DTMF: %w", err)
		}
		if c.cfg.DTMFFeedback {
			// Let the local user hear the key, as a desk phone does.
			if tone, terr := audio.NewDTMFTone(r, 100*time.Millisecond, 0.2); terr == nil {
				c.PlayLocal(tone)
			}
		}
	}
	if method != DTMFInfo {
		if err := c.media.WaitDTMF(ctx); err != nil {
			return fmt.Errorf("call: DTMF: %w", err)
		}
	}
	return nil
}

// sendInfoDigit sends one digit by SIP INFO.
func (c *Call) sendInfoDigit(ctx context.Context, d *sip.Dialog, r rune) error {
	body := fmt.Sprintf("Signal=%c\r\nDuration=%d\r\n", r, dtmfDuration/time.Millisecond)
	res, err := d.Request(ctx, "INFO", "application/dtmf-relay", []byte(body))
	if err != nil {
		return fmt.Errorf("INFO: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("INFO: %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

// SetInbandDTMF turns detection of in-band DTMF tones in the peer's
// audio on or off. It is on from the start when Config.DTMFMethod is
// DTMFInband. Detected digits are reported like others, with Method
// DTMFInband. Digits sent as RFC 4733 events and SIP INFO are always
// received.
func (c *Call) SetInbandDTMF(on bool) {
	if c.media != nil {
		c.media.SetInbandDTMF(on)
	}
}

// watchDTMF starts in-band detection when configured and reports the
// digits the media session receives until it closes.
func (c *Call) watchDTMF(m *media.Session) {
	if c.cfg.DTMFMethod == DTMFInband {
		m.SetInbandDTMF(true)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for ev := range m.DTMF() {
			method := DTMFRFC4733
			if ev.Inband {
				method = DTMFInband
			}
			c.notify(Event{Call: c, State: c.State(), Prev: c.State(), DTMF: &DTMF{Digit: ev.Digit, Method: method, Duration: ev.Duration}})
		}
	}()
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
