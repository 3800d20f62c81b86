package voipkit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/voipkit/voipkit/chat"
	"github.com/voipkit/voipkit/sip"
)

// composingRefresh is the refresh interval announced in active isComposing
// indications sent by SendComposing.
const composingRefresh = 60 * time.Second

// MessageOption adjusts one outgoing message or isComposing indication.
type MessageOption func(*messageSettings)

type messageSettings struct {
	account     *Account
	contentType string
	headers     []sip.Header
}

// WithMessageAccount sends from acc instead of the first account.
func WithMessageAccount(acc *Account) MessageOption {
	return func(s *messageSettings) { s.account = acc }
}

// WithMessageContentType sets the Content-Type of a SendMessage body
// instead of "text/plain;charset=UTF-8", e.g. "text/html;charset=UTF-8".
func WithMessageContentType(contentType string) MessageOption {
	return func(s *messageSettings) { s.contentType = contentType }
}

// WithMessageHeader adds a header to the MESSAGE request.
func WithMessageHeader(name, value string) MessageOption {
	return func(s *messageSettings) { s.headers = append(s.headers, sip.NewHeader(name, value)) }
}

// MessageResult describes a message SendMessage sent.
type MessageResult struct {
	// ID identifies the message (it is also the request's Call-ID) and
	// matches the MessageStatusEvent.
	ID string
	// To is the target URI.
	To string
	// Code and Reason are the final response's status, 0 when none
	// arrived.
	Code   int
	Reason string
}

// SendMessage sends text to target as an instant message (a SIP MESSAGE,
// RFC 3428) and waits for the final answer. target is a number or user
// (completed with the account's domain), user@host or a sip: URI, as for
// Dial. The message goes from the first account (or WithMessageAccount)
// through its server with its credentials; without accounts it goes peer
// to peer and target must name a host.
//
// The outcome is returned and also emitted as a MessageStatusEvent
// (Sent on 2xx; Failed with the status code, or with Err wrapping
// ErrTimeout when no answer came in time). The result is nil, and no event
// is emitted, when the message could not be attempted (closed Phone,
// invalid target, unknown account).
func (p *Phone) SendMessage(ctx context.Context, target, text string, opts ...MessageOption) (*MessageResult, error) {
	s := messageSettings{contentType: chat.TextPlain}
	for _, o := range opts {
		o(&s)
	}
	return p.sendMessage(ctx, target, s, []byte(text), true)
}

// SendComposing tells target whether the user is typing a message to it
// (an isComposing indication, RFC 3994), addressed like SendMessage. An
// active indication promises a refresh within 60 s: call it again with
// true while the user keeps typing, and with false when they stop (RFC
// 3994 suggests 15 s after the last keystroke). A message ends the
// indication at the receiver, so no idle indication is needed before
// SendMessage. No MessageStatusEvent is emitted.
func (p *Phone) SendComposing(ctx context.Context, target string, active bool, opts ...MessageOption) error {
	c := chat.Composing{State: chat.StateIdle, ContentType: "text/plain"}
	if active {
		c.State = chat.StateActive
		c.LastActive = time.Now()
		c.Refresh = composingRefresh
	}
	body, err := chat.MarshalComposing(c)
	if err != nil {
		return fmt.Errorf("voipkit: composing: %w", err)
	}
	var s messageSettings
	for _, o := range opts {
		o(&s)
	}
	s.contentType = chat.ComposingType
	_, err = p.sendMessage(ctx, target, s, body, false)
	return err
}

func (p *Phone) sendMessage(ctx context.Context, target string, s messageSettings, body []byte, report bool) (*MessageResult, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if s.account != nil && s.account.p != p {
		p.mu.Unlock()
		return nil, fmt.Errorf("voipkit: message: account of another phone: %w", ErrNoAccount)
	}
	if s.account == nil && len(p.accounts) > 0 {
		s.account = p.accounts[0]
	}
	p.mu.Unlock()

	domain := ""
	if s.account != nil {
		domain = s.account.domain()
	}
	uri, err := sip.ParseTarget(target, domain)
	if err != nil {
		return nil, fmt.Errorf("voipkit: message: %w", err)
	}
	o := sip.MessageOptions{Target: uri, ContentType: s.contentType, Body: body, Headers: s.headers, CallID: rand.Text()}
	if acc := s.account; acc != nil {
		o.From = acc.aor
		o.DisplayName = acc.cfg.DisplayName
		o.Proxy = acc.server
		o.Credentials = acc.credentials()
	} else {
		o.From = sip.URI{Scheme: "sip", User: "anonymous", Host: p.ua.Host()}
	}
	res, err := p.ua.Message(ctx, o)
	r := &MessageResult{ID: o.CallID, To: uri.String()}
	if res != nil {
		r.Code, r.Reason = res.StatusCode, res.Reason
	}
	if err != nil {
		err = fmt.Errorf("voipkit: message to %s: %w", r.To, err)
	}
	if report {
		ev := &MessageStatusEvent{eventBase: eventBase{time.Now()}, ID: r.ID, To: r.To, Status: MessageSent, Code: r.Code, Reason: r.Reason, Err: err}
		if err != nil {
			ev.Status = MessageFailed
		}
		p.emit(ev)
	}
	if err != nil {
		if errors.Is(err, sip.ErrClosed) {
			err = fmt.Errorf("%w: %w", ErrClosed, err)
		}
		return r, err
	}
	return r, nil
}

// messageAccept lists the content types the Phone takes in MESSAGE.
var messageAccept = []string{"text/plain", chat.ComposingType}

// handleMessage turns an incoming MESSAGE into a MessageEvent or a
// ComposingEvent and returns the status to answer: 200, 400 for a missing
// Content-Type or a malformed isComposing document, 415 for bodies that
// are neither text/* nor isComposing.
func (p *Phone) handleMessage(m *sip.IncomingMessage) int {
	<-p.ready
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 480
	}
	acc := p.accountFor(m.RequestURI.User)
	if acc != nil && acc.cfg.User != m.RequestURI.User {
		acc = p.accountFor(m.To.User)
	}
	p.mu.Unlock()

	now := time.Now()
	from, to := m.From.String(), m.To.String()
	ct := m.ContentType
	if ct == "" && len(m.Body) > 0 {
		return 400
	}
	if chat.IsComposing(ct) {
		c, err := chat.ParseComposing(m.Body)
		if err != nil {
			p.log.Info("voipkit: isComposing refused", "from", from, "err", err)
			return 400
		}
		ev := &ComposingEvent{eventBase: eventBase{now}, From: from, FromName: m.FromName, To: to, Active: c.Active(), Account: acc}
		if ev.Active {
			ev.Refresh = c.Refresh
			if ev.Refresh == 0 {
				ev.Refresh = chat.DefaultRefresh
			}
		}
		p.emit(ev)
		return 200
	}
	if ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !strings.HasPrefix(mt, "text/") {
			m.Accept = messageAccept
			return 415
		}
	}
	p.emit(&MessageEvent{eventBase: eventBase{now}, From: from, FromName: m.FromName, To: to, ContentType: ct, Body: m.Body, Account: acc})
	return 200
}
