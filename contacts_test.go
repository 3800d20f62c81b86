package voipkit

import (
	"context"
	"testing"
	"time"

	"github.com/voipkit/voipkit/internal/peertest"
	"github.com/voipkit/voipkit/presence"
)

// TestInteropKamailioPhoneBookPresence imports a phone book and watches it:
// presence for every entry and the busy lamp for the flagged one.
func TestInteropKamailioPhoneBookPresence(t *testing.T) {
	leakCheck(t)
	kam := peertest.StartKamailio(t, peertest.KamailioOptions{})
	a, b, _, cb := registerPair(t, kam)
	_ = a
	pb, err := presence.ParsePhoneBook([]byte(`<EZPhoneDirectory><PbookGroup><GroupName>Team</GroupName>` +
		`<DirectoryEntry><Name>Alice</Name><Telephone>1001</Telephone><Blf>Yes</Blf></DirectoryEntry>` +
		`<DirectoryEntry><Name>Carol</Name><Telephone>1003</Telephone><Blf>No</Blf></DirectoryEntry>` +
		`</PbookGroup></EZPhoneDirectory>`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := b.WatchPhoneBook(ctx, pb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		_ = cs.Close(cctx)
	})
	if len(cs.Presence) != 2 || len(cs.BLF) != 1 {
		t.Fatalf("watches: %d presence, %d BLF", len(cs.Presence), len(cs.BLF))
	}
	// The lamp and the two presence events come in any order.
	blfCur, presCur := *cb, *cb
	waitEvent(t, b, &blfCur, 10*time.Second, func(e *BLFEvent) bool { return e.Extension == "1001" && e.State == presence.StateIdle })
	seen := map[string]bool{}
	for len(seen) < 2 {
		ev := waitEvent(t, b, &presCur, 10*time.Second, (func(*PresenceEvent) bool)(nil))
		seen[ev.Target] = true
	}
}
