package voipkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/call"
	"github.com/voipkit/voipkit/media"
	"github.com/voipkit/voipkit/sip"
)

// Call is one phone call; see package call for its methods.
type Call = call.Call

// CallState is a call's state.
type CallState = call.State

// Call states, re-exported from package call.
const (
	CallDialing    = call.StateDialing
	CallIncoming   = call.StateIncoming
	CallRinging    = call.StateRinging
	CallEarlyMedia = call.StateEarlyMedia
	CallConnected  = call.StateConnected
	CallTerminated = call.StateTerminated
)

// SRTPPolicy says whether calls use SRTP; see media.SRTPPolicy.
type SRTPPolicy = media.SRTPPolicy

// SRTP policies, re-exported from package media.
const (
	SRTPOff       = media.SRTPOff
	SRTPOptional  = media.SRTPOptional
	SRTPMandatory = media.SRTPMandatory
)

// Errors callers can test with errors.Is.
var (
	// ErrAuthFailed: the server rejected the account's credentials.
	ErrAuthFailed = sip.ErrAuthFailed
	// ErrTimeout: a server did not answer in time.
	ErrTimeout = sip.ErrTimeout
	// ErrClosed: the Phone is closed.
	ErrClosed = errors.New("voipkit: phone closed")
	// ErrNoAccount: the operation needs an account and none matches.
	ErrNoAccount = errors.New("voipkit: no such account")
	// ErrInvalidTarget: a dialled target is not a valid number, user or URI.
	ErrInvalidTarget = sip.ErrInvalidURI
)

// Config configures a Phone. The zero value is usable: SIP on UDP and TCP
// on one ephemeral port of all IPv4 interfaces, RTP on ephemeral ports,
// PCMU then PCMA.
type Config struct {
	// ListenAddr is the local SIP address for UDP and TCP. Zero address:
	// 0.0.0.0; zero port: ephemeral.
	ListenAddr netip.AddrPort
	// AdvertisedHost is the host put in Contact and Via. Empty: derived
	// from ListenAddr or the route to the first server.
	AdvertisedHost string
	// DisableUDP and DisableTCP turn SIP transports off.
	DisableUDP, DisableTCP bool
	// MediaIP is the address RTP binds to and announces in SDP. Zero: the
	// SIP advertised host.
	MediaIP netip.Addr
	// RTPPortMin and RTPPortMax bound RTP ports. Zero: ephemeral.
	RTPPortMin, RTPPortMax int
	// SharedMediaPort carries the RTP and RTCP of every call over one
	// port pair (a media.Hub per media address) instead of a pair per
	// call: datagrams are read and written in batches and one goroutine
	// paces all calls, which is what lets one core carry thousands of
	// calls. The SDP then announces each call's SSRC (a=ssrc) so that
	// a peer sharing its own port can be told apart. A peer that
	// announces neither a=ssrc nor the address it sends from (a private
	// address behind NAT) cannot be reached this way (see media.Hub).
	// Audio sources and sinks set on calls must not block. Media STUN is
	// not used with it. If the port pair cannot be bound, calls fall
	// back to ports of their own (logged).
	SharedMediaPort bool
	// Codecs is the codec priority list by name. Empty: PCMU, PCMA.
	Codecs []string
	// JitterMode chooses an adaptive (default) or fixed receive buffer.
	// JitterDelay is the fixed depth, or the adaptive buffer's starting
	// depth (zero: 60 ms); JitterMin and JitterMax bound the adaptive one
	// (zero: one frame and 500 ms).
	JitterMode                        media.JitterMode
	JitterDelay, JitterMin, JitterMax time.Duration
	// SRTP is the SRTP policy of calls (RFC 3711, keys exchanged in the
	// SDP as in RFC 4568): SRTPOff, SRTPOptional (best effort: SRTP when
	// the peer takes it) or SRTPMandatory (488 to plain offers). Zero:
	// off. AccountConfig.SRTP overrides it per account.
	SRTP media.SRTPPolicy
	// SRTPSuites is the SRTP crypto suite priority list by name, e.g.
	// "AES_CM_128_HMAC_SHA1_80" (see media.SupportedSRTPSuites). Empty:
	// media.DefaultSRTPSuites.
	SRTPSuites []string
	// RTCPInterval is the minimum interval between RTCP reports of a
	// call. Zero: media.DefaultRTCPInterval (5 s); negative: no RTCP
	// sent. See media.Config.RTCPInterval.
	RTCPInterval time.Duration
	// MediaTimeout hangs up a call (Cause 408 "media timeout") whose peer
	// has sent neither RTP nor RTCP for this long; HoldMediaTimeout
	// applies instead while the call is held. Zero: 30 s and 600 s;
	// negative: never.
	MediaTimeout, HoldMediaTimeout time.Duration
	// STUNServer ("host:port") turns on STUN (RFC 5389): NewPhone learns
	// the public address of the SIP UDP socket (used in Contact and Via
	// unless AdvertisedHost is set) and each call that of its RTP and RTCP
	// sockets (used in the SDP). STUNTimeout bounds each exchange (zero:
	// 2 s); a server that does not answer in time is logged and the local
	// addresses are used. Empty: no STUN.
	STUNServer  string
	STUNTimeout time.Duration
	// UserAgent is sent in SIP messages. Empty: "voipkit".
	UserAgent string
	// RequestTimeout bounds non-INVITE transactions (REGISTER, BYE...).
	// Zero: 32 s.
	RequestTimeout time.Duration
	// EventBuffer is how many undelivered events are kept before the
	// oldest are dropped. Zero: 1024.
	EventBuffer int
	// SessionExpires is the session timer interval (RFC 4028) asked for
	// on outgoing calls. Zero: 1800 s. DisableSessionTimer leaves session
	// timers out of outgoing calls (incoming ones are honoured anyway).
	SessionExpires      time.Duration
	DisableSessionTimer bool
	// MinSE is the shortest session interval accepted (Min-SE); shorter
	// requests get 422. Zero: 90 s.
	MinSE time.Duration
	// MaxCalls limits concurrent calls (lines); further incoming calls get
	// 486 Busy Here (or ForwardPolicy.Busy). Zero: no limit.
	MaxCalls int
	// DoNotDisturb starts the Phone refusing incoming calls; see
	// SetDoNotDisturb. DNDCode is the refusal: 486 (default) or 480.
	DoNotDisturb bool
	DNDCode      int
	// Blocklist refuses calls from these callers with 603; see Block.
	Blocklist []string
	// AutoAnswer answers incoming calls without the application.
	AutoAnswer AutoAnswerPolicy
	// Forward redirects incoming calls with 302.
	Forward ForwardPolicy
	// PresencePolicy decides whether a watcher (its URI) may subscribe
	// to our presence when it asks us directly (no presence server).
	// Nil accepts every watcher; refused ones get 603 Decline.
	PresencePolicy func(watcher string) bool
	// PickupCode is the PBX feature code Pickup dials before the
	// extension (e.g. "*8"); empty: pick up with INVITE/Replaces instead.
	PickupCode string
	// DTMFFeedback plays each DTMF digit we send to the local user (the
	// call's sink) as well.
	DTMFFeedback bool
	// CallWaitingBeep plays a short 440 Hz beep into connected calls (to
	// the local user only) when another call comes in.
	CallWaitingBeep bool
	// AutoHold puts connected calls on hold when another call is dialled
	// or answered, as a desk phone does.
	AutoHold bool
	// DTMFMethod is how Call.SendDTMF sends digits when given
	// call.DTMFUnknown. Zero: RFC 4733 telephone-events when the peer
	// negotiated them, else SIP INFO. call.DTMFInband also detects the
	// peer's in-band digits. RFC 4733 and INFO digits are always received.
	DTMFMethod call.DTMFMethod
	// TransferPolicy decides whether the peer of a call may transfer us
	// (an incoming REFER) to target. Nil accepts every transfer.
	TransferPolicy func(c *Call, target string) bool
	// TonePlan is the call-progress tone plan (tones.go). Zero: US
	// (audio.PlanUS); audio.PlanEurope is the other built-in plan.
	TonePlan TonePlan
	// DisableLocalRingback turns off the ringback the Phone plays into
	// the sink of an outgoing call ringing without early media.
	DisableLocalRingback bool
	// FailureTone, when positive, is how long the Phone plays a
	// call-progress tone into the sink of an outgoing call that fails
	// before it is answered, as a desk phone does: the plan's busy tone
	// for 486 Busy Here and 600 Busy Everywhere, its congestion (reorder)
	// tone for any other failure (a 4xx-6xx response, a timeout, an
	// unreachable server). A call we cancelled or hung up gets no tone;
	// dialling again or closing the Phone stops it. Zero: no tone.
	FailureTone time.Duration
	// VADThreshold (dBFS) and VADHangover tune the voice activity
	// detection behind VoiceActivityEvent. Zero: -40 dBFS and 300 ms.
	VADThreshold float64
	VADHangover  time.Duration
	// DisableVoiceActivity turns voice activity detection off: no
	// VoiceActivityEvent, and with LevelInterval zero no per-frame
	// metering at all, which saves its CPU on hosts carrying many calls.
	DisableVoiceActivity bool
	// LevelInterval, when positive, emits a LevelEvent per call direction
	// for every LevelInterval of audio. Zero: off.
	LevelInterval time.Duration
	// Microphone, Speaker and Ringer are the local audio devices
	// (devices.go; nil: none). Calls without a source or sink of the
	// application's own use Microphone and Speaker; an incoming call rings
	// on Ringer. SetAudioDevices replaces them.
	Microphone audio.Source
	Speaker    audio.Sink
	Ringer     audio.Sink
	// Ringtone replaces the generated ringtone played on Ringer (for
	// example a WAV file). Nil: audio.NewRingtone.
	Ringtone audio.Source
	// Logger receives diagnostics. Nil discards them.
	Logger *slog.Logger
}

// Phone is a SIP phone: accounts, calls and one event stream. All methods
// are safe for concurrent use.
//
// Events are queued without blocking the SIP and media goroutines that
// produce them, and delivered in order on Events(). If the application
// falls more than Config.EventBuffer events behind, the oldest queued
// events are dropped and counted in DroppedEvents. The channel is closed
// by Close; events still queued then are discarded.
type Phone struct {
	cfg    Config
	log    *slog.Logger
	ua     *sip.UA
	events *eventQueue

	stunServer netip.AddrPort // resolved Config.STUNServer (stun.go)

	mu       sync.Mutex
	accounts []*Account
	calls    map[*Call]*Account
	closed   bool
	wg       sync.WaitGroup
	ready    chan struct{} // closed once NewPhone has finished setting up
	quit     chan struct{} // closed when Close begins
	toneStop chan struct{} // stops the failure tone playing (tones.go)

	dnd         bool
	blocked     map[string]bool
	lastDialled string
	lines       map[int]*Call
	lineOf      map[*Call]int
	current     *Call

	pres presenceState // watches and presence publication (presence.go)
	dev  devices       // local audio devices (devices.go)

	hubMu sync.Mutex
	hubs  map[netip.Addr]*media.Hub // with SharedMediaPort, per media IP
}

// NewPhone starts a Phone: it binds the SIP sockets and begins accepting
// calls. Add accounts with AddAccount.
func NewPhone(cfg Config) (*Phone, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.EventBuffer <= 0 {
		cfg.EventBuffer = 1024
	}
	p := &Phone{cfg: cfg, log: log, calls: map[*Call]*Account{}, lines: map[int]*Call{}, lineOf: map[*Call]int{}, ready: make(chan struct{}), quit: make(chan struct{}), dnd: cfg.DoNotDisturb, blocked: map[string]bool{}}
	for _, b := range cfg.Blocklist {
		p.blocked[normalizeCaller(b)] = true
	}
	ua, err := sip.NewUA(sip.Config{
		ListenAddr:     cfg.ListenAddr,
		AdvertisedHost: cfg.AdvertisedHost,
		DisableUDP:     cfg.DisableUDP,
		DisableTCP:     cfg.DisableTCP,
		UserAgent:      cfg.UserAgent,
		RequestTimeout: cfg.RequestTimeout,
		MinSE:          cfg.MinSE,
		Handler:        (*inviteHandler)(p),
		Logger:         log,
	})
	if err != nil {
		return nil, fmt.Errorf("voipkit: %w", err)
	}
	p.ua = ua
	if err := p.setupSTUN(); err != nil {
		_ = ua.Close()
		return nil, err
	}
	p.events = newEventQueue(cfg.EventBuffer)
	p.startDevices()
	close(p.ready)
	return p, nil
}

// Events returns the Phone's event stream. It is closed by Close.
func (p *Phone) Events() <-chan Event { return p.events.out }

// DroppedEvents reports how many events were dropped because the
// application did not read Events fast enough.
func (p *Phone) DroppedEvents() uint64 { return p.events.droppedCount() }

// SIPPort returns the local SIP port (UDP and TCP).
func (p *Phone) SIPPort() int { return p.ua.Port() }

// URI returns the address other phones dial to reach this Phone directly
// as user (peer to peer, without a server).
func (p *Phone) URI(user string) string {
	u := p.ua.ContactURI(user, sip.UDP)
	return u.String()
}

func (p *Phone) emit(e Event) { p.events.push(e) }

func (p *Phone) callConfig(acc *Account) call.Config {
	mediaIP := p.cfg.MediaIP
	if !mediaIP.IsValid() {
		if a, err := netip.ParseAddr(p.ua.Host()); err == nil {
			mediaIP = a
		} else {
			mediaIP = netip.MustParseAddr("127.0.0.1")
		}
	}
	codecs := p.cfg.Codecs
	if acc != nil && len(acc.cfg.Codecs) > 0 {
		codecs = acc.cfg.Codecs
	}
	srtpPolicy := p.cfg.SRTP
	if acc != nil && acc.cfg.SRTP != media.SRTPUnknown {
		srtpPolicy = acc.cfg.SRTP
	}
	var creds sip.Credentials
	if acc != nil {
		creds = acc.credentials()
	}
	var acceptRefer func(*call.Call, sip.URI) bool
	if p.cfg.TransferPolicy != nil {
		acceptRefer = func(c *call.Call, target sip.URI) bool { return p.cfg.TransferPolicy(c, target.String()) }
	}
	return call.Config{
		UA:          p.ua,
		Credentials: creds,
		AcceptRefer: acceptRefer,
		BeforeAnswer: func(ctx context.Context, c *call.Call) {
			if p.cfg.AutoHold {
				p.holdOthers(ctx, c)
			}
			p.SetCurrent(c)
		},
		Media: p.mediaConfig(media.Config{
			LocalIP: mediaIP,
			Codecs:  codecs, JitterMode: p.cfg.JitterMode, JitterDelay: p.cfg.JitterDelay, JitterMin: p.cfg.JitterMin, JitterMax: p.cfg.JitterMax, Logger: p.log,
			SRTP: srtpPolicy, SRTPSuites: p.cfg.SRTPSuites,
			RTCPInterval: p.cfg.RTCPInterval, MediaTimeout: p.cfg.MediaTimeout, HoldMediaTimeout: p.cfg.HoldMediaTimeout,
		}),
		DTMFMethod:   p.cfg.DTMFMethod,
		DTMFFeedback: p.cfg.DTMFFeedback,
		Levels:       p.levelConfig(), // tones.go
		Notify:       func(e call.Event) { p.onCallEvent(acc, e) },
		Logger:       p.log,
	}
}

func (p *Phone) onCallEvent(acc *Account, e call.Event) {
	now := time.Now()
	if e.State == call.StateIncoming {
		// Announced separately as IncomingCallEvent.
		return
	}
	if e.Transfer != nil {
		p.emit(&TransferEvent{eventBase: eventBase{now}, Call: e.Call, Code: e.Transfer.Code, Reason: e.Transfer.Reason, Final: e.Transfer.Final})
		return
	}
	if e.Refer != nil {
		p.startTransfer(acc, e.Call, e.Refer)
		return
	}
	if e.DTMF != nil {
		p.emit(&DTMFEvent{eventBase: eventBase{now}, Call: e.Call, Digit: e.DTMF.Digit, Method: e.DTMF.Method, Duration: e.DTMF.Duration})
		return
	}
	if e.Level != nil {
		p.onLevel(e) // tones.go
		return
	}
	if e.State == call.StateRinging && e.Prev != call.StateRinging {
		p.onRinging(e) // tones.go
	}
	if e.HoldChanged {
		p.emit(&CallHoldEvent{eventBase: eventBase{now}, Call: e.Call, LocalHold: e.LocalHold, RemoteHold: e.RemoteHold})
		return
	}
	if e.State == call.StateTerminated {
		// Gone from Calls and the lines before anyone hears it ended.
		p.mu.Lock()
		delete(p.calls, e.Call)
		p.dropLine(e.Call)
		p.mu.Unlock()
	}
	p.emit(&CallStateEvent{eventBase: eventBase{now}, Call: e.Call, State: e.State, Prev: e.Prev, Code: e.Code, Reason: e.Reason, Cause: e.Cause})
	if e.State == call.StateTerminated {
		p.onFailed(e) // tones.go
		p.emit(&CDREvent{eventBase: eventBase{now}, CDR: e.Call.CDR()})
		// Reap the call's goroutines off the notifying goroutine.
		p.goTracked(func() {
			_ = e.Call.Close()
		})
	}
}

// DialOption adjusts one outgoing call.
type DialOption func(*dialSettings)

type dialSettings struct {
	account *Account
	opts    call.DialOptions
}

// WithAccount places the call from acc instead of the first account.
func WithAccount(acc *Account) DialOption { return func(s *dialSettings) { s.account = acc } }

// WithSource sets the audio sent to the callee from the start.
func WithSource(src AudioSource) DialOption { return func(s *dialSettings) { s.opts.Source = src } }

// WithSink sets where the callee's audio goes from the start.
func WithSink(sink AudioSink) DialOption { return func(s *dialSettings) { s.opts.Sink = sink } }

// WithHeader adds a header to the INVITE.
func WithHeader(name, value string) DialOption {
	return func(s *dialSettings) { s.opts.Headers = append(s.opts.Headers, sip.NewHeader(name, value)) }
}

// Dial places a call to target: a number or user (completed with the
// account's domain), user@host, or a full sip: URI. Without accounts the
// call goes peer to peer and target must name a host. It returns once the
// INVITE is on its way; follow the call through Events or Call.Done.
// Cancelling ctx before the answer cancels the call.
func (p *Phone) Dial(ctx context.Context, target string, options ...DialOption) (*Call, error) {
	s := dialSettings{}
	for _, o := range options {
		o(&s)
	}
	p.stopTone() // tones.go
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if s.account == nil && len(p.accounts) > 0 {
		s.account = p.accounts[0]
	}
	p.mu.Unlock()

	domain := ""
	if s.account != nil {
		domain = s.account.domain()
	}
	uri, err := parseTarget(target, domain)
	if err != nil {
		return nil, fmt.Errorf("voipkit: dial: %w", err)
	}
	o := s.opts
	o.Target = uri
	if !p.cfg.DisableSessionTimer {
		o.SessionExpires, o.MinSE = p.cfg.SessionExpires, p.cfg.MinSE
		if o.SessionExpires <= 0 {
			o.SessionExpires = 1800 * time.Second
		}
	}
	if acc := s.account; acc != nil {
		o.From = acc.aor
		o.DisplayName = acc.cfg.DisplayName
		o.Proxy = acc.server
		o.Credentials = acc.credentials()
	} else {
		o.From = sip.URI{Scheme: "sip", User: "anonymous", Host: p.ua.Host()}
	}
	p.mu.Lock()
	p.lastDialled = target
	p.mu.Unlock()
	if p.cfg.AutoHold {
		p.holdOthers(ctx, nil)
	}
	c, err := call.Dial(context.WithoutCancel(ctx), p.callConfig(s.account), o)
	if err != nil {
		return nil, fmt.Errorf("voipkit: dial: %w", err)
	}
	p.mu.Lock()
	p.calls[c] = s.account
	p.addLine(c)
	p.current = c
	p.mu.Unlock()
	p.attachDevices(c) // devices.go
	if ctx.Done() != nil {
		// Cancelling ctx before the answer cancels the call.
		p.goTracked(func() {
			select {
			case <-ctx.Done():
				if s := c.State(); s != CallConnected && s != CallTerminated {
					hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					_ = c.Hangup(hctx)
					cancel()
				}
			case <-c.Done():
			}
		})
	}
	return c, nil
}

// Calls returns the calls in progress.
func (p *Phone) Calls() []*Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*Call, 0, len(p.calls))
	for c := range p.calls {
		out = append(out, c)
	}
	return out
}

type inviteHandler Phone

func (h *inviteHandler) HandleInvite(inv *sip.IncomingInvite) {
	p := (*Phone)(h)
	<-p.ready
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = inv.Reject(480, "Temporarily Unavailable")
		return
	}
	acc := p.accountFor(inv.Request().Recipient.User)
	p.mu.Unlock()
	var replaced *Call
	if h := inv.Request().GetHeader("Replaces"); h != nil {
		old, earlyOnly, ok := p.replacedCall(h.Value())
		if !ok {
			_ = inv.Reject(481, "Call/Transaction Does Not Exist")
			return
		}
		if earlyOnly && old.State() == call.StateConnected {
			// RFC 3891 section 3: early-only names a call that must not
			// have been answered yet.
			_ = inv.Reject(486, "Busy Here")
			return
		}
		replaced = old
	}
	c, err := call.Accept(p.callConfig(acc), inv)
	if err != nil {
		p.log.Info("voipkit: incoming call refused", "err", err)
		return
	}
	p.mu.Lock()
	waiting := 0
	for other := range p.calls {
		if other.State() != call.StateTerminated {
			waiting++
		}
	}
	p.calls[c] = acc
	p.addLine(c)
	p.mu.Unlock()
	if replaced == nil && p.screen(c, acc) {
		return
	}
	req := inv.Request()
	remote := c.RemoteURI()
	p.incomingDevices(c) // devices.go
	p.emit(&IncomingCallEvent{eventBase: eventBase{time.Now()}, Call: c, Account: acc, To: req.Recipient.String(),
		From: remote.String(), FromName: c.RemoteDisplayName(), Waiting: waiting > 0, Replaces: replaced})
	if replaced != nil {
		p.acceptReplacement(c, replaced)
		return
	}
	if waiting > 0 && p.cfg.CallWaitingBeep {
		for _, other := range p.Calls() {
			if other != c && other.State() == call.StateConnected {
				other.PlayLocal(audio.NewToneFor(300*time.Millisecond, 0.25, 440))
			}
		}
	}
	p.afterIncoming(c, acc, req)
}

// HandleMessage receives MESSAGE requests; see handleMessage in chat.go.
func (h *inviteHandler) HandleMessage(m *sip.IncomingMessage) int {
	return (*Phone)(h).handleMessage(m)
}

// Shutdown ends the Phone gracefully: it hangs up every call, unregisters
// every account (bounded by ctx) and then closes.
func (p *Phone) Shutdown(ctx context.Context) error {
	for _, c := range p.Calls() {
		_ = c.Hangup(ctx)
	}
	p.mu.Lock()
	accs := append([]*Account(nil), p.accounts...)
	p.mu.Unlock()
	var firstErr error
	if err := p.closePresence(ctx); err != nil {
		firstErr = err
	}
	for _, a := range accs {
		if err := a.close(ctx); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if err := p.Close(); err != nil && firstErr == nil {
		firstErr = err
	}
	return firstErr
}

// Close releases the Phone at once: calls are ended (BYE is attempted
// briefly), registrations stop (with a brief unregister attempt), sockets
// close and every goroutine is waited for. Events is closed. Close is
// idempotent.
func (p *Phone) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	accs := append([]*Account(nil), p.accounts...)
	p.mu.Unlock()
	close(p.quit)
	for _, c := range p.Calls() {
		_ = c.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = p.closePresence(ctx)
	for _, a := range accs {
		_ = a.close(ctx)
	}
	cancel()
	err := p.ua.Close()
	p.stopDevices()
	p.wg.Wait()
	p.closeHubs()
	p.events.close()
	<-p.events.out // wait for the dispatcher to finish
	for range p.events.out {
	}
	return err
}

func parseTarget(target, domain string) (sip.URI, error) { return sip.ParseTarget(target, domain) }

// holdOthers puts every connected call except keep on hold.
func (p *Phone) holdOthers(ctx context.Context, keep *Call) {
	for _, c := range p.Calls() {
		if c == keep || c.State() != call.StateConnected {
			continue
		}
		if local, _ := c.OnHold(); !local {
			_ = c.Hold(ctx)
		}
	}
}

// goTracked runs f on a goroutine that Close waits for, unless the Phone is
// already closing: WaitGroup.Add must not race with Close's Wait, and
// work started during Close ends with the calls it concerns anyway.
func (p *Phone) goTracked(f func()) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		f()
	}()
	return true
}
