package voipkit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/voipkit/voipkit/presence"
)

// waitWatchers waits until p has n direct watchers.
func waitWatchers(t *testing.T, p *testPhone, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for p.DirectWatchers() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d direct watchers, want %d", p.DirectWatchers(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPresencePeerToPeer: without accounts or a presence server, A
// subscribes to B directly and sees what B publishes.
func TestPresencePeerToPeer(t *testing.T) {
	leakCheck(t)
	a := newTestPhone(t, Config{})
	b := newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ca := new(int)

	w, err := a.WatchPresence(ctx, b.URI("bob"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(w.Target(), "sip:bob@127.0.0.1:") || w.Event() != "presence" {
		t.Fatalf("watch target %q event %q", w.Target(), w.Event())
	}
	ev := waitEvent(t, a, ca, 10*time.Second, func(e *PresenceEvent) bool { return e.Target == w.Target() })
	if ev.Status != presence.StatusOnline || ev.Note != "" {
		t.Fatalf("first state %v %q", ev.Status, ev.Note)
	}
	if ev.Document == nil || ev.Document.Entity != b.URI("") {
		t.Fatalf("document %+v, want entity %s", ev.Document, b.URI(""))
	}
	waitWatchers(t, b, 1, 5*time.Second)

	if err := b.Publish(ctx, presence.StatusAway, "lunch"); err != nil {
		t.Fatal(err)
	}
	ev = waitEvent(t, a, ca, 10*time.Second, func(e *PresenceEvent) bool { return e.Status == presence.StatusAway })
	if ev.Note != "lunch" || ev.Target != w.Target() {
		t.Fatalf("after publish: %v %q from %s", ev.Status, ev.Note, ev.Target)
	}

	// A refresh brings the current state again.
	w.Refresh()
	ev = waitEvent(t, a, ca, 10*time.Second, func(e *PresenceEvent) bool { return e.Status == presence.StatusAway })
	if ev.Note != "lunch" {
		t.Fatalf("after refresh: note %q", ev.Note)
	}

	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitWatchers(t, b, 0, 5*time.Second)
}

// TestPresencePeerToPeerShutdown: a Phone that shuts down ends its
// watchers' subscriptions with a final NOTIFY.
func TestPresencePeerToPeerShutdown(t *testing.T) {
	leakCheck(t)
	a := newTestPhone(t, Config{})
	b := newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ca := new(int)
	w, err := a.WatchPresence(ctx, b.URI("bob"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Close(ctx) }()
	waitEvent(t, a, ca, 10*time.Second, func(e *PresenceEvent) bool { return e.Status == presence.StatusOnline })
	waitWatchers(t, b, 1, 5*time.Second)
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := b.DirectWatchers(); n != 0 {
		t.Fatalf("%d watchers after shutdown", n)
	}
	// The watcher saw the end: without retry-after it would subscribe
	// afresh later, but its current subscription is terminated.
	deadline := time.Now().Add(5 * time.Second)
	for w.sub.State() != "terminated" {
		if time.Now().After(deadline) {
			t.Fatalf("watch state %q after the notifier shut down", w.sub.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPresenceWatchNeedsHostWithoutAccount: a bare user cannot be
// resolved peer to peer.
func TestPresenceWatchNeedsHostWithoutAccount(t *testing.T) {
	leakCheck(t)
	a := newTestPhone(t, Config{})
	if _, err := a.WatchPresence(context.Background(), "bob"); err == nil {
		t.Fatal("watch of a bare user without an account succeeded")
	}
}

// TestPresencePolicyRefuses: a watcher the policy refuses gets 603.
func TestPresencePolicyRefuses(t *testing.T) {
	leakCheck(t)
	asked := make(chan string, 1)
	b := newTestPhone(t, Config{PresencePolicy: func(watcher string) bool { asked <- watcher; return false }})
	a := newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := a.WatchPresence(ctx, b.URI("bob"))
	if err == nil {
		_ = w.Close(ctx)
		t.Fatal("refused watcher got a subscription")
	}
	select {
	case who := <-asked:
		if !strings.Contains(who, "anonymous") {
			t.Fatalf("policy asked about %q", who)
		}
	default:
		t.Fatal("policy was not consulted")
	}
	if n := b.DirectWatchers(); n != 0 {
		t.Fatalf("%d watchers after refusal", n)
	}
}
