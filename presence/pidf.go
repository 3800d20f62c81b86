package presence

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// Status is a simplified presence state, derived from a PIDF document's
// basic status and RPID activities.
type Status int

// Presence states.
const (
	// StatusUnknown: the document says nothing usable (or none arrived).
	StatusUnknown Status = iota
	// StatusOnline: open, with no activity that makes the person
	// unavailable.
	StatusOnline
	// StatusAway: open but away (away, meal, vacation, travel...).
	StatusAway
	// StatusBusy: open but busy (busy, on-the-phone, meeting...).
	StatusBusy
	// StatusDND: do not disturb.
	StatusDND
	// StatusOffline: every tuple is closed.
	StatusOffline
)

func (s Status) String() string {
	switch s {
	case StatusOnline:
		return "Online"
	case StatusAway:
		return "Away"
	case StatusBusy:
		return "Busy"
	case StatusDND:
		return "DND"
	case StatusOffline:
		return "Offline"
	}
	return "Unknown"
}

// Activity is an RPID activity (RFC 4480 §3.2), e.g. "away".
type Activity string

// Common RPID activities.
const (
	ActivityAppointment      Activity = "appointment"
	ActivityAway             Activity = "away"
	ActivityBreakfast        Activity = "breakfast"
	ActivityBusy             Activity = "busy"
	ActivityDinner           Activity = "dinner"
	ActivityHoliday          Activity = "holiday"
	ActivityInTransit        Activity = "in-transit"
	ActivityLookingForWork   Activity = "looking-for-work"
	ActivityLunch            Activity = "lunch"
	ActivityMeal             Activity = "meal"
	ActivityMeeting          Activity = "meeting"
	ActivityOnThePhone       Activity = "on-the-phone"
	ActivityPerformance      Activity = "performance"
	ActivityPermanentAbsence Activity = "permanent-absence"
	ActivityPlaying          Activity = "playing"
	ActivityPresentation     Activity = "presentation"
	ActivityShopping         Activity = "shopping"
	ActivitySleeping         Activity = "sleeping"
	ActivitySpectator        Activity = "spectator"
	ActivitySteering         Activity = "steering"
	ActivityTravel           Activity = "travel"
	ActivityTV               Activity = "tv"
	ActivityUnknown          Activity = "unknown"
	ActivityVacation         Activity = "vacation"
	ActivityWorking          Activity = "working"
	ActivityWorship          Activity = "worship"
	// ActivityOther is <rpid:other>; its text is in Person.Other.
	ActivityOther Activity = "other"
)

var awayActivities = map[Activity]bool{
	ActivityAway: true, ActivityBreakfast: true, ActivityDinner: true, ActivityHoliday: true,
	ActivityInTransit: true, ActivityLunch: true, ActivityMeal: true, ActivityPermanentAbsence: true,
	ActivityShopping: true, ActivitySleeping: true, ActivityTravel: true, ActivityVacation: true,
	ActivityAppointment: true, ActivityLookingForWork: true,
}

var busyActivities = map[Activity]bool{
	ActivityBusy: true, ActivityOnThePhone: true, ActivityMeeting: true, ActivityPerformance: true,
	ActivityPresentation: true, ActivitySteering: true, ActivityWorship: true,
}

// Tuple is a PIDF tuple: one presence service of the entity.
type Tuple struct {
	ID string
	// Basic is "open", "closed" or "" when the tuple has no basic status.
	Basic string
	// Contact is the tuple's contact URI, if any.
	Contact string
	Notes   []string
}

// Person is a data-model person element (RFC 4479) with its RPID
// activities.
type Person struct {
	ID         string
	Activities []Activity
	// Other holds the text of <rpid:other> activities.
	Other []string
	Notes []string
}

// PIDF is a parsed presence document. Raw keeps the document as received.
type PIDF struct {
	Entity  string
	Tuples  []Tuple
	Persons []Person
	// Notes are the notes directly under <presence>.
	Notes []string
	Raw   []byte
}

// Limits on PIDF content.
const (
	maxNoteLen = 4096
	maxURILen  = 2048
)

// ParsePIDF parses a PIDF document (application/pidf+xml). Errors wrap
// ErrMalformed.
func ParsePIDF(data []byte) (*PIDF, error) {
	root, err := parseTree(data, MaxDocumentSize)
	if err != nil {
		return nil, err
	}
	if !root.is(NamespacePIDF, "presence") {
		return nil, malformed("root element is {%s}%s, want PIDF presence", root.name.Space, root.name.Local)
	}
	doc := &PIDF{Raw: bytes.Clone(data)}
	entity, ok := root.attr("entity")
	entity = strings.TrimSpace(entity)
	if !ok || entity == "" {
		return nil, malformed("presence without entity")
	}
	if err := checkText("entity", entity, maxURILen); err != nil {
		return nil, err
	}
	doc.Entity = entity
	ids := map[string]bool{}
	for _, k := range root.kids {
		switch {
		case k.is(NamespacePIDF, "tuple"):
			t, err := parseTuple(k)
			if err != nil {
				return nil, err
			}
			if ids[t.ID] {
				return nil, malformed("duplicate id %q", t.ID)
			}
			ids[t.ID] = true
			doc.Tuples = append(doc.Tuples, t)
		case k.is(NamespacePIDF, "note"):
			n, err := note(k)
			if err != nil {
				return nil, err
			}
			doc.Notes = append(doc.Notes, n)
		case k.name.Local == "person" && (k.name.Space == NamespaceDataModel || k.name.Space == NamespacePIDF):
			p, err := parsePerson(k)
			if err != nil {
				return nil, err
			}
			doc.Persons = append(doc.Persons, p)
		}
	}
	return doc, nil
}

func note(n *node) (string, error) {
	v := n.value()
	if err := checkText("note", v, maxNoteLen); err != nil {
		return "", err
	}
	return v, nil
}

func parseTuple(n *node) (Tuple, error) {
	var t Tuple
	id, ok := n.attr("id")
	if !ok || strings.TrimSpace(id) == "" {
		return t, malformed("tuple without id")
	}
	t.ID = strings.TrimSpace(id)
	if err := checkText("tuple id", t.ID, 256); err != nil {
		return t, err
	}
	st := n.child(NamespacePIDF, "status")
	if st == nil {
		return t, malformed("tuple %q without status", t.ID)
	}
	if b := st.child(NamespacePIDF, "basic"); b != nil {
		switch v := b.value(); v {
		case "open", "closed":
			t.Basic = v
		default:
			return t, malformed("tuple %q: basic status %q is neither open nor closed", t.ID, v)
		}
	}
	for _, k := range n.kids {
		switch {
		case k.is(NamespacePIDF, "contact"):
			v := k.value()
			if err := checkText("contact", v, maxURILen); err != nil {
				return t, err
			}
			t.Contact = v
		case k.is(NamespacePIDF, "note"):
			v, err := note(k)
			if err != nil {
				return t, err
			}
			t.Notes = append(t.Notes, v)
		}
	}
	return t, nil
}

func parsePerson(n *node) (Person, error) {
	var p Person
	id, _ := n.attr("id")
	p.ID = strings.TrimSpace(id)
	if err := checkText("person id", p.ID, 256); err != nil {
		return p, err
	}
	for _, k := range n.kids {
		switch {
		case k.is(NamespaceRPID, "activities"):
			for _, a := range k.kids {
				if a.name.Space != NamespaceRPID {
					continue
				}
				switch a.name.Local {
				case "note", "until", "from":
					continue
				case "other":
					v := a.value()
					if err := checkText("activity", v, 256); err != nil {
						return p, err
					}
					p.Other = append(p.Other, v)
				}
				p.Activities = append(p.Activities, Activity(a.name.Local))
			}
		case k.name.Local == "note" && (k.name.Space == NamespaceDataModel || k.name.Space == NamespacePIDF):
			v, err := note(k)
			if err != nil {
				return p, err
			}
			p.Notes = append(p.Notes, v)
		}
	}
	return p, nil
}

// Status maps the document to a Status: DND when an activity says "do not
// disturb" (<rpid:other>dnd</rpid:other>), Offline when every tuple is
// closed, Busy or Away for the RPID activities of those kinds, Online when
// a tuple is open, Unknown otherwise.
func (d *PIDF) Status() Status {
	open, basic := false, false
	for _, t := range d.Tuples {
		if t.Basic != "" {
			basic = true
		}
		if t.Basic == "open" {
			open = true
		}
	}
	if basic && !open {
		return StatusOffline
	}
	dnd, busy, away := false, false, false
	for _, p := range d.Persons {
		for _, o := range p.Other {
			if isDND(o) {
				dnd = true
			}
		}
		for _, a := range p.Activities {
			busy = busy || busyActivities[a]
			away = away || awayActivities[a]
		}
	}
	switch {
	case dnd:
		return StatusDND
	case busy:
		return StatusBusy
	case away:
		return StatusAway
	case open:
		return StatusOnline
	}
	return StatusUnknown
}

func isDND(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return s == "dnd" || s == "do not disturb" || s == "do-not-disturb"
}

// Note returns the first non-empty note: of the document, then of its
// persons, then of its tuples.
func (d *PIDF) Note() string {
	for _, n := range d.Notes {
		if n != "" {
			return n
		}
	}
	for _, p := range d.Persons {
		for _, n := range p.Notes {
			if n != "" {
				return n
			}
		}
	}
	for _, t := range d.Tuples {
		for _, n := range t.Notes {
			if n != "" {
				return n
			}
		}
	}
	return ""
}

// ContentTypePIDF is the media type of PIDF documents.
const ContentTypePIDF = "application/pidf+xml"

// BuildPIDF builds a PIDF document for entity (our SIP URI) with status
// and note: a tuple with the basic status (closed for StatusOffline) and a
// person with the matching RPID activity (away, busy, or busy plus
// <rpid:other>dnd</rpid:other>). The note goes into both, because presence
// servers that merge documents keep tuples and persons. StatusUnknown is
// published as open.
func BuildPIDF(entity string, status Status, note string) ([]byte, error) {
	entity = strings.TrimSpace(entity)
	if entity == "" {
		return nil, malformed("empty entity")
	}
	if err := checkText("entity", entity, maxURILen); err != nil {
		return nil, err
	}
	if err := checkText("note", note, maxNoteLen); err != nil {
		return nil, err
	}
	if status < StatusUnknown || status > StatusOffline {
		return nil, malformed("unknown status %d", int(status))
	}
	var b bytes.Buffer
	esc := func(s string) { _ = xml.EscapeText(&b, []byte(s)) }
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<presence xmlns="` + NamespacePIDF + `" xmlns:dm="` + NamespaceDataModel + `" xmlns:rpid="` + NamespaceRPID + `" entity="`)
	esc(entity)
	b.WriteString("\">\n")
	basic := "open"
	if status == StatusOffline {
		basic = "closed"
	}
	b.WriteString(`<tuple id="t1"><status><basic>` + basic + `</basic></status>`)
	if note != "" {
		b.WriteString("<note>")
		esc(note)
		b.WriteString("</note>")
	}
	b.WriteString("</tuple>\n")
	b.WriteString(`<dm:person id="p1">`)
	switch status {
	case StatusAway:
		b.WriteString(`<rpid:activities><rpid:away/></rpid:activities>`)
	case StatusBusy:
		b.WriteString(`<rpid:activities><rpid:busy/></rpid:activities>`)
	case StatusDND:
		b.WriteString(`<rpid:activities><rpid:busy/><rpid:other>dnd</rpid:other></rpid:activities>`)
	}
	if note != "" {
		b.WriteString("<dm:note>")
		esc(note)
		b.WriteString("</dm:note>")
	}
	b.WriteString("</dm:person>\n</presence>\n")
	return b.Bytes(), nil
}
