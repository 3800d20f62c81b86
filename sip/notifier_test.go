package sip

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// notifierRecorder is a Handler that accepts "test-state" subscriptions:
// it notifies the current state at once and again on each refresh.
type notifierRecorder struct {
	subs chan *IncomingSubscribe
	wg   sync.WaitGroup

	mu    sync.Mutex
	state int
}

func (r *notifierRecorder) HandleInvite(in *IncomingInvite) { _ = in.Reject(603, "Decline") }

func (r *notifierRecorder) body() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return []byte("state " + strconv.Itoa(r.state))
}

func (r *notifierRecorder) HandleSubscribe(s *IncomingSubscribe) int {
	if s.Event() != "test-state" {
		return 489
	}
	r.subs <- s
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Notify(ctx, "active", "text/plain", r.body())
		for {
			select {
			case <-s.Refreshed():
				_ = s.Notify(ctx, "active", "text/plain", r.body())
			case <-s.Done():
				return
			}
		}
	}()
	return 200
}

func TestNotifierSubscribeRefreshUnsubscribe(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	for _, tp := range []Transport{UDP, TCP} {
		t.Run(string(tp), func(t *testing.T) {
			rec := &notifierRecorder{subs: make(chan *IncomingSubscribe, 4)}
			t.Cleanup(rec.wg.Wait) // runs after the UAs close
			a := newTestUA(t, nil)
			b := newTestUA(t, rec)
			target, err := ParseTarget("bob@127.0.0.1:"+itoa(b.Port())+";transport="+string(tp), "")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			notes := make(chan *Notification, 8)
			sub, err := a.Subscribe(ctx, SubscribeOptions{
				Target: target, From: URI{Scheme: "sip", User: "alice", Host: "127.0.0.1"},
				Event: "test-state", Expires: 7200 * time.Second,
				Notify: func(n *Notification) { notes <- n },
			})
			if err != nil {
				t.Fatal(err)
			}
			var in *IncomingSubscribe
			select {
			case in = <-rec.subs:
			case <-ctx.Done():
				t.Fatal("handler not called")
			}
			if in.From().User != "alice" || in.Dialog() == nil || in.Dialog().RemoteTarget().Host == "" {
				t.Fatalf("subscriber %q, dialog %v", in.From().User, in.Dialog())
			}
			if e := in.Expires(); e > MaxSubscriptionExpires || e < MaxSubscriptionExpires-time.Minute {
				t.Fatalf("granted %v, want capped at %v", e, MaxSubscriptionExpires)
			}
			next := func() *Notification {
				t.Helper()
				select {
				case n := <-notes:
					return n
				case <-ctx.Done():
					t.Fatal("no NOTIFY")
					return nil
				}
			}
			n := next()
			if n.State != SubscriptionActive || string(n.Body) != "state 0" || n.ContentType != "text/plain" {
				t.Fatalf("first NOTIFY: %s %q %q", n.State, n.Body, n.ContentType)
			}
			if n.Expires <= 0 || n.Expires > MaxSubscriptionExpires {
				t.Fatalf("NOTIFY expires = %v", n.Expires)
			}

			rec.mu.Lock()
			rec.state = 1
			rec.mu.Unlock()
			sub.Refresh()
			if n := next(); n.State != SubscriptionActive || string(n.Body) != "state 1" {
				t.Fatalf("after refresh: %s %q", n.State, n.Body)
			}

			if err := sub.Close(ctx); err != nil {
				t.Fatal(err)
			}
			select {
			case <-in.Done():
			case <-ctx.Done():
				t.Fatal("notifier side did not end on unsubscribe")
			}
			select {
			case <-in.Dialog().Done():
			case <-ctx.Done():
				t.Fatal("dialog not terminated")
			}
			if err := in.Notify(ctx, "active", "text/plain", []byte("late")); !errors.Is(err, ErrSubscriptionTerminated) {
				t.Fatalf("Notify after end: %v", err)
			}
			// The final NOTIFY said terminated.
			var last *Notification
			for len(notes) > 0 {
				last = <-notes
			}
			if last == nil || last.State != SubscriptionTerminated {
				t.Fatalf("final NOTIFY = %+v", last)
			}
		})
	}
}

func TestNotifierRefusesEvent(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	rec := &notifierRecorder{subs: make(chan *IncomingSubscribe, 1)}
	a := newTestUA(t, nil)
	b := newTestUA(t, rec)
	target, err := ParseTarget("bob@127.0.0.1:"+itoa(b.Port()), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = a.Subscribe(ctx, SubscribeOptions{Target: target, From: URI{Scheme: "sip", User: "alice", Host: "127.0.0.1"}, Event: "dialog"})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 489 {
		t.Fatalf("err = %v, want 489", err)
	}
	b.mu.Lock()
	n := len(b.dialogs)
	b.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d dialogs left after a refused SUBSCRIBE", n)
	}
}

func TestNotifierCloseEndsSubscription(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	rec := &notifierRecorder{subs: make(chan *IncomingSubscribe, 1)}
	t.Cleanup(rec.wg.Wait)
	a := newTestUA(t, nil)
	b, err := NewUA(Config{Handler: rec})
	if err != nil {
		t.Fatal(err)
	}
	target, err := ParseTarget("bob@127.0.0.1:"+itoa(b.Port()), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := a.Subscribe(ctx, SubscribeOptions{Target: target, From: URI{Scheme: "sip", User: "alice", Host: "127.0.0.1"}, Event: "test-state"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Close(ctx) }()
	in := <-rec.subs
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in.Done():
	case <-ctx.Done():
		t.Fatal("subscription survived UA close")
	}
}
