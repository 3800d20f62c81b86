package voipkit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/voipkit/voipkit/call"
	"github.com/voipkit/voipkit/internal/peertest"
)

// replacesSetup connects Phone P and Phone Q peer to peer (P dials Q when
// pDials, else Q dials P; the callee answers) and returns P's and Q's ends
// of the call, each Phone's event cursor past the Connected events, and the
// Replaces header value (RFC 3891 section 3) naming P's dialog from P's
// point of view: to-tag is P's local tag, from-tag Q's.
func replacesSetup(t *testing.T, ctx context.Context, pDials bool) (p, q *testPhone, pc, qc *Call, cp, cq *int, replaces string) {
	t.Helper()
	// sipp plays G.711 A-law from its pcap, so P prefers PCMA.
	p = newTestPhone(t, Config{Codecs: []string{"PCMA", "PCMU"}})
	q = newTestPhone(t, Config{})
	cp, cq = new(int), new(int)
	caller, callee, cCaller, cCallee := p, q, cp, cq
	if !pDials {
		caller, callee, cCaller, cCallee = q, p, cq, cp
	}
	out := dialPeer(t, ctx, caller, callee)
	in := waitEvent(t, callee, cCallee, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if in.Replaces != nil {
		t.Fatalf("plain call reports it replaces %v", in.Replaces)
	}
	if err := in.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, callee, cCallee, 5*time.Second, callState(in.Call, CallConnected))
	waitEvent(t, caller, cCaller, 5*time.Second, callState(out, CallConnected))
	pc, qc = out, in.Call
	if !pDials {
		pc, qc = in.Call, out
	}

	id, local, remote, ok := pc.ReplacesTarget()
	if !ok || id == "" || local == "" || remote == "" {
		t.Fatalf("P's ReplacesTarget = %q %q %q %v", id, local, remote, ok)
	}
	// Q sees the same dialog with the tags the other way round.
	qid, qlocal, qremote, ok := qc.ReplacesTarget()
	if !ok || qid != id || qlocal != remote || qremote != local {
		t.Fatalf("Q's ReplacesTarget = %q %q %q %v; P's = %q %q %q", qid, qlocal, qremote, ok, id, local, remote)
	}
	return p, q, pc, qc, cp, cq, id + ";to-tag=" + local + ";from-tag=" + remote
}

// cdrOf waits for the CDR of c.
func cdrOf(t *testing.T, tp *testPhone, cursor *int, c *Call) call.CDR {
	t.Helper()
	return waitEvent(t, tp, cursor, 5*time.Second, func(e *CDREvent) bool { return e.CDR.CallID == c.ID() }).CDR
}

// testSippReplaces: sipp's INVITE with Replaces naming P's dialog with Q is
// answered at once with SDP, P hangs up Q, and sipp's call lives on until
// its BYE.
func testSippReplaces(t *testing.T, pDials bool) {
	peertest.Require(t, "sipp")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, q, pc, qc, cp, cq, replaces := replacesSetup(t, ctx, pDials)
	fromP, fromQ := *cp, *cq // the events below come in any order

	s := peertest.StartSipp(ctx, t, "uac_replaces", "-s", "1002", "-key", "replaces", replaces, sippTarget(p))
	in := waitEvent(t, p, cp, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if in.Replaces != pc || in.Call == pc {
		t.Fatalf("incoming call replaces %p, want P's call with Q %p", in.Replaces, pc)
	}
	if !strings.Contains(in.From, "sipp@") {
		t.Fatalf("replacing call from %q, want sipp", in.From)
	}
	nc := in.Call
	conn := waitEvent(t, p, cp, 5*time.Second, callState(nc, CallConnected))

	// P hangs up the replaced call once the new one is answered; Q sees the
	// BYE.
	pEnd := waitEvent(t, p, &fromP, 5*time.Second, callState(pc, CallTerminated))
	if pEnd.Cause.By.String() != "local" || pEnd.Cause.Code != 200 {
		t.Fatalf("P's replaced call ended %v, want a local BYE", pEnd.Cause)
	}
	if pEnd.At.Before(conn.At) {
		t.Fatalf("replaced call ended at %v, before the new call connected at %v", pEnd.At, conn.At)
	}
	qEnd := waitEvent(t, q, cq, 5*time.Second, callState(qc, CallTerminated))
	if qEnd.Cause.By.String() != "remote" || qEnd.Cause.Code != 200 {
		t.Fatalf("Q's call ended %v, want P's BYE (remote 200)", qEnd.Cause)
	}
	if cdr := cdrOf(t, p, &fromP, pc); cdr.Disconnect.String() != "local" || cdr.Code != 200 || cdr.Connect.IsZero() {
		t.Fatalf("P's CDR of the replaced call = %+v, want disconnected by P after answer", cdr)
	}
	if cdr := cdrOf(t, q, &fromQ, qc); cdr.Disconnect.String() != "remote" || cdr.Code != 200 || cdr.Connect.IsZero() {
		t.Fatalf("Q's CDR = %+v, want disconnected by the remote party after answer", cdr)
	}
	if s := nc.State(); s != CallConnected {
		t.Fatalf("replacing call is %s after the replaced one ended", s)
	}

	// sipp hangs up after 2 s of audio.
	nEnd := waitEvent(t, p, cp, 8*time.Second, callState(nc, CallTerminated))
	r := s.Wait(ctx)
	requireSippOK(t, r)
	if nEnd.Cause.By.String() != "remote" || nEnd.Cause.Code != 200 {
		t.Fatalf("replacing call ended %v, want sipp's BYE (remote 200)", nEnd.Cause)
	}
	cdr := cdrOf(t, p, cp, nc)
	if cdr.Disconnect.String() != "remote" || cdr.Code != 200 || cdr.Connect.IsZero() || cdr.Direction != call.Incoming {
		t.Fatalf("CDR of the replacing call = %+v, want incoming, answered, ended by sipp", cdr)
	}
	if cdr.Codec != "PCMA" || cdr.Stats.PacketsReceived < 25 || cdr.Stats.Garbage != 0 {
		t.Fatalf("replacing call's media: codec %s, stats %+v; want ≥25 PCMA packets from sipp's pcap", cdr.Codec, cdr.Stats)
	}
	if !strings.Contains(r.MessagesLog, "Replaces: "+replaces) {
		t.Fatalf("sipp's INVITE did not carry Replaces: %s\n%s", replaces, r)
	}
	if len(p.Calls()) != 0 || len(q.Calls()) != 0 {
		t.Fatalf("calls left: P %d, Q %d", len(p.Calls()), len(q.Calls()))
	}
}

// TestInteropSippReplacesAnsweredCall: Q called P; sipp replaces P's
// (incoming) call with Q.
func TestInteropSippReplacesAnsweredCall(t *testing.T) {
	leakCheck(t)
	testSippReplaces(t, false)
}

// TestInteropSippReplacesDialedCall: P called Q; sipp replaces P's
// (outgoing) call with Q, so the tags are the other way round in SIP
// From/To terms.
func TestInteropSippReplacesDialedCall(t *testing.T) {
	leakCheck(t)
	testSippReplaces(t, true)
}

// TestInteropSippReplacesNoDialog: a Replaces naming no dialog of P (an
// unknown Call-ID, or P's Call-ID with the tags swapped or wrong) gets 481
// (RFC 3891 section 3) and P's call with Q goes on.
func TestInteropSippReplacesNoDialog(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, q, pc, qc, cp, cq, _ := replacesSetup(t, ctx, false)
	id, local, remote, _ := pc.ReplacesTarget()
	before := pc.Stats().PacketsReceived
	for _, tc := range []struct{ name, replaces string }{
		{"unknown Call-ID", "nosuchcall-" + id + ";to-tag=" + local + ";from-tag=" + remote},
		{"swapped tags", id + ";to-tag=" + remote + ";from-tag=" + local},
		{"wrong to-tag", id + ";to-tag=" + local + "x;from-tag=" + remote},
		{"wrong from-tag", id + ";to-tag=" + local + ";from-tag=x" + remote},
	} {
		r := peertest.RunSipp(ctx, t, "uac_replaces_refused", "-s", "1002", "-key", "replaces", tc.replaces, sippTarget(p))
		if r.ExitCode != 0 {
			t.Fatalf("%s: sipp did not get 481: %s", tc.name, r)
		}
		if !strings.Contains(r.MessagesLog, "SIP/2.0 481") {
			t.Fatalf("%s: no 481 in sipp's log:\n%s", tc.name, r)
		}
	}
	// The Replaces check comes before anything is announced: no event at
	// all, and the call with Q is untouched and still carries audio.
	p.log.mu.Lock()
	var extra []string
	for _, e := range p.log.events[*cp:] {
		extra = append(extra, describe(e))
	}
	p.log.mu.Unlock()
	if len(extra) != 0 {
		t.Fatalf("P's events after the rejected INVITEs: %v", extra)
	}
	if s1, s2 := pc.State(), qc.State(); s1 != CallConnected || s2 != CallConnected {
		t.Fatalf("after the 481s: P's call %s, Q's %s", s1, s2)
	}
	if n := len(p.Calls()); n != 1 {
		t.Fatalf("P has %d calls, want 1", n)
	}
	deadline := time.Now().Add(3 * time.Second)
	for pc.Stats().PacketsReceived <= before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if after := pc.Stats().PacketsReceived; after <= before {
		t.Fatalf("P received no RTP from Q after the 481s (%d packets before, %d after)", before, after)
	}
	if err := qc.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	end := waitEvent(t, p, cp, 5*time.Second, callState(pc, CallTerminated))
	if end.Cause.By.String() != "remote" || end.Cause.Code != 200 {
		t.Fatalf("P's call ended %v, want Q's BYE", end.Cause)
	}
	waitEvent(t, q, cq, 5*time.Second, callState(qc, CallTerminated))
}

// TestInteropSippReplacesIncomingEarlyDialog: a Replaces naming a call
// ringing at P, i.e. an early dialog P did not initiate, gets 481 (RFC 3891
// section 3); the ringing call is untouched and can still be answered.
func TestInteropSippReplacesIncomingEarlyDialog(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, q := newTestPhone(t, Config{}), newTestPhone(t, Config{})
	cp, cq := 0, 0
	qc := dialPeer(t, ctx, q, p)
	in := waitEvent(t, p, &cp, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if err := in.Call.Ring(); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, q, &cq, 5*time.Second, callState(qc, CallRinging))
	// P's tag is in the 180 Q received: Q's early dialog names it.
	id, qTag, pTag, ok := qc.ReplacesTarget()
	if !ok || pTag == "" {
		t.Fatalf("Q's early ReplacesTarget = %q %q %q %v", id, qTag, pTag, ok)
	}
	r := peertest.RunSipp(ctx, t, "uac_replaces_refused", "-s", "1002", "-key", "replaces", id+";to-tag="+pTag+";from-tag="+qTag, sippTarget(p))
	if r.ExitCode != 0 || !strings.Contains(r.MessagesLog, "SIP/2.0 481") {
		t.Fatalf("sipp did not get 481: %s", r)
	}
	if s := in.Call.State(); s != CallRinging {
		t.Fatalf("ringing call is %s after the 481", s)
	}
	if err := in.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, q, &cq, 5*time.Second, callState(qc, CallConnected))
	if err := qc.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, p, &cp, 5*time.Second, callState(in.Call, CallTerminated))
}

// TestInteropSippReplacesEarlyOnlyConfirmed: a Replaces with early-only
// (as call pickup sends) naming a call P has answered gets 486 Busy Here
// (RFC 3891 section 3), and the call goes on.
func TestInteropSippReplacesEarlyOnlyConfirmed(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, q, pc, qc, cp, cq, replaces := replacesSetup(t, ctx, false)
	r := peertest.RunSipp(ctx, t, "uac_replaces_refused", "-s", "1002", "-key", "replaces", replaces+";early-only", sippTarget(p))
	if r.ExitCode != 0 || !strings.Contains(r.MessagesLog, "SIP/2.0 486") {
		t.Fatalf("sipp did not get 486: %s", r)
	}
	if s1, s2 := pc.State(), qc.State(); s1 != CallConnected || s2 != CallConnected {
		t.Fatalf("after the 486: P's call %s, Q's %s", s1, s2)
	}
	if n := len(p.Calls()); n != 1 {
		t.Fatalf("P has %d calls, want 1", n)
	}
	if err := qc.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, p, cp, 5*time.Second, callState(pc, CallTerminated))
	waitEvent(t, q, cq, 5*time.Second, callState(qc, CallTerminated))
}
