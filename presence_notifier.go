package voipkit

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/voipkit/voipkit/presence"
	"github.com/voipkit/voipkit/sip"
)

// notifyTimeout bounds each NOTIFY sent to a direct watcher.
const notifyTimeout = 10 * time.Second

// presenceNotifier is the Phone's own presence and the parties that
// subscribed to it directly (peer to peer, RFC 6665 notifier side).
type presenceNotifier struct {
	mu       sync.Mutex
	set      bool // Publish was called; otherwise Online with no note
	status   presence.Status
	note     string
	watchers map[*sip.IncomingSubscribe]chan struct{} // value: "state changed", buffered 1
}

// localPresence returns the status and note the Phone reports to direct
// watchers.
func (p *Phone) localPresence() (presence.Status, string) {
	n := &p.pres.notifier
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.set {
		return presence.StatusOnline, ""
	}
	return n.status, n.note
}

// setLocalPresence records status and note and tells every direct watcher.
func (p *Phone) setLocalPresence(status presence.Status, note string) {
	n := &p.pres.notifier
	n.mu.Lock()
	n.set, n.status, n.note = true, status, note
	for _, ch := range n.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	n.mu.Unlock()
}

// presenceEntity is the entity of our PIDF documents: the first account's
// address of record, else the Phone's own URI.
func (p *Phone) presenceEntity() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.accounts) > 0 {
		return p.accounts[0].aor.String()
	}
	return p.URI("")
}

// localPIDF builds the PIDF document of our current presence.
func (p *Phone) localPIDF() ([]byte, error) {
	st, note := p.localPresence()
	return presence.BuildPIDF(p.presenceEntity(), st, note)
}

// DirectWatchers reports how many parties currently subscribe to the
// Phone's presence directly (peer to peer, without a presence server).
func (p *Phone) DirectWatchers() int {
	n := &p.pres.notifier
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.watchers)
}

// HandleSubscribe accepts direct subscriptions to our presence: the
// watcher gets our current PIDF at once, again on each refresh and on
// each Publish. Other event packages are refused with 489.
func (h *inviteHandler) HandleSubscribe(s *sip.IncomingSubscribe) int {
	p := (*Phone)(h)
	<-p.ready
	if s.Event() != eventPresence {
		return 489
	}
	if pol := p.cfg.PresencePolicy; pol != nil {
		from := s.From()
		if !pol(from.String()) {
			return 603
		}
	}
	changed := make(chan struct{}, 1)
	n := &p.pres.notifier
	n.mu.Lock()
	if n.watchers == nil {
		n.watchers = map[*sip.IncomingSubscribe]chan struct{}{}
	}
	n.watchers[s] = changed
	n.mu.Unlock()
	if !p.goTracked(func() { p.serveWatcher(s, changed) }) {
		p.dropWatcher(s)
		return 480
	}
	return 200
}

func (p *Phone) dropWatcher(s *sip.IncomingSubscribe) {
	n := &p.pres.notifier
	n.mu.Lock()
	delete(n.watchers, s)
	n.mu.Unlock()
}

// serveWatcher sends a watcher our presence now and after every refresh or
// change, until its subscription ends.
func (p *Phone) serveWatcher(s *sip.IncomingSubscribe, changed <-chan struct{}) {
	defer p.dropWatcher(s)
	send := func() {
		body, err := p.localPIDF()
		if err != nil {
			p.log.Warn("voipkit: build presence document", "err", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
		defer cancel()
		if err := s.Notify(ctx, string(sip.SubscriptionActive), presence.ContentTypePIDF, body); err != nil && !errors.Is(err, sip.ErrSubscriptionTerminated) {
			p.log.Info("voipkit: presence NOTIFY", "watcher", s.From().User, "err", err)
		}
	}
	send()
	for {
		select {
		case <-s.Refreshed():
			send()
		case <-changed:
			send()
		case <-s.Done():
			return
		}
	}
}

// endWatchers sends every direct watcher a final NOTIFY (terminated),
// bounded by ctx.
func (p *Phone) endWatchers(ctx context.Context) error {
	n := &p.pres.notifier
	n.mu.Lock()
	subs := make([]*sip.IncomingSubscribe, 0, len(n.watchers))
	for s := range n.watchers {
		subs = append(subs, s)
	}
	n.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(subs))
	for i, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Notify(ctx, string(sip.SubscriptionTerminated), "", nil)
			if err != nil && !errors.Is(err, sip.ErrSubscriptionTerminated) {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
