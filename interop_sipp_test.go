package voipkit

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/voipkit/voipkit/internal/peertest"
)

// sippTarget is the sipp argument that points a UAC scenario at p.
func sippTarget(p *testPhone) string { return "127.0.0.1:" + strconv.Itoa(p.SIPPort()) }

// dialSipp starts sipp with scenario and args (a UAS) and has p call it
// as 1002.
func dialSipp(ctx context.Context, t *testing.T, p *testPhone, scenario string, args ...string) (*peertest.SippProcess, *Call) {
	t.Helper()
	s := peertest.StartSipp(ctx, t, scenario, args...)
	c, err := p.Dial(ctx, "sip:1002@"+s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func requireSippOK(t *testing.T, r peertest.SippResult) {
	t.Helper()
	if r.ExitCode != 0 {
		t.Fatalf("sipp failed: %s", r)
	}
}

func TestInteropSippUACCall(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	// sipp plays G.711 A-law from its pcap, so prefer PCMA.
	p := newTestPhone(t, Config{Codecs: []string{"PCMA", "PCMU"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := peertest.StartSipp(ctx, t, "uac_call", "-s", "1002", sippTarget(p))
	cur := 0
	in := waitEvent(t, p, &cur, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if err := in.Call.Ring(); err != nil {
		t.Fatal(err)
	}
	if err := in.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	end := waitEvent(t, p, &cur, 15*time.Second, callState(in.Call, CallTerminated))
	requireSippOK(t, s.Wait(ctx))
	if end.Cause.By.String() != "remote" || end.Cause.Code != 200 {
		t.Fatalf("cause = %v, want remote BYE", end.Cause)
	}
	st := in.Call.Stats()
	if st.PacketsReceived < 50 || st.Codec != "PCMA" || st.Garbage != 0 {
		t.Fatalf("stats = %+v, want ≥50 PCMA packets from sipp's pcap", st)
	}
	if st.PacketsSent < 50 {
		t.Fatalf("sent only %d packets", st.PacketsSent)
	}
}

func TestInteropSippUASAnswer(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{Codecs: []string{"PCMA"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, c := dialSipp(ctx, t, p, "uas_answer")
	cur := 0
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallRinging))
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	deadline := time.Now().Add(5 * time.Second)
	for c.Stats().PacketsReceived < 25 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := c.Stats().PacketsReceived; n < 25 {
		t.Fatalf("received %d RTP packets from sipp", n)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	requireSippOK(t, s.Wait(ctx))
	cdr := waitEvent(t, p, &cur, 5*time.Second, func(e *CDREvent) bool { return e.CDR.CallID == c.ID() })
	if cdr.CDR.Disconnect.String() != "local" || cdr.CDR.Connect.IsZero() || cdr.CDR.Ring.IsZero() {
		t.Fatalf("CDR = %+v", cdr.CDR)
	}
}

func TestInteropSippUASReject(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, c := dialSipp(ctx, t, p, "uas_reject")
	cur := 0
	end := waitEvent(t, p, &cur, 5*time.Second, callState(c, CallTerminated))
	if end.Cause.Code != 486 || end.Cause.By.String() != "remote" {
		t.Fatalf("cause = %v, want remote 486", end.Cause)
	}
	requireSippOK(t, s.Wait(ctx))
}

func TestInteropSippUASBye(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, c := dialSipp(ctx, t, p, "uas_bye")
	cur := 0
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	end := waitEvent(t, p, &cur, 10*time.Second, callState(c, CallTerminated))
	if end.Cause.By.String() != "remote" || end.Cause.Code != 200 {
		t.Fatalf("cause = %v, want remote BYE", end.Cause)
	}
	requireSippOK(t, s.Wait(ctx))
}

func TestInteropSippUACCancel(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := peertest.StartSipp(ctx, t, "uac_cancel", "-s", "1002", sippTarget(p))
	cur := 0
	in := waitEvent(t, p, &cur, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if err := in.Call.Ring(); err != nil {
		t.Fatal(err)
	}
	end := waitEvent(t, p, &cur, 10*time.Second, callState(in.Call, CallTerminated))
	if end.Cause.Code != 487 || end.Cause.By.String() != "remote" {
		t.Fatalf("cause = %v, want remote 487", end.Cause)
	}
	requireSippOK(t, s.Wait(ctx))
}

func TestInteropSippUACByeFromPhone(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := peertest.StartSipp(ctx, t, "uac_bye_wait", "-s", "1002", sippTarget(p))
	cur := 0
	in := waitEvent(t, p, &cur, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if err := in.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := in.Call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	end := waitEvent(t, p, &cur, 5*time.Second, callState(in.Call, CallTerminated))
	if end.Cause.By.String() != "local" {
		t.Fatalf("cause = %v", end.Cause)
	}
	requireSippOK(t, s.Wait(ctx))
}

// TestInteropSippBadInput sends a malformed SDP, an offer with only an
// unknown codec and garbage datagrams to the SIP and RTP ports; the Phone
// answers 488 or ignores them, and the next call still works.
func TestInteropSippBadInput(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{Codecs: []string{"PCMA", "PCMU"}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cur := 0
	for _, sc := range []string{"uac_bad_sdp", "uac_unknown_codec"} {
		r := peertest.RunSipp(ctx, t, sc, "-s", "1002", sippTarget(p))
		requireSippOK(t, r)
		end := waitEvent(t, p, &cur, 5*time.Second, func(e *CallStateEvent) bool { return e.State == CallTerminated })
		if end.Cause.Code != 488 {
			t.Fatalf("%s: cause = %v, want 488", sc, end.Cause)
		}
	}
	garbage := [][]byte{[]byte("\x00\x01\x02garbage"), []byte("INVITE nonsense\r\n\r\n"), []byte("SIP/2.0 200 OK\r\nVia: x\r\n\r\n"), make([]byte, 1400)}
	send := func(addr string) {
		conn, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, g := range garbage {
			_, _ = conn.Write(g)
		}
	}
	send(sippTarget(p))

	s := peertest.StartSipp(ctx, t, "uac_call", "-s", "1002", sippTarget(p))
	in := waitEvent(t, p, &cur, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if err := in.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	send(in.Call.MediaAddr().String())
	end := waitEvent(t, p, &cur, 15*time.Second, callState(in.Call, CallTerminated))
	requireSippOK(t, s.Wait(ctx))
	st := in.Call.Stats()
	if end.Cause.Code != 200 || st.PacketsReceived < 50 {
		t.Fatalf("call after bad input: cause %v, stats %+v", end.Cause, st)
	}
	if st.Garbage < uint64(len(garbage)) {
		t.Fatalf("garbage counted %d, sent %d", st.Garbage, len(garbage))
	}
}
