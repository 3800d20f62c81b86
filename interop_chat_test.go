package voipkit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/voipkit/voipkit/chat"
	"github.com/voipkit/voipkit/internal/peertest"
	"github.com/voipkit/voipkit/sip"
)

// messageFrom matches a MessageEvent from user with body text.
func messageFrom(user, text string) func(*MessageEvent) bool {
	return func(e *MessageEvent) bool {
		return strings.Contains(e.From, "sip:"+user+"@") && string(e.Body) == text
	}
}

func statusOf(id string) func(*MessageStatusEvent) bool {
	return func(e *MessageStatusEvent) bool { return e.ID == id }
}

// countEvents counts tp's events of type E so far.
func countEvents[E Event](tp *testPhone) int {
	tp.log.mu.Lock()
	defer tp.log.mu.Unlock()
	n := 0
	for _, e := range tp.log.events {
		if _, ok := e.(E); ok {
			n++
		}
	}
	return n
}

// TestChatPeerToPeer: two Phones without accounts exchange a message
// directly; a body the receiver does not take is refused with 415.
func TestChatPeerToPeer(t *testing.T) {
	leakCheck(t)
	a, b := newTestPhone(t, Config{}), newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ca, cb int
	const text = "héllo ✓ peer to peer"
	r, err := a.SendMessage(ctx, b.URI("bob"), text)
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != 200 || r.ID == "" || !strings.HasPrefix(r.To, "sip:bob@127.0.0.1:") {
		t.Fatalf("result = %+v", r)
	}
	st := waitEvent(t, a, &ca, 5*time.Second, statusOf(r.ID))
	if st.Status != MessageSent || st.Code != 200 || st.Err != nil || st.To != r.To {
		t.Fatalf("status event = %+v", st)
	}
	in := waitEvent(t, b, &cb, 5*time.Second, messageFrom("anonymous", text))
	if in.Account != nil || in.ContentType != chat.TextPlain || !strings.HasPrefix(in.To, "sip:bob@127.0.0.1") {
		t.Fatalf("message event = %+v", in)
	}
	if m := in.Message(); !m.IsText() || m.Text() != text || !m.Time.Equal(in.Time()) {
		t.Fatalf("chat message = %+v", m)
	}

	r, err = a.SendMessage(ctx, b.URI("bob"), `{"a":1}`, WithMessageContentType("application/json"))
	var se *sip.StatusError
	if !errors.As(err, &se) || se.Code != 415 {
		t.Fatalf("err = %v, want 415", err)
	}
	if h := se.Response.GetHeader("Accept"); h == nil || !strings.Contains(h.Value(), chat.ComposingType) {
		t.Fatalf("415 Accept header = %v", h)
	}
	st = waitEvent(t, a, &ca, 5*time.Second, statusOf(r.ID))
	if st.Status != MessageFailed || st.Code != 415 || !errors.As(st.Err, &se) {
		t.Fatalf("status event = %+v", st)
	}

	if _, err := a.SendMessage(ctx, "1002", "x"); !errors.Is(err, ErrInvalidTarget) {
		t.Fatalf("target without host or account: err = %v", err)
	}
	if err := a.SendComposing(ctx, b.URI("bob"), true); err != nil {
		t.Fatal(err)
	}
	comp := waitEvent(t, b, &cb, 5*time.Second, (func(*ComposingEvent) bool)(nil))
	if !comp.Active || comp.Refresh != composingRefresh {
		t.Fatalf("composing event = %+v", comp)
	}
	if n := countEvents[*MessageEvent](b); n != 1 {
		t.Fatalf("receiver got %d MessageEvents, want 1 (isComposing must not be one)", n)
	}

	_ = b.Close()
	_, err = b.SendMessage(ctx, a.URI("alice"), "after close")
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("closed phone: err = %v", err)
	}
}

// TestChatTimeout: a message to a silent address fails with ErrTimeout in
// the result and the delivery report.
func TestChatTimeout(t *testing.T) {
	leakCheck(t)
	a := newTestPhone(t, Config{RequestTimeout: 500 * time.Millisecond})
	silent := newTestPhone(t, Config{DisableTCP: true})
	target := silent.URI("nobody")
	_ = silent.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := a.SendMessage(ctx, target, "anyone?")
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	cur := 0
	st := waitEvent(t, a, &cur, 5*time.Second, statusOf(r.ID))
	if st.Status != MessageFailed || st.Code != 0 || !errors.Is(st.Err, ErrTimeout) {
		t.Fatalf("status event = %+v", st)
	}
}

func TestInteropKamailioChatBetweenPhones(t *testing.T) {
	for _, tp := range []string{TransportUDP, TransportTCP} {
		t.Run(tp, func(t *testing.T) { testChatBetweenPhones(t, tp) })
	}
}

func testChatBetweenPhones(t *testing.T, transport string) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	a, b, ca, cb := registerPairOver(t, kam, transport)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, x := range []struct {
		from, to         *testPhone
		fromCur, toCur   *int
		fromUser, toUser string
		text             string
	}{
		{a, b, ca, cb, "1001", "1002", "héllo ✓ from 1001"},
		{b, a, cb, ca, "1002", "1001", "héllo ✓ back from 1002 — ünïcödé"},
	} {
		r, err := x.from.SendMessage(ctx, x.toUser, x.text)
		if err != nil {
			t.Fatalf("%s -> %s: %v", x.fromUser, x.toUser, err)
		}
		if r.Code != 200 {
			t.Fatalf("%s -> %s: result %+v", x.fromUser, x.toUser, r)
		}
		st := waitEvent(t, x.from, x.fromCur, 5*time.Second, statusOf(r.ID))
		if st.Status != MessageSent || st.Code != 200 || st.Err != nil || st.To != "sip:"+x.toUser+"@127.0.0.1" {
			t.Fatalf("%s -> %s: status event %+v", x.fromUser, x.toUser, st)
		}
		in := waitEvent(t, x.to, x.toCur, 5*time.Second, messageFrom(x.fromUser, x.text))
		if in.FromName != "User "+x.fromUser || in.Account == nil || in.Account.User() != x.toUser || !strings.Contains(in.To, x.toUser+"@127.0.0.1") {
			t.Fatalf("%s -> %s: message event %+v", x.fromUser, x.toUser, in)
		}
		if !chat.IsText(in.ContentType) {
			t.Fatalf("content type %q", in.ContentType)
		}
	}
}

func TestInteropKamailioChatOffline(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	a, _, ca, _ := registerPair(t, kam)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := a.SendMessage(ctx, "1005", "are you there?")
	var se *sip.StatusError
	if !errors.As(err, &se) || se.Code != 404 {
		t.Fatalf("err = %v, want the proxy's 404", err)
	}
	if r == nil || r.Code != 404 {
		t.Fatalf("result = %+v", r)
	}
	st := waitEvent(t, a, ca, 5*time.Second, statusOf(r.ID))
	if st.Status != MessageFailed || st.Code != 404 || st.Err == nil || st.To != "sip:1005@127.0.0.1" {
		t.Fatalf("status event = %+v", st)
	}
}

func TestInteropKamailioComposing(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	a, b, _, cb := registerPair(t, kam)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.SendComposing(ctx, "1002", true); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, b, cb, 5*time.Second, (func(*ComposingEvent) bool)(nil))
	if !ev.Active || ev.Refresh != composingRefresh || !strings.Contains(ev.From, "sip:1001@") || ev.FromName != "User 1001" || ev.Account == nil || ev.Account.User() != "1002" {
		t.Fatalf("composing event = %+v", ev)
	}
	if err := a.SendComposing(ctx, "1002", false); err != nil {
		t.Fatal(err)
	}
	ev = waitEvent(t, b, cb, 5*time.Second, (func(*ComposingEvent) bool)(nil))
	if ev.Active || ev.Refresh != 0 {
		t.Fatalf("idle composing event = %+v", ev)
	}
	if n := countEvents[*MessageEvent](b); n != 0 {
		t.Fatalf("isComposing produced %d MessageEvents", n)
	}
	if n := countEvents[*MessageStatusEvent](a); n != 0 {
		t.Fatalf("SendComposing produced %d MessageStatusEvents", n)
	}
}

// TestInteropBaresipChat: the Phone (1001) and baresip (1002), both
// registered on Kamailio, message each other.
func TestInteropBaresipChat(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	u2 := kam.User("1002")
	b := peertest.StartBaresip(t, peertest.BaresipOptions{User: u2.Name, Password: u2.Password, Registrar: kam.Addr(),
		Contacts: []string{`"Phone" <sip:1001@127.0.0.1>`}})
	p, cur := registeredPhone(t, kam, "1001", Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	const toBaresip = "héllo ✓ from voipkit"
	r, err := p.SendMessage(ctx, u2.Name, toBaresip)
	if err != nil {
		t.Fatal(err)
	}
	st := waitEvent(t, p, &cur, 5*time.Second, statusOf(r.ID))
	if st.Status != MessageSent || st.Code != 200 {
		t.Fatalf("status event = %+v", st)
	}
	if err := b.WaitConsOutput(ctx, toBaresip); err != nil {
		t.Fatalf("%v; baresip printed:\n%s", err, b.ConsOutput())
	}

	const toPhone = "hello from baresip"
	if _, err := b.Command(ctx, "message", toPhone); err != nil {
		t.Fatal(err)
	}
	in := waitEvent(t, p, &cur, 5*time.Second, messageFrom(u2.Name, toPhone))
	if !chat.IsText(in.ContentType) || in.Account == nil || in.Account.User() != "1001" {
		t.Fatalf("message event = %+v", in)
	}
}
