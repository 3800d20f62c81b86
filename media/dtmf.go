package media

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voipkit/voipkit/audio"
)

// DTMF over RTP: RFC 4733 telephone-event packets (dtmf_send.go,
// dtmf_recv.go) and in-band tones (dtmf_inband.go).

// DTMF defaults and limits.
const (
	// DefaultDTMFDuration is the length of a digit sent with duration 0.
	DefaultDTMFDuration = 160 * time.Millisecond
	// MinDTMFDuration and MaxDTMFDuration bound the length of a digit.
	MinDTMFDuration = 40 * time.Millisecond
	MaxDTMFDuration = 5 * time.Second
	// DefaultDTMFVolume is the volume field of events we send: the power
	// level of the tone in -dBm0 (RFC 4733 section 2.3.4).
	DefaultDTMFVolume = 10
	// DTMFQueueSize is how many digits may wait to be sent.
	DTMFQueueSize = 64
	// DTMFEventBuffer is how many received digits Session.DTMF buffers
	// before further ones are dropped (and counted in Stats.DTMFDropped).
	DTMFEventBuffer = 32
)

const (
	// dtmfEndPackets is how often the final packet of an event is sent
	// (RFC 4733 section 2.5.1.4).
	dtmfEndPackets = 3
	// dtmfGap is the least time between two digits we send: audio after
	// an RFC 4733 event, silence after an in-band tone (so that a
	// receiver's tone detector sees a pause between repeated digits).
	dtmfGap = 60 * time.Millisecond
	// inbandGap is the silence after an in-band tone; it is longer than
	// dtmfGap because a jitter buffer may shorten silence.
	inbandGap = 100 * time.Millisecond
	// inbandAmplitude is the peak level of an in-band tone pair: each
	// tone peaks at a quarter of full scale (about -9 dBm0 in G.711).
	inbandAmplitude = 0.5
	// dtmfFlushGrace is how long after the last known end of an event
	// that never sent its end packets audio may go on before the event is
	// reported unfinished.
	dtmfFlushGrace = 100 * time.Millisecond
	// dtmfHeldReport is how long a received event may last before it is
	// reported without waiting for its end.
	dtmfHeldReport = time.Second
)

// DTMF errors.
var (
	// ErrInvalidDTMF reports a character that is not a DTMF digit (0-9,
	// *, #, A-D) or a duration outside MinDTMFDuration-MaxDTMFDuration.
	ErrInvalidDTMF = errors.New("media: invalid DTMF digit or duration")
	// ErrNoTelephoneEvent reports that the peer did not negotiate
	// telephone-event, so RFC 4733 digits cannot be sent.
	ErrNoTelephoneEvent = errors.New("media: peer did not negotiate telephone-event")
	// ErrDTMFQueueFull reports DTMFQueueSize digits waiting already.
	ErrDTMFQueueFull = errors.New("media: DTMF queue full")
)

// DTMFEvent is a DTMF digit received from the peer. It is a plain
// value, safe to copy.
type DTMFEvent struct {
	// Digit is 0-9, *, #, or A-D.
	Digit rune
	// Duration is how long the digit lasted: the final duration of an
	// RFC 4733 event, or the length of an in-band tone.
	Duration time.Duration
	// Volume is the power level of the tone in -dBm0 (0-63): the event's
	// volume field, or measured for an in-band tone.
	Volume int
	// End is set when the end of the digit was seen. An RFC 4733 event
	// whose end packets were all lost is reported with End false, once a
	// new event or audio well past it arrives; so is one still going on
	// after a second (a key held down, or a peer such as baresip's
	// console that ends a key only when the next one is pressed), with
	// the duration so far.
	End bool
	// Inband is set for a digit detected in the received audio rather
	// than sent as RFC 4733 events.
	Inband bool
}

// dtmfDigits maps RFC 4733 event codes 0-15 to digits (section 3.2).
const dtmfDigits = "0123456789*#ABCD"

// dtmfCode returns the RFC 4733 event code of digit, or -1.
func dtmfCode(digit rune) int {
	if digit >= 'a' && digit <= 'd' {
		digit -= 'a' - 'A'
	}
	for i, d := range dtmfDigits {
		if d == digit {
			return i
		}
	}
	return -1
}

// dtmfRequest is a digit waiting to be sent.
type dtmfRequest struct {
	code     int
	digit    rune
	duration time.Duration
	inband   bool
}

// dtmfState is a Session's DTMF state shared between goroutines.
type dtmfState struct {
	mu      sync.Mutex
	queue   []dtmfRequest
	pending int           // queued or being sent
	idle    chan struct{} // closed while pending is 0
	queued  atomic.Int32  // len(queue), read by the media loop

	events  chan DTMFEvent // received digits, closed by Session.Close
	inband  atomic.Bool    // detect in-band digits in received audio
	sent    atomic.Uint64
	recv    atomic.Uint64
	dropped atomic.Uint64

	// Owned by the media loop (dtmf_inband.go).
	det   *audio.DTMFDetector
	found []audio.DTMFDetection
}

func (d *dtmfState) init() {
	d.idle = make(chan struct{})
	close(d.idle)
	d.events = make(chan DTMFEvent, DTMFEventBuffer)
}

// push queues r.
func (d *dtmfState) push(r dtmfRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.queue) >= DTMFQueueSize {
		return ErrDTMFQueueFull
	}
	d.queue = append(d.queue, r)
	d.queued.Store(int32(len(d.queue)))
	if d.pending == 0 {
		d.idle = make(chan struct{})
	}
	d.pending++
	return nil
}

// pop takes the next digit to send. It is cheap when none is queued.
func (d *dtmfState) pop() (dtmfRequest, bool) {
	if d.queued.Load() == 0 {
		return dtmfRequest{}, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.queue) == 0 {
		return dtmfRequest{}, false
	}
	r := d.queue[0]
	d.queue = append(d.queue[:0], d.queue[1:]...)
	d.queued.Store(int32(len(d.queue)))
	return r, true
}

// finish marks a popped digit as sent (or dropped).
func (d *dtmfState) finish() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending > 0 {
		d.pending--
		if d.pending == 0 {
			close(d.idle)
		}
	}
}

// report hands a received digit to the application without blocking.
func (d *dtmfState) report(ev DTMFEvent) {
	select {
	case d.events <- ev:
		d.recv.Add(1)
	default:
		d.dropped.Add(1)
	}
}

// checkDTMF validates a digit and duration and applies the default.
func checkDTMF(digit rune, duration time.Duration) (int, time.Duration, error) {
	code := dtmfCode(digit)
	if code < 0 {
		return 0, 0, fmt.Errorf("%w: digit %q", ErrInvalidDTMF, digit)
	}
	if duration == 0 {
		duration = DefaultDTMFDuration
	}
	if duration < MinDTMFDuration || duration > MaxDTMFDuration {
		return 0, 0, fmt.Errorf("%w: duration %v (%v-%v)", ErrInvalidDTMF, duration, MinDTMFDuration, MaxDTMFDuration)
	}
	return code, duration, nil
}

// SendDTMF queues digit (0-9, *, #, A-D) to be sent as RFC 4733
// telephone-event packets on the RTP stream, lasting duration (zero:
// DefaultDTMFDuration). It returns at once; digits are sent one after
// the other, at least 60 ms apart, and WaitDTMF waits until they are
// out. While an event plays, its packets take the place of audio: they
// share the stream's SSRC and sequence numbers, carry the negotiated
// telephone-event payload type and the RTP timestamp of the event's
// start, the first has the marker bit, and one goes out every
// packetization interval with the duration so far until the final
// duration, which is sent three times with the end bit. The volume field
// is DefaultDTMFVolume.
//
// Errors wrap ErrInvalidDTMF, ErrNotNegotiated, ErrNoTelephoneEvent (the
// peer did not accept telephone-event), ErrDTMFQueueFull or ErrClosed.
// Digits that cannot be sent when their turn comes (the stream is on
// hold, or a re-negotiation dropped telephone-event) are discarded.
func (s *Session) SendDTMF(digit rune, duration time.Duration) error {
	code, duration, err := checkDTMF(digit, duration)
	if err != nil {
		return err
	}
	if err := s.canSendDTMF(); err != nil {
		return err
	}
	n := s.neg.Load()
	if n.dtmfPT < 0 {
		return ErrNoTelephoneEvent
	}
	return s.dtmf.push(dtmfRequest{code: code, digit: rune(dtmfDigits[code]), duration: duration})
}

// SendInbandDTMF queues digit to be sent in-band: for duration (zero:
// DefaultDTMFDuration) the audio sent is the digit's dual tone (ITU-T
// Q.23) in place of the Source's, followed by 100 ms of silence. The
// Source keeps being read meanwhile, so it stays in time, and is heard
// again afterwards. Digits share the queue of SendDTMF. Errors wrap
// ErrInvalidDTMF, ErrNotNegotiated, ErrDTMFQueueFull or ErrClosed.
func (s *Session) SendInbandDTMF(digit rune, duration time.Duration) error {
	code, duration, err := checkDTMF(digit, duration)
	if err != nil {
		return err
	}
	if err := s.canSendDTMF(); err != nil {
		return err
	}
	return s.dtmf.push(dtmfRequest{code: code, digit: rune(dtmfDigits[code]), duration: duration, inband: true})
}

func (s *Session) canSendDTMF() error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case s.neg.Load() == nil:
		return ErrNotNegotiated
	}
	return nil
}

// WaitDTMF waits until every digit queued with SendDTMF or
// SendInbandDTMF has been sent (or discarded), including the pause after
// the last one. It returns ctx's error if ctx ends first and ErrClosed
// if the Session is closed.
func (s *Session) WaitDTMF(ctx context.Context) error {
	s.dtmf.mu.Lock()
	idle := s.dtmf.idle
	s.dtmf.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-s.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TelephoneEvent reports whether the negotiated stream carries RFC 4733
// telephone-events, so that SendDTMF can be used.
func (s *Session) TelephoneEvent() bool {
	n := s.neg.Load()
	return n != nil && n.dtmfPT >= 0
}

// DTMF returns the channel of digits received from the peer: RFC 4733
// events, and in-band tones while SetInbandDTMF is on. Each digit is
// reported once, when it ends (retransmitted end packets are recognised
// by their timestamp), so Duration is its full length; a digit lasting
// more than a second is reported then, with End false. The channel holds
// DTMFEventBuffer digits; when the application does not keep up, further
// digits are dropped and counted in Stats.DTMFDropped. It is closed by
// Close.
func (s *Session) DTMF() <-chan DTMFEvent { return s.dtmf.events }

// SetInbandDTMF turns detection of in-band DTMF tones in the received
// audio on or off (default off). Detected digits are delivered on DTMF
// with Inband set. Detection works on the decoded audio whether or not
// a Sink is set or the speaker muted; it suits narrowband and wideband
// codecs that carry tones faithfully (G.711, G.722), not low bit-rate
// ones.
func (s *Session) SetInbandDTMF(on bool) { s.dtmf.inband.Store(on) }
