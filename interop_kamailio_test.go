package voipkit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/internal/peertest"
	"github.com/voipkit/voipkit/sip"
)

func registered(e *RegistrationEvent) bool { return e.State == sip.Registered }

func TestInteropKamailioRegister(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	for _, tp := range []string{TransportUDP, TransportTCP} {
		t.Run(tp, func(t *testing.T) {
			p := newTestPhone(t, Config{})
			u := kam.User("1001")
			acc, err := p.AddAccount(AccountConfig{Server: kam.Addr(), User: u.Name, Password: u.Password, Transport: tp, Expires: 120 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			cur := 0
			ev := waitEvent(t, p, &cur, 5*time.Second, registered)
			if ev.Code != 200 || ev.Account != acc || ev.Expires != 120*time.Second {
				t.Fatalf("registered event = %+v", ev)
			}
			if dump, err := kam.Ctl("ul.dump"); err == nil && !strings.Contains(dump, "sip:1001@127.0.0.1:") {
				t.Fatalf("registrar has no contact for 1001:\n%s", dump)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := p.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if dump, err := kam.Ctl("ul.dump"); err == nil && strings.Contains(dump, "sip:1001@127.0.0.1:") {
				t.Fatalf("contact still registered after shutdown:\n%s", dump)
			}
		})
	}
}

func TestInteropKamailioRegisterWrongPassword(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	p := newTestPhone(t, Config{})
	if _, err := p.AddAccount(AccountConfig{Server: kam.Addr(), User: "1001", Password: "wrong", RetryInterval: time.Minute}); err != nil {
		t.Fatal(err)
	}
	cur := 0
	ev := waitEvent(t, p, &cur, 5*time.Second, func(e *RegistrationEvent) bool { return e.State == sip.RegistrationFailed })
	if !errors.Is(ev.Err, ErrAuthFailed) {
		t.Fatalf("err = %v, want ErrAuthFailed", ev.Err)
	}
	if ev.Code != 401 {
		t.Fatalf("code = %d, want 401", ev.Code)
	}
	if ev.RetryIn < 40*time.Second {
		t.Fatalf("retry in %v: a wrong password must not cause a retry storm", ev.RetryIn)
	}
}

func TestInteropKamailioRegisterTimeoutThenRecover(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	kam.Stop()
	p := newTestPhone(t, Config{})
	u := kam.User("1002")
	if _, err := p.AddAccount(AccountConfig{Server: kam.Addr(), User: u.Name, Password: u.Password,
		RegisterTimeout: time.Second, RetryInterval: 500 * time.Millisecond, MaxRetryInterval: time.Second}); err != nil {
		t.Fatal(err)
	}
	cur := 0
	ev := waitEvent(t, p, &cur, 5*time.Second, func(e *RegistrationEvent) bool { return e.State == sip.RegistrationFailed })
	if !errors.Is(ev.Err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", ev.Err)
	}
	kam.Restart()
	ok := waitEvent(t, p, &cur, 10*time.Second, registered)
	if ok.Code != 200 {
		t.Fatalf("code = %d after recovery", ok.Code)
	}
}

func TestInteropKamailioRegisterRefresh(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	p := newTestPhone(t, Config{})
	u := kam.User("1003")
	// The test registrar's min_expires is 10 s; refresh is due 5 s before.
	if _, err := p.AddAccount(AccountConfig{Server: kam.Addr(), User: u.Name, Password: u.Password, Expires: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	cur := 0
	first := waitEvent(t, p, &cur, 5*time.Second, registered)
	second := waitEvent(t, p, &cur, 12*time.Second, registered)
	gap := second.Time().Sub(first.Time())
	if gap < 3*time.Second || gap > 9*time.Second {
		t.Fatalf("refresh after %v, want about 5 s (before the 10 s expiry)", gap)
	}
}

// registeredPhone starts a Phone registered on kam as user and returns it
// with an event cursor past the registration.
func registeredPhone(t *testing.T, kam *peertest.Kamailio, user string, cfg Config) (*testPhone, int) {
	t.Helper()
	p := newTestPhone(t, cfg)
	u := kam.User(user)
	if _, err := p.AddAccount(AccountConfig{Server: kam.Addr(), User: u.Name, Password: u.Password}); err != nil {
		t.Fatal(err)
	}
	cur := 0
	waitEvent(t, p, &cur, 5*time.Second, registered)
	return p, cur
}

// registerPair registers two phones as 1001 and 1002 and returns them.
func registerPair(t *testing.T, kam *peertest.Kamailio) (a, b *testPhone, ca, cb *int) {
	t.Helper()
	return registerPairOver(t, kam, TransportUDP)
}

// registerPairOver is registerPair with a chosen transport to the proxy.
func registerPairOver(t *testing.T, kam *peertest.Kamailio, transport string) (a, b *testPhone, ca, cb *int) {
	t.Helper()
	a, b = newTestPhone(t, Config{}), newTestPhone(t, Config{})
	ca, cb = new(int), new(int)
	for _, x := range []struct {
		p    *testPhone
		user string
		cur  *int
	}{{a, "1001", ca}, {b, "1002", cb}} {
		u := kam.User(x.user)
		if _, err := x.p.AddAccount(AccountConfig{Server: kam.Addr(), User: u.Name, Password: u.Password, DisplayName: "User " + u.Name, Transport: transport}); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, x.p, x.cur, 5*time.Second, registered)
	}
	return a, b, ca, cb
}

func TestInteropKamailioCallPhoneToPhone(t *testing.T) {
	for _, tp := range []string{TransportUDP, TransportTCP} {
		t.Run(tp, func(t *testing.T) { testCallPhoneToPhone(t, tp) })
	}
}

func testCallPhoneToPhone(t *testing.T, transport string) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	a, b, ca, cb := registerPairOver(t, kam, transport)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	heardByA := audio.NewCapture(8000, 10*time.Second)
	heardByB := audio.NewCapture(8000, 10*time.Second)
	c, err := a.Dial(ctx, "1002", WithSource(audio.NewTone(0.5, 697)), WithSink(heardByA))
	if err != nil {
		t.Fatal(err)
	}
	in := waitEvent(t, b, cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if !strings.Contains(in.From, "1001@127.0.0.1") || in.FromName != "User 1001" {
		t.Fatalf("caller identity = %q %q", in.FromName, in.From)
	}
	in.Call.SetSource(audio.NewTone(0.5, 1209))
	in.Call.SetSink(heardByB)
	if err := in.Call.Ring(); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, ca, 5*time.Second, callState(c, CallRinging))
	if err := in.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, ca, 5*time.Second, callState(c, CallConnected))
	waitCaptured(t, heardByA, 1500*time.Millisecond, 10*time.Second)
	waitCaptured(t, heardByB, 1500*time.Millisecond, 10*time.Second)
	if l := toneLevel(heardByB, 697); l < 0.2 {
		t.Errorf("B heard A's 697 Hz at %.3f", l)
	}
	if l := toneLevel(heardByA, 1209); l < 0.2 {
		t.Errorf("A heard B's 1209 Hz at %.3f", l)
	}
	if l := toneLevel(heardByA, 697); l > 0.05 {
		t.Errorf("A hears its own tone at %.3f", l)
	}
	// The callee hangs up: BYE goes back through the proxy's route set.
	if err := in.Call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	end := waitEvent(t, a, ca, 5*time.Second, callState(c, CallTerminated))
	if end.Cause.By.String() != "remote" || end.Cause.Code != 200 {
		t.Fatalf("caller's cause = %v", end.Cause)
	}
	cdr := waitEvent(t, a, ca, 5*time.Second, func(e *CDREvent) bool { return e.CDR.CallID == c.ID() })
	if cdr.CDR.Duration < time.Second || cdr.CDR.Codec != "PCMU" || cdr.CDR.Stats.PacketsReceived < 50 {
		t.Fatalf("CDR = %+v", cdr.CDR)
	}
	if !strings.Contains(cdr.CDR.Callee, "1002") || !strings.Contains(cdr.CDR.Caller, "1001") {
		t.Fatalf("CDR parties %q -> %q", cdr.CDR.Caller, cdr.CDR.Callee)
	}
}

func TestInteropKamailioCallCancel(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	a, b, ca, cb := registerPair(t, kam)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := a.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	in := waitEvent(t, b, cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	_ = in.Call.Ring()
	waitEvent(t, a, ca, 5*time.Second, callState(c, CallRinging))
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	end := waitEvent(t, a, ca, 5*time.Second, callState(c, CallTerminated))
	if end.Cause.Code != 487 || end.Cause.By.String() != "local" {
		t.Fatalf("caller's cause = %v", end.Cause)
	}
	bend := waitEvent(t, b, cb, 5*time.Second, callState(in.Call, CallTerminated))
	if bend.Cause.Code != 487 || bend.Cause.By.String() != "remote" {
		t.Fatalf("callee's cause = %v", bend.Cause)
	}
}

func TestInteropKamailioCallRejected(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	a, b, ca, cb := registerPair(t, kam)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := a.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	in := waitEvent(t, b, cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if err := in.Call.Reject(486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	end := waitEvent(t, a, ca, 5*time.Second, callState(c, CallTerminated))
	if end.Cause.Code != 486 || end.Cause.By.String() != "remote" {
		t.Fatalf("caller's cause = %v", end.Cause)
	}
	// Dialling an unregistered user gets the proxy's 404.
	c2, err := a.Dial(ctx, "1006")
	if err != nil {
		t.Fatal(err)
	}
	end = waitEvent(t, a, ca, 5*time.Second, callState(c2, CallTerminated))
	if end.Cause.Code != 404 {
		t.Fatalf("call to unregistered user: %v", end.Cause)
	}
}
