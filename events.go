package voipkit

import (
	"sync"
	"time"

	"github.com/voipkit/voipkit/call"
	"github.com/voipkit/voipkit/sip"
)

// Event is one notification from a Phone: *RegistrationEvent,
// *IncomingCallEvent, *CallStateEvent, *CallHoldEvent, *DTMFEvent,
// *TransferEvent, *TransferRequestEvent or *CDREvent.
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
