package voipkit

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"strings"
	"sync"
	"time"

	"github.com/voipkit/voipkit/presence"
	"github.com/voipkit/voipkit/sip"
)

// Event packages watched by the Phone.
const (
	eventPresence       = "presence"
	eventDialog         = "dialog"
	eventMessageSummary = "message-summary"
)

// subscriptionExpires is the lifetime asked for watches and publications.
const subscriptionExpires = 600 * time.Second

// PresenceEvent reports a watched party's presence (WatchPresence).
type PresenceEvent struct {
	eventBase
	// Target is the watched URI.
	Target string
	// Status and Note summarize the document; Status is
	// presence.StatusUnknown when the server has no state (empty body).
	Status presence.Status
	Note   string
	// Document is the parsed PIDF (nil for an empty body) and Raw the
	// body as received.
	Document *presence.PIDF
	Raw      []byte
}

// BLFEvent reports a change of a watched extension's dialog state
// (WatchBLF): the busy lamp.
type BLFEvent struct {
	eventBase
	// Extension is what was passed to WatchBLF.
	Extension string
	State     presence.State
	// Direction tells whether the extension is calling (initiator) or
	// being called (recipient); Remote is the other party's URI and
	// RemoteName its display name, when the server reports them.
	Direction          presence.Direction
	Remote, RemoteName string
}

// MWIEvent reports the message-waiting state of a mailbox (WatchMWI or
// an unsolicited message-summary NOTIFY).
type MWIEvent struct {
	eventBase
	// Account is the account the mailbox belongs to (nil when unknown).
	Account *Account
	// MessageAccount is the mailbox URI the server named, if any.
	MessageAccount string
	// Waiting is the Messages-Waiting flag; the counts are the voice
	// messages: new/old and urgent new/old.
	Waiting                        bool
	New, Old, UrgentNew, UrgentOld int
}

// SubscriptionErrorEvent reports a problem with a watch or publication:
// a malformed or unexpected notification body (the watch stays alive), a
// failed refresh (it keeps retrying), or the server ending it for good
// (errors.Is(Err, sip.ErrSubscriptionTerminated)).
type SubscriptionErrorEvent struct {
	eventBase
	// Target is the watched (or published) URI; Event the event package:
	// "presence", "dialog" or "message-summary".
	Target, Event string
	// Err wraps presence.ErrMalformed for a bad body.
	Err error
}

// presenceState is the Phone's watches and its presence publication.
type presenceState struct {
	mu      sync.Mutex
	watches map[*Watch]struct{}
	pub     *sip.Publication
	// notifier is our presence as told to direct watchers
	// (presence_notifier.go).
	notifier presenceNotifier
}

// WatchOption adjusts a watch.
type WatchOption func(*watchSettings)

type watchSettings struct{ account *Account }

// WithWatchAccount subscribes from acc instead of the first account.
func WithWatchAccount(acc *Account) WatchOption { return func(s *watchSettings) { s.account = acc } }

// Watch is a subscription to a party's presence, an extension's dialog
// state or the account's mailbox. Its notifications arrive as events.
// It is safe for concurrent use.
type Watch struct {
	p      *Phone
	acc    *Account
	event  string
	target string // as given
	uri    string // resolved
	sub    *sip.Subscription

	mu      sync.Mutex
	tracker presence.DialogTracker
	gen     int
	last    *presence.ExtensionState
	closed  bool
}

// Target returns the watched URI.
func (w *Watch) Target() string { return w.uri }

// Event returns the event package: "presence", "dialog" or
// "message-summary".
func (w *Watch) Event() string { return w.event }

// Done is closed when the watch has ended (Close, Phone closed, or the
// server refused it for good).
func (w *Watch) Done() <-chan struct{} { return w.sub.Done() }

// Refresh asks the server for the full current state now.
func (w *Watch) Refresh() { w.sub.Refresh() }

// Close unsubscribes, bounded by ctx. It is idempotent.
func (w *Watch) Close(ctx context.Context) error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.p.pres.mu.Lock()
	delete(w.p.pres.watches, w)
	w.p.pres.mu.Unlock()
	return w.sub.Close(ctx)
}

func (w *Watch) isClosed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed
}

// WatchPresence subscribes to target's presence (a number, user, user@host
// or sip: URI, as for Dial). Each notification arrives as a PresenceEvent;
// malformed documents as SubscriptionErrorEvent. Without an account the
// subscription goes peer to peer and target must name a host.
func (p *Phone) WatchPresence(ctx context.Context, target string, opts ...WatchOption) (*Watch, error) {
	return p.watch(ctx, eventPresence, target, []string{presence.ContentTypePIDF}, opts)
}

// WatchBLF subscribes to extension's dialog state (busy lamp field, RFC
// 4235). A BLFEvent is emitted for the first state and for every change.
func (p *Phone) WatchBLF(ctx context.Context, extension string, opts ...WatchOption) (*Watch, error) {
	return p.watch(ctx, eventDialog, extension, []string{presence.ContentTypeDialogInfo}, opts)
}

// WatchMWI subscribes to the account's own mailbox (message-summary, RFC
// 3842). Each notification with a body arrives as an MWIEvent.
// Unsolicited message-summary NOTIFYs produce MWIEvents without a watch.
func (p *Phone) WatchMWI(ctx context.Context, opts ...WatchOption) (*Watch, error) {
	return p.watch(ctx, eventMessageSummary, "", []string{presence.ContentTypeMessageSummary}, opts)
}

func (p *Phone) presenceAccount(acc *Account) (*Account, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	if acc != nil && acc.p != p {
		return nil, fmt.Errorf("voipkit: account of another phone: %w", ErrNoAccount)
	}
	if acc == nil && len(p.accounts) > 0 {
		acc = p.accounts[0]
	}
	if acc == nil {
		return nil, fmt.Errorf("voipkit: subscriptions need an account: %w", ErrNoAccount)
	}
	return acc, nil
}

func (p *Phone) watch(ctx context.Context, event, target string, accept []string, opts []WatchOption) (*Watch, error) {
	var s watchSettings
	for _, o := range opts {
		o(&s)
	}
	acc, err := p.presenceAccount(s.account)
	if err != nil && (event != eventPresence || s.account != nil || !errors.Is(err, ErrNoAccount)) {
		return nil, err
	}
	// Without an account a presence watch goes peer to peer.
	o := sip.SubscribeOptions{
		From: sip.URI{Scheme: "sip", User: "anonymous", Host: p.ua.Host()}, Event: event, Accept: accept,
		Expires: subscriptionExpires,
	}
	domain := ""
	if acc != nil {
		o.Target, o.From, o.DisplayName, o.Proxy, o.Credentials = acc.aor, acc.aor, acc.cfg.DisplayName, acc.server, acc.credentials()
		domain = acc.domain()
	}
	if event != eventMessageSummary {
		o.Target, err = sip.ParseTarget(target, domain)
		if err != nil {
			return nil, fmt.Errorf("voipkit: watch %s: %w", event, err)
		}
	}
	w := &Watch{p: p, acc: acc, event: event, target: target, uri: o.Target.String()}
	if target == "" {
		w.target = w.uri
	}
	o.Notify = w.onNotify
	o.OnError = func(err error) { w.emitError(err) }
	sub, err := p.ua.Subscribe(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("voipkit: watch %s %s: %w", event, w.uri, err)
	}
	w.sub = sub
	p.pres.mu.Lock()
	if p.pres.watches == nil {
		p.pres.watches = map[*Watch]struct{}{}
	}
	p.pres.watches[w] = struct{}{}
	p.pres.mu.Unlock()
	return w, nil
}

func (w *Watch) emitError(err error) {
	if w.isClosed() {
		return
	}
	w.p.emit(&SubscriptionErrorEvent{eventBase: eventBase{time.Now()}, Target: w.uri, Event: w.event, Err: err})
}

// mediaType returns the lower-case media type of a Content-Type value.
func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return mt
}

func (w *Watch) onNotify(n *sip.Notification) {
	if w.isClosed() {
		return
	}
	now := time.Now()
	if len(n.Body) > 0 && n.ContentType != "" {
		want := map[string]string{eventPresence: presence.ContentTypePIDF, eventDialog: presence.ContentTypeDialogInfo, eventMessageSummary: presence.ContentTypeMessageSummary}[w.event]
		if mt := mediaType(n.ContentType); mt != want {
			w.emitError(fmt.Errorf("voipkit: %s notification with content type %q: %w", w.event, n.ContentType, presence.ErrMalformed))
			return
		}
	}
	switch w.event {
	case eventPresence:
		ev := &PresenceEvent{eventBase: eventBase{now}, Target: w.uri, Raw: n.Body}
		if len(n.Body) > 0 {
			doc, err := presence.ParsePIDF(n.Body)
			if err != nil {
				w.emitError(fmt.Errorf("voipkit: presence of %s: %w", w.uri, err))
				return
			}
			ev.Document, ev.Status, ev.Note = doc, doc.Status(), doc.Note()
		}
		w.p.emit(ev)
	case eventDialog:
		w.onDialogInfo(n, now)
	case eventMessageSummary:
		if len(n.Body) == 0 {
			return
		}
		ms, err := presence.ParseMessageSummary(n.Body)
		if err != nil {
			w.emitError(fmt.Errorf("voipkit: message summary of %s: %w", w.uri, err))
			return
		}
		w.p.emit(mwiEvent(now, w.acc, ms))
	}
}

func mwiEvent(now time.Time, acc *Account, ms *presence.MessageSummary) *MWIEvent {
	return &MWIEvent{eventBase: eventBase{now}, Account: acc, MessageAccount: ms.Account, Waiting: ms.Waiting,
		New: ms.Voice.New, Old: ms.Voice.Old, UrgentNew: ms.Voice.UrgentNew, UrgentOld: ms.Voice.UrgentOld}
}

func (w *Watch) onDialogInfo(n *sip.Notification, now time.Time) {
	w.mu.Lock()
	if n.Dialog != w.gen {
		w.gen = n.Dialog
		w.tracker.Reset()
	}
	var err error
	if len(n.Body) == 0 {
		// No state at the server: nothing in progress.
		w.tracker.Reset()
		err = w.tracker.Apply(&presence.DialogInfo{Full: true})
	} else {
		var di *presence.DialogInfo
		di, err = presence.ParseDialogInfo(n.Body)
		if err == nil {
			err = w.tracker.Apply(di)
		}
	}
	if err != nil {
		w.mu.Unlock()
		switch {
		case errors.Is(err, presence.ErrStaleVersion):
			return
		case errors.Is(err, presence.ErrVersionGap):
			w.sub.Refresh()
		}
		w.emitError(fmt.Errorf("voipkit: dialog state of %s: %w", w.uri, err))
		return
	}
	st := w.tracker.State()
	st.DialogID = "" // changes of dialog alone do not move the lamp
	changed := w.last == nil || *w.last != st
	w.last = &st
	w.mu.Unlock()
	if changed {
		w.p.emit(&BLFEvent{eventBase: eventBase{now}, Extension: w.target, State: st.State, Direction: st.Direction, Remote: st.Remote, RemoteName: st.RemoteName})
	}
}

// HandleNotify receives unsolicited NOTIFYs: message-summary ones become
// MWIEvents; other event packages are refused with 489.
func (h *inviteHandler) HandleNotify(n *sip.IncomingNotify) int {
	p := (*Phone)(h)
	<-p.ready
	if n.Event != eventMessageSummary {
		return 489
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 481
	}
	acc := p.accountFor(n.RequestURI.User)
	if acc != nil && acc.cfg.User != n.RequestURI.User {
		acc = p.accountFor(n.To.User)
	}
	p.mu.Unlock()
	if len(n.Body) == 0 {
		return 200
	}
	ms, err := presence.ParseMessageSummary(n.Body)
	if err != nil {
		p.emit(&SubscriptionErrorEvent{eventBase: eventBase{time.Now()}, Target: n.To.String(), Event: eventMessageSummary, Err: fmt.Errorf("voipkit: unsolicited message summary: %w", err)})
		return 400
	}
	p.emit(mwiEvent(time.Now(), acc, ms))
	return 200
}

// Publish publishes our presence (PIDF with an RPID activity for
// status and the note) for the first account and keeps it refreshed; a
// later call replaces it. Unpublish, Shutdown and Close remove it.
// Parties watching the Phone directly (peer to peer) are notified too;
// without an account that is all Publish does.
func (p *Phone) Publish(ctx context.Context, status presence.Status, note string) error {
	acc, err := p.presenceAccount(nil)
	if err != nil && !errors.Is(err, ErrNoAccount) {
		return err
	}
	body, err := presence.BuildPIDF(p.presenceEntity(), status, note)
	if err != nil {
		return fmt.Errorf("voipkit: publish: %w", err)
	}
	p.setLocalPresence(status, note)
	if acc == nil {
		return nil
	}
	return p.publishRaw(ctx, acc, presence.ContentTypePIDF, body)
}

// publishRaw publishes body as the presence document of acc.
func (p *Phone) publishRaw(ctx context.Context, acc *Account, contentType string, body []byte) error {
	p.pres.mu.Lock()
	defer p.pres.mu.Unlock()
	if p.pres.pub != nil {
		if err := p.pres.pub.Modify(ctx, contentType, body); err != nil {
			return fmt.Errorf("voipkit: publish: %w", err)
		}
		return nil
	}
	target := acc.aor.String()
	pub, err := p.ua.Publish(ctx, sip.PublishOptions{
		Target: acc.aor, From: acc.aor, DisplayName: acc.cfg.DisplayName, Proxy: acc.server,
		Credentials: acc.credentials(), Event: eventPresence, ContentType: contentType, Body: body,
		Expires: subscriptionExpires,
		OnError: func(err error) {
			p.emit(&SubscriptionErrorEvent{eventBase: eventBase{time.Now()}, Target: target, Event: eventPresence, Err: err})
		},
	})
	if err != nil {
		return fmt.Errorf("voipkit: publish: %w", err)
	}
	p.pres.pub = pub
	return nil
}

// Unpublish removes the presence published with Publish.
func (p *Phone) Unpublish(ctx context.Context) error {
	p.pres.mu.Lock()
	pub := p.pres.pub
	p.pres.pub = nil
	p.pres.mu.Unlock()
	if pub == nil {
		return nil
	}
	if err := pub.Close(ctx); err != nil {
		return fmt.Errorf("voipkit: unpublish: %w", err)
	}
	return nil
}

// closePresence ends every watch and removes the publication, bounded by
// ctx.
func (p *Phone) closePresence(ctx context.Context) error {
	p.pres.mu.Lock()
	ws := make([]*Watch, 0, len(p.pres.watches))
	for w := range p.pres.watches {
		ws = append(ws, w)
	}
	p.pres.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(ws)+2)
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.Close(ctx)
		}()
	}
	errs[len(ws)] = p.Unpublish(ctx)
	errs[len(ws)+1] = p.endWatchers(ctx)
	wg.Wait()
	return errors.Join(errs...)
}

// VoicemailNumber returns the number to dial for the account's voicemail
// (AccountConfig.VoicemailNumber), "" when not configured.
func (a *Account) VoicemailNumber() string { return a.cfg.VoicemailNumber }
