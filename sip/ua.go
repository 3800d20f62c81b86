// Package sip is voipkit's SIP user agent, built on the transaction and
// transport layers of github.com/emiago/sipgo: UDP and TCP transports,
// digest authentication, registration with refresh, and INVITE dialogs in
// both directions.
//
// The package knows nothing about media: bodies (SDP) are opaque bytes that
// the call layer produces and consumes.
package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	gsip "github.com/emiago/sipgo/sip"
)

// Request and Response are SIP messages as parsed by sipgo.
type (
	Request  = gsip.Request
	Response = gsip.Response
	URI      = gsip.Uri
	Header   = gsip.Header
)

// Transport names a SIP transport.
type Transport string

// Transports supported by the UA.
const (
	UDP Transport = "UDP"
	TCP Transport = "TCP"
)

// Handler receives requests that start something new. Its methods are
// called on their own goroutine and may block.
type Handler interface {
	// HandleInvite is called for each out-of-dialog INVITE. The handler
	// must eventually Accept or Reject it (a 100 Trying has been sent).
	HandleInvite(inv *IncomingInvite)
}

// Config configures a UA. The zero value listens on UDP and TCP on all IPv4
// interfaces on one ephemeral port.
type Config struct {
	// ListenAddr is the local address for both UDP and TCP. A zero address
	// means 0.0.0.0; a zero port means an ephemeral port shared by both.
	ListenAddr netip.AddrPort
	// AdvertisedHost is the host placed in Via and Contact. Empty means the
	// listen IP, or when that is unspecified the IP of the interface that
	// routes towards the first server contacted (127.0.0.1 as a fallback).
	AdvertisedHost string
	// DisableUDP and DisableTCP turn transports off.
	DisableUDP, DisableTCP bool
	// UserAgent is sent in the User-Agent header. Default "voipkit".
	UserAgent string
	// RequestTimeout bounds how long a non-INVITE request waits for a final
	// response. Zero means 32 s (64*T1, RFC 3261 Timer F).
	RequestTimeout time.Duration
	// MinSE is the shortest session timer interval we accept from callers
	// (RFC 4028 Min-SE); shorter ones get 422. Zero means 90 s.
	MinSE time.Duration
	// Handler receives new incoming INVITEs. Nil rejects them with 480.
	Handler Handler
	// Logger receives diagnostics. Nil discards them.
	Logger *slog.Logger
}

// UA is a SIP user agent bound to local UDP/TCP sockets. It is safe for
// concurrent use.
type UA struct {
	cfg     Config
	log     *slog.Logger
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	cli     *sipgo.Client
	udpConn net.PacketConn
	tcpLn   net.Listener
	host    string
	port    int
	stun    stunState // public UDP address learned by STUN (stun.go)

	mu      sync.Mutex
	dialogs map[string]*Dialog
	invites map[string]*IncomingInvite // by Call-ID + From tag, until answered
	subs    subRegistry                // subscriptions by Call-ID + local tag
	closed  bool

	wg      sync.WaitGroup
	closeCh chan struct{}

	// draining drops every received message once Close has begun; lastRead
	// (Unix nanoseconds) dates the last one let through, which sipgo may
	// still be handling on a goroutine of its own.
	draining atomic.Bool
	lastRead atomic.Int64
}

// NewUA binds the configured sockets and starts serving.
func NewUA(cfg Config) (*UA, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "voipkit"
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 32 * time.Second
	}
	if cfg.DisableUDP && cfg.DisableTCP {
		return nil, fmt.Errorf("%w: no transport enabled", ErrTransport)
	}
	u := &UA{
		cfg:     cfg,
		log:     log,
		dialogs: map[string]*Dialog{},
		invites: map[string]*IncomingInvite{},
		closeCh: make(chan struct{}),
	}
	if err := u.listen(); err != nil {
		return nil, err
	}
	u.host = cfg.AdvertisedHost
	if u.host == "" {
		ip := cfg.ListenAddr.Addr()
		if ip.IsValid() && !ip.IsUnspecified() {
			u.host = ip.String()
		}
	}
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentTransactionLayerOptions(
			gsip.WithTransactionLayerLogger(log),
			gsip.WithTransactionLayerUnhandledResponseHandler(u.handleStrayResponse),
		),
		sipgo.WithUserAgentTransportLayerOptions(gsip.WithTransportLayerLogger(log), gsip.WithTransportLayerReadFilter(u.readFilter)),
	)
	if err != nil {
		u.closeSockets()
		return nil, fmt.Errorf("sip: create user agent: %w", err)
	}
	u.ua = ua
	u.srv, _ = sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	u.cli, _ = sipgo.NewClient(ua, sipgo.WithClientLogger(log))
	u.srv.OnInvite(u.onInvite)
	u.srv.OnAck(u.onAck)
	u.srv.OnBye(u.onInDialog)
	u.srv.OnCancel(u.onCancel)
	u.srv.OnOptions(u.onOptions)
	for _, m := range []gsip.RequestMethod{gsip.INFO, gsip.UPDATE, gsip.PRACK, gsip.REFER} {
		u.srv.OnRequest(m, u.onInDialog)
	}
	u.srv.OnRequest(gsip.SUBSCRIBE, u.onSubscribe)
	u.srv.OnRequest(gsip.NOTIFY, u.onNotify)
	u.srv.OnRequest(gsip.MESSAGE, u.onMessage)
	u.srv.OnNoRoute(u.onNoRoute)

	if u.udpConn != nil {
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			_ = u.srv.ServeUDP(u.udpConn)
		}()
	}
	if u.tcpLn != nil {
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			_ = u.srv.ServeTCP(u.tcpLn)
		}()
	}
	if u.udpConn != nil {
		// Requests must leave from the listener socket, which sipgo only
		// knows once ServeUDP has registered it.
		addr := u.udpConn.LocalAddr().String()
		for i := 0; i < 400; i++ {
			if c, err := u.ua.TransportLayer().GetConnection("udp", addr); err == nil && c != nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return u, nil
}

// listen binds UDP and TCP on one port. With an ephemeral port it retries a
// few times, because the port the kernel picks for UDP may be taken for TCP.
func (u *UA) listen() error {
	ip := u.cfg.ListenAddr.Addr()
	if !ip.IsValid() {
		ip = netip.IPv4Unspecified()
	}
	network := "4"
	if ip.Is6() && !ip.Is4In6() {
		network = "6"
	}
	port := int(u.cfg.ListenAddr.Port())
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		var udp net.PacketConn
		var tcp net.Listener
		var err error
		p := port
		if !u.cfg.DisableUDP {
			udp, err = net.ListenPacket("udp"+network, netip.AddrPortFrom(ip, uint16(p)).String())
			if err != nil {
				return fmt.Errorf("%w: listen udp: %w", ErrTransport, err)
			}
			p = udp.LocalAddr().(*net.UDPAddr).Port
		}
		if !u.cfg.DisableTCP {
			tcp, err = net.Listen("tcp"+network, netip.AddrPortFrom(ip, uint16(p)).String())
			if err != nil {
				if udp != nil {
					_ = udp.Close()
				}
				lastErr = err
				if port != 0 {
					return fmt.Errorf("%w: listen tcp: %w", ErrTransport, err)
				}
				continue
			}
			p = tcp.Addr().(*net.TCPAddr).Port
		}
		u.udpConn, u.tcpLn, u.port = udp, tcp, p
		return nil
	}
	return fmt.Errorf("%w: no port free for both UDP and TCP: %w", ErrTransport, lastErr)
}

func (u *UA) closeSockets() {
	if u.udpConn != nil {
		_ = u.udpConn.Close()
	}
	if u.tcpLn != nil {
		_ = u.tcpLn.Close()
	}
}

// Port reports the local SIP port (shared by UDP and TCP).
func (u *UA) Port() int { return u.port }

// Host reports the host advertised in Via and Contact.
func (u *UA) Host() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.host == "" {
		return "127.0.0.1"
	}
	return u.host
}

// LearnHost fixes the advertised host from the route towards dest when the
// UA listens on an unspecified address. The first call wins.
func (u *UA) LearnHost(dest string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.host != "" {
		return
	}
	u.host = "127.0.0.1"
	c, err := net.Dial("udp", dest) // connect only: no datagram is sent
	if err != nil {
		return
	}
	defer c.Close()
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && !a.IP.IsUnspecified() {
		u.host = a.IP.String()
	}
}

// ContactURI returns our Contact URI for user over transport.
func (u *UA) ContactURI(user string, tp Transport) URI {
	host, port := u.advertised(tp)
	uri := URI{Scheme: "sip", User: user, Host: host, Port: port, UriParams: gsip.NewParams()}
	if tp == TCP {
		uri.UriParams.Add("transport", "tcp")
	}
	return uri
}

// Close stops serving, ends every dialog without signalling and releases
// sockets and goroutines. It is idempotent.
func (u *UA) Close() error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return nil
	}
	u.closed = true
	dialogs := make([]*Dialog, 0, len(u.dialogs))
	for _, d := range u.dialogs {
		dialogs = append(dialogs, d)
	}
	u.mu.Unlock()
	close(u.closeCh)
	for _, d := range dialogs {
		d.terminate(Termination{Cause: CauseLocal, Reason: "user agent closed"})
	}
	// Stop sipgo's layers before the sockets go, so a request it is still
	// handling cannot open a fresh socket once the listener is gone.
	u.draining.Store(true)
	err := u.ua.Close()
	u.closeSockets()
	u.wg.Wait()
	// sipgo handles each message on a goroutine of its own, and answering a
	// request whose listener has left the pool makes it open a fresh socket.
	// Closing the transport again once our goroutines have stopped, and once
	// more after the last message read has had time to be handled, releases
	// such a socket.
	tl := u.ua.TransportLayer()
	_ = tl.Close()
	if wait := time.Until(time.Unix(0, u.lastRead.Load()).Add(lateHandlerGrace)); wait > 0 {
		time.Sleep(wait)
		_ = tl.Close()
	}
	return err
}

// lateHandlerGrace bounds how long sipgo takes to handle a message it read
// just before Close began.
const lateHandlerGrace = 50 * time.Millisecond

// readFilter sees every datagram and stream chunk before sipgo parses it.
func (u *UA) readFilter(props gsip.TransportReadProps, data []byte) ([]byte, error) {
	if u.draining.Load() {
		return nil, nil
	}
	u.lastRead.Store(time.Now().UnixNano())
	return u.stunFilter(props, data)
}

func (u *UA) isClosed() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.closed
}

func (u *UA) onOptions(req *gsip.Request, tx gsip.ServerTransaction) {
	res := gsip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(gsip.NewHeader("Allow", allowHeader))
	res.AppendHeader(gsip.NewHeader("Accept", "application/sdp"))
	_ = tx.Respond(res)
}

const allowHeader = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY, MESSAGE"

func (u *UA) onNoRoute(req *gsip.Request, tx gsip.ServerTransaction) {
	res := gsip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil)
	res.AppendHeader(gsip.NewHeader("Allow", allowHeader))
	_ = tx.Respond(res)
}

func (u *UA) handleStrayResponse(res *gsip.Response) {
	// A retransmitted 2xx to an INVITE whose transaction is gone: re-ACK it
	// so the peer stops retransmitting (RFC 3261 13.2.2.4).
	if cseq := res.CSeq(); cseq != nil && cseq.MethodName == gsip.INVITE && res.IsSuccess() {
		if d := u.dialogFor(res.CallID(), res.From(), res.To(), true); d != nil {
			d.resendAck()
		}
	}
}

// dialogKey identifies a dialog by Call-ID and local tag; the remote tag is
// checked separately because early dialogs may not know it.
func dialogKey(callID, localTag string) string { return callID + "\x00" + localTag }

func (u *UA) addDialog(d *Dialog) {
	u.mu.Lock()
	u.dialogs[dialogKey(d.callID, d.localTag)] = d
	u.mu.Unlock()
}

func (u *UA) removeDialog(d *Dialog) {
	u.mu.Lock()
	k := dialogKey(d.callID, d.localTag)
	if u.dialogs[k] == d {
		delete(u.dialogs, k)
	}
	u.mu.Unlock()
}

// dialogFor finds the dialog a message belongs to. For requests we
// receive, our tag is in To; for responses to our requests, in From.
func (u *UA) dialogFor(callID *gsip.CallIDHeader, from *gsip.FromHeader, to *gsip.ToHeader, response bool) *Dialog {
	if callID == nil || from == nil || to == nil {
		return nil
	}
	var local string
	if response {
		local, _ = from.Params.Get("tag")
	} else {
		local, _ = to.Params.Get("tag")
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.dialogs[dialogKey(string(*callID), local)]
}

func (u *UA) onAck(req *gsip.Request, tx gsip.ServerTransaction) {
	if d := u.dialogFor(req.CallID(), req.From(), req.To(), false); d != nil {
		d.ackReceived(req)
	}
}

func (u *UA) onInDialog(req *gsip.Request, tx gsip.ServerTransaction) {
	to := req.To()
	if req.Method == gsip.PRACK && to != nil && req.CallID() != nil {
		tag, _ := to.Params.Get("tag")
		u.mu.Lock()
		in := u.invites[dialogKey(string(*req.CallID()), tag)]
		u.mu.Unlock()
		if in != nil {
			in.handlePrack(req, tx)
			return
		}
	}
	if req.Method == gsip.UPDATE && to != nil && req.CallID() != nil {
		tag, _ := to.Params.Get("tag")
		u.mu.Lock()
		in := u.invites[dialogKey(string(*req.CallID()), tag)]
		u.mu.Unlock()
		if in != nil && u.dialogFor(req.CallID(), req.From(), to, false) == nil {
			in.handleEarlyUpdate(req, tx)
			return
		}
	}
	if to != nil {
		if _, ok := to.Params.Get("tag"); ok {
			d := u.dialogFor(req.CallID(), req.From(), to, false)
			if d == nil {
				_ = tx.Respond(gsip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
				return
			}
			d.handleRequest(req, tx)
			return
		}
	}
	switch req.Method {
	case gsip.BYE, gsip.INFO, gsip.UPDATE, gsip.PRACK, gsip.NOTIFY:
		_ = tx.Respond(gsip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	default:
		u.onNoRoute(req, tx)
	}
}

func (u *UA) onCancel(req *gsip.Request, tx gsip.ServerTransaction) {
	// sipgo answers a CANCEL that matches a live INVITE transaction itself;
	// we get here only when none matches.
	_ = tx.Respond(gsip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
}

// newRequest builds an out-of-dialog request with Via, Max-Forwards,
// User-Agent and, for UDP, the listener as the sending socket so responses
// and later requests use one port.
func (u *UA) newRequest(method gsip.RequestMethod, recipient URI, tp Transport, dest string) *gsip.Request {
	req := gsip.NewRequest(method, recipient)
	if tp == "" {
		tp = UDP
	}
	req.SetTransport(string(tp))
	if dest != "" {
		req.SetDestination(dest)
	}
	u.addVia(req)
	mf := gsip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(gsip.NewHeader("User-Agent", u.cfg.UserAgent))
	return req
}

func (u *UA) addVia(req *gsip.Request) {
	host, port := u.advertised(Transport(strings.ToUpper(req.Transport())))
	via := &gsip.ViaHeader{
		ProtocolName:    "SIP",
		ProtocolVersion: "2.0",
		Transport:       req.Transport(),
		Host:            host,
		Port:            port,
		Params:          gsip.NewParams(),
	}
	via.Params.Add("branch", gsip.GenerateBranch())
	via.Params.Add("rport", "")
	req.PrependHeader(via)
	if strings.EqualFold(req.Transport(), "UDP") && u.udpConn != nil {
		if a, ok := u.udpConn.LocalAddr().(*net.UDPAddr); ok {
			req.Laddr = gsip.Addr{IP: a.IP, Port: a.Port, Hostname: a.IP.String()}
		}
	}
}

func noBuild(*sipgo.Client, *gsip.Request) error { return nil }

// transact sends req and waits for its final response, answering digest
// challenges with auth. Provisional responses go to onProvisional. For an
// INVITE, cancel (when non-nil) is closed by the caller to abandon the
// request: a CANCEL is sent once a provisional response has arrived.
func (u *UA) transact(ctx context.Context, req *gsip.Request, auth *authSession, timeout time.Duration, onProvisional func(*gsip.Response)) (*gsip.Response, error) {
	if u.isClosed() {
		return nil, ErrClosed
	}
	if auth != nil {
		auth.preAuthorize(req)
	}
	fresh := false
	for round := 0; ; round++ {
		res, err := u.transactOnce(ctx, req, timeout, onProvisional)
		if err != nil {
			return nil, err
		}
		if res.StatusCode != 401 && res.StatusCode != 407 {
			return res, nil
		}
		if auth == nil || auth.creds.Username == "" {
			return nil, fmt.Errorf("%w: %d %s and no credentials configured", ErrAuthFailed, res.StatusCode, res.Reason)
		}
		stale, err := auth.answer(req, res)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrAuthFailed, err)
		}
		if (fresh && !stale) || round >= 3 {
			return nil, fmt.Errorf("%w: %w", ErrAuthFailed, statusError(res))
		}
		fresh = true
		// A new transaction: new branch, next CSeq.
		req.RemoveHeader("Via")
		u.addVia(req)
		if cseq := req.CSeq(); cseq != nil {
			cseq.SeqNo++
		}
	}
}

func (u *UA) transactOnce(ctx context.Context, req *gsip.Request, timeout time.Duration, onProvisional func(*gsip.Response)) (*gsip.Response, error) {
	if u.isClosed() {
		return nil, ErrClosed
	}
	if timeout <= 0 {
		timeout = u.cfg.RequestTimeout
	}
	tctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tx, err := u.cli.TransactionRequest(tctx, req, noBuild)
	if err != nil {
		return nil, fmt.Errorf("%w: send %s: %w", ErrTransport, req.Method, err)
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				if onProvisional != nil {
					onProvisional(res)
				}
				continue
			}
			return res, nil
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				if errors.Is(err, gsip.ErrTransactionTimeout) {
					return nil, fmt.Errorf("%w: no response to %s", ErrTimeout, req.Method)
				}
				return nil, fmt.Errorf("%w: %s: %w", ErrTransport, req.Method, err)
			}
			return nil, fmt.Errorf("%w: %s transaction ended without response", ErrTransport, req.Method)
		case <-tctx.Done():
			return nil, fmt.Errorf("%w: no final response to %s within %v", ErrTimeout, req.Method, timeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-u.closeCh:
			return nil, ErrClosed
		}
	}
}

// ParseTarget turns what a user dials into a request URI: a full "sip:" or
// "sips:" URI, "user@host[:port]", or a bare number/user that is completed
// with domain (which may be empty for an error).
func ParseTarget(target, domain string) (URI, error) {
	target = strings.TrimSpace(target)
	if target == "" {
		return URI{}, fmt.Errorf("%w: empty target", ErrInvalidURI)
	}
	lower := strings.ToLower(target)
	if !strings.HasPrefix(lower, "sip:") && !strings.HasPrefix(lower, "sips:") {
		if !strings.Contains(target, "@") {
			if domain == "" {
				return URI{}, fmt.Errorf("%w: %q has no host and no account domain", ErrInvalidURI, target)
			}
			target = target + "@" + domain
		}
		target = "sip:" + target
	}
	var uri URI
	if err := gsip.ParseUri(target, &uri); err != nil {
		return URI{}, fmt.Errorf("%w: %q: %w", ErrInvalidURI, target, err)
	}
	if uri.Host == "" {
		return URI{}, fmt.Errorf("%w: %q has no host", ErrInvalidURI, target)
	}
	if uri.Port < 0 || uri.Port > 65535 {
		return URI{}, fmt.Errorf("%w: %q has port %d", ErrInvalidURI, target, uri.Port)
	}
	return uri, nil
}

// hostPort renders uri's host and port for a destination, defaulting the
// port to 5060.
func hostPort(uri URI) string {
	port := uri.Port
	if port == 0 {
		port = 5060
	}
	host := uri.Host
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

// uriTransport reads the transport parameter of uri.
func uriTransport(uri URI, def Transport) Transport {
	if uri.UriParams != nil {
		if t, ok := uri.UriParams.Get("transport"); ok {
			switch strings.ToUpper(t) {
			case "TCP":
				return TCP
			case "UDP":
				return UDP
			}
		}
	}
	return def
}

// NewHeader returns a generic header for extra request headers.
func NewHeader(name, value string) Header { return gsip.NewHeader(name, value) }

func (u *UA) minSE() time.Duration {
	if u.cfg.MinSE > 0 {
		return u.cfg.MinSE
	}
	return 90 * time.Second
}
