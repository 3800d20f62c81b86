package sip

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	gsip "github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"
)

// messageRecorder is a Handler that records MESSAGEs and accepts only
// text/plain bodies.
type messageRecorder struct {
	got chan *IncomingMessage
}

func (r *messageRecorder) HandleInvite(in *IncomingInvite) { _ = in.Reject(603, "Decline") }

func (r *messageRecorder) HandleMessage(m *IncomingMessage) int {
	r.got <- m
	if !strings.HasPrefix(strings.ToLower(m.ContentType), "text/plain") {
		m.Accept = []string{"text/plain"}
		return 415
	}
	return 0
}

func TestMessageDelivered(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	for _, tp := range []Transport{UDP, TCP} {
		t.Run(string(tp), func(t *testing.T) {
			rec := &messageRecorder{got: make(chan *IncomingMessage, 4)}
			a := newTestUA(t, nil)
			b := newTestUA(t, rec)
			target, err := ParseTarget("bob@127.0.0.1:"+itoa(b.Port())+";transport="+string(tp), "")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			body := []byte("héllo ✓ — ünïcödé")
			res, err := a.Message(ctx, MessageOptions{
				Target: target, From: URI{Scheme: "sip", User: "alice", Host: "127.0.0.1"}, DisplayName: "Alice A",
				Body: body, Headers: []Header{NewHeader("X-Test", "1")},
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 200 {
				t.Fatalf("status = %d", res.StatusCode)
			}
			var m *IncomingMessage
			select {
			case m = <-rec.got:
			case <-ctx.Done():
				t.Fatal("no MESSAGE delivered")
			}
			if !bytes.Equal(m.Body, body) {
				t.Fatalf("body = %q, want %q", m.Body, body)
			}
			if m.ContentType != DefaultMessageContentType {
				t.Fatalf("content type = %q", m.ContentType)
			}
			if m.From.User != "alice" || m.FromName != "Alice A" || m.To.User != "bob" || m.RequestURI.User != "bob" {
				t.Fatalf("parties: from %s %q to %s ruri %s", m.From.String(), m.FromName, m.To.String(), m.RequestURI.String())
			}
			if m.Dialog != nil {
				t.Fatal("out-of-dialog MESSAGE reported a dialog")
			}
			if h := m.Request.GetHeader("X-Test"); h == nil || h.Value() != "1" {
				t.Fatal("extra header lost")
			}
			if m.Request.Contact() != nil {
				t.Fatal("MESSAGE carries a Contact")
			}
		})
	}
}

func TestMessageUnsupportedType(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	rec := &messageRecorder{got: make(chan *IncomingMessage, 1)}
	a := newTestUA(t, nil)
	b := newTestUA(t, rec)
	target, _ := ParseTarget("bob@127.0.0.1:"+itoa(b.Port()), "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := a.Message(ctx, MessageOptions{Target: target, From: URI{Scheme: "sip", User: "alice", Host: "127.0.0.1"},
		ContentType: "application/x-unknown", Body: []byte{0, 1, 2}})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 415 {
		t.Fatalf("err = %v, want a 415 *StatusError", err)
	}
	if res == nil || res.StatusCode != 415 {
		t.Fatalf("response = %v", res)
	}
	if h := se.Response.GetHeader("Accept"); h == nil || h.Value() != "text/plain" {
		t.Fatalf("415 without the handler's Accept header: %v", h)
	}
	if m := <-rec.got; m.ContentType != "application/x-unknown" {
		t.Fatalf("handler saw content type %q", m.ContentType)
	}
}

func TestMessageWithoutHandler(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	a := newTestUA(t, nil)
	b := newTestUA(t, make(inviteHandler)) // handles INVITE only
	target, _ := ParseTarget("bob@127.0.0.1:"+itoa(b.Port()), "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := a.Message(ctx, MessageOptions{Target: target, From: URI{Scheme: "sip", User: "alice", Host: "127.0.0.1"}, Body: []byte("hi")})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 405 {
		t.Fatalf("err = %v, want 405", err)
	}
}

func TestMessageTimeout(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	a := newTestUA(t, nil)
	// A UA that is closed leaves its port silent.
	b, err := NewUA(Config{ListenAddr: a.cfg.ListenAddr, DisableTCP: true})
	if err != nil {
		t.Fatal(err)
	}
	port := b.Port()
	_ = b.Close()
	target, _ := ParseTarget("bob@127.0.0.1:"+itoa(port), "")
	from := URI{Scheme: "sip", User: "alice", Host: "127.0.0.1"}

	start := time.Now()
	_, err = a.Message(context.Background(), MessageOptions{Target: target, From: from, Body: []byte("x"), Timeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timeout took %v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = a.Message(ctx, MessageOptions{Target: target, From: from, Body: []byte("x")})
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrTimeout wrapping the context deadline", err)
	}
}

func TestMessageInvalid(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	a := newTestUA(t, nil)
	ctx := context.Background()
	from := URI{Scheme: "sip", User: "alice", Host: "127.0.0.1"}
	if _, err := a.Message(ctx, MessageOptions{From: from}); !errors.Is(err, ErrInvalidURI) {
		t.Fatalf("no target: err = %v", err)
	}
	target, _ := ParseTarget("bob@127.0.0.1:5999", "")
	if _, err := a.Message(ctx, MessageOptions{Target: target, From: from, ContentType: "text/plain\r\nX-Evil: 1"}); err == nil {
		t.Fatal("content type with CRLF accepted")
	}
	_ = a.Close()
	if _, err := a.Message(ctx, MessageOptions{Target: target, From: from}); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed UA: err = %v", err)
	}
}

// TestMessageInDialog: a MESSAGE inside an INVITE dialog reaches the
// message handler with its dialog when the dialog has no request handler,
// and the dialog's handler otherwise.
func TestMessageInDialog(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	rec := &messageRecorder{got: make(chan *IncomingMessage, 1)}
	a := newTestUA(t, rec)
	invites := make(inviteHandler, 1)
	b := newTestUA(t, invites)
	target, _ := ParseTarget("bob@127.0.0.1:"+itoa(b.Port()), "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		in := <-invites
		_, _ = in.Accept([]byte("v=0\r\n"))
	}()
	d, _, err := a.Invite(ctx, InviteOptions{Target: target, From: URI{Scheme: "sip", User: "alice", Host: "127.0.0.1"}, Body: []byte("v=0\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	var bd *Dialog
	for bd == nil && ctx.Err() == nil {
		b.mu.Lock()
		for _, x := range b.dialogs {
			bd = x
		}
		b.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	if bd == nil {
		t.Fatal("callee has no dialog")
	}
	if _, err := bd.Request(ctx, "MESSAGE", "text/plain", []byte("in dialog")); err != nil {
		t.Fatal(err)
	}
	m := <-rec.got
	if string(m.Body) != "in dialog" || m.Dialog != d {
		t.Fatalf("got %q in dialog %p, want %p", m.Body, m.Dialog, d)
	}
	d.SetRequestHandler(func(req *Request, tx gsip.ServerTransaction) {
		_ = tx.Respond(gsip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
	})
	res, err := bd.Request(ctx, "MESSAGE", "text/plain", []byte("to the dialog handler"))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 488 {
		t.Fatalf("in-dialog MESSAGE with a dialog handler: %d, want the handler's 488", res.StatusCode)
	}
	select {
	case m := <-rec.got:
		t.Fatalf("message handler also got %q", m.Body)
	default:
	}
	if err := d.Bye(ctx, ""); err != nil {
		t.Fatal(err)
	}
}
