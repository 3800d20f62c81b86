package presence

import (
	"errors"
	"strings"
	"testing"
)

const kamailioPIDF = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
 xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:1001@example.com">
 <tuple id="a1"><status><basic>open</basic></status><contact>sip:1001@10.0.0.1</contact></tuple>
 <dm:person id="p1"><rpid:activities><rpid:on-the-phone/></rpid:activities><dm:note>Call me later</dm:note></dm:person>
</presence>`

func TestParsePIDF(t *testing.T) {
	d, err := ParsePIDF([]byte(kamailioPIDF))
	if err != nil {
		t.Fatal(err)
	}
	if d.Entity != "sip:1001@example.com" || len(d.Tuples) != 1 || d.Tuples[0].Contact != "sip:1001@10.0.0.1" {
		t.Fatalf("doc = %+v", d)
	}
	if d.Status() != StatusBusy || d.Note() != "Call me later" {
		t.Fatalf("status %v note %q", d.Status(), d.Note())
	}
	if string(d.Raw) != kamailioPIDF {
		t.Fatal("raw document not kept")
	}
}

func TestPIDFStatus(t *testing.T) {
	doc := func(basic, acts string) string {
		return `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:a@b">` +
			`<tuple id="t"><status>` + basic + `</status></tuple><dm:person id="p"><rpid:activities>` + acts + `</rpid:activities></dm:person></presence>`
	}
	for _, c := range []struct {
		basic, acts string
		want        Status
	}{
		{"<basic>open</basic>", "", StatusOnline},
		{"<basic>closed</basic>", "<rpid:away/>", StatusOffline},
		{"<basic>open</basic>", "<rpid:lunch/>", StatusAway},
		{"<basic>open</basic>", "<rpid:meeting/>", StatusBusy},
		{"<basic>open</basic>", "<rpid:busy/><rpid:other>DND</rpid:other>", StatusDND},
		{"", "", StatusUnknown},
		{"", "<rpid:vacation/>", StatusAway},
	} {
		d, err := ParsePIDF([]byte(doc(c.basic, c.acts)))
		if err != nil {
			t.Fatalf("%s %s: %v", c.basic, c.acts, err)
		}
		if got := d.Status(); got != c.want {
			t.Errorf("%s %s: status %v, want %v", c.basic, c.acts, got, c.want)
		}
	}
}

func TestBuildPIDFRoundTrip(t *testing.T) {
	for _, st := range []Status{StatusUnknown, StatusOnline, StatusAway, StatusBusy, StatusDND, StatusOffline} {
		b, err := BuildPIDF("sip:1001@example.com", st, `back <soon> & "then"`)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ParsePIDF(b)
		if err != nil {
			t.Fatalf("%v: %v\n%s", st, err, b)
		}
		want := st
		if st == StatusUnknown {
			want = StatusOnline
		}
		if d.Status() != want || d.Note() != `back <soon> & "then"` || d.Entity != "sip:1001@example.com" {
			t.Errorf("%v: got %v %q %q", st, d.Status(), d.Note(), d.Entity)
		}
	}
	if _, err := BuildPIDF("", StatusOnline, ""); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty entity: %v", err)
	}
	if _, err := BuildPIDF("sip:a@b", StatusOnline, "bell\x07"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("control character: %v", err)
	}
}

func TestParsePIDFRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"empty":       ``,
		"not xml":     `hello`,
		"wrong root":  `<presence entity="sip:a@b"/>`,
		"no entity":   `<presence xmlns="urn:ietf:params:xml:ns:pidf"/>`,
		"bad basic":   `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><tuple id="t"><status><basic>sideways</basic></status></tuple></presence>`,
		"no tuple id": `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><tuple><status/></tuple></presence>`,
		"no status":   `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><tuple id="t"/></presence>`,
		"dup id":      `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><tuple id="t"><status/></tuple><tuple id="t"><status/></tuple></presence>`,
		"doctype":     `<!DOCTYPE x [<!ENTITY a "b">]><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/>`,
		"unclosed":    `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b">`,
		"two roots":   `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/>`,
		"deep":        `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b">` + strings.Repeat("<x>", 40) + strings.Repeat("</x>", 40) + `</presence>`,
		"huge":        `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><note>` + strings.Repeat("a", MaxDocumentSize) + `</note></presence>`,
		"latin1":      "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"/>",
	} {
		if _, err := ParsePIDF([]byte(doc)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// The seed's called-party example: 20002 is being called by 20001.
const seedDialogInfo = `<?xml version="1.0" encoding="UTF-8"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="2" state="full"
entity="sip:20002@61.220.196.224">
<dialog id="20002" direction="recipient">
<state>early</state>
<local><identity display="20002">sip:20002@61.220.196.224</identity></local>
<remote><identity display="20001">sip:20001@61.220.196.224</identity><target uri="sip:20001@10.1.1.1:5060"/></remote>
</dialog>
</dialog-info>
`

func TestParseDialogInfo(t *testing.T) {
	di, err := ParseDialogInfo([]byte(seedDialogInfo))
	if err != nil {
		t.Fatal(err)
	}
	if di.Version != 2 || !di.Full || di.Entity != "sip:20002@61.220.196.224" || len(di.Dialogs) != 1 {
		t.Fatalf("doc = %+v", di)
	}
	d := di.Dialogs[0]
	if d.Direction != DirectionRecipient || d.State() != StateRinging || d.Remote.Display != "20001" ||
		d.Remote.Identity != "sip:20001@61.220.196.224" || d.Remote.Target != "sip:20001@10.1.1.1:5060" {
		t.Fatalf("dialog = %+v", d)
	}
	s := di.Summary()
	if s.State != StateRinging || s.Direction != DirectionRecipient || s.Remote != "sip:20001@61.220.196.224" {
		t.Fatalf("summary = %+v", s)
	}
}

func dialogDoc(version, state string, dialogs ...string) []byte {
	return []byte(`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="` + version + `" state="` + state +
		`" entity="sip:1002@x">` + strings.Join(dialogs, "") + `</dialog-info>`)
}

func dlg(id, dir, state string) string {
	return `<dialog id="` + id + `" direction="` + dir + `"><state>` + state + `</state><remote><identity>sip:1001@x</identity></remote></dialog>`
}

func TestDialogTracker(t *testing.T) {
	var tr DialogTracker
	apply := func(b []byte) error {
		t.Helper()
		di, err := ParseDialogInfo(b)
		if err != nil {
			t.Fatal(err)
		}
		return tr.Apply(di)
	}
	if err := apply(dialogDoc("1", "partial", dlg("a", "initiator", "trying"))); !errors.Is(err, ErrVersionGap) {
		t.Fatalf("partial before full: %v", err)
	}
	if err := apply(dialogDoc("0", "full")); err != nil {
		t.Fatal(err)
	}
	if s := tr.State(); s.State != StateIdle {
		t.Fatalf("state %v", s)
	}
	if err := apply(dialogDoc("1", "partial", dlg("a", "recipient", "early"))); err != nil {
		t.Fatal(err)
	}
	if s := tr.State(); s.State != StateRinging || s.Direction != DirectionRecipient || s.Remote != "sip:1001@x" {
		t.Fatalf("state %+v", s)
	}
	if err := apply(dialogDoc("2", "partial", dlg("b", "initiator", "confirmed"))); err != nil {
		t.Fatal(err)
	}
	if s := tr.State(); s.State != StateBusy || s.Direction != DirectionInitiator || s.DialogID != "b" {
		t.Fatalf("state %+v", s)
	}
	if err := apply(dialogDoc("2", "partial", dlg("b", "initiator", "terminated"))); !errors.Is(err, ErrStaleVersion) {
		t.Fatalf("repeated version: %v", err)
	}
	if err := apply(dialogDoc("4", "partial", dlg("b", "initiator", "terminated"))); !errors.Is(err, ErrVersionGap) {
		t.Fatalf("gap: %v", err)
	}
	if err := apply(dialogDoc("3", "partial", dlg("b", "initiator", "terminated"))); err != nil {
		t.Fatal(err)
	}
	if s := tr.State(); s.State != StateRinging || len(tr.Dialogs()) != 1 {
		t.Fatalf("state %+v dialogs %v", s, tr.Dialogs())
	}
	if err := apply(dialogDoc("9", "full", dlg("a", "recipient", "terminated"))); err != nil {
		t.Fatal(err)
	}
	if s := tr.State(); s.State != StateIdle {
		t.Fatalf("state %+v", s)
	}
	tr.Reset()
	if _, ok := tr.Version(); ok {
		t.Fatal("version kept after Reset")
	}
}

func TestParseDialogInfoRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"no version":    `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" state="full" entity="sip:a@b"/>`,
		"bad version":   `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="-1" state="full" entity="sip:a@b"/>`,
		"bad state":     `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="some" entity="sip:a@b"/>`,
		"no entity":     `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full"/>`,
		"wrong ns":      `<dialog-info version="1" state="full" entity="sip:a@b"/>`,
		"dialog no id":  string(dialogDoc("1", "full", `<dialog><state>early</state></dialog>`)),
		"dialog state":  string(dialogDoc("1", "full", `<dialog id="x"><state>ringing</state></dialog>`)),
		"no state":      string(dialogDoc("1", "full", `<dialog id="x"/>`)),
		"direction":     string(dialogDoc("1", "full", `<dialog id="x" direction="sideways"><state>early</state></dialog>`)),
		"code":          string(dialogDoc("1", "full", `<dialog id="x"><state code="9999">early</state></dialog>`)),
		"duplicate ids": string(dialogDoc("1", "full", dlg("x", "initiator", "early"), dlg("x", "initiator", "early"))),
		"target no uri": string(dialogDoc("1", "full", `<dialog id="x"><state>early</state><local><target/></local></dialog>`)),
	} {
		if _, err := ParseDialogInfo([]byte(doc)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestParseMessageSummary(t *testing.T) {
	ms, err := ParseMessageSummary([]byte("Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\n" +
		"Voice-Message: 4/8 (1/2)\r\nfax-message: 1/0\r\n\r\nTo: <alice@example.com>\r\nSubject: hi\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !ms.Waiting || ms.Account != "sip:alice@vmail.example.com" || ms.Voice != (Counts{4, 8, 1, 2}) || ms.Classes["fax-message"] != (Counts{New: 1}) {
		t.Fatalf("summary = %+v", ms)
	}
	ms, err = ParseMessageSummary([]byte("messages-waiting: no\n"))
	if err != nil || ms.Waiting || ms.Voice != (Counts{}) {
		t.Fatalf("no messages: %+v %v", ms, err)
	}
	b, err := BuildMessageSummary(true, "sip:1001@x", Counts{3, 1, 2, 0})
	if err != nil {
		t.Fatal(err)
	}
	ms, err = ParseMessageSummary(b)
	if err != nil || !ms.Waiting || ms.Voice != (Counts{3, 1, 2, 0}) || ms.Account != "sip:1001@x" {
		t.Fatalf("round trip: %+v %v", ms, err)
	}
	for name, body := range map[string]string{
		"empty":          "",
		"missing status": "Voice-Message: 1/0\r\n",
		"bad status":     "Messages-Waiting: maybe\r\n",
		"no colon":       "Messages-Waiting: yes\r\nVoice-Message 1/0\r\n",
		"bad counts":     "Messages-Waiting: yes\r\nVoice-Message: 1-0\r\n",
		"negative":       "Messages-Waiting: yes\r\nVoice-Message: -1/0\r\n",
		"overflow":       "Messages-Waiting: yes\r\nVoice-Message: 99999999999/0\r\n",
		"bad urgent":     "Messages-Waiting: yes\r\nVoice-Message: 1/0 (1/0\r\n",
		"repeated":       "Messages-Waiting: yes\r\nVoice-Message: 1/0\r\nVoice-Message: 2/0\r\n",
		"twice waiting":  "Messages-Waiting: yes\r\nMessages-Waiting: no\r\n",
		"control chars":  "Messages-Waiting: yes\r\nMessage-Account: sip:a\x00@b\r\n",
	} {
		if _, err := ParseMessageSummary([]byte(body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

const seedPhoneBook = `<EZPhoneDirectory>
  <PbookGroup>
    <GroupName>Company</GroupName>
    <DirectoryEntry><Name>Alex</Name><Telephone>20009</Telephone><Blf>No</Blf></DirectoryEntry>
    <DirectoryEntry><Name>Jim</Name><Telephone>20008</Telephone><Blf>Yes</Blf></DirectoryEntry>
  </PbookGroup>
  <PbookGroup>
    <GroupName>Friend Group</GroupName>
    <DirectoryEntry><Name>Jim</Name><Telephone>20008</Telephone><Blf>Yes</Blf></DirectoryEntry>
    <DirectoryEntry><Name>Samuel Tz</Name><Telephone>20007</Telephone><Blf>Yes</Blf></DirectoryEntry>
    <DirectoryEntry><Name>Ming Wang</Name><Telephone>20002</Telephone><Blf>Yes</Blf></DirectoryEntry>
  </PbookGroup>
</EZPhoneDirectory>`

func TestParsePhoneBook(t *testing.T) {
	pb, err := ParsePhoneBook([]byte(seedPhoneBook))
	if err != nil {
		t.Fatal(err)
	}
	if len(pb.Groups) != 2 || pb.Groups[0].Name != "Company" || pb.Groups[1].Name != "Friend Group" || len(pb.Groups[1].Entries) != 3 {
		t.Fatalf("phone book = %+v", pb)
	}
	if e := pb.Groups[0].Entries[0]; e != (Entry{Name: "Alex", Telephone: "20009"}) {
		t.Fatalf("entry = %+v", e)
	}
	if got := strings.Join(pb.BLFExtensions(), ","); got != "20008,20007,20002" {
		t.Fatalf("BLF extensions = %s", got)
	}
	for name, doc := range map[string]string{
		"wrong root":    `<Directory/>`,
		"no group name": `<EZPhoneDirectory><PbookGroup><DirectoryEntry><Telephone>1</Telephone></DirectoryEntry></PbookGroup></EZPhoneDirectory>`,
		"no telephone":  `<EZPhoneDirectory><PbookGroup><GroupName>g</GroupName><DirectoryEntry><Name>x</Name></DirectoryEntry></PbookGroup></EZPhoneDirectory>`,
		"bad blf":       `<EZPhoneDirectory><PbookGroup><GroupName>g</GroupName><DirectoryEntry><Telephone>1</Telephone><Blf>maybe</Blf></DirectoryEntry></PbookGroup></EZPhoneDirectory>`,
		"bad telephone": `<EZPhoneDirectory><PbookGroup><GroupName>g</GroupName><DirectoryEntry><Telephone>1 2</Telephone></DirectoryEntry></PbookGroup></EZPhoneDirectory>`,
		"unknown":       `<EZPhoneDirectory><PbookGroup><GroupName>g</GroupName><Other/></PbookGroup></EZPhoneDirectory>`,
		"repeated":      `<EZPhoneDirectory><PbookGroup><GroupName>g</GroupName><DirectoryEntry><Telephone>1</Telephone><Telephone>2</Telephone></DirectoryEntry></PbookGroup></EZPhoneDirectory>`,
		"stray entry":   `<EZPhoneDirectory><DirectoryEntry><Telephone>1</Telephone></DirectoryEntry></EZPhoneDirectory>`,
	} {
		if _, err := ParsePhoneBook([]byte(doc)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}
