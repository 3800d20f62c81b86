package voipkit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/internal/peertest"
	"github.com/voipkit/voipkit/media"
)

// TestInteropBaresipRTCP: a ~7 s call with baresip through Kamailio with
// a short RTCP interval. The Phone parses baresip's reports (RTT from its
// report blocks, MOS from our own estimate) and baresip receives ours
// (its CALL_RTCP event fires on our sender reports). A 2 s media timeout
// never fires while media flows.
func TestInteropBaresipRTCP(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	u2 := kam.User("1002")
	b := peertest.StartBaresip(t, peertest.BaresipOptions{User: u2.Name, Password: u2.Password, Registrar: kam.Addr(),
		AudioSource: peertest.WAVTone(t, "", 1000, 30, 8000, 1)})
	p, cur := registeredPhone(t, kam, "1001", Config{RTCPInterval: 500 * time.Millisecond, MediaTimeout: 2 * time.Second})

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	c, err := p.Dial(ctx, u2.Name, WithSource(audio.NewTone(0.5, 697)))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	if _, err := b.WaitEvent(ctx, "CALL_ESTABLISHED"); err != nil {
		t.Fatal(err)
	}
	connected := time.Now()
	// baresip reports every few seconds: wait for a report that echoes
	// one of our SRs, and let the call last at least 7 s.
	for time.Since(connected) < 7*time.Second || c.Stats().RTT == 0 {
		if time.Since(connected) > 25*time.Second {
			t.Fatalf("no RTT from baresip's reports after 25 s: %+v", c.Stats())
		}
		if c.State() != CallConnected {
			t.Fatalf("call ended early: %v", c.Cause())
		}
		time.Sleep(100 * time.Millisecond)
	}
	st := c.Stats()
	t.Logf("Phone: RTCP sent %d received %d, RTT %v, R %.1f MOS %.2f, remote fraction lost %.3f cumulative %d jitter %v, lost %d",
		st.RTCPSent, st.RTCPReceived, st.RTT, st.RFactor, st.MOS, st.RemoteFractionLost, st.RemoteCumulativeLost, st.RemoteJitter, st.PacketsLost)
	if st.RTCPReceived == 0 || st.RTT <= 0 || st.RTT >= 100*time.Millisecond || st.MOS <= 4 || st.RTCPSent < 5 || st.Garbage != 0 {
		t.Errorf("stats %+v", st)
	}
	// baresip's report block about our stream: it lost nothing.
	if st.RemoteFractionLost != 0 || st.RemoteCumulativeLost != 0 {
		t.Errorf("baresip reports loss: %v, %d", st.RemoteFractionLost, st.RemoteCumulativeLost)
	}
	ev, err := b.WaitEvent(ctx, "CALL_RTCP")
	if err != nil {
		t.Fatalf("baresip got no RTCP from us: %v", err)
	}
	t.Logf("baresip: CALL_RTCP %q", ev.Param)
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	end := waitEvent(t, p, &cur, 5*time.Second, callState(c, CallTerminated))
	if end.Cause.Reason == "media timeout" {
		t.Fatalf("media timeout while media flowed: %v", end.Cause)
	}
	if _, err := b.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
		t.Fatal(err)
	}
}

// TestInteropSippMediaTimeout: sipp answers and sends no RTP nor RTCP;
// the Phone, with a 500 ms media timeout, hangs up by itself with cause
// 408 "media timeout", and sipp receives the BYE.
func TestInteropSippMediaTimeout(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{Codecs: []string{"PCMA"}, MediaTimeout: 500 * time.Millisecond, RTCPInterval: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, c := dialSipp(ctx, t, p, "uas_silent")
	cur := 0
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	connected := time.Now()
	end := waitEvent(t, p, &cur, 10*time.Second, callState(c, CallTerminated))
	after := time.Since(connected)
	if end.Cause.Reason != "media timeout" || end.Cause.Code != 408 || end.Cause.By.String() != "system" ||
		!errors.Is(end.Cause.Err, media.ErrMediaTimeout) {
		t.Fatalf("cause = %v (%v), want system 408 media timeout", end.Cause, end.Cause.Err)
	}
	if after < 400*time.Millisecond {
		t.Errorf("hung up %v after connecting, before the 500 ms timeout", after)
	}
	requireSippOK(t, s.Wait(ctx)) // sipp got the BYE
	st := c.Stats()
	if st.PacketsReceived != 0 || st.RTCPReceived != 0 || st.PacketsSent == 0 || st.RTCPSent == 0 {
		t.Errorf("stats %+v", st)
	}
	cdr := waitEvent(t, p, &cur, 5*time.Second, func(e *CDREvent) bool { return e.CDR.CallID == c.ID() })
	if cdr.CDR.Reason != "media timeout" || cdr.CDR.Disconnect.String() != "system" {
		t.Errorf("CDR = %+v", cdr.CDR)
	}
}
