package voipkit

import (
	"sync"
	"time"

	"github.com/voipkit/voipkit/call"
	"github.com/voipkit/voipkit/chat"
	"github.com/voipkit/voipkit/sip"
)

// Event is one notification from a Phone. The concrete types are
// *RegistrationEvent, *IncomingCallEvent, *CallStateEvent, *CallHoldEvent,
// *DTMFEvent, *TransferEvent, *TransferRequestEvent, *CDREvent,
// *MessageEvent, *MessageStatusEvent, *ComposingEvent, *PresenceEvent,
// *BLFEvent, *MWIEvent, *SubscriptionErrorEvent, *VoiceActivityEvent and
// *LevelEvent.
type Event interface {
	// Time is when the event happened.
	Time() time.Time
	isEvent()
}

type eventBase struct{ At time.Time }

// Time is when the event happened.
func (e eventBase) Time() time.Time { return e.At }
func (eventBase) isEvent()          {}

// RegistrationEvent reports an account's registration state.
type RegistrationEvent struct {
	eventBase
	Account *Account
	State   sip.RegistrationState
	// Code and Reason are the registrar's last final response, if any.
	Code   int
	Reason string
	// Expires is the granted binding lifetime when registered.
	Expires time.Duration
	// Err explains a failure: errors.Is(Err, ErrAuthFailed) for a wrong
	// password, errors.Is(Err, ErrTimeout) for a dead server.
	Err error
	// RetryIn is when the next attempt happens after a failure.
	RetryIn time.Duration
}

// IncomingCallEvent announces a new incoming call. Answer, Ring or Reject
// it through Call.
type IncomingCallEvent struct {
	eventBase
	Call    *Call
	Account *Account // nil when the call is not addressed to an account
	// From is the caller's URI and display name (from P-Asserted-Identity
	// or Remote-Party-ID when present, else From), To the called URI.
	From, FromName, To string
	// Waiting is set when another call is already in progress (call
	// waiting): the application may play a beep and let the user choose.
	Waiting bool
	// Replaces is set when the call replaces an existing one (the last
	// step of an attended transfer, RFC 3891): it is answered at once and
	// Replaces is hung up.
	Replaces *Call
}

// CallStateEvent reports a call's state change.
type CallStateEvent struct {
	eventBase
	Call  *Call
	State CallState
	Prev  CallState
	// Code and Reason carry the SIP status behind the change (180, 183,
	// 200, 486...).
	Code   int
	Reason string
	// Cause is set when State is CallTerminated.
	Cause call.Cause
}

// CallHoldEvent reports that a call was put on hold or resumed, by us
// (LocalHold, see Call.Hold) or by the peer (RemoteHold: its offer was
// sendonly, inactive or c=0.0.0.0).
type CallHoldEvent struct {
	eventBase
	Call                  *Call
	LocalHold, RemoteHold bool
}

// DTMFEvent reports a DTMF digit received from the peer of a call.
type DTMFEvent struct {
	eventBase
	Call     *Call
	Digit    rune
	Method   call.DTMFMethod
	Duration time.Duration
}

// TransferEvent reports the progress of a transfer we asked for with
// Phone.Transfer: the transferee's new call reached Code. When Final is
// set with a 2xx code the transfer succeeded and Call is being hung up.
type TransferEvent struct {
	eventBase
	Call   *Call
	Code   int
	Reason string
	Final  bool
}

// TransferRequestEvent reports that the peer of Call transferred us to
// Target and that NewCall was placed to it (nil if dialling failed).
type TransferRequestEvent struct {
	eventBase
	Call       *Call
	Target     string
	ReferredBy string
	NewCall    *Call
}

// CDREvent carries the detail record of a call that ended.
type CDREvent struct {
	eventBase
	CDR call.CDR
}

// MessageEvent announces an incoming instant message (a SIP MESSAGE
// whose body is text/*; isComposing indications arrive as ComposingEvent).
type MessageEvent struct {
	eventBase
	// From is the sender's URI and FromName its display name; To is the
	// URI the message was addressed to.
	From, FromName, To string
	// ContentType is the body's media type, e.g. "text/plain;charset=UTF-8";
	// chat.IsText tells whether Body reads as a UTF-8 string.
	ContentType string
	Body        []byte
	// Account is the account the message is addressed to, nil without
	// accounts.
	Account *Account
}

// Message returns the event as a chat.Message.
func (e *MessageEvent) Message() chat.Message {
	return chat.Message{From: e.From, FromName: e.FromName, To: e.To, ContentType: e.ContentType, Body: e.Body, Time: e.At}
}

// MessageStatus is the outcome of a message sent with SendMessage.
type MessageStatus int

// Message outcomes.
const (
	// MessageSent: the recipient (or the server storing it) answered 2xx.
	MessageSent MessageStatus = iota + 1
	// MessageFailed: a non-2xx answer, no answer in time, or a send error.
	MessageFailed
)

func (s MessageStatus) String() string {
	switch s {
	case MessageSent:
		return "Sent"
	case MessageFailed:
		return "Failed"
	}
	return "Unknown"
}

// MessageStatusEvent is the delivery report of a message sent with
// SendMessage.
type MessageStatusEvent struct {
	eventBase
	// ID is the message's ID, as in the MessageResult SendMessage returned.
	ID string
	// To is the target URI.
	To     string
	Status MessageStatus
	// Code and Reason are the final response's status; 0 when none
	// arrived.
	Code   int
	Reason string
	// Err explains a failure: errors.Is(Err, ErrTimeout) when no answer
	// came in time; a *sip.StatusError for a non-2xx answer.
	Err error
}

// ComposingEvent reports a peer's isComposing indication (RFC 3994):
// whether they are typing a message to us.
type ComposingEvent struct {
	eventBase
	// From is the sender's URI and FromName its display name; To is the
	// URI the indication was addressed to.
	From, FromName, To string
	// Active is true while the peer is typing.
	Active bool
	// Refresh is how long an active indication holds unless renewed
	// (chat.DefaultRefresh when the peer gave none); zero when idle.
	Refresh time.Duration
	// Account is the account addressed, nil without accounts.
	Account *Account
}

// eventQueue decouples producers (SIP and media goroutines) from the
// application: pushes never block; when the application falls behind by
// more than limit events, the oldest are dropped and counted.
type eventQueue struct {
	mu      sync.Mutex
	buf     []Event
	limit   int
	dropped uint64
	closed  bool
	wake    chan struct{}
	out     chan Event
	done    chan struct{}
}

func newEventQueue(limit int) *eventQueue {
	q := &eventQueue{limit: limit, wake: make(chan struct{}, 1), out: make(chan Event), done: make(chan struct{})}
	go q.run()
	return q
}

func (q *eventQueue) push(e Event) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	if len(q.buf) >= q.limit {
		q.buf = q.buf[1:]
		q.dropped++
	}
	q.buf = append(q.buf, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) run() {
	defer close(q.out)
	for {
		q.mu.Lock()
		if len(q.buf) == 0 {
			closed := q.closed
			q.mu.Unlock()
			if closed {
				return
			}
			select {
			case <-q.wake:
			case <-q.done:
				// Flush what is queued, then stop.
			}
			q.mu.Lock()
			if len(q.buf) == 0 {
				stop := q.closed
				q.mu.Unlock()
				if stop {
					return
				}
				continue
			}
		}
		e := q.buf[0]
		q.buf[0] = nil
		q.buf = q.buf[1:]
		q.mu.Unlock()
		select {
		case q.out <- e:
		case <-q.done:
			// The application stopped reading; drop the rest.
			q.mu.Lock()
			q.dropped += uint64(len(q.buf)) + 1
			q.buf = nil
			q.mu.Unlock()
			return
		}
	}
}

func (q *eventQueue) close() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	q.mu.Unlock()
	close(q.done)
}

func (q *eventQueue) droppedCount() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}
