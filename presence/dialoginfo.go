package presence

import (
	"errors"
	"sort"
	"strconv"
	"strings"
)

// ContentTypeDialogInfo is the media type of dialog-info documents.
const ContentTypeDialogInfo = "application/dialog-info+xml"

// Errors of DialogTracker.Apply.
var (
	// ErrStaleVersion: the document is not newer than the state already
	// applied; it was ignored.
	ErrStaleVersion = errors.New("presence: stale dialog-info version")
	// ErrVersionGap: a partial document does not follow the last applied
	// version; refresh the subscription to get the full state.
	ErrVersionGap = errors.New("presence: dialog-info version gap")
)

// Direction tells whether the monitored extension placed or received a
// dialog.
type Direction int

// Dialog directions.
const (
	DirectionUnknown Direction = iota
	// DirectionInitiator: the extension is calling.
	DirectionInitiator
	// DirectionRecipient: the extension is being called.
	DirectionRecipient
)

func (d Direction) String() string {
	switch d {
	case DirectionInitiator:
		return "initiator"
	case DirectionRecipient:
		return "recipient"
	}
	return "unknown"
}

// State is a monitored extension's state, as a busy lamp shows it.
type State int

// Extension states.
const (
	StateUnknown State = iota
	// StateIdle: no dialog (or only terminated ones).
	StateIdle
	// StateRinging: a dialog is being set up (trying, proceeding, early).
	StateRinging
	// StateBusy: a dialog is confirmed (in a call).
	StateBusy
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "Idle"
	case StateRinging:
		return "Ringing"
	case StateBusy:
		return "Busy"
	}
	return "Unknown"
}

// Participant is the local or remote side of a dialog.
type Participant struct {
	// Identity is the participant's URI and Display its display name.
	Identity, Display string
	// Target is the contact URI, if given.
	Target string
}

// Dialog is one dialog of a dialog-info document.
type Dialog struct {
	ID, CallID, LocalTag, RemoteTag string
	Direction                       Direction
	// DialogState is the raw state: trying, proceeding, early, confirmed
	// or terminated; Event and Code are the state element's attributes.
	DialogState string
	Event       string
	Code        int
	Local       Participant
	Remote      Participant
}

// State maps the dialog's state to an extension State.
func (d Dialog) State() State {
	switch d.DialogState {
	case "trying", "proceeding", "early":
		return StateRinging
	case "confirmed":
		return StateBusy
	}
	return StateIdle
}

// DialogInfo is a parsed dialog-info document.
type DialogInfo struct {
	Entity  string
	Version uint64
	// Full is true for state="full", false for state="partial".
	Full    bool
	Dialogs []Dialog
}

// ParseDialogInfo parses a dialog-info document
// (application/dialog-info+xml). Errors wrap ErrMalformed.
func ParseDialogInfo(data []byte) (*DialogInfo, error) {
	root, err := parseTree(data, MaxDocumentSize)
	if err != nil {
		return nil, err
	}
	if !root.is(NamespaceDialogInfo, "dialog-info") {
		return nil, malformed("root element is {%s}%s, want dialog-info", root.name.Space, root.name.Local)
	}
	di := &DialogInfo{}
	v, ok := root.attr("version")
	if !ok {
		return nil, malformed("dialog-info without version")
	}
	di.Version, err = strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return nil, malformed("dialog-info version %q", v)
	}
	switch st, _ := root.attr("state"); strings.TrimSpace(st) {
	case "full":
		di.Full = true
	case "partial":
	default:
		return nil, malformed("dialog-info state %q is neither full nor partial", st)
	}
	e, _ := root.attr("entity")
	di.Entity = strings.TrimSpace(e)
	if di.Entity == "" {
		return nil, malformed("dialog-info without entity")
	}
	if err := checkText("entity", di.Entity, maxURILen); err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, k := range root.kids {
		if !k.is(NamespaceDialogInfo, "dialog") {
			continue
		}
		d, err := parseDialog(k)
		if err != nil {
			return nil, err
		}
		if ids[d.ID] {
			return nil, malformed("duplicate dialog id %q", d.ID)
		}
		ids[d.ID] = true
		di.Dialogs = append(di.Dialogs, d)
	}
	return di, nil
}

func parseDialog(n *node) (Dialog, error) {
	var d Dialog
	attr := func(name string) (string, error) {
		v, _ := n.attr(name)
		v = strings.TrimSpace(v)
		return v, checkText(name, v, 1024)
	}
	var err error
	if d.ID, err = attr("id"); err != nil {
		return d, err
	}
	if d.ID == "" {
		return d, malformed("dialog without id")
	}
	if d.CallID, err = attr("call-id"); err != nil {
		return d, err
	}
	if d.LocalTag, err = attr("local-tag"); err != nil {
		return d, err
	}
	if d.RemoteTag, err = attr("remote-tag"); err != nil {
		return d, err
	}
	dir, err := attr("direction")
	if err != nil {
		return d, err
	}
	switch dir {
	case "":
	case "initiator":
		d.Direction = DirectionInitiator
	case "recipient":
		d.Direction = DirectionRecipient
	default:
		return d, malformed("dialog %q: direction %q", d.ID, dir)
	}
	st := n.child(NamespaceDialogInfo, "state")
	if st == nil {
		return d, malformed("dialog %q without state", d.ID)
	}
	switch v := st.value(); v {
	case "trying", "proceeding", "early", "confirmed", "terminated":
		d.DialogState = v
	default:
		return d, malformed("dialog %q: state %q", d.ID, v)
	}
	if ev, ok := st.attr("event"); ok {
		d.Event = strings.TrimSpace(ev)
		if err := checkText("event", d.Event, 64); err != nil {
			return d, err
		}
	}
	if c, ok := st.attr("code"); ok {
		code, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || code < 100 || code > 699 {
			return d, malformed("dialog %q: state code %q", d.ID, c)
		}
		d.Code = code
	}
	for _, side := range []struct {
		name string
		p    *Participant
	}{{"local", &d.Local}, {"remote", &d.Remote}} {
		pn := n.child(NamespaceDialogInfo, side.name)
		if pn == nil {
			continue
		}
		if id := pn.child(NamespaceDialogInfo, "identity"); id != nil {
			side.p.Identity = id.value()
			disp, _ := id.attr("display")
			side.p.Display = strings.TrimSpace(disp)
		}
		if t := pn.child(NamespaceDialogInfo, "target"); t != nil {
			u, ok := t.attr("uri")
			if !ok {
				return d, malformed("dialog %q: %s target without uri", d.ID, side.name)
			}
			side.p.Target = strings.TrimSpace(u)
		}
		for what, v := range map[string]string{"identity": side.p.Identity, "display": side.p.Display, "target": side.p.Target} {
			if err := checkText(side.name+" "+what, v, maxURILen); err != nil {
				return d, err
			}
		}
	}
	return d, nil
}

// ExtensionState is what a busy lamp shows for an extension: the state
// of its most significant dialog (confirmed beats ringing beats idle) with
// that dialog's direction and remote party.
type ExtensionState struct {
	State     State
	Direction Direction
	// Remote is the other party of the dialog (its identity URI) and
	// RemoteName its display name; empty when idle or not reported.
	Remote, RemoteName string
	// DialogID identifies the dialog, "" when idle.
	DialogID string
}

// summarize picks the most significant dialog.
func summarize(ds []Dialog) ExtensionState {
	best := ExtensionState{State: StateIdle}
	for _, d := range ds {
		s := d.State()
		if s > best.State {
			best = ExtensionState{State: s, Direction: d.Direction, Remote: d.Remote.Identity, RemoteName: d.Remote.Display, DialogID: d.ID}
		}
	}
	return best
}

// Summary returns the extension state this document alone describes.
func (di *DialogInfo) Summary() ExtensionState { return summarize(di.Dialogs) }

// DialogTracker follows an extension's dialogs across full and partial
// dialog-info documents of one subscription (RFC 4235 §4.1), checking
// versions. Reset it when a new subscription starts. It is not safe for
// concurrent use.
type DialogTracker struct {
	have    bool
	version uint64
	dialogs map[string]Dialog
}

// Reset forgets all state, for a new subscription.
func (t *DialogTracker) Reset() { *t = DialogTracker{} }

// Apply merges di: a full document replaces the state, a partial one
// updates the dialogs it lists. It returns ErrStaleVersion for a document
// not newer than the last one applied and ErrVersionGap for a partial
// document that skips versions (or arrives before any full one); neither
// changes the state.
func (t *DialogTracker) Apply(di *DialogInfo) error {
	if t.have && di.Version <= t.version {
		return ErrStaleVersion
	}
	if !di.Full {
		if !t.have || di.Version != t.version+1 {
			return ErrVersionGap
		}
	} else {
		t.dialogs = map[string]Dialog{}
	}
	if t.dialogs == nil {
		t.dialogs = map[string]Dialog{}
	}
	for _, d := range di.Dialogs {
		if d.DialogState == "terminated" {
			delete(t.dialogs, d.ID)
			continue
		}
		t.dialogs[d.ID] = d
	}
	t.have, t.version = true, di.Version
	return nil
}

// Version returns the last applied version and whether one was applied.
func (t *DialogTracker) Version() (uint64, bool) { return t.version, t.have }

// Dialogs returns the dialogs in progress, sorted by id.
func (t *DialogTracker) Dialogs() []Dialog {
	out := make([]Dialog, 0, len(t.dialogs))
	for _, d := range t.dialogs {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// State returns the extension state of the dialogs in progress.
func (t *DialogTracker) State() ExtensionState { return summarize(t.Dialogs()) }
