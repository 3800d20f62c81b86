package voipkit

import (
	"context"
	"testing"
	"time"

	"github.com/voipkit/voipkit/call"
	"github.com/voipkit/voipkit/internal/peertest"
)

// TestInteropSippHold: the Phone calls sipp, which puts it on hold by
// re-INVITE (sendonly), sends an offer-less re-INVITE, resumes by UPDATE
// and sends an INFO digit, then hangs up; each is answered and reported.
func TestInteropSippHold(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{DisableSessionTimer: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, c := dialSipp(ctx, t, p, "uas_midcall")
	cur := 0
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	h := waitEvent(t, p, &cur, 5*time.Second, func(e *CallHoldEvent) bool { return e.Call == c })
	if !h.RemoteHold || h.LocalHold {
		t.Fatalf("hold event %+v", h)
	}
	h = waitEvent(t, p, &cur, 5*time.Second, func(e *CallHoldEvent) bool { return e.Call == c })
	if h.RemoteHold {
		t.Fatalf("resume event %+v", h)
	}
	d := waitEvent(t, p, &cur, 5*time.Second, func(e *DTMFEvent) bool { return e.Call == c })
	if d.Digit != '7' || d.Method != call.DTMFInfo {
		t.Fatalf("DTMF %+v", d)
	}
	end := waitEvent(t, p, &cur, 5*time.Second, callState(c, CallTerminated))
	if end.Cause.By.String() != "remote" {
		t.Fatalf("cause %v, want sipp's BYE", end.Cause)
	}
	requireSippOK(t, s.Wait(ctx))
}

// TestInteropSippReInviteChallenged: our hold re-INVITE is challenged with
// 401 and retried with the account's credentials.
func TestInteropSippReInviteChallenged(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{DisableSessionTimer: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := peertest.StartSipp(ctx, t, "uas_reinvite_auth")
	if _, err := p.AddAccount(AccountConfig{Server: s.Addr(), User: "1001", Password: "secret1001", DisableRegistration: true}); err != nil {
		t.Fatal(err)
	}
	c, err := p.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	cur := 0
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	if err := c.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	if local, _ := c.OnHold(); !local {
		t.Fatal("not on hold after the challenged re-INVITE")
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	requireSippOK(t, s.Wait(ctx))
}

// TestInteropSippGlare: sipp answers our re-INVITE with 491; we retry after
// the RFC 3261 back-off (2.1-4 s as the owner of the Call-ID).
func TestInteropSippGlare(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{DisableSessionTimer: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, c := dialSipp(ctx, t, p, "uas_glare")
	cur := 0
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	start := time.Now()
	if err := c.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 2100*time.Millisecond || d > 5*time.Second {
		t.Fatalf("hold took %v, want the 2.1-4 s glare back-off", d)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	requireSippOK(t, s.Wait(ctx))
}

// TestInteropSippINFO: DTMF by INFO from the Phone to sipp (the other
// direction is covered by TestInteropSippHold).
func TestInteropSippINFO(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{DisableSessionTimer: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, c := dialSipp(ctx, t, p, "uas_info")
	cur := 0
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	if err := c.SendDTMF(ctx, "5", call.DTMFInfo); err != nil {
		t.Fatal(err)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	requireSippOK(t, s.Wait(ctx))
}

// TestInteropSippREFER: sipp calls the Phone and transfers it to another
// Phone with REFER; sipp checks the NOTIFY progress (100, then 200).
func TestInteropSippREFER(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{DisableSessionTimer: true})
	target := newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := peertest.StartSipp(ctx, t, "uac_refer", "-s", "1002", "-key", "target", target.URI("carol"), sippTarget(p))
	cur, ct := 0, 0
	in := waitEvent(t, p, &cur, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if err := in.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	tin := waitEvent(t, target, &ct, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if err := tin.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	req := waitEvent(t, p, &cur, 5*time.Second, (func(*TransferRequestEvent) bool)(nil))
	if req.NewCall == nil {
		t.Fatal("no call placed to the Refer-To target")
	}
	requireSippOK(t, s.Wait(ctx))
	waitEvent(t, p, &cur, 5*time.Second, callState(in.Call, CallTerminated))
	if st := req.NewCall.State(); st != CallConnected {
		t.Fatalf("transferred call is %s", st)
	}
	_ = req.NewCall.Hangup(ctx)
}

// TestInteropSippUPDATEBeforeAnswer: sipp sends an UPDATE with a new offer
// in the early dialog (after our 180); we answer it, then the INVITE.
func TestInteropSippUPDATEBeforeAnswer(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := peertest.StartSipp(ctx, t, "uac_early_update", "-s", "1002", sippTarget(p))
	cur := 0
	in := waitEvent(t, p, &cur, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if err := in.Call.Ring(); err != nil {
		t.Fatal(err)
	}
	h := waitEvent(t, p, &cur, 5*time.Second, func(e *CallHoldEvent) bool { return e.Call == in.Call })
	if !h.RemoteHold {
		t.Fatalf("early UPDATE to sendonly not seen: %+v", h)
	}
	if err := in.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	requireSippOK(t, s.Wait(ctx))
	waitEvent(t, p, &cur, 5*time.Second, callState(in.Call, CallTerminated))
}

// TestInteropSipp302: sipp redirects our call with 302; we follow the
// Contact to another Phone, which answers.
func TestInteropSipp302(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{})
	carol := newTestPhone(t, Config{AutoAnswer: AutoAnswerPolicy{Always: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, c := dialSipp(ctx, t, p, "uas_302", "-key", "contact", carol.URI("carol"))
	cur := 0
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	if u := c.RemoteURI(); u.Port != carol.SIPPort() {
		t.Fatalf("call connected to %s, want carol", u.String())
	}
	requireSippOK(t, s.Wait(ctx))
	// Mid-call UPDATE with a fresh offer is answered by the peer Phone.
	if err := c.Update(ctx); err != nil {
		t.Fatal(err)
	}
	_ = c.Hangup(ctx)
}

// TestInteropSippUPDATEBeforeAnswerSent: after sipp's 180 we send an UPDATE
// with a new offer in the early dialog; sipp answers it, then the INVITE.
func TestInteropSippUPDATEBeforeAnswerSent(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	p := newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, c := dialSipp(ctx, t, p, "uas_early_update")
	cur := 0
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallRinging))
	if err := c.Update(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, p, &cur, 5*time.Second, callState(c, CallConnected))
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	requireSippOK(t, s.Wait(ctx))
}
