package media

import (
	"errors"
	"sync/atomic"
	"time"
)

// Media timeout: a started Session watches for the peer going silent —
// neither RTP nor RTCP — for longer than Config.MediaTimeout while the
// stream is sendrecv on both sides, or Config.HoldMediaTimeout while
// either side holds it. The quiet time counts from the latest valid
// packet, Start or (re-)negotiation, whichever is latest, so resuming a
// held call starts afresh. Our own RTCP keeps flowing on hold, serving
// as the keepalive the peer's timeout (and NATs) need.

// Defaults for Config.MediaTimeout and Config.HoldMediaTimeout.
const (
	DefaultMediaTimeout     = 30 * time.Second
	DefaultHoldMediaTimeout = 600 * time.Second
)

// ErrMediaTimeout is the error for a call ended because its media timed
// out (see Session.Timeout).
var ErrMediaTimeout = errors.New("media: media timeout")

// timeoutPoll is the longest the control loop waits before looking
// again after a timeout was reported, to notice the next one.
const timeoutPoll = time.Second

// mediaMonitor tracks the peer's activity for the media timeout. The
// atomics are updated by the media goroutines; reported is owned by the
// control loop.
type mediaMonitor struct {
	active, hold time.Duration // ≤ 0: disabled

	lastRx  atomic.Int64 // session clock of the latest valid packet from the peer
	armed   atomic.Int64 // session clock of Start or the latest negotiation
	running atomic.Bool  // the control loop runs

	ch       chan struct{} // Timeout(); one pending signal at most
	kick     chan struct{} // wakes the control loop after a negotiation
	reported int64         // the quiet period last reported (its start), or -1
}

// init applies the configured timeouts (zero: default, negative: off).
func (m *mediaMonitor) init(active, hold time.Duration) {
	if active == 0 {
		active = DefaultMediaTimeout
	}
	if hold == 0 {
		hold = DefaultHoldMediaTimeout
	}
	m.active, m.hold = active, hold
	m.ch = make(chan struct{}, 1)
	m.kick = make(chan struct{}, 1)
	m.reported = -1
}

// touch records a valid packet from the peer at session clock now.
func (m *mediaMonitor) touch(now time.Duration) { m.lastRx.Store(int64(now)) }

// rearm restarts the quiet time at session clock now (Start or a new
// negotiation) and wakes the control loop to apply the new timeout.
func (m *mediaMonitor) rearm(now time.Duration) {
	m.armed.Store(int64(now))
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// timeoutFor returns the timeout that applies to negotiation n, or 0
// when none does.
func (m *mediaMonitor) timeoutFor(n *negotiated) time.Duration {
	if n == nil {
		return 0
	}
	// Both directions flow only when the stream is sendrecv on both
	// sides (and the peer can be sent to): anything else is a hold.
	to := m.hold
	if n.sendOK && n.recvOK {
		to = m.active
	}
	return max(to, 0)
}

// quietSince returns the session clock at which the current quiet time
// started.
func (m *mediaMonitor) quietSince() time.Duration {
	return time.Duration(max(m.lastRx.Load(), m.armed.Load()))
}

// check reports a timeout that has occurred by session clock now, once
// per quiet period, and returns when to check next (false: only after a
// negotiation).
func (m *mediaMonitor) check(s *Session, now time.Duration) (time.Duration, bool) {
	to := m.timeoutFor(s.neg.Load())
	if to <= 0 {
		return 0, false
	}
	quiet := m.quietSince()
	if deadline := quiet + to; now < deadline {
		return deadline, true
	}
	if int64(quiet) != m.reported {
		m.reported = int64(quiet)
		s.log.Warn("media: timeout: nothing received from the peer", "for", (now - quiet).Round(time.Millisecond))
		select {
		case m.ch <- struct{}{}:
		default:
		}
	}
	return now + min(to, timeoutPoll), true
}

// Timeout returns a channel that receives a value when the media times
// out: a started Session has received neither RTP nor RTCP from the peer
// for Config.MediaTimeout (HoldMediaTimeout while the call is held).
// After a timeout the watch goes on: packets or a re-negotiation end the
// quiet time, and the next one is reported again. At most one report is
// kept pending, so it may be stale by the time it is read: check
// TimedOut before acting on it. A Session never closes the channel.
func (s *Session) Timeout() <-chan struct{} { return s.mon.ch }

// TimedOut reports whether the media is timed out now: the Session runs
// and has been quiet for at least the timeout that applies.
func (s *Session) TimedOut() bool {
	if !s.mon.running.Load() {
		return false
	}
	to := s.mon.timeoutFor(s.neg.Load())
	return to > 0 && s.rtcp.since()-s.mon.quietSince() >= to
}
