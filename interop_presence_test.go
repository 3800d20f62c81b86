package voipkit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/voipkit/voipkit/internal/peertest"
	"github.com/voipkit/voipkit/presence"
)

// watchFor starts a watch and unsubscribes at cleanup (Kamailio keeps
// watchers that never unsubscribe).
func watchFor(t *testing.T) func(*Watch, error) *Watch {
	return func(w *Watch, err error) *Watch {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := w.Close(ctx); err != nil {
				t.Errorf("unsubscribe %s: %v", w.Target(), err)
			}
		})
		return w
	}
}

func presenceOf(user string, st presence.Status) func(*PresenceEvent) bool {
	return func(e *PresenceEvent) bool { return strings.Contains(e.Target, "sip:"+user+"@") && e.Status == st }
}

// TestInteropKamailioPresence: 1001 and 1002 watch each other through
// Kamailio's presence server; what one publishes the other sees.
func TestInteropKamailioPresence(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	a, b, ca, cb := registerPair(t, kam)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	wa := watchFor(t)(a.WatchPresence(ctx, "1002"))
	watchFor(t)(b.WatchPresence(ctx, "1001"))
	if !strings.HasPrefix(wa.Target(), "sip:1002@127.0.0.1") || wa.Event() != "presence" {
		t.Fatalf("watch target %q event %q", wa.Target(), wa.Event())
	}

	if err := a.Publish(ctx, presence.StatusAway, "Back at 3 <pm> & later"); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, b, cb, 10*time.Second, presenceOf("1001", presence.StatusAway))
	if ev.Note != "Back at 3 <pm> & later" {
		t.Fatalf("note = %q", ev.Note)
	}
	if ev.Document == nil || ev.Document.Entity != "sip:1001@127.0.0.1" || len(ev.Raw) == 0 {
		t.Fatalf("document = %+v", ev.Document)
	}

	if err := b.Publish(ctx, presence.StatusBusy, "on a call"); err != nil {
		t.Fatal(err)
	}
	ev = waitEvent(t, a, ca, 10*time.Second, presenceOf("1002", presence.StatusBusy))
	if ev.Note != "on a call" {
		t.Fatalf("note = %q", ev.Note)
	}

	// Changing the published state reuses the publication (SIP-If-Match).
	if err := a.Publish(ctx, presence.StatusOnline, ""); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, b, cb, 10*time.Second, presenceOf("1001", presence.StatusOnline))

	// Removing it leaves the watcher without Online state.
	if err := a.Unpublish(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, b, cb, 10*time.Second, func(e *PresenceEvent) bool {
		return strings.Contains(e.Target, "sip:1001@") && e.Status != presence.StatusOnline
	})
}

// TestInteropKamailioBLFFollowsCall: 1003 watches 1002's dialog state
// while 1001 calls 1002 through Kamailio (pua_dialoginfo publishes it).
func TestInteropKamailioBLFFollowsCall(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	a, b, ca, cb := registerPair(t, kam)
	c, cc := registerThird(t, kam)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	watchFor(t)(c.WatchBLF(ctx, "1002"))
	blf := func(st presence.State) func(*BLFEvent) bool {
		return func(e *BLFEvent) bool { return e.Extension == "1002" && e.State == st }
	}
	waitEvent(t, c, cc, 10*time.Second, blf(presence.StateIdle))

	call, err := a.Dial(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	in := waitEvent(t, b, cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	if err := in.Call.Ring(); err != nil {
		t.Fatal(err)
	}
	ringing := waitEvent(t, c, cc, 10*time.Second, blf(presence.StateRinging))
	if ringing.Direction != presence.DirectionRecipient {
		t.Fatalf("ringing direction = %v, want recipient", ringing.Direction)
	}
	if !strings.Contains(ringing.Remote, "1001@") {
		t.Fatalf("ringing remote = %q, want 1001", ringing.Remote)
	}
	if err := in.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, ca, 5*time.Second, callState(call, CallConnected))
	busy := waitEvent(t, c, cc, 10*time.Second, blf(presence.StateBusy))
	if busy.Direction != presence.DirectionRecipient {
		t.Fatalf("busy direction = %v, want recipient", busy.Direction)
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, c, cc, 10*time.Second, blf(presence.StateIdle))
}

// TestInteropKamailioMWI: the Phone subscribes to its own mailbox; sipp
// publishes a message summary for it.
func TestInteropKamailioMWI(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	p := newTestPhone(t, Config{})
	u := kam.User("1001")
	acc, err := p.AddAccount(AccountConfig{Server: kam.Addr(), User: u.Name, Password: u.Password, VoicemailNumber: "*97"})
	if err != nil {
		t.Fatal(err)
	}
	cur := 0
	waitEvent(t, p, &cur, 5*time.Second, registered)
	if acc.VoicemailNumber() != "*97" {
		t.Fatalf("voicemail number = %q", acc.VoicemailNumber())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := watchFor(t)(p.WatchMWI(ctx))
	if w.Target() != "sip:1001@127.0.0.1" {
		t.Fatalf("mailbox = %q", w.Target())
	}
	r := peertest.RunSipp(ctx, t, "publish_mwi", "-s", "1001", "-au", u.Name, "-ap", u.Password, "-key", "new", "3", kam.Addr())
	if r.ExitCode != 0 {
		t.Fatalf("sipp: %s", r)
	}
	ev := waitEvent(t, p, &cur, 10*time.Second, func(e *MWIEvent) bool { return e.Waiting })
	if ev.New != 3 || ev.Old != 0 || ev.UrgentNew != 0 || ev.UrgentOld != 0 || ev.Account != acc {
		t.Fatalf("mwi = %+v", ev)
	}
	if !strings.Contains(ev.MessageAccount, "1001@") {
		t.Fatalf("message account = %q", ev.MessageAccount)
	}
}

// TestInteropKamailioMalformedPIDF: a well-formed XML body that is not
// valid PIDF reaches the watcher as SubscriptionErrorEvent; the watch
// keeps working for the next valid document.
func TestInteropKamailioMalformedPIDF(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	a, b, _, cb := registerPair(t, kam)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := watchFor(t)(b.WatchPresence(ctx, "1001"))

	acc, err := a.presenceAccount(nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:1001@127.0.0.1">
<tuple id="t1"><status><basic>sideways</basic></status></tuple>
</presence>`
	if err := a.publishRaw(ctx, acc, presence.ContentTypePIDF, []byte(bad)); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, b, cb, 10*time.Second, func(e *SubscriptionErrorEvent) bool { return e.Event == "presence" })
	if !errors.Is(ev.Err, presence.ErrMalformed) || !strings.Contains(ev.Target, "1001@") {
		t.Fatalf("error event = %+v", ev)
	}
	select {
	case <-w.Done():
		t.Fatal("watch ended after a malformed document")
	default:
	}
	if err := a.Publish(ctx, presence.StatusAway, "fixed"); err != nil {
		t.Fatal(err)
	}
	ok := waitEvent(t, b, cb, 10*time.Second, presenceOf("1001", presence.StatusAway))
	if ok.Note != "fixed" {
		t.Fatalf("note = %q", ok.Note)
	}
}
