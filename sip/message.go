package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	gsip "github.com/emiago/sipgo/sip"
)

// DefaultMessageContentType is the Content-Type of a MESSAGE whose
// MessageOptions.ContentType is empty.
const DefaultMessageContentType = "text/plain;charset=UTF-8"

// MessageOptions describes an out-of-dialog MESSAGE request (RFC 3428).
type MessageOptions struct {
	// Target is the Request-URI and To: the recipient.
	Target URI
	// From is our address of record; DisplayName goes with it.
	From        URI
	DisplayName string
	// Proxy, when it has a host, receives the MESSAGE instead of the
	// target's host (outbound proxy / registrar). Its transport parameter
	// chooses the transport.
	Proxy URI
	// Credentials answer 401/407 challenges.
	Credentials Credentials
	// ContentType is the body's media type. Empty means
	// DefaultMessageContentType.
	ContentType string
	// Body is the message content.
	Body []byte
	// Headers are extra headers added to the request.
	Headers []Header
	// CallID is the request's Call-ID. Empty means a random one.
	CallID string
	// Timeout bounds each transaction. Zero means the UA's RequestTimeout.
	Timeout time.Duration
}

// Message sends a MESSAGE outside any dialog and waits for its final
// response, answering 401/407 challenges with o.Credentials. It returns
// the 2xx response; a non-2xx final response is returned as an error
// wrapping a *StatusError, no answer in time as an error wrapping
// ErrTimeout (also when ctx's deadline passes first).
func (u *UA) Message(ctx context.Context, o MessageOptions) (*Response, error) {
	if u.isClosed() {
		return nil, ErrClosed
	}
	if o.Target.Host == "" {
		return nil, fmt.Errorf("%w: target has no host", ErrInvalidURI)
	}
	if o.From.Host == "" {
		return nil, fmt.Errorf("%w: sender has no host", ErrInvalidURI)
	}
	ct := strings.TrimSpace(o.ContentType)
	if ct == "" {
		ct = DefaultMessageContentType
	}
	if strings.ContainsAny(ct, "\r\n") {
		return nil, fmt.Errorf("sip: MESSAGE: invalid content type %q", o.ContentType)
	}
	next := o.Target
	if o.Proxy.Host != "" {
		next = o.Proxy
	}
	dest := hostPort(next)
	tp := uriTransport(next, uriTransport(o.Target, UDP))
	u.LearnHost(dest)

	from := &gsip.FromHeader{DisplayName: o.DisplayName, Address: o.From, Params: gsip.NewParams()}
	from.Address.UriParams = nil
	from.Params.Add("tag", gsip.GenerateTagN(16))
	to := &gsip.ToHeader{Address: o.Target, Params: gsip.NewParams()}
	to.Address.UriParams = nil
	callID := o.CallID
	if callID == "" {
		callID = gsip.GenerateTagN(32)
	}
	cid := gsip.CallIDHeader(callID)

	req := u.newRequest(gsip.MESSAGE, o.Target, tp, dest)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&gsip.CSeqHeader{SeqNo: rand.Uint32N(1<<15) + 1, MethodName: gsip.MESSAGE})
	for _, h := range o.Headers {
		req.AppendHeader(h)
	}
	cth := gsip.ContentTypeHeader(ct)
	req.AppendHeader(&cth)
	req.SetBody(o.Body)

	res, err := u.transact(ctx, req, newAuthSession(o.Credentials), o.Timeout, nil)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrTimeout) {
			err = fmt.Errorf("%w: %w", ErrTimeout, err)
		}
		return nil, fmt.Errorf("sip: MESSAGE: %w", err)
	}
	if !res.IsSuccess() {
		return res, fmt.Errorf("sip: MESSAGE: %w", statusError(res))
	}
	return res, nil
}

// IncomingMessage is a MESSAGE request received by the UA, handed to a
// MessageHandler. Its fields are read from the request; only Accept is
// meant to be set, by the handler.
type IncomingMessage struct {
	// Request is the MESSAGE as received.
	Request *Request
	// From is the sender's address and FromName its display name.
	From     URI
	FromName string
	// To is the recipient as addressed in To; RequestURI is where the
	// request was delivered (a registered Contact when a proxy relayed it).
	To, RequestURI URI
	// ContentType is the Content-Type header value, "" when absent.
	ContentType string
	// Body is the message content.
	Body []byte
	// Dialog is the dialog the MESSAGE was sent in, nil outside dialogs.
	Dialog *Dialog
	// Accept lists the content types the handler accepts. A handler that
	// returns 415 sets it; the response's Accept header carries it.
	Accept []string
}

// MessageHandler is an optional interface for a Config.Handler: a Handler
// that also implements it receives MESSAGE requests (RFC 3428), outside
// dialogs and inside dialogs whose RequestHandler is unset. Without it
// MESSAGE is answered 405.
//
// HandleMessage is called on its own goroutine and should return quickly:
// the response waits for it. It returns the status to answer: 0 or a 2xx
// accept the message (0 means 200), 415 refuses its content type (set
// m.Accept), any other 3xx-6xx rejects it.
type MessageHandler interface {
	HandleMessage(m *IncomingMessage) int
}

// onMessage serves MESSAGE requests.
func (u *UA) onMessage(req *gsip.Request, tx gsip.ServerTransaction) {
	var d *Dialog
	if to := req.To(); to != nil {
		if _, ok := to.Params.Get("tag"); ok {
			d = u.dialogFor(req.CallID(), req.From(), to, false)
			if d == nil {
				_ = tx.Respond(gsip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
				return
			}
			d.mu.Lock()
			custom := d.handler != nil
			d.mu.Unlock()
			if custom {
				d.handleRequest(req, tx)
				return
			}
		}
	}
	h, ok := u.cfg.Handler.(MessageHandler)
	if !ok {
		u.onNoRoute(req, tx)
		return
	}
	m := &IncomingMessage{Request: req, RequestURI: req.Recipient, Body: req.Body(), Dialog: d}
	if f := req.From(); f != nil {
		m.From, m.FromName = f.Address, f.DisplayName
	}
	if to := req.To(); to != nil {
		m.To = to.Address
	}
	if ct := req.ContentType(); ct != nil {
		m.ContentType = strings.TrimSpace(ct.Value())
	}
	code := h.HandleMessage(m)
	if code == 0 {
		code = 200
	}
	if code < 200 || code > 699 {
		u.log.Warn("sip: message handler returned an invalid status", "code", code)
		code = 500
	}
	res := gsip.NewResponseFromRequest(req, code, reasonPhrase(code), nil)
	if code == 415 && len(m.Accept) > 0 {
		res.AppendHeader(gsip.NewHeader("Accept", strings.Join(m.Accept, ", ")))
	}
	if code == 405 {
		res.AppendHeader(gsip.NewHeader("Allow", allowHeader))
	}
	res.AppendHeader(gsip.NewHeader("User-Agent", u.cfg.UserAgent))
	if err := tx.Respond(res); err != nil {
		u.log.Info("sip: respond to MESSAGE", "err", err)
	}
}

// reasonPhrase returns the RFC 3261 reason phrase for code.
func reasonPhrase(code int) string {
	switch code {
	case 200:
		return "OK"
	case 202:
		return "Accepted"
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 413:
		return "Request Entity Too Large"
	case 415:
		return "Unsupported Media Type"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 488:
		return "Not Acceptable Here"
	case 500:
		return "Server Internal Error"
	case 503:
		return "Service Unavailable"
	case 603:
		return "Decline"
	}
	switch code / 100 {
	case 2:
		return "OK"
	case 3:
		return "Redirect"
	case 4:
		return "Client Error"
	case 5:
		return "Server Error"
	}
	return "Global Failure"
}
