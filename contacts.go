package voipkit

import (
	"context"
	"errors"
	"fmt"

	"github.com/voipkit/voipkit/presence"
)

// Contacts are the watches started for a contact list; Close ends them.
type Contacts struct {
	// Presence holds one presence watch per contact, BLF one dialog
	// watch per entry flagged for the busy lamp.
	Presence, BLF []*Watch
}

// Close ends every watch (unsubscribing), bounded by ctx.
func (cs *Contacts) Close(ctx context.Context) error {
	var errs []error
	for _, w := range append(append([]*Watch(nil), cs.Presence...), cs.BLF...) {
		if err := w.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// WatchContacts watches the presence of every number in targets, the way
// a softphone's buddy list does. Presence arrives as PresenceEvent.
func (p *Phone) WatchContacts(ctx context.Context, targets []string, opts ...WatchOption) (*Contacts, error) {
	cs := &Contacts{}
	for _, t := range targets {
		w, err := p.WatchPresence(ctx, t, opts...)
		if err != nil {
			_ = cs.Close(ctx)
			return nil, fmt.Errorf("voipkit: watch %s: %w", t, err)
		}
		cs.Presence = append(cs.Presence, w)
	}
	return cs, nil
}

// WatchPhoneBook watches a phone book (see presence.ParsePhoneBook): the
// presence of every entry and the busy lamp (BLF) of entries flagged for
// it. Duplicate numbers are watched once.
func (p *Phone) WatchPhoneBook(ctx context.Context, pb *presence.PhoneBook, opts ...WatchOption) (*Contacts, error) {
	seen := map[string]bool{}
	var targets []string
	for _, g := range pb.Groups {
		for _, e := range g.Entries {
			if !seen[e.Telephone] {
				seen[e.Telephone] = true
				targets = append(targets, e.Telephone)
			}
		}
	}
	cs, err := p.WatchContacts(ctx, targets, opts...)
	if err != nil {
		return nil, err
	}
	for _, ext := range pb.BLFExtensions() {
		w, err := p.WatchBLF(ctx, ext, opts...)
		if err != nil {
			_ = cs.Close(ctx)
			return nil, fmt.Errorf("voipkit: watch BLF %s: %w", ext, err)
		}
		cs.BLF = append(cs.BLF, w)
	}
	return cs, nil
}
