package voipkit

import (
	"context"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/call"
	"github.com/voipkit/voipkit/internal/peertest"
)

func TestInteropSippAutoAnswer(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	for _, hdr := range []string{
		"Call-Info: <sip:127.0.0.1>;answer-after=0",
		"Alert-Info: <http://127.0.0.1>;info=alert-autoanswer",
		"Answer-Mode: Auto",
		"Priv-Answer-Mode: Auto;require",
	} {
		name, _, _ := strings.Cut(hdr, ":")
		t.Run(name, func(t *testing.T) {
			p := newTestPhone(t, Config{AutoAnswer: AutoAnswerPolicy{Intercom: true}})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			r := peertest.RunSipp(ctx, t, "uac_autoanswer", "-s", "1002", "-key", "intercom", hdr, sippTarget(p))
			requireSippOK(t, r)
			cur := 0
			in := waitEvent(t, p, &cur, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
			waitEvent(t, p, &cur, 5*time.Second, callState(in.Call, CallConnected))
			end := waitEvent(t, p, &cur, 5*time.Second, callState(in.Call, CallTerminated))
			if end.Cause.By.String() != "remote" {
				t.Fatalf("cause %v", end.Cause)
			}
		})
	}
	t.Run("PolicyOff", func(t *testing.T) {
		p := newTestPhone(t, Config{})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s := peertest.StartSipp(ctx, t, "uac_autoanswer", "-s", "1002", "-key", "intercom", "Answer-Mode: Auto", sippTarget(p))
		cur := 0
		in := waitEvent(t, p, &cur, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
		time.Sleep(time.Second)
		if s := in.Call.State(); s != CallIncoming {
			t.Fatalf("call %s without an auto-answer policy", s)
		}
		_ = in.Call.Reject(480, "Temporarily Unavailable")
		if r := s.Wait(ctx); r.ExitCode == 0 {
			t.Fatal("sipp's call succeeded although nobody answered")
		}
	})
}

// dialPeer has a dial b directly and returns the caller's call.
func dialPeer(t *testing.T, ctx context.Context, a, b *testPhone, opts ...DialOption) *Call {
	t.Helper()
	c, err := a.Dial(ctx, b.URI("bob"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDoNotDisturbAndBlocklist(t *testing.T) {
	leakCheck(t)
	a, b := newTestPhone(t, Config{}), newTestPhone(t, Config{DNDCode: 480})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ca := 0
	b.SetDoNotDisturb(true)
	c := dialPeer(t, ctx, a, b)
	end := waitEvent(t, a, &ca, 5*time.Second, callState(c, CallTerminated))
	if end.Cause.Code != 480 {
		t.Fatalf("DND: %v, want 480", end.Cause)
	}
	b.SetDoNotDisturb(false)
	b.Block("anonymous@127.0.0.1")
	c = dialPeer(t, ctx, a, b)
	end = waitEvent(t, a, &ca, 5*time.Second, callState(c, CallTerminated))
	if end.Cause.Code != 603 {
		t.Fatalf("blocked caller: %v, want 603", end.Cause)
	}
	b.Unblock("anonymous@127.0.0.1")
	b2 := newTestPhone(t, Config{AutoAnswer: AutoAnswerPolicy{Always: true}})
	c = dialPeer(t, ctx, a, b2)
	waitEvent(t, a, &ca, 5*time.Second, callState(c, CallConnected))
	_ = c.Hangup(ctx)
	// Redial goes to the last number.
	c2, err := a.Redial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, &ca, 5*time.Second, callState(c2, CallConnected))
	if c2.RemoteURI().Port != b2.SIPPort() {
		u := c2.RemoteURI()
		t.Fatalf("redial went to %s", u.String())
	}
	_ = c2.Hangup(ctx)
}

func TestLinesCallWaitingAndBusyForward(t *testing.T) {
	leakCheck(t)
	a, c3 := newTestPhone(t, Config{}), newTestPhone(t, Config{AutoAnswer: AutoAnswerPolicy{Always: true}})
	b := newTestPhone(t, Config{MaxCalls: 2, AutoHold: true, Forward: ForwardPolicy{Busy: c3.URI("carol")}})
	x := newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ca, cb, cx, c3c := 0, 0, 0, 0

	first := dialPeer(t, ctx, a, b)
	in1 := waitEvent(t, b, &cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if in1.Waiting {
		t.Fatal("first call flagged as waiting")
	}
	if err := in1.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, &ca, 5*time.Second, callState(first, CallConnected))

	// A second caller: call waiting; answering it holds the first (AutoHold).
	second := dialPeer(t, ctx, x, b)
	in2 := waitEvent(t, b, &cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if !in2.Waiting {
		t.Fatal("second call not flagged as call waiting")
	}
	if err := in2.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, x, &cx, 5*time.Second, callState(second, CallConnected))
	h := waitEvent(t, a, &ca, 5*time.Second, func(e *CallHoldEvent) bool { return e.Call == first })
	if !h.RemoteHold {
		t.Fatalf("first caller not held: %+v", h)
	}
	if len(b.Calls()) != 2 {
		t.Fatalf("b has %d calls", len(b.Calls()))
	}
	if l1, l2 := b.LineOf(in1.Call), b.LineOf(in2.Call); l1 != 1 || l2 != 2 {
		t.Fatalf("lines %d and %d, want 1 and 2", l1, l2)
	}
	if b.Current() != in2.Call || b.Line(1) != in1.Call || len(b.Lines()) != 2 {
		t.Fatalf("current call or line table wrong: current %p, lines %v", b.Current(), b.Lines())
	}

	// A third call exceeds MaxCalls: forwarded (302) to carol, who answers.
	third, err := a.Dial(ctx, b.URI("bob"))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, &ca, 5*time.Second, callState(third, CallConnected))
	inC := waitEvent(t, c3, &c3c, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	// Carol's side turns Connected once its 200 is sent, which can be just
	// after the caller has it.
	waitEvent(t, c3, &c3c, 5*time.Second, callState(inC.Call, CallConnected))
	if third.RemoteURI().Port != c3.SIPPort() {
		u := third.RemoteURI()
		t.Fatalf("forwarded call went to %s", u.String())
	}
	for _, c := range []*Call{first, second, third} {
		_ = c.Hangup(ctx)
	}
	waitEvent(t, b, &cb, 5*time.Second, callState(in1.Call, CallTerminated))
	if b.LineOf(in1.Call) != 0 || b.Line(1) != nil {
		t.Fatal("line 1 not freed after its call ended")
	}
}

func TestForwardNoAnswer(t *testing.T) {
	leakCheck(t)
	a, c3 := newTestPhone(t, Config{}), newTestPhone(t, Config{AutoAnswer: AutoAnswerPolicy{Always: true}})
	b := newTestPhone(t, Config{Forward: ForwardPolicy{NoAnswer: c3.URI("carol"), NoAnswerAfter: 300 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ca, cb := 0, 0
	c := dialPeer(t, ctx, a, b)
	in := waitEvent(t, b, &cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	_ = in.Call.Ring()
	end := waitEvent(t, b, &cb, 5*time.Second, callState(in.Call, CallTerminated))
	if end.Cause.Code != 302 {
		t.Fatalf("b's call ended %v, want 302", end.Cause)
	}
	waitEvent(t, a, &ca, 5*time.Second, callState(c, CallConnected))
	if c.RemoteURI().Port != c3.SIPPort() {
		u := c.RemoteURI()
		t.Fatalf("call went to %s", u.String())
	}
	_ = c.Hangup(ctx)
}

func TestCustomHeaders(t *testing.T) {
	leakCheck(t)
	a, b := newTestPhone(t, Config{}), newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := dialPeer(t, ctx, a, b, WithHeader("X-Customer-ID", "42"), WithHeader("Call-Info", "<http://crm.example/42>;purpose=info"))
	cb := 0
	in := waitEvent(t, b, &cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if got := in.Call.Header("X-Customer-ID"); len(got) != 1 || got[0] != "42" {
		t.Fatalf("X-Customer-ID = %q", got)
	}
	if got := in.Call.Header("Call-Info"); len(got) != 1 || !strings.Contains(got[0], "crm.example") {
		t.Fatalf("Call-Info = %q", got)
	}
	if err := in.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	ca := 0
	waitEvent(t, a, &ca, 5*time.Second, callState(c, CallConnected))
	if got := c.Header("User-Agent"); len(got) == 0 || got[0] != "voipkit" {
		t.Fatalf("callee's User-Agent = %q", got)
	}
	_ = c.Hangup(ctx)
}

// TestCallWaitingBeep: a second incoming call beeps into the connected
// call's audio for the local user only.
func TestCallWaitingBeep(t *testing.T) {
	leakCheck(t)
	a, x := newTestPhone(t, Config{}), newTestPhone(t, Config{})
	b := newTestPhone(t, Config{CallWaitingBeep: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cb := 0
	first := dialPeer(t, ctx, a, b)
	in1 := waitEvent(t, b, &cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	heard := audio.NewCapture(8000, 10*time.Second)
	in1.Call.SetSink(heard)
	if err := in1.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitCaptured(t, heard, 500*time.Millisecond, 5*time.Second)
	before := heard.Len()
	second := dialPeer(t, ctx, x, b)
	in2 := waitEvent(t, b, &cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if !in2.Waiting {
		t.Fatal("second call not flagged as waiting")
	}
	waitCaptured(t, heard, heard.Duration()+time.Second, 5*time.Second)
	s := heard.Samples()[before:]
	best := 0.0
	for i := 0; i+800 <= len(s); i += 400 {
		best = max(best, math.Sqrt(audio.Goertzel(s[i:i+800], 8000, 440)))
	}
	if best < 0.15 {
		t.Fatalf("no call-waiting beep heard: 440 Hz level %.3f", best)
	}
	_ = in2.Call.Reject(486, "Busy Here")
	_ = first.Hangup(ctx)
	_ = second
}

// TestDTMFFeedbackAndFrameCallbacks: digits we send are also played to
// our own sink, and frame callbacks work as source and sink.
func TestDTMFFeedbackAndFrameCallbacks(t *testing.T) {
	leakCheck(t)
	a := newTestPhone(t, Config{DTMFFeedback: true})
	b := newTestPhone(t, Config{AutoAnswer: AutoAnswerPolicy{Always: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	heard := audio.NewCapture(8000, 10*time.Second)
	var frames atomic.Int64
	src := audio.SourceFunc(func(f *audio.Frame) error {
		clear(f.Samples)
		return nil
	})
	sink := audio.SinkFunc(func(f *audio.Frame) error {
		frames.Add(1)
		return heard.WriteFrame(f)
	})
	c := dialPeer(t, ctx, a, b, WithSource(src), WithSink(sink))
	ca := 0
	waitEvent(t, a, &ca, 5*time.Second, callState(c, CallConnected))
	waitCaptured(t, heard, 300*time.Millisecond, 5*time.Second)
	before := heard.Len()
	if err := c.SendDTMF(ctx, "1", call.DTMFInfo); err != nil {
		t.Fatal(err)
	}
	waitCaptured(t, heard, heard.Duration()+500*time.Millisecond, 5*time.Second)
	s := heard.Samples()[before:]
	best := 0.0
	for i := 0; i+400 <= len(s); i += 200 {
		lo, hi := math.Sqrt(audio.Goertzel(s[i:i+400], 8000, 697)), math.Sqrt(audio.Goertzel(s[i:i+400], 8000, 1209))
		best = max(best, min(lo, hi))
	}
	if best < 0.05 {
		t.Fatalf("no DTMF feedback heard locally: level %.3f", best)
	}
	if frames.Load() == 0 {
		t.Fatal("sink callback never called")
	}
	_ = c.Hangup(ctx)
}
