package voipkit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/voipkit/voipkit/internal/peertest"
	"github.com/voipkit/voipkit/presence"
	"github.com/voipkit/voipkit/sip"
)

// Interop tests of the subscriber (RFC 6665) and publisher (RFC 3903)
// against sipp scripted as the notifier or presence agent
// (testdata/sipp/notifier_*.xml, publish_412.xml). The Phone has an
// account that does not register and whose server is sipp, so watches
// and publications go straight to it.

// subSippPhone returns a Phone with account 1001 pointing at s.
func subSippPhone(t *testing.T, s *peertest.SippProcess) *testPhone {
	t.Helper()
	p := newTestPhone(t, Config{})
	if _, err := p.AddAccount(AccountConfig{User: "1001", Server: s.Addr(), DisableRegistration: true}); err != nil {
		t.Fatal(err)
	}
	return p
}

// subSippMsg is one message of sipp's -trace_msg log.
type subSippMsg struct {
	At   time.Time // sipp's clock when it logged the message
	Sent bool      // sent by sipp (else received)
	Text string
}

// firstLine returns the request or status line.
func (m subSippMsg) firstLine() string {
	l, _, _ := strings.Cut(m.Text, "\n")
	return strings.TrimSpace(l)
}

// isRequest reports whether m is a method request.
func (m subSippMsg) isRequest(method string) bool {
	return strings.HasPrefix(m.firstLine(), method+" ")
}

// hdr returns the first value of header name ("" when absent); the body
// is not searched.
func (m subSippMsg) hdr(name string) string {
	head, _, _ := strings.Cut(m.Text, "\n\n")
	for _, l := range strings.Split(head, "\n")[1:] {
		n, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimSpace(n), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// subSippTag returns the tag parameter of a From or To value.
func subSippTag(v string) string {
	_, t, ok := strings.Cut(v, ";tag=")
	if !ok {
		return ""
	}
	t, _, _ = strings.Cut(t, ";")
	return strings.TrimSpace(t)
}

// parseSubSippLog splits sipp's -trace_msg log into messages. Entries
// look like "----...---- 2006-01-02 15:04:05.000000\nUDP message received
// [473] bytes :\n\n<message>".
func parseSubSippLog(t *testing.T, log string) []subSippMsg {
	t.Helper()
	const sep = "----------------------------------------------- "
	log = strings.ReplaceAll(log, "\r\n", "\n")
	var out []subSippMsg
	for _, e := range strings.Split(log, sep)[1:] {
		stamp, rest, _ := strings.Cut(e, "\n")
		at, err := time.ParseInLocation("2006-01-02 15:04:05.000000", strings.TrimSpace(stamp), time.Local)
		if err != nil {
			t.Fatalf("sipp log timestamp %q: %v", stamp, err)
		}
		kind, text, _ := strings.Cut(rest, "\n")
		out = append(out, subSippMsg{At: at, Sent: strings.Contains(kind, "message sent"), Text: strings.TrimLeft(text, "\n")})
	}
	return out
}

// subSippSubscribes returns the SUBSCRIBEs sipp received, skipping
// retransmissions (same branch) and unsubscribes (Expires: 0).
func subSippSubscribes(msgs []subSippMsg) []subSippMsg {
	var out []subSippMsg
	seen := map[string]bool{}
	for _, m := range msgs {
		if m.Sent || !m.isRequest("SUBSCRIBE") || m.hdr("Expires") == "0" || seen[m.hdr("Via")] {
			continue
		}
		seen[m.hdr("Via")] = true
		out = append(out, m)
	}
	return out
}

// subSippFirstSent returns the first message sipp sent that matches.
func subSippFirstSent(t *testing.T, msgs []subSippMsg, match func(subSippMsg) bool) subSippMsg {
	t.Helper()
	for _, m := range msgs {
		if m.Sent && match(m) {
			return m
		}
	}
	t.Fatal("sipp never sent the expected message")
	return subSippMsg{}
}

func notePresence(note string) func(*PresenceEvent) bool {
	return func(e *PresenceEvent) bool { return e.Note == note && e.Status == presence.StatusOnline }
}

// noSubscriptionErrors fails the test if p reported a SubscriptionErrorEvent
// other than those allowed.
func noSubscriptionErrors(t *testing.T, p *testPhone, allowed func(*SubscriptionErrorEvent) bool) {
	t.Helper()
	p.log.mu.Lock()
	defer p.log.mu.Unlock()
	for _, e := range p.log.events {
		if se, ok := e.(*SubscriptionErrorEvent); ok && (allowed == nil || !allowed(se)) {
			t.Errorf("unexpected subscription error: %s %s: %v", se.Event, se.Target, se.Err)
		}
	}
}

// closeRecoveredWatch checks that w is still up with an active
// subscription and that p reported no subscription error but the allowed
// ones; it then ends the watch and returns sipp's result.
func closeRecoveredWatch(ctx context.Context, t *testing.T, p *testPhone, w *Watch, s *peertest.SippProcess, allowed func(*SubscriptionErrorEvent) bool) peertest.SippResult {
	t.Helper()
	select {
	case <-w.Done():
		t.Fatalf("watch ended: %v", w.sub.Err())
	default:
	}
	if st := w.sub.State(); st != sip.SubscriptionActive {
		t.Fatalf("subscription state = %q after recovering, want active", st)
	}
	noSubscriptionErrors(t, p, allowed)
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	r := s.Wait(ctx)
	requireSippOK(t, r)
	return r
}

// subSippResubscribe runs notifier_terminate.xml with the given
// Subscription-State for the NOTIFY that ends the first dialog and checks
// that the watch recovers in a new dialog. It returns sipp's messages: the
// terminated NOTIFY it sent and the second SUBSCRIBE it received.
func subSippResubscribe(t *testing.T, state string) (term, again subSippMsg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s := peertest.StartSipp(ctx, t, "notifier_terminate", "-m", "2", "-key", "state", state)
	p := subSippPhone(t, s)
	w, err := p.WatchPresence(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	cur := 0
	first := waitEvent(t, p, &cur, 5*time.Second, notePresence("round 1"))
	// The terminated NOTIFY (no body) is reported as state unknown, then
	// the new dialog's first NOTIFY.
	ended := waitEvent(t, p, &cur, 5*time.Second, func(e *PresenceEvent) bool { return len(e.Raw) == 0 })
	if ended.Status != presence.StatusUnknown {
		t.Fatalf("terminated NOTIFY reported as %v", ended.Status)
	}
	second := waitEvent(t, p, &cur, 10*time.Second, notePresence("round 2"))
	if !second.Time().After(first.Time()) {
		t.Fatalf("event times %v then %v", first.Time(), second.Time())
	}
	r := closeRecoveredWatch(ctx, t, p, w, s, nil)
	msgs := parseSubSippLog(t, r.MessagesLog)
	subs := subSippSubscribes(msgs)
	if len(subs) != 2 {
		t.Fatalf("sipp received %d SUBSCRIBEs (besides the unsubscribe), want 2\n%s", len(subs), r)
	}
	a, b := subs[0], subs[1]
	if a.hdr("Call-ID") == b.hdr("Call-ID") || subSippTag(a.hdr("From")) == subSippTag(b.hdr("From")) {
		t.Fatalf("second SUBSCRIBE reuses the dialog: Call-ID %q/%q, From %q/%q", a.hdr("Call-ID"), b.hdr("Call-ID"), a.hdr("From"), b.hdr("From"))
	}
	if subSippTag(b.hdr("To")) != "" {
		t.Fatalf("second SUBSCRIBE is not out of dialog: To %q", b.hdr("To"))
	}
	term = subSippFirstSent(t, msgs, func(m subSippMsg) bool {
		return m.isRequest("NOTIFY") && m.hdr("Call-ID") == a.hdr("Call-ID") && strings.HasPrefix(m.hdr("Subscription-State"), "terminated")
	})
	return term, b
}

// TestInteropSippSubscriptionResubscribesAfterTerminated: the notifier
// ends the subscription with reason=deactivated, so the subscriber
// subscribes again at once in a new dialog (RFC 6665 §4.1.3) and the watch
// reports the new dialog's state.
func TestInteropSippSubscriptionResubscribesAfterTerminated(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	term, again := subSippResubscribe(t, "terminated;reason=deactivated")
	// "Immediately": well under the 5 s (±20%) back-off used for reasons
	// without retry semantics.
	if gap := again.At.Sub(term.At); gap < 0 || gap > 3*time.Second {
		t.Fatalf("new SUBSCRIBE came %v after the terminated NOTIFY, want at once", gap)
	}
}

// TestInteropSippSubscriptionRetryAfter: reason=probation;retry-after=2
// makes the subscriber wait at least 2 s before subscribing again.
func TestInteropSippSubscriptionRetryAfter(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	const retryAfter = 2 * time.Second
	term, again := subSippResubscribe(t, "terminated;reason=probation;retry-after=2")
	// Both times are sipp's clock: when it sent the NOTIFY and when it
	// received the SUBSCRIBE. The subscriber's wait starts after the
	// NOTIFY reached it, so the gap can only be longer than retry-after;
	// 50 ms covers sipp's logging. Above, allow generous slack but stay
	// below the 4 s minimum of the default back-off.
	gap := again.At.Sub(term.At)
	t.Logf("new SUBSCRIBE %v after the terminated NOTIFY", gap)
	if gap < retryAfter-50*time.Millisecond {
		t.Fatalf("new SUBSCRIBE came %v after the terminated NOTIFY, before retry-after %v", gap, retryAfter)
	}
	if gap > retryAfter+1800*time.Millisecond {
		t.Fatalf("new SUBSCRIBE came %v after the terminated NOTIFY, retry-after was %v", gap, retryAfter)
	}
}

// TestInteropSippSubscription481OnRefresh: the notifier grants 2 s and
// answers the refreshing SUBSCRIBE with 481; the subscriber reports the
// failed refresh and subscribes afresh (new Call-ID), which succeeds.
func TestInteropSippSubscription481OnRefresh(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s := peertest.StartSipp(ctx, t, "notifier_refresh_481", "-m", "2")
	p := subSippPhone(t, s)
	w, err := p.WatchPresence(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	cur := 0
	waitEvent(t, p, &cur, 5*time.Second, notePresence("round 1"))
	// The refresh is due after half of the 2 s granted.
	is481 := func(e *SubscriptionErrorEvent) bool {
		var se *sip.StatusError
		return e.Event == "presence" && errors.As(e.Err, &se) && se.Code == 481
	}
	errEv := waitEvent(t, p, &cur, 5*time.Second, is481)
	if errors.Is(errEv.Err, sip.ErrSubscriptionTerminated) {
		t.Fatalf("481 on refresh ended the watch: %v", errEv.Err)
	}
	waitEvent(t, p, &cur, 5*time.Second, notePresence("round 2"))
	r := closeRecoveredWatch(ctx, t, p, w, s, is481)
	msgs := parseSubSippLog(t, r.MessagesLog)
	subs := subSippSubscribes(msgs)
	if len(subs) != 3 {
		t.Fatalf("sipp received %d SUBSCRIBEs (besides the unsubscribe), want initial, refresh, fresh\n%s", len(subs), r)
	}
	initial, refresh, fresh := subs[0], subs[1], subs[2]
	if refresh.hdr("Call-ID") != initial.hdr("Call-ID") || subSippTag(refresh.hdr("To")) == "" {
		t.Fatalf("refresh not in the first dialog: Call-ID %q, To %q", refresh.hdr("Call-ID"), refresh.hdr("To"))
	}
	if fresh.hdr("Call-ID") == initial.hdr("Call-ID") || subSippTag(fresh.hdr("To")) != "" ||
		subSippTag(fresh.hdr("From")) == subSippTag(initial.hdr("From")) {
		t.Fatalf("SUBSCRIBE after 481 is not a new dialog: Call-ID %q, From %q, To %q", fresh.hdr("Call-ID"), fresh.hdr("From"), fresh.hdr("To"))
	}
	// The refresh came before expiry, not right away.
	if gap := refresh.At.Sub(initial.At); gap < 500*time.Millisecond || gap > 2*time.Second {
		t.Fatalf("refresh %v after the initial SUBSCRIBE, want within the 2 s granted", gap)
	}
}

// TestInteropSippPublish412: the presence agent answers the refresh
// (SIP-If-Match, no body) and later a modify (SIP-If-Match with a body)
// with 412; each time the publisher publishes its state in full without
// SIP-If-Match, which succeeds, and removal uses the latest entity tag.
func TestInteropSippPublish412(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s := peertest.StartSipp(ctx, t, "publish_412")
	p := subSippPhone(t, s)
	if err := p.Publish(ctx, presence.StatusOnline, "first"); err != nil {
		t.Fatal(err)
	}
	etag := func() string {
		p.pres.mu.Lock()
		defer p.pres.mu.Unlock()
		return p.pres.pub.ETag()
	}
	// The refresh is due after half of the 2 s granted; sipp answers 412
	// and then takes the full republication.
	wctx, wcancel := context.WithTimeout(ctx, 6*time.Second)
	err := s.WaitMessage(wctx, "SIP-ETag: etag-2")
	wcancel()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for etag() != "etag-2" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if e := etag(); e != "etag-2" {
		t.Fatalf("entity tag after the 412 on refresh = %q, want etag-2", e)
	}
	// Modify: 412 again, published in full again.
	if err := p.Publish(ctx, presence.StatusBusy, "second"); err != nil {
		t.Fatal(err)
	}
	if e := etag(); e != "etag-3" {
		t.Fatalf("entity tag after the 412 on modify = %q, want etag-3", e)
	}
	noSubscriptionErrors(t, p, nil)
	if err := p.Unpublish(ctx); err != nil {
		t.Fatal(err)
	}
	r := s.Wait(ctx)
	requireSippOK(t, r)

	var pubs []subSippMsg
	seen := map[string]bool{}
	for _, m := range parseSubSippLog(t, r.MessagesLog) {
		if !m.Sent && m.isRequest("PUBLISH") && !seen[m.hdr("Via")] {
			seen[m.hdr("Via")] = true
			pubs = append(pubs, m)
		}
	}
	if len(pubs) != 6 {
		t.Fatalf("sipp received %d PUBLISHes, want 6\n%s", len(pubs), r)
	}
	want := []struct {
		ifMatch string
		body    string // a substring of the body; "" for none
		expires string
	}{
		{"", "<note>first</note>", "600"},
		{"etag-1", "", "600"},
		{"", "<note>first</note>", "600"},
		{"etag-2", "<note>second</note>", "600"},
		{"", "<note>second</note>", "600"},
		{"etag-3", "", "0"},
	}
	for i, m := range pubs {
		w := want[i]
		_, body, _ := strings.Cut(m.Text, "\n\n")
		body = strings.TrimSpace(body)
		if m.hdr("SIP-If-Match") != w.ifMatch || m.hdr("Expires") != w.expires ||
			(w.body == "") != (body == "") || !strings.Contains(body, w.body) {
			t.Errorf("PUBLISH %d: SIP-If-Match %q Expires %q body %q; want %q, %q, %q", i+1,
				m.hdr("SIP-If-Match"), m.hdr("Expires"), body, w.ifMatch, w.expires, w.body)
		}
		if i > 0 && m.hdr("Call-ID") != pubs[0].hdr("Call-ID") {
			t.Errorf("PUBLISH %d changed Call-ID", i+1)
		}
	}
}

// TestInteropSippSubscriptionMalformedBody: between two valid NOTIFYs the
// notifier sends one whose body is broken (truncated dialog-info XML, or
// a message summary with "Messages-Waiting: maybe"). The NOTIFY is
// answered 200 (sipp checks), the Phone emits a SubscriptionErrorEvent
// wrapping presence.ErrMalformed, and the watch stays alive: the next
// valid NOTIFY is reported.
func TestInteropSippSubscriptionMalformedBody(t *testing.T) {
	leakCheck(t)
	peertest.Require(t, "sipp")
	cases := []struct {
		name, scenario, event string
		watch                 func(context.Context, *testPhone) (*Watch, error)
		before, after         func(t *testing.T, p *testPhone, cur *int)
	}{{
		name: "dialog-info", scenario: "notifier_malformed_dialog", event: "dialog",
		watch: func(ctx context.Context, p *testPhone) (*Watch, error) { return p.WatchBLF(ctx, "1002") },
		before: func(t *testing.T, p *testPhone, cur *int) {
			waitEvent(t, p, cur, 5*time.Second, func(e *BLFEvent) bool { return e.Extension == "1002" && e.State == presence.StateIdle })
		},
		after: func(t *testing.T, p *testPhone, cur *int) {
			ev := waitEvent(t, p, cur, 5*time.Second, func(e *BLFEvent) bool { return e.Extension == "1002" })
			if ev.State != presence.StateBusy || ev.Direction != presence.DirectionInitiator || !strings.Contains(ev.Remote, "1003@") {
				t.Fatalf("BLF after the malformed NOTIFY = %+v, want busy, initiator, remote 1003", ev)
			}
		},
	}, {
		name: "message-summary", scenario: "notifier_malformed_mwi", event: "message-summary",
		watch: func(ctx context.Context, p *testPhone) (*Watch, error) { return p.WatchMWI(ctx) },
		before: func(t *testing.T, p *testPhone, cur *int) {
			waitEvent(t, p, cur, 5*time.Second, func(e *MWIEvent) bool { return !e.Waiting })
		},
		after: func(t *testing.T, p *testPhone, cur *int) {
			ev := waitEvent(t, p, cur, 5*time.Second, (func(*MWIEvent) bool)(nil))
			if !ev.Waiting || ev.New != 3 || ev.Old != 1 || ev.UrgentNew != 1 || !strings.Contains(ev.MessageAccount, "1001@") {
				t.Fatalf("MWI after the malformed NOTIFY = %+v, want waiting 3/1 (1/0)", ev)
			}
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			s := peertest.StartSipp(ctx, t, tc.scenario)
			p := subSippPhone(t, s)
			w, err := tc.watch(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			cur := 0
			tc.before(t, p, &cur)
			errEv := waitEvent(t, p, &cur, 5*time.Second, (func(*SubscriptionErrorEvent) bool)(nil))
			if !errors.Is(errEv.Err, presence.ErrMalformed) || errEv.Event != tc.event || errEv.Target != w.Target() {
				t.Fatalf("error event %s %s: %v; want ErrMalformed for %s %s", errEv.Event, errEv.Target, errEv.Err, tc.event, w.Target())
			}
			tc.after(t, p, &cur)
			select {
			case <-w.Done():
				t.Fatalf("watch ended: %v", w.sub.Err())
			default:
			}
			noSubscriptionErrors(t, p, func(e *SubscriptionErrorEvent) bool { return e == errEv })
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			requireSippOK(t, s.Wait(ctx))
		})
	}
}
