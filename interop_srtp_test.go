package voipkit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/internal/peertest"
	"github.com/voipkit/voipkit/media"
)

// TestInteropBaresipSRTPCallAudio: SRTP with SDES between the Phone and
// baresip through Kamailio, once per crypto suite baresip's srtp module
// implements, with the Phone offering only that suite (RTP/SAVP) to a
// baresip that requires SRTP; then baresip calls the Phone. Audio is
// verified both ways.
func TestInteropBaresipSRTPCallAudio(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	for _, tt := range []struct{ suite, user string }{
		{"AES_CM_128_HMAC_SHA1_80", "1002"},
		{"AES_CM_128_HMAC_SHA1_32", "1003"},
		{"AEAD_AES_128_GCM", "1004"},
		{"AEAD_AES_256_GCM", "1005"},
	} {
		t.Run("PhoneCalls/"+tt.suite, func(t *testing.T) { srtpPhoneCallsBaresip(t, kam, tt.suite, tt.user) })
	}
	// When it calls, baresip 1.0 offers a single a=crypto line, with its
	// preferred AES_CM_128_HMAC_SHA1_80; a Phone limited to other suites
	// refuses that offer.
	t.Run("BaresipCalls/AES_CM_128_HMAC_SHA1_80", func(t *testing.T) {
		srtpBaresipCallsPhone(t, kam, "AES_CM_128_HMAC_SHA1_80", "1006")
	})
	t.Run("BaresipCalls/NoCommonSuite", func(t *testing.T) {
		srtpRefused(t, kam, Config{SRTP: SRTPMandatory, SRTPSuites: []string{"AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_32"}},
			peertest.BaresipOptions{MediaEnc: "srtp-mand"}, media.ErrSRTPRefused)
	})
}

// checkSRTPCall checks what both sides report about the call's SRTP.
func checkSRTPCall(t *testing.T, b *peertest.Baresip, c *Call, suite string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := b.WaitEvent(ctx, "CALL_MENC")
	if err != nil {
		t.Fatalf("%v\n%s", err, b.Log())
	}
	t.Logf("baresip: CALL_MENC %q", ev.Param)
	if want := "cryptosuite=" + suite; !strings.Contains(b.Log(), want) {
		t.Errorf("baresip's log lacks %q", want)
	}
	if st := c.Stats(); st.SRTP != suite {
		t.Errorf("Phone's stats: SRTP %q, want %s", st.SRTP, suite)
	}
}

// checkSRTPStats checks the Phone's SRTP counters once audio has flowed.
// (Garbage is not checked: baresip sends a plain RTCP APP "PING" at the
// start, and with AES_CM_128_HMAC_SHA1_32 its SRTCP uses a 32-bit tag
// where RFC 4568 says 80 bits; both are dropped on the RTCP port.)
func checkSRTPStats(t *testing.T, c *Call, suite string) {
	t.Helper()
	st := c.Stats()
	if st.SRTP != suite || st.SRTPAuthFailures != 0 || st.SRTPReplays != 0 || st.PacketsReceived < 50 || st.PacketsLost != 0 {
		t.Errorf("Phone's stats: %+v", st)
	}
}

func srtpPhoneCallsBaresip(t *testing.T, kam *peertest.Kamailio, suite, user string) {
	ub := kam.User(user)
	b := peertest.StartBaresip(t, peertest.BaresipOptions{User: ub.Name, Password: ub.Password, Registrar: kam.Addr(),
		MediaEnc: "srtp-mand", AudioSource: peertest.WAVTone(t, "", 1000, 30, 8000, 1)})
	p := newTestPhone(t, Config{SRTP: media.SRTPMandatory, SRTPSuites: []string{suite}})
	u1 := kam.User("1001")
	if _, err := p.AddAccount(AccountConfig{Server: kam.Addr(), User: u1.Name, Password: u1.Password,
		DisableRegistration: true}); err != nil {
		t.Fatal(err)
	}
	cur := 0
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	heard := audio.NewCapture(8000, 10*time.Second)
	c, err := p.Dial(ctx, ub.Name, WithSource(audio.NewTone(0.5, 697)), WithSink(heard))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, p, &cur, 10*time.Second, callState(c, CallConnected))
	if _, err := b.WaitEvent(ctx, "CALL_ESTABLISHED"); err != nil {
		t.Fatal(err)
	}
	checkSRTPCall(t, b, c, suite)
	waitCaptured(t, heard, 2*time.Second, 10*time.Second)
	if l := toneLevel(heard, 1000); l < 0.2 {
		t.Errorf("Phone heard baresip's 1000 Hz at %.3f", l)
	}
	checkSRTPStats(t, c, suite)
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
		t.Fatal(err)
	}
	if l := baresipHeard(t, b, 697); l < 0.2 {
		t.Errorf("baresip heard the Phone's 697 Hz at %.3f\n%s", l, b.Log())
	}
}

func srtpBaresipCallsPhone(t *testing.T, kam *peertest.Kamailio, suite, user string) {
	ub := kam.User(user)
	b := peertest.StartBaresip(t, peertest.BaresipOptions{User: ub.Name, Password: ub.Password, Registrar: kam.Addr(),
		MediaEnc: "srtp-mand", AudioSource: peertest.WAVTone(t, "", 1000, 30, 8000, 1)})
	p := newTestPhone(t, Config{SRTP: media.SRTPMandatory, SRTPSuites: []string{suite}})
	u1 := kam.User("1001")
	if _, err := p.AddAccount(AccountConfig{Server: kam.Addr(), User: u1.Name, Password: u1.Password}); err != nil {
		t.Fatal(err)
	}
	cur := 0
	waitEvent(t, p, &cur, 5*time.Second, registered)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Dial(ctx, "sip:1001@"+kam.Domain); err != nil {
		t.Fatal(err)
	}
	in := waitEvent(t, p, &cur, 10*time.Second, (func(*IncomingCallEvent) bool)(nil))
	heard := audio.NewCapture(8000, 10*time.Second)
	in.Call.SetSink(heard)
	in.Call.SetSource(audio.NewTone(0.5, 697))
	if err := in.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEvent(ctx, "CALL_ESTABLISHED"); err != nil {
		t.Fatal(err)
	}
	checkSRTPCall(t, b, in.Call, suite)
	waitCaptured(t, heard, 2*time.Second, 10*time.Second)
	if l := toneLevel(heard, 1000); l < 0.2 {
		t.Errorf("Phone heard baresip's 1000 Hz at %.3f", l)
	}
	checkSRTPStats(t, in.Call, suite)
	if err := b.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	end := waitEvent(t, p, &cur, 5*time.Second, callState(in.Call, CallTerminated))
	if end.Cause.By.String() != "remote" || end.Cause.Code != 200 {
		t.Errorf("cause = %v, want remote BYE", end.Cause)
	}
	if l := baresipHeard(t, b, 697); l < 0.2 {
		t.Errorf("baresip heard the Phone's 697 Hz at %.3f\n%s", l, b.Log())
	}
}

// TestInteropBaresipSRTPMandatoryRefusesPlain: a Phone that requires
// SRTP answers a plain RTP/AVP call from baresip with 488.
func TestInteropBaresipSRTPMandatoryRefusesPlain(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	srtpRefused(t, kam, Config{SRTP: SRTPMandatory}, peertest.BaresipOptions{}, media.ErrSRTPRequired)
}

// srtpRefused has baresip (with opts) call a Phone (with cfg) through
// kam and checks that the Phone refuses the offer with 488, for reason
// want, without announcing the call.
func srtpRefused(t *testing.T, kam *peertest.Kamailio, cfg Config, opts peertest.BaresipOptions, want error) {
	u2 := kam.User("1002")
	opts.User, opts.Password, opts.Registrar = u2.Name, u2.Password, kam.Addr()
	b := peertest.StartBaresip(t, opts)
	p := newTestPhone(t, cfg)
	u1 := kam.User("1001")
	if _, err := p.AddAccount(AccountConfig{Server: kam.Addr(), User: u1.Name, Password: u1.Password}); err != nil {
		t.Fatal(err)
	}
	cur := 0
	waitEvent(t, p, &cur, 5*time.Second, registered)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Dial(ctx, "sip:1001@"+kam.Domain); err != nil {
		t.Fatal(err)
	}
	end := waitEvent(t, p, &cur, 10*time.Second, func(e *CallStateEvent) bool { return e.State == CallTerminated })
	if end.Code != 488 || end.Cause.Code != 488 || !errors.Is(end.Cause.Err, want) {
		t.Errorf("Phone: terminated with %d (cause %v), want 488 for %v", end.Code, end.Cause, want)
	}
	ev, err := b.WaitEvent(ctx, "CALL_CLOSED")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("baresip: CALL_CLOSED %q", ev.Param)
	if !strings.Contains(ev.Param, "488") && !strings.Contains(ev.Param, "Not Acceptable") {
		t.Errorf("baresip's call closed with %q, want 488 Not Acceptable Here", ev.Param)
	}
	p.log.mu.Lock()
	defer p.log.mu.Unlock()
	for _, e := range p.log.events {
		if _, ok := e.(*IncomingCallEvent); ok {
			t.Error("the refused call was announced as incoming")
		}
	}
}

// TestPhoneSRTPPolicies calls between Phones on 127.0.0.1 (no server):
// the Phone's policy, an account's override of it, and the refusal of a
// call that requires SRTP by a Phone that has it off.
func TestPhoneSRTPPolicies(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mandatory := newTestPhone(t, Config{SRTP: SRTPMandatory})
	plain := newTestPhone(t, Config{})
	ca := 0
	// SRTP off answers an RTP/SAVP offer with 488.
	c, err := mandatory.Dial(ctx, plain.URI("bob"))
	if err != nil {
		t.Fatal(err)
	}
	end := waitEvent(t, mandatory, &ca, 5*time.Second, callState(c, CallTerminated))
	if end.Cause.Code != 488 {
		t.Fatalf("mandatory to off: %v, want 488", end.Cause)
	}

	// The account's policy (optional) overrides the Phone's (off).
	if _, err := plain.AddAccount(AccountConfig{User: "bob", DisableRegistration: true, SRTP: SRTPOptional}); err != nil {
		t.Fatal(err)
	}
	cb := 0
	for _, tt := range []struct {
		caller *testPhone
		cursor *int
		suite  string
	}{
		{mandatory, &ca, "AES_CM_128_HMAC_SHA1_80"},
		{newTestPhone(t, Config{}), new(int), ""},
	} {
		c, err := tt.caller.Dial(ctx, plain.URI("bob"), WithSource(audio.NewTone(0.5, 697)))
		if err != nil {
			t.Fatal(err)
		}
		in := waitEvent(t, plain, &cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
		heard := audio.NewCapture(8000, 5*time.Second)
		in.Call.SetSink(heard)
		if err := in.Call.Answer(ctx); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, tt.caller, tt.cursor, 5*time.Second, callState(c, CallConnected))
		waitCaptured(t, heard, time.Second, 5*time.Second)
		if l := toneLevel(heard, 697); l < 0.2 {
			t.Errorf("suite %q: callee heard 697 Hz at %.3f", tt.suite, l)
		}
		for name, st := range map[string]media.Stats{"caller": c.Stats(), "callee": in.Call.Stats()} {
			if st.SRTP != tt.suite || st.SRTPAuthFailures != 0 || st.PacketsReceived == 0 {
				t.Errorf("%s: want SRTP %q: %+v", name, tt.suite, st)
			}
		}
		if err := c.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, plain, &cb, 5*time.Second, callState(in.Call, CallTerminated))
	}
}
