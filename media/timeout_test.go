package media

import (
	"testing"
	"time"
)

// timeoutPair returns two started Sessions with the given config whose
// negotiation a offered.
func timeoutPair(t *testing.T, cfg Config) (a, b *Session) {
	t.Helper()
	cfg.LocalIP, cfg.Codecs = loopback, []string{"PCMU"}
	var err error
	if a, err = NewSession(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if b, err = NewSession(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	connect(t, a, b)
	return a, b
}

// fired reports whether s has a timeout report pending.
func fired(s *Session) bool {
	select {
	case <-s.Timeout():
		return true
	default:
		return false
	}
}

// renegotiate runs an offer/answer with a offering direction dir.
func renegotiate(t *testing.T, a, b *Session, dir Direction) {
	t.Helper()
	a.SetDirection(dir)
	exchange(t, a, b)
}

// TestMediaTimeout: with packets flowing nothing fires; once the peer
// goes silent the timeout fires after MediaTimeout, once.
func TestMediaTimeout(t *testing.T) {
	a, b := timeoutPair(t, Config{MediaTimeout: 300 * time.Millisecond, RTCPInterval: 100 * time.Millisecond})
	if a.TimedOut() {
		t.Fatal("timed out at the start")
	}
	// Three timeouts' worth of traffic.
	time.Sleep(900 * time.Millisecond)
	if fired(a) || fired(b) || a.TimedOut() || b.TimedOut() {
		t.Fatalf("timeout while packets flow: A %+v, B %+v", a.Stats(), b.Stats())
	}
	if a.Stats().PacketsReceived < 20 {
		t.Fatalf("A received only %d packets", a.Stats().PacketsReceived)
	}
	stopped := time.Now()
	b.Close()
	select {
	case <-a.Timeout():
	case <-time.After(5 * time.Second):
		t.Fatalf("no timeout 5 s after the peer stopped: %+v", a.Stats())
	}
	// The peer's last packet (its BYE) left as it closed: the quiet time
	// cannot have been much shorter than the timeout.
	if quiet := time.Since(stopped); quiet < 250*time.Millisecond {
		t.Errorf("timed out %v after the peer stopped", quiet)
	}
	if !a.TimedOut() {
		t.Error("TimedOut false after the timeout")
	}
	// Reported once per quiet period.
	time.Sleep(700 * time.Millisecond)
	if fired(a) {
		t.Error("second report for the same quiet period")
	}
	// Start again (early media answered) restarts the quiet time.
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	if a.TimedOut() {
		t.Error("TimedOut right after a second Start")
	}
	a.Close()
	if a.TimedOut() {
		t.Error("TimedOut true after Close")
	}
}

// TestMediaTimeoutOnHold: while the call is held the peer sends no RTP,
// but RTCP keeps coming and serves as keepalive; the hold timeout, not
// the active one, applies. Resuming restarts the active timeout.
func TestMediaTimeoutOnHold(t *testing.T) {
	a, b := timeoutPair(t, Config{
		MediaTimeout: 300 * time.Millisecond, HoldMediaTimeout: 1500 * time.Millisecond,
		RTCPInterval: 50 * time.Millisecond,
	})
	renegotiate(t, a, b, DirectionSendOnly) // A holds: B sends no RTP
	if n := b.neg.Load(); n.sendOK || !n.recvOK {
		t.Fatalf("B after hold: send %v recv %v", n.sendOK, n.recvOK)
	}
	time.Sleep(100 * time.Millisecond) // RTP in flight arrives
	rtp0, rtcp0 := a.Stats().PacketsReceived, a.Stats().RTCPReceived
	time.Sleep(time.Second) // over three active timeouts
	st := a.Stats()
	if fired(a) || a.TimedOut() {
		t.Fatalf("timeout on hold with RTCP flowing: %+v", st)
	}
	if st.PacketsReceived != rtp0 || st.RTCPReceived < rtcp0+2 {
		t.Fatalf("on hold A received RTP %d → %d, RTCP %d → %d; want no RTP and RTCP", rtp0, st.PacketsReceived, rtcp0, st.RTCPReceived)
	}
	// Resume: packets flow again and nothing fires.
	renegotiate(t, a, b, DirectionSendRecv)
	if !waitFor(2*time.Second, func() bool { return a.Stats().PacketsReceived > rtp0+10 }) {
		t.Fatalf("no RTP after resuming: %+v", a.Stats())
	}
	if fired(a) {
		t.Error("timeout across hold and resume")
	}
	// Hold again and silence the peer completely: the hold timeout fires.
	renegotiate(t, a, b, DirectionSendOnly)
	stopped := time.Now()
	b.Close()
	select {
	case <-a.Timeout():
	case <-time.After(10 * time.Second):
		t.Fatalf("no hold timeout: %+v", a.Stats())
	}
	if quiet := time.Since(stopped); quiet < 1400*time.Millisecond {
		t.Errorf("hold timeout after %v, want about 1.5 s", quiet)
	}
}

// TestMediaTimeoutDisabled: a negative MediaTimeout never fires.
func TestMediaTimeoutDisabled(t *testing.T) {
	a, b := timeoutPair(t, Config{MediaTimeout: -1, RTCPInterval: -1})
	b.Close()
	time.Sleep(500 * time.Millisecond)
	if fired(a) || a.TimedOut() {
		t.Error("disabled timeout fired")
	}
	if st := a.Stats(); st.RTCPSent != 0 {
		t.Errorf("RTCP sent with a negative interval: %+v", st)
	}
}

// TestTimedOutBeforeStart: an idle Session is never timed out.
func TestTimedOutBeforeStart(t *testing.T) {
	s, err := NewSession(Config{LocalIP: loopback, MediaTimeout: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	time.Sleep(30 * time.Millisecond)
	if s.TimedOut() || fired(s) {
		t.Error("timed out before Start")
	}
}
