package call

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/media"
	"github.com/voipkit/voipkit/sip"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// ackGrace is how long the UAs of a test stay up after the test body.
const ackGrace = 100 * time.Millisecond

// recorder collects the events a Config.Notify receives without blocking
// the notifying goroutine.
type recorder struct {
	ch       chan Event
	overflow atomic.Bool
}

func newRecorder() *recorder { return &recorder{ch: make(chan Event, 64)} }

func (r *recorder) notify(e Event) {
	select {
	case r.ch <- e:
	default:
		r.overflow.Store(true)
	}
}

// next returns the next event or fails the test after timeout.
func (r *recorder) next(t *testing.T, timeout time.Duration) Event {
	t.Helper()
	select {
	case e := <-r.ch:
		return e
	case <-time.After(timeout):
		t.Fatalf("no call event within %v", timeout)
		return Event{}
	}
}

// expect reads the next events and checks their states in order.
func (r *recorder) expect(t *testing.T, who string, states ...State) []Event {
	t.Helper()
	var evs []Event
	for _, want := range states {
		e := r.next(t, 10*time.Second)
		if e.State != want {
			t.Fatalf("%s: event %d: state %v (prev %v, code %d), want %v", who, len(evs), e.State, e.Prev, e.Code, want)
		}
		if len(evs) > 0 && e.Prev != evs[len(evs)-1].State {
			t.Fatalf("%s: event %d: prev %v, want %v", who, len(evs), e.Prev, evs[len(evs)-1].State)
		}
		evs = append(evs, e)
	}
	if r.overflow.Load() {
		t.Fatalf("%s: event buffer overflowed", who)
	}
	return evs
}

// quiet checks that no further event arrives within d.
func (r *recorder) quiet(t *testing.T, who string, d time.Duration) {
	t.Helper()
	select {
	case e := <-r.ch:
		t.Fatalf("%s: unexpected event %v (prev %v, cause %v)", who, e.State, e.Prev, e.Cause)
	case <-time.After(d):
	}
}

// accepted is what the callee's handler produced for one INVITE.
type accepted struct {
	call *Call
	err  error
}

// acceptHandler turns every incoming INVITE into a Call with Accept.
type acceptHandler struct {
	cfg   atomic.Pointer[Config] // set once the callee UA exists
	calls chan accepted
}

func (h *acceptHandler) HandleInvite(inv *sip.IncomingInvite) {
	cfg := h.cfg.Load()
	if cfg == nil {
		_ = inv.Reject(503, "Service Unavailable")
		return
	}
	c, err := Accept(*cfg, inv)
	h.calls <- accepted{c, err}
}

// pair is a caller UA and a callee UA on 127.0.0.1 with recorded events.
type pair struct {
	callerCfg, calleeCfg Config
	callerEv, calleeEv   *recorder
	callee               *sip.UA
	handler              *acceptHandler
}

func newUA(t *testing.T, h sip.Handler) *sip.UA {
	t.Helper()
	u, err := sip.NewUA(sip.Config{ListenAddr: netip.AddrPortFrom(loopback, 0), Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	return u
}

func newPair(t *testing.T) *pair {
	t.Helper()
	p := &pair{callerEv: newRecorder(), calleeEv: newRecorder()}
	p.handler = &acceptHandler{calls: make(chan accepted, 4)}
	p.callee = newUA(t, p.handler)
	caller := newUA(t, nil)
	// Before the UAs close, give an ACK for a just-sent non-2xx final
	// response time to be handled: a request that sipgo reads just before
	// UA.Close and handles just after it makes sipgo open a new UDP
	// socket that nothing closes (see the sip.UA.Close leak report).
	t.Cleanup(func() { time.Sleep(ackGrace) })
	p.callerCfg = Config{UA: caller, Media: media.Config{LocalIP: loopback}, Notify: p.callerEv.notify}
	p.calleeCfg = Config{UA: p.callee, Media: media.Config{LocalIP: loopback}, Notify: p.calleeEv.notify}
	cfg := p.calleeCfg
	p.handler.cfg.Store(&cfg)
	return p
}

func (p *pair) target() sip.URI {
	return sip.URI{Scheme: "sip", User: "bob", Host: "127.0.0.1", Port: p.callee.Port()}
}

var aliceURI = sip.URI{Scheme: "sip", User: "alice", Host: "127.0.0.1"}

// dial places a call from the caller to the callee and returns both ends.
// The callee's call has been announced (StateIncoming emitted).
func (p *pair) dial(t *testing.T, src audio.Source, sink audio.Sink) (out, in *Call) {
	t.Helper()
	out, err := Dial(context.Background(), p.callerCfg, DialOptions{
		Target: p.target(), From: aliceURI, DisplayName: "Alice", Source: src, Sink: sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = out.Close() })
	select {
	case a := <-p.handler.calls:
		if a.err != nil {
			t.Fatalf("Accept: %v", a.err)
		}
		in = a.call
	case <-time.After(10 * time.Second):
		t.Fatal("no INVITE reached the callee")
	}
	t.Cleanup(func() { _ = in.Close() })
	in.AnnounceIncoming()
	return out, in
}

func waitDone(t *testing.T, c *Call, who string) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: call did not end (state %v)", who, c.State())
	}
}

// waitCaptured waits until capture holds at least d of audio.
func waitCaptured(t *testing.T, c *audio.Capture, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Duration() < d {
		if time.Now().After(deadline) {
			t.Fatalf("captured only %v of audio, want %v", c.Duration(), d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// level is the amplitude (fraction of full scale) of freq in the captured
// audio, leaving out the first 200 ms (jitter buffer fill).
func level(c *audio.Capture, freq float64) float64 {
	s := c.Samples()
	skip := c.SampleRate() / 5
	if len(s) <= skip {
		return 0
	}
	return math.Sqrt(audio.Goertzel(s[skip:], c.SampleRate(), freq))
}

func checkCause(t *testing.T, who string, got Cause, by Party, code int) {
	t.Helper()
	if got.By != by || got.Code != code {
		t.Fatalf("%s: cause = %v, want %v %d", who, got, by, code)
	}
}

func TestCallAudioHangupAndCDR(t *testing.T) {
	for _, tc := range []struct {
		name          string
		calleeHangsUp bool
	}{
		{"CalleeHangsUp", true},
		{"CallerHangsUp", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(func() { goleak.VerifyNone(t) })
			p := newPair(t)
			const callerHz, calleeHz = 1000.0, 600.0
			heardByCaller := audio.NewCapture(8000, 5*time.Second)
			heardByCallee := audio.NewCapture(8000, 5*time.Second)
			out, in := p.dial(t, audio.NewTone(0.5, callerHz), heardByCaller)

			if out.Direction() != Outgoing || in.Direction() != Incoming {
				t.Fatalf("directions = %v, %v", out.Direction(), in.Direction())
			}
			if got := in.RemoteURI().User; got != "alice" {
				t.Fatalf("callee sees caller %q, want alice", got)
			}
			if got := in.RemoteDisplayName(); got != "Alice" {
				t.Fatalf("callee sees display name %q, want Alice", got)
			}
			if err := in.Ring(); err != nil {
				t.Fatal(err)
			}
			p.callerEv.expect(t, "caller", StateDialing, StateRinging)
			if s := out.State(); s != StateRinging {
				t.Fatalf("caller state = %v, want Ringing", s)
			}
			in.SetSource(audio.NewTone(0.5, calleeHz))
			in.SetSink(heardByCallee)
			if err := in.Answer(context.Background()); err != nil {
				t.Fatal(err)
			}
			ce := p.callerEv.expect(t, "caller", StateConnected)
			if ce[0].Code != 200 {
				t.Fatalf("caller Connected code = %d, want 200", ce[0].Code)
			}
			p.calleeEv.expect(t, "callee", StateIncoming, StateRinging, StateConnected)

			waitCaptured(t, heardByCaller, 800*time.Millisecond)
			waitCaptured(t, heardByCallee, 800*time.Millisecond)
			// Each side hears the other's tone, not its own.
			if l := level(heardByCallee, callerHz); l < 0.3 {
				t.Errorf("callee hears the caller's %v Hz at %.3f, want about 0.5", callerHz, l)
			}
			if l := level(heardByCallee, calleeHz); l > 0.05 {
				t.Errorf("callee hears its own %v Hz at %.3f", calleeHz, l)
			}
			if l := level(heardByCaller, calleeHz); l < 0.3 {
				t.Errorf("caller hears the callee's %v Hz at %.3f, want about 0.5", calleeHz, l)
			}
			if l := level(heardByCaller, callerHz); l > 0.05 {
				t.Errorf("caller hears its own %v Hz at %.3f", callerHz, l)
			}
			if got := out.Codec(); got != "PCMU" {
				t.Fatalf("codec = %q, want PCMU", got)
			}
			if st := out.Stats(); st.PacketsReceived == 0 || st.PacketsSent == 0 {
				t.Fatalf("live stats = %+v, want packets both ways", st)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			hanger, other := in, out
			if !tc.calleeHangsUp {
				hanger, other = out, in
			}
			if err := hanger.Hangup(ctx); err != nil {
				t.Fatalf("Hangup: %v", err)
			}
			waitDone(t, hanger, "hanger")
			waitDone(t, other, "other")
			checkCause(t, "hanger", hanger.Cause(), PartyLocal, 200)
			checkCause(t, "other", other.Cause(), PartyRemote, 200)
			p.callerEv.expect(t, "caller", StateTerminated)
			p.calleeEv.expect(t, "callee", StateTerminated)
			p.callerEv.quiet(t, "caller", 50*time.Millisecond)
			p.calleeEv.quiet(t, "callee", 0)

			// A second Hangup on an ended call is a no-op.
			if err := hanger.Hangup(ctx); err != nil {
				t.Fatalf("second Hangup: %v", err)
			}

			oc, ic := out.CDR(), in.CDR()
			for _, r := range []struct {
				who string
				c   CDR
			}{{"caller", oc}, {"callee", ic}} {
				c := r.c
				if c.Start.IsZero() || c.Ring.IsZero() || c.Connect.IsZero() || c.End.IsZero() {
					t.Fatalf("%s CDR has zero times: %+v", r.who, c)
				}
				if c.Ring.Before(c.Start) || c.Connect.Before(c.Ring) || c.End.Before(c.Connect) {
					t.Fatalf("%s CDR times out of order: start %v ring %v connect %v end %v", r.who, c.Start, c.Ring, c.Connect, c.End)
				}
				if c.Duration <= 500*time.Millisecond || c.Duration != c.End.Sub(c.Connect) {
					t.Fatalf("%s CDR duration = %v (connect→end %v)", r.who, c.Duration, c.End.Sub(c.Connect))
				}
				if c.SetupTime <= 0 || c.SetupTime != c.Connect.Sub(c.Start) {
					t.Fatalf("%s CDR setup time = %v", r.who, c.SetupTime)
				}
				if c.Codec != "PCMU" || c.Stats.Codec != "PCMU" {
					t.Fatalf("%s CDR codec = %q / %q, want PCMU", r.who, c.Codec, c.Stats.Codec)
				}
				if c.Stats.PacketsReceived == 0 || c.Stats.PacketsSent == 0 {
					t.Fatalf("%s CDR stats = %+v, want packets both ways", r.who, c.Stats)
				}
				if c.Code != 200 {
					t.Fatalf("%s CDR code = %d, want 200", r.who, c.Code)
				}
				if c.SIPCallID == "" {
					t.Fatalf("%s CDR has no SIP Call-ID", r.who)
				}
			}
			if oc.SIPCallID != ic.SIPCallID {
				t.Fatalf("Call-IDs differ: %q vs %q", oc.SIPCallID, ic.SIPCallID)
			}
			if oc.Caller != ic.Caller || oc.Callee != ic.Callee {
				t.Fatalf("caller/callee differ: %q→%q vs %q→%q", oc.Caller, oc.Callee, ic.Caller, ic.Callee)
			}
			if oc.Direction != Outgoing || ic.Direction != Incoming {
				t.Fatalf("CDR directions = %v, %v", oc.Direction, ic.Direction)
			}
			if oc.AccountUser != "alice" || ic.AccountUser != "bob" {
				t.Fatalf("CDR account users = %q, %q", oc.AccountUser, ic.AccountUser)
			}
			if ic.RemoteName != "Alice" {
				t.Fatalf("callee CDR remote name = %q, want Alice", ic.RemoteName)
			}
			wantCaller, wantCallee := PartyRemote, PartyLocal
			if !tc.calleeHangsUp {
				wantCaller, wantCallee = PartyLocal, PartyRemote
			}
			if oc.Disconnect != wantCaller || ic.Disconnect != wantCallee {
				t.Fatalf("CDR disconnect = %v, %v; want %v, %v", oc.Disconnect, ic.Disconnect, wantCaller, wantCallee)
			}
			// Final statistics do not change after the end.
			if st := out.Stats(); st != oc.Stats {
				t.Fatalf("stats after end changed: %+v vs %+v", st, oc.Stats)
			}
		})
	}
}

func TestCallRejectedBusy(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	p := newPair(t)
	out, in := p.dial(t, nil, nil)
	p.callerEv.expect(t, "caller", StateDialing)
	if err := in.Reject(486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	waitDone(t, out, "caller")
	waitDone(t, in, "callee")
	checkCause(t, "caller", out.Cause(), PartyRemote, 486)
	var se *sip.StatusError
	if err := out.Cause().Err; !errors.As(err, &se) || se.Code != 486 {
		t.Fatalf("caller cause error = %v, want a 486 StatusError", err)
	}
	checkCause(t, "callee", in.Cause(), PartyLocal, 486)
	ev := p.callerEv.expect(t, "caller", StateTerminated)
	if ev[0].Code != 486 || ev[0].Cause.By != PartyRemote {
		t.Fatalf("caller Terminated event = %+v", ev[0])
	}
	p.calleeEv.expect(t, "callee", StateIncoming, StateTerminated)

	cdr := out.CDR()
	if !cdr.Connect.IsZero() || cdr.Duration != 0 || cdr.SetupTime != 0 {
		t.Fatalf("unanswered call CDR = %+v", cdr)
	}
	if cdr.End.Before(cdr.Start) || cdr.Disconnect != PartyRemote || cdr.Code != 486 {
		t.Fatalf("caller CDR = %+v", cdr)
	}
	// The call is over: rejecting or answering again is invalid.
	if err := in.Reject(486, "Busy Here"); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("second Reject: %v, want ErrInvalidState", err)
	}
	if err := in.Answer(context.Background()); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("Answer after Reject: %v, want ErrInvalidState", err)
	}
}

func TestCallCancelledBeforeAnswer(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	p := newPair(t)
	out, in := p.dial(t, nil, nil)
	if err := in.Ring(); err != nil {
		t.Fatal(err)
	}
	p.callerEv.expect(t, "caller", StateDialing, StateRinging)
	p.calleeEv.expect(t, "callee", StateIncoming, StateRinging)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := out.Hangup(ctx); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	// Hangup of a dialing call waits for the end.
	select {
	case <-out.Done():
	default:
		t.Fatal("Hangup returned before the caller's call ended")
	}
	waitDone(t, in, "callee")
	checkCause(t, "caller", out.Cause(), PartyLocal, 487)
	if !errors.Is(out.Cause().Err, sip.ErrCanceled) {
		t.Fatalf("caller cause error = %v, want ErrCanceled", out.Cause().Err)
	}
	checkCause(t, "callee", in.Cause(), PartyRemote, 487)
	p.callerEv.expect(t, "caller", StateTerminated)
	p.calleeEv.expect(t, "callee", StateTerminated)

	if err := in.Answer(ctx); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("Answer after CANCEL: %v, want ErrInvalidState", err)
	}
	if cdr := in.CDR(); cdr.Ring.IsZero() || !cdr.Connect.IsZero() || cdr.Disconnect != PartyRemote || cdr.Code != 487 {
		t.Fatalf("callee CDR = %+v", cdr)
	}
}

func TestDialContextCancelSendsCancel(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	p := newPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, err := Dial(ctx, p.callerCfg, DialOptions{Target: p.target(), From: aliceURI})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = out.Close() })
	var in *Call
	select {
	case a := <-p.handler.calls:
		if a.err != nil {
			t.Fatal(a.err)
		}
		in = a.call
	case <-time.After(10 * time.Second):
		t.Fatal("no INVITE")
	}
	t.Cleanup(func() { _ = in.Close() })
	if err := in.Ring(); err != nil {
		t.Fatal(err)
	}
	p.callerEv.expect(t, "caller", StateDialing, StateRinging)
	cancel()
	waitDone(t, out, "caller")
	waitDone(t, in, "callee")
	checkCause(t, "caller", out.Cause(), PartyLocal, 487)
	checkCause(t, "callee", in.Cause(), PartyRemote, 487)
}

func TestCallInvalidStateErrors(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	p := newPair(t)
	out, in := p.dial(t, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// An outgoing call can be neither answered, rung nor rejected.
	if err := out.Answer(ctx); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("Answer on outgoing call: %v, want ErrInvalidState", err)
	}
	if err := out.Ring(); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("Ring on outgoing call: %v, want ErrInvalidState", err)
	}
	if err := out.Reject(486, "Busy Here"); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("Reject on outgoing call: %v, want ErrInvalidState", err)
	}
	if s := out.State(); s != StateDialing {
		t.Fatalf("caller state after refused operations = %v", s)
	}

	if err := in.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	p.callerEv.expect(t, "caller", StateDialing, StateConnected)
	p.calleeEv.expect(t, "callee", StateIncoming, StateConnected)
	if err := in.Answer(ctx); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("second Answer: %v, want ErrInvalidState", err)
	}
	if err := in.Reject(486, "Busy Here"); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("Reject after Answer: %v, want ErrInvalidState", err)
	}
	if err := in.Ring(); err == nil {
		t.Fatal("Ring after Answer succeeded")
	}
	if s := in.State(); s != StateConnected {
		t.Fatalf("callee state after refused operations = %v, want Connected", s)
	}
	// No state change was reported for the refused operations.
	p.callerEv.quiet(t, "caller", 100*time.Millisecond)
	p.calleeEv.quiet(t, "callee", 0)

	if err := out.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitDone(t, in, "callee")
	if err := in.Answer(ctx); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("Answer after the end: %v, want ErrInvalidState", err)
	}
}

func TestAcceptUnacceptableOffer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		wantErr error
	}{
		{"Malformed", "this is not SDP\r\n", media.ErrMalformedSDP},
		{"UnknownCodecOnly", "v=0\r\n" +
			"o=- 1 1 IN IP4 127.0.0.1\r\n" +
			"s=-\r\n" +
			"c=IN IP4 127.0.0.1\r\n" +
			"t=0 0\r\n" +
			"m=audio 40000 RTP/AVP 96\r\n" +
			"a=rtpmap:96 NOSUCHCODEC/8000\r\n", media.ErrNoCommonCodec},
		{"NoOffer", "", media.ErrNoOffer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(func() { goleak.VerifyNone(t) })
			p := newPair(t)
			// The INVITE is sent by a bare UA so the offer can be anything.
			ua := p.callerCfg.UA
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			type result struct {
				d   *sip.Dialog
				res *sip.Response
				err error
			}
			done := make(chan result, 1)
			go func() {
				d, res, err := ua.Invite(ctx, sip.InviteOptions{Target: p.target(), From: aliceURI, Body: []byte(tc.body)})
				done <- result{d, res, err}
			}()
			var a accepted
			select {
			case a = <-p.handler.calls:
			case <-ctx.Done():
				t.Fatal("no INVITE reached the callee")
			}
			if a.err == nil {
				t.Fatal("Accept succeeded")
			}
			if !errors.Is(a.err, tc.wantErr) {
				t.Fatalf("Accept error = %v, want %v", a.err, tc.wantErr)
			}
			c := a.call
			if c == nil {
				t.Fatal("Accept returned no call with its error")
			}
			select {
			case <-c.Done():
			default:
				t.Fatal("refused call is not done")
			}
			if s := c.State(); s != StateTerminated {
				t.Fatalf("state = %v, want Terminated", s)
			}
			if got := c.Cause(); got.Code != 488 {
				t.Fatalf("cause = %v, want 488", got)
			}
			ev := p.calleeEv.expect(t, "callee", StateTerminated)
			if ev[0].Cause.Code != 488 {
				t.Fatalf("Terminated event cause = %v", ev[0].Cause)
			}
			if err := c.Answer(ctx); !errors.Is(err, ErrInvalidState) {
				t.Fatalf("Answer on refused call: %v, want ErrInvalidState", err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}

			r := <-done
			var se *sip.StatusError
			if !errors.As(r.err, &se) || se.Code != 488 {
				t.Fatalf("caller got %v, want 488", r.err)
			}
			if r.d != nil {
				t.Fatal("caller got a dialog for a refused INVITE")
			}
		})
	}
}

func TestCallCloseIsIdempotent(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	p := newPair(t)
	out, in := p.dial(t, audio.Silence{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := in.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	p.callerEv.expect(t, "caller", StateDialing, StateConnected)
	p.calleeEv.expect(t, "callee", StateIncoming, StateConnected)

	for i := range 3 {
		if err := in.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if s := in.State(); s != StateTerminated {
		t.Fatalf("callee state after Close = %v", s)
	}
	// Close hung up with a BYE: the caller sees the remote end.
	waitDone(t, out, "caller")
	checkCause(t, "caller", out.Cause(), PartyRemote, 200)
	if in.Cause().By != PartyLocal {
		t.Fatalf("callee cause = %v, want local", in.Cause())
	}
	p.calleeEv.expect(t, "callee", StateTerminated)
	p.callerEv.expect(t, "caller", StateTerminated)
	for i := range 2 {
		if err := out.Close(); err != nil {
			t.Fatalf("caller Close #%d: %v", i+1, err)
		}
	}
	// Exactly one Terminated event per call, however often it is closed.
	p.callerEv.quiet(t, "caller", 100*time.Millisecond)
	p.calleeEv.quiet(t, "callee", 0)
}

func TestCloseWhileDialingCancels(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	p := newPair(t)
	out, in := p.dial(t, nil, nil)
	if err := in.Ring(); err != nil {
		t.Fatal(err)
	}
	p.callerEv.expect(t, "caller", StateDialing, StateRinging)
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	checkCause(t, "caller", out.Cause(), PartyLocal, 487)
	waitDone(t, in, "callee")
	checkCause(t, "callee", in.Cause(), PartyRemote, 487)
}

func TestStateStrings(t *testing.T) {
	names := map[string]bool{}
	for s := StateUnknown; s <= StateTerminated; s++ {
		n := s.String()
		if names[n] {
			t.Fatalf("state %d repeats name %q", int(s), n)
		}
		names[n] = true
	}
	if got := State(99).String(); got != "Unknown" {
		t.Fatalf("State(99) = %q", got)
	}
	if got := (Cause{By: PartyRemote, Code: 486, Reason: "Busy Here"}).String(); got != "remote 486 Busy Here" {
		t.Fatalf("Cause.String() = %q", got)
	}
	for _, d := range []Direction{Outgoing, Incoming, DirectionUnknown} {
		if d.String() == "" {
			t.Fatalf("direction %d has no name", int(d))
		}
	}
	if Party(42).String() != "unknown" || PartySystem.String() != "system" {
		t.Fatal("party names")
	}
}
