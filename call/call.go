// Package call joins a SIP dialog and a media session into a phone call
// with a clear life cycle: a state machine, a termination cause, per-call
// statistics and a call detail record.
package call

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/media"
	"github.com/voipkit/voipkit/sip"
)

// Errors returned by call operations.
var (
	// ErrInvalidState means the operation does not fit the call's state,
	// such as answering an outgoing call or one already ended.
	ErrInvalidState = errors.New("call: invalid state for this operation")
	// ErrMedia means the media session could not be set up.
	ErrMedia = errors.New("call: media setup failed")
)

// State is where a call stands.
type State int

// Call states. A call moves forward only; Terminated is final.
const (
	StateUnknown State = iota
	// StateDialing: our INVITE is out, no ringing yet.
	StateDialing
	// StateIncoming: an INVITE arrived and waits for the application.
	StateIncoming
	// StateRinging: the callee is alerting (180 received or sent).
	StateRinging
	// StateEarlyMedia: a 183 with SDP set up media before the answer.
	StateEarlyMedia
	// StateConnected: answered; media flows both ways.
	StateConnected
	// StateTerminated: the call has ended; see Cause.
	StateTerminated
)

func (s State) String() string {
	switch s {
	case StateDialing:
		return "Dialing"
	case StateIncoming:
		return "Incoming"
	case StateRinging:
		return "Ringing"
	case StateEarlyMedia:
		return "EarlyMedia"
	case StateConnected:
		return "Connected"
	case StateTerminated:
		return "Terminated"
	}
	return "Unknown"
}

// Direction tells who placed the call.
type Direction int

// Call directions.
const (
	DirectionUnknown Direction = iota
	Outgoing
	Incoming
)

func (d Direction) String() string {
	switch d {
	case Outgoing:
		return "Outgoing"
	case Incoming:
		return "Incoming"
	}
	return "Unknown"
}

// Party tells who ended a call.
type Party int

// Parties that can end a call.
const (
	PartyUnknown Party = iota
	// PartyLocal: our side hung up, cancelled or rejected.
	PartyLocal
	// PartyRemote: the peer hung up, rejected or cancelled.
	PartyRemote
	// PartySystem: a timeout, transport or media failure ended it.
	PartySystem
)

func (p Party) String() string {
	switch p {
	case PartyLocal:
		return "local"
	case PartyRemote:
		return "remote"
	case PartySystem:
		return "system"
	}
	return "unknown"
}

// Cause explains why a call ended.
type Cause struct {
	// By is who ended the call.
	By Party
	// Code is the SIP status that ended it: 200 for a BYE after answer,
	// the final status of a rejected or cancelled INVITE (486, 487...),
	// 408 for timeouts, 0 when no SIP status applies.
	Code int
	// Reason is a short human-readable explanation.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

func (c Cause) String() string {
	s := c.By.String() + " " + strconv.Itoa(c.Code)
	if c.Reason != "" {
		s += " " + c.Reason
	}
	return s
}

// Event reports a call's state change.
type Event struct {
	Call  *Call
	State State
	Prev  State
	// Cause is set when State is StateTerminated.
	Cause Cause
	// Code and Reason carry the SIP response that caused the change
	// (180, 183, 200...), when there was one.
	Code   int
	Reason string
	// HoldChanged marks an event that reports a hold change rather than a
	// state change (State equals Prev); LocalHold and RemoteHold are the
	// new hold flags.
	HoldChanged           bool
	LocalHold, RemoteHold bool
	// DTMF is set for an event that reports a received digit.
	DTMF *DTMF
	// Transfer is set for progress of a transfer we asked for (REFER).
	Transfer *TransferProgress
	// Refer is set when the peer asks us to transfer (we accepted its
	// REFER); the owner places the new call and reports with
	// NotifyTransfer.
	Refer *ReferRequest
	// Level is set for an event that reports voice activity or levels
	// (Config.Levels; level.go); State equals Prev.
	Level *LevelReport
}

// Config holds what every call of a phone shares.
type Config struct {
	// UA carries the signalling.
	UA *sip.UA
	// Media configures each call's media session (local IP, ports, codecs).
	Media media.Config
	// Credentials answer challenges to our in-dialog requests on calls
	// we received (a proxy may challenge BYE or re-INVITE).
	Credentials sip.Credentials
	// AcceptRefer decides whether a REFER from the peer (a transfer
	// request) is accepted. Nil accepts all.
	AcceptRefer func(c *Call, target sip.URI) bool
	// BeforeAnswer, when set, runs at the start of Answer (the Phone puts
	// other calls on hold there).
	BeforeAnswer func(ctx context.Context, c *Call)
	// DTMFMethod is how SendDTMF sends digits given DTMFUnknown:
	// DTMFUnknown picks RFC 4733 when the peer negotiated telephone-event,
	// else SIP INFO. DTMFInband also turns on in-band detection of the
	// peer's digits (see Call.SetInbandDTMF).
	DTMFMethod DTMFMethod
	// Levels, when set, meters both directions of each call and reports
	// voice activity (and periodic levels) as Events with Level set.
	Levels *LevelConfig
	// DTMFFeedback plays each digit we send to the local user too.
	DTMFFeedback bool
	// Notify receives every state change in order. It is called without
	// locks held and must not block.
	Notify func(Event)
	// Logger receives diagnostics. Nil discards them.
	Logger *slog.Logger
}

// DialOptions describe an outgoing call.
type DialOptions struct {
	// Target is the callee.
	Target sip.URI
	// From is our address of record, DisplayName our name.
	From        sip.URI
	DisplayName string
	// Proxy, when it has a host, is where the INVITE goes.
	Proxy sip.URI
	// Credentials answer digest challenges.
	Credentials sip.Credentials
	// Source and Sink attach audio from the start. Nil means silence and
	// discard.
	Source audio.Source
	Sink   audio.Sink
	// Headers are added to the INVITE.
	Headers []sip.Header
	// SessionExpires asks for a session timer (RFC 4028); zero: none.
	// MinSE is our minimum interval (zero: 90 s).
	SessionExpires, MinSE time.Duration
}

var nextID atomic.Uint64

// Call is one phone call. All methods are safe for concurrent use.
type Call struct {
	cfg       Config
	log       *slog.Logger
	id        string
	direction Direction
	local     sip.URI
	remote    sip.URI
	remoteNm  string

	media  *media.Session
	inv    *sip.IncomingInvite
	cancel context.CancelFunc // aborts an outgoing INVITE

	inDialogMu sync.Mutex // serializes the peer's in-dialog requests (hold.go)

	mu         sync.Mutex
	state      State
	dialog     *sip.Dialog
	cause      Cause
	created    time.Time
	ringing    time.Time
	connected  time.Time
	ended      time.Time
	codec      string
	finalStats media.Stats
	answer     []byte // SDP answer prepared for an incoming call
	localHold  bool
	remoteHold bool
	peerMsg    peerMessage      // the INVITE (incoming) or final response (outgoing)
	early      *sip.EarlyDialog // the callee's early dialog, before the answer
	done       chan struct{}
	wg         sync.WaitGroup

	route route      // audio routing: conference, playback, recording (record.go)
	lv    levelState // level metering and VAD (level.go)
}

func newCall(cfg Config, dir Direction) *Call {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Call{
		cfg:       cfg,
		log:       log,
		id:        strconv.FormatUint(nextID.Add(1), 10),
		direction: dir,
		created:   time.Now(),
		done:      make(chan struct{}),
	}
}

// ID returns the call's identifier, unique within the process.
func (c *Call) ID() string { return c.id }

// Direction tells whether we placed or received the call.
func (c *Call) Direction() Direction { return c.direction }

// LocalURI is our side's address; RemoteURI the peer's.
func (c *Call) LocalURI() sip.URI { return c.local }

// RemoteURI returns the peer's address (callee or caller).
func (c *Call) RemoteURI() sip.URI {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remote
}

// RemoteDisplayName returns the peer's display name, when known.
func (c *Call) RemoteDisplayName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remoteNm
}

// State returns the current state.
func (c *Call) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Cause returns why the call ended; meaningful once Done is closed.
func (c *Call) Cause() Cause {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// Done is closed when the call has terminated and released its media.
func (c *Call) Done() <-chan struct{} { return c.done }

// Wait blocks until the call ends or ctx is done.
func (c *Call) Wait(ctx context.Context) error {
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SetSource replaces the audio sent to the peer (nil: silence). While the
// call is in a Conference or plays audio (Play), the new source takes
// over when that ends.
func (c *Call) SetSource(src audio.Source) { c.route.setBase(c, src, nil, true, false) }

// SetSink replaces where the peer's decoded audio goes (nil: discard).
// While the call is in a Conference, the new sink takes over when it
// leaves.
func (c *Call) SetSink(sink audio.Sink) { c.route.setBase(c, nil, sink, false, true) }

// Stats returns the media statistics so far (final ones after the end).
func (c *Call) Stats() media.Stats {
	c.mu.Lock()
	if c.state == StateTerminated {
		defer c.mu.Unlock()
		return c.finalStats
	}
	c.mu.Unlock()
	if c.media == nil {
		return media.Stats{}
	}
	return c.media.Stats()
}

// Codec returns the negotiated codec name, "" before negotiation.
func (c *Call) Codec() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.codec
}

// setState moves the call forward and notifies. It ignores moves back
// (a 180 arriving after the 200 on a busy proxy).
func (c *Call) setState(s State, code int, reason string) bool {
	c.mu.Lock()
	prev := c.state
	if s <= prev && !(prev == StateIncoming && s == StateRinging) || prev == StateTerminated {
		c.mu.Unlock()
		return false
	}
	c.state = s
	now := time.Now()
	switch s {
	case StateRinging:
		if c.ringing.IsZero() {
			c.ringing = now
		}
	case StateConnected:
		c.connected = now
	}
	c.mu.Unlock()
	c.notify(Event{Call: c, State: s, Prev: prev, Code: code, Reason: reason})
	return true
}

func (c *Call) notify(e Event) {
	if c.cfg.Notify != nil {
		c.cfg.Notify(e)
	}
}

// terminate ends the call once: it records the cause, stops media and
// notifies.
func (c *Call) terminate(cause Cause) {
	c.mu.Lock()
	if c.state == StateTerminated {
		c.mu.Unlock()
		return
	}
	prev := c.state
	c.state = StateTerminated
	c.cause = cause
	c.ended = time.Now()
	c.mu.Unlock()
	if c.media != nil {
		st := c.media.Stats()
		_ = c.media.Close()
		c.mu.Lock()
		c.finalStats = st
		c.mu.Unlock()
	}
	c.route.end() // finalize a recording, release playback
	c.log.Debug("call terminated", "id", c.id, "cause", cause.String())
	c.notify(Event{Call: c, State: StateTerminated, Prev: prev, Cause: cause, Code: cause.Code, Reason: cause.Reason})
	close(c.done)
}

func (c *Call) newMedia() error {
	m, err := media.NewSession(c.cfg.Media)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMedia, err)
	}
	c.media = m
	c.watchDTMF(m) // digits received over RTP (dtmf.go)
	return nil
}

// startMedia begins RTP once the offer/answer is complete.
func (c *Call) startMedia() {
	if err := c.media.Start(); err != nil {
		c.log.Warn("call: start media", "id", c.id, "err", err)
		return
	}
	c.mu.Lock()
	c.codec = c.media.Codec().Name
	c.mu.Unlock()
}

// watchDialog ends the call when the dialog ends (BYE from the peer).
func (c *Call) watchDialog(d *sip.Dialog) {
	c.mu.Lock()
	c.dialog = d
	c.mu.Unlock()
	d.SetCredentials(c.cfg.Credentials)
	d.SetRequestHandler(c.handleInDialog(d))
	d.SetAckHandler(func(answer []byte) {
		if err := c.media.SetRemoteAnswer(answer); err != nil {
			c.log.Info("call: SDP answer in ACK refused", "id", c.id, "err", err)
			return
		}
		c.updateRemoteHold()
	})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.runSessionTimer(d)
	}()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
	wait:
		for {
			select {
			case <-d.Done():
				break wait
			case <-c.done:
				return
			case <-c.media.Timeout():
				// A report may be stale (from early media, or packets came
				// back since): act only on a media timeout that holds now.
				if c.media.TimedOut() {
					c.mediaTimeout(d)
					return
				}
			}
		}
		t := d.Termination()
		cause := Cause{Code: t.Code, Reason: t.Reason}
		switch t.Cause {
		case sip.CauseRemote:
			cause.By = PartyRemote
		case sip.CauseLocal:
			cause.By = PartyLocal
		default:
			cause.By = PartySystem
		}
		c.terminate(cause)
	}()
}

// mediaTimeout ends a connected call whose peer has sent neither RTP nor
// RTCP for the media timeout (media.Config.MediaTimeout, or
// HoldMediaTimeout on hold): the call terminates at once with a system
// cause, then BYE is sent (bounded, as the peer may be gone).
func (c *Call) mediaTimeout(d *sip.Dialog) {
	c.log.Warn("call: media timeout; hanging up", "id", c.id)
	c.terminate(Cause{By: PartySystem, Code: 408, Reason: "media timeout", Err: media.ErrMediaTimeout})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Bye(ctx, ""); err != nil {
		c.log.Debug("call: BYE after media timeout", "id", c.id, "err", err)
	}
}

// Hangup ends the call in whatever state it is: CANCEL while dialing,
// 603 Decline while an incoming call is unanswered, BYE when connected.
func (c *Call) Hangup(ctx context.Context) error {
	c.mu.Lock()
	state, d := c.state, c.dialog
	c.mu.Unlock()
	switch {
	case state == StateTerminated:
		return nil
	case d != nil:
		err := d.Bye(ctx, "")
		c.terminate(Cause{By: PartyLocal, Code: 200, Reason: "hangup"})
		return err
	case c.direction == Outgoing:
		c.cancel()
		return c.Wait(ctx)
	default:
		return c.Reject(603, "Decline")
	}
}

// CDR is the call detail record of a finished call.
type CDR struct {
	CallID      string
	Direction   Direction
	Caller      string
	Callee      string
	RemoteName  string
	Start       time.Time     // call created (INVITE sent or received)
	Ring        time.Time     // first ringing, zero if none
	Connect     time.Time     // answered, zero if never
	End         time.Time     // terminated
	Duration    time.Duration // talk time, Connect to End
	SetupTime   time.Duration // Start to Connect
	Disconnect  Party
	Code        int
	Reason      string
	Codec       string
	Stats       media.Stats
	SIPCallID   string
	AccountUser string
}

// CDR returns the call's detail record (complete once Done is closed).
func (c *Call) CDR() CDR {
	c.mu.Lock()
	defer c.mu.Unlock()
	caller, callee := c.local.String(), c.remote.String()
	if c.direction == Incoming {
		caller, callee = callee, caller
	}
	r := CDR{
		CallID: c.id, Direction: c.direction, Caller: caller, Callee: callee, RemoteName: c.remoteNm,
		Start: c.created, Ring: c.ringing, Connect: c.connected, End: c.ended,
		Disconnect: c.cause.By, Code: c.cause.Code, Reason: c.cause.Reason, Codec: c.codec,
		Stats: c.finalStats, AccountUser: c.local.User,
	}
	if c.dialog != nil {
		r.SIPCallID = c.dialog.CallID()
	}
	if !c.connected.IsZero() {
		r.SetupTime = c.connected.Sub(c.created)
		end := c.ended
		if end.IsZero() {
			end = time.Now()
		}
		r.Duration = end.Sub(c.connected)
	}
	return r
}

// MediaAddr is the local RTP address of the call, for diagnostics.
func (c *Call) MediaAddr() netip.AddrPort {
	if c.media == nil {
		return netip.AddrPort{}
	}
	return c.media.LocalAddr()
}

// Close ends the call if it is still up (best effort, bounded by a few
// seconds) and waits for its goroutines. It is idempotent.
func (c *Call) Close() error {
	if c.State() != StateTerminated {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = c.Hangup(ctx)
		cancel()
		c.terminate(Cause{By: PartyLocal, Reason: "closed"})
	}
	c.wg.Wait()
	return nil
}
