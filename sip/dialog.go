package sip

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	gsip "github.com/emiago/sipgo/sip"
)

// TerminationCause tells who or what ended a dialog.
type TerminationCause int

// Termination causes.
const (
	CauseUnknown TerminationCause = iota
	// CauseLocal: we ended it (BYE sent, or the UA closed).
	CauseLocal
	// CauseRemote: the peer sent BYE.
	CauseRemote
	// CauseTimeout: the peer never acknowledged our 2xx (RFC 3261 13.3.1.4).
	CauseTimeout
)

func (c TerminationCause) String() string {
	switch c {
	case CauseLocal:
		return "local"
	case CauseRemote:
		return "remote"
	case CauseTimeout:
		return "timeout"
	}
	return "unknown"
}

// Termination describes how a dialog ended.
type Termination struct {
	Cause TerminationCause
	// Code is the SIP status that describes the end (200 for a BYE, 408
	// for an ACK timeout); Reason is free text, from a Reason header when
	// the peer sent one.
	Code   int
	Reason string
}

// RequestHandler handles an in-dialog request other than BYE and ACK. It
// must respond on tx.
type RequestHandler func(req *Request, tx gsip.ServerTransaction)

// Dialog is an established INVITE dialog (RFC 3261 §12). It is safe for
// concurrent use.
type Dialog struct {
	ua         *UA
	callID     string
	localTag   string
	remoteTag  string
	local      *gsip.FromHeader // our identity with our tag, as From of our requests
	remote     *gsip.ToHeader   // peer identity with its tag, as To of our requests
	contact    URI
	tp         Transport
	auth       *authSession
	outbound   string // destination for requests when there is no route set
	isCaller   bool   // we sent the initial INVITE (owner of the Call-ID)
	timer      SessionTimer
	peerAllow  []string
	refreshed  chan struct{}
	ackHandler func(answer []byte)

	mu           sync.Mutex
	remoteTarget URI
	routeSet     []URI
	localSeq     uint32
	remoteSeq    uint32
	lastAck      *gsip.Request
	acked        chan struct{}
	ackedClosed  bool
	handler      RequestHandler
	terminated   bool
	term         Termination
	done         chan struct{}
	remoteBody   []byte
	localBody    []byte
	inviteRemote *gsip.Request // the INVITE we received (UAS side)
}

func newDialog(u *UA, callID string, local *gsip.FromHeader, remote *gsip.ToHeader, tp Transport) *Dialog {
	lt, _ := local.Params.Get("tag")
	rt, _ := remote.Params.Get("tag")
	return &Dialog{
		ua:        u,
		callID:    callID,
		localTag:  lt,
		remoteTag: rt,
		local:     local,
		remote:    remote,
		tp:        tp,
		done:      make(chan struct{}),
		acked:     make(chan struct{}),
		refreshed: make(chan struct{}, 1),
	}
}

// CallID returns the dialog's Call-ID.
func (d *Dialog) CallID() string { return d.callID }

// LocalURI and RemoteURI return the parties' addresses.
func (d *Dialog) LocalURI() URI { return d.local.Address }

// RemoteURI returns the peer's address (From or To of the INVITE).
func (d *Dialog) RemoteURI() URI { return d.remote.Address }

// RemoteDisplayName returns the peer's display name, if any.
func (d *Dialog) RemoteDisplayName() string { return d.remote.DisplayName }

// LocalTag and RemoteTag return the dialog's tags; with CallID they
// identify it (for Replaces, RFC 3891).
func (d *Dialog) LocalTag() string { return d.localTag }

// RemoteTag returns the peer's tag.
func (d *Dialog) RemoteTag() string { return d.remoteTag }

// RemoteTarget returns the peer's current contact URI.
func (d *Dialog) RemoteTarget() URI {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.remoteTarget
}

// Done is closed when the dialog has ended.
func (d *Dialog) Done() <-chan struct{} { return d.done }

// Termination reports how the dialog ended; valid after Done is closed.
func (d *Dialog) Termination() Termination {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.term
}

// SetCredentials sets the credentials used when the peer's proxy
// challenges our in-dialog requests (BYE, re-INVITE, INFO...). A dialog we
// initiated already has the INVITE's credentials.
func (d *Dialog) SetCredentials(c Credentials) {
	if c.Username == "" {
		return
	}
	d.mu.Lock()
	if d.auth == nil {
		d.auth = newAuthSession(c)
	}
	d.mu.Unlock()
}

// SetRequestHandler installs the handler for in-dialog requests such as
// re-INVITE, INFO or UPDATE. Without one they are answered 501.
func (d *Dialog) SetRequestHandler(h RequestHandler) {
	d.mu.Lock()
	d.handler = h
	d.mu.Unlock()
}

func (d *Dialog) terminate(t Termination) bool {
	d.mu.Lock()
	if d.terminated {
		d.mu.Unlock()
		return false
	}
	d.terminated = true
	d.term = t
	d.mu.Unlock()
	d.ua.removeDialog(d)
	close(d.done)
	return true
}

func (d *Dialog) isTerminated() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.terminated
}

// newRequest builds an in-dialog request (RFC 3261 12.2.1.1).
func (d *Dialog) newRequest(method gsip.RequestMethod) *gsip.Request {
	d.mu.Lock()
	target := d.remoteTarget
	routes := append([]URI(nil), d.routeSet...)
	if method != gsip.ACK {
		d.localSeq++
	}
	seq := d.localSeq
	d.mu.Unlock()

	dest := d.outbound
	tp := d.tp
	if len(routes) > 0 {
		dest = hostPort(routes[0])
		tp = uriTransport(routes[0], d.tp)
	} else if target.Host != "" {
		dest = hostPort(target)
		tp = uriTransport(target, d.tp)
	}
	req := d.ua.newRequest(method, target, tp, dest)
	for _, r := range routes {
		req.AppendHeader(&gsip.RouteHeader{Address: r})
	}
	from := gsip.FromHeader{DisplayName: d.local.DisplayName, Address: d.local.Address, Params: d.local.Params.Clone()}
	req.AppendHeader(&from)
	to := gsip.ToHeader{DisplayName: d.remote.DisplayName, Address: d.remote.Address, Params: d.remote.Params.Clone()}
	req.AppendHeader(&to)
	cid := gsip.CallIDHeader(d.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&gsip.CSeqHeader{SeqNo: seq, MethodName: method})
	req.AppendHeader(&gsip.ContactHeader{Address: d.contact, Params: gsip.NewParams()})
	return req
}

// Bye ends the dialog by sending BYE. The dialog counts as ended by us
// whatever the peer answers.
func (d *Dialog) Bye(ctx context.Context, reason string) error {
	if d.isTerminated() {
		return ErrDialogTerminated
	}
	req := d.newRequest(gsip.BYE)
	if reason != "" {
		req.AppendHeader(gsip.NewHeader("Reason", reason))
	}
	req.SetBody(nil)
	// The dialog ends when the BYE is answered (or not), so media keeps
	// flowing until the peer has seen the BYE instead of hitting a closed
	// port and reporting an error.
	res, err := d.ua.transact(ctx, req, d.auth, min(d.ua.cfg.RequestTimeout, 8*time.Second), nil)
	d.terminate(Termination{Cause: CauseLocal, Code: 200, Reason: "BYE"})
	if err != nil {
		return fmt.Errorf("sip: BYE: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("sip: BYE: %w", statusError(res))
	}
	return nil
}

// Request sends an in-dialog request (INFO, UPDATE, re-INVITE...) and
// returns its final response.
func (d *Dialog) Request(ctx context.Context, method string, contentType string, body []byte, headers ...Header) (*Response, error) {
	if d.isTerminated() {
		return nil, ErrDialogTerminated
	}
	req := d.newRequest(gsip.RequestMethod(strings.ToUpper(method)))
	for _, h := range headers {
		req.AppendHeader(h)
	}
	if contentType != "" {
		ct := gsip.ContentTypeHeader(contentType)
		req.AppendHeader(&ct)
	}
	req.SetBody(body)
	return d.ua.transact(ctx, req, d.auth, 0, nil)
}

func (d *Dialog) handleRequest(req *gsip.Request, tx gsip.ServerTransaction) {
	if cs := req.CSeq(); cs != nil {
		d.mu.Lock()
		if d.remoteSeq != 0 && cs.SeqNo < d.remoteSeq && req.Method != gsip.ACK {
			d.mu.Unlock()
			_ = tx.Respond(gsip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
			return
		}
		d.remoteSeq = cs.SeqNo
		d.mu.Unlock()
	}
	if req.Method == gsip.BYE {
		_ = tx.Respond(gsip.NewResponseFromRequest(req, 200, "OK", nil))
		// A BYE may overtake the ACK it follows; the dialog ends either way.
		d.markAcked()
		reason := "BYE"
		if h := req.GetHeader("Reason"); h != nil {
			reason = h.Value()
		}
		d.terminate(Termination{Cause: CauseRemote, Code: 200, Reason: reason})
		return
	}
	d.mu.Lock()
	h := d.handler
	d.mu.Unlock()
	if h == nil {
		_ = tx.Respond(gsip.NewResponseFromRequest(req, 501, "Not Implemented", nil))
		return
	}
	h(req, tx)
}

func (d *Dialog) markAcked() {
	d.mu.Lock()
	if !d.ackedClosed {
		d.ackedClosed = true
		close(d.acked)
	}
	d.mu.Unlock()
}

func (d *Dialog) ackReceived(req *gsip.Request) {
	d.markAcked()
	if body := req.Body(); len(body) > 0 {
		d.mu.Lock()
		h := d.ackHandler
		d.mu.Unlock()
		if h != nil {
			h(body)
		}
	}
}

// SetAckHandler installs what takes the SDP answer carried by an ACK, the
// last step of an offer-less (re-)INVITE where our 2xx held the offer.
func (d *Dialog) SetAckHandler(h func(answer []byte)) {
	d.mu.Lock()
	d.ackHandler = h
	d.mu.Unlock()
}

// resendAck answers a retransmitted 2xx with the ACK we sent before.
func (d *Dialog) resendAck() {
	d.mu.Lock()
	ack := d.lastAck
	d.mu.Unlock()
	if ack != nil {
		_ = d.ua.cli.WriteRequest(ack.Clone(), noBuild)
	}
}

// RemoteBody returns the body (SDP) of the peer's INVITE or 2xx.
func (d *Dialog) RemoteBody() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.remoteBody
}
