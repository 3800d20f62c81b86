package chat

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// rfcExample is the isComposing example of RFC 3994 section 5, with the
// schema location attribute most implementations send.
const rfcExample = `<?xml version="1.0" encoding="UTF-8"?>
<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="urn:ietf:params:xml:ns:im-composing iscomposing.xsd">
  <state>active</state>
  <contenttype>text/plain</contenttype>
  <refresh>90</refresh>
</isComposing>`

func TestParseComposing(t *testing.T) {
	c, err := ParseComposing([]byte(rfcExample))
	if err != nil {
		t.Fatal(err)
	}
	if c.State != StateActive || !c.Active() || c.ContentType != "text/plain" || c.Refresh != 90*time.Second || !c.LastActive.IsZero() {
		t.Fatalf("parsed %+v", c)
	}

	idle := `<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">
	<state> IDLE </state>
	<lastactive>2003-01-27T10:43:00+01:00</lastactive>
	<ext:note xmlns:ext="urn:example:ext"><ext:x a="1">skipped <ext:y/></ext:x></ext:note>
	<!-- a comment -->
</isComposing>`
	c, err = ParseComposing([]byte(idle))
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2003, 1, 27, 9, 43, 0, 0, time.UTC)
	if c.State != StateIdle || c.Active() || !c.LastActive.Equal(want) || c.LastActive.Location() != time.UTC || c.Refresh != 0 || c.ContentType != "" {
		t.Fatalf("parsed %+v", c)
	}

	noZone := `<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>idle</state><lastactive>2020-02-29T23:59:59.5</lastactive></isComposing>`
	c, err = ParseComposing([]byte(noZone))
	if err != nil {
		t.Fatal(err)
	}
	if !c.LastActive.Equal(time.Date(2020, 2, 29, 23, 59, 59, 5e8, time.UTC)) {
		t.Fatalf("lastactive without zone = %v", c.LastActive)
	}
}

func TestParseComposingRejects(t *testing.T) {
	ns := `xmlns="urn:ietf:params:xml:ns:im-iscomposing"`
	doc := func(inner string) string { return `<isComposing ` + ns + `>` + inner + `</isComposing>` }
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"empty", "", "empty"},
		{"not xml", "active", "outside"},
		{"only a comment", "<!-- x -->", "no isComposing"},
		{"truncated", `<isComposing ` + ns + `><state>active</state>`, "EOF"},
		{"wrong root", `<composing ` + ns + `><state>active</state></composing>`, "root element"},
		{"no namespace", `<isComposing><state>active</state></isComposing>`, "root element"},
		{"wrong namespace", `<isComposing xmlns="urn:example"><state>active</state></isComposing>`, "root element"},
		{"no state", doc(`<refresh>60</refresh>`), "no state"},
		{"bad state", doc(`<state>typing</state>`), `state "typing"`},
		{"empty state", doc(`<state></state>`), "empty <state>"},
		{"two states", doc(`<state>active</state><state>idle</state>`), "more than one <state>"},
		{"unknown element", doc(`<state>active</state><mood>happy</mood>`), "unknown element <mood>"},
		{"unqualified child", doc(`<state>active</state><x xmlns="">1</x>`), "no namespace"},
		{"nested in state", doc(`<state><b>active</b></state>`), "inside <state>"},
		{"text in root", doc(`hello<state>active</state>`), "text"},
		{"text after root", doc(`<state>active</state>`) + "junk", "outside"},
		{"two roots", doc(`<state>active</state>`) + doc(`<state>idle</state>`), "second root"},
		{"refresh zero", doc(`<state>active</state><refresh>0</refresh>`), "refresh"},
		{"refresh negative", doc(`<state>active</state><refresh>-5</refresh>`), "refresh"},
		{"refresh huge", doc(`<state>active</state><refresh>99999999999999999999</refresh>`), "refresh"},
		{"refresh fraction", doc(`<state>active</state><refresh>1.5</refresh>`), "refresh"},
		{"bad lastactive", doc(`<state>active</state><lastactive>yesterday</lastactive>`), "lastactive"},
		{"bad content type", doc(`<state>active</state><contenttype>plain text</contenttype>`), "content type"},
		{"control in content type", doc(`<state>active</state><contenttype>text/plain;&#x9;a=b</contenttype>`), "not allowed"},
		{"doctype", `<!DOCTYPE isComposing [<!ENTITY x "y">]>` + doc(`<state>active</state>`), "DTD"},
		{"undefined entity", doc(`<state>&x;</state>`), "malformed"},
		{"bad utf8", doc("<state>\xff</state>"), "UTF-8"},
		{"latin1 declared", `<?xml version="1.0" encoding="ISO-8859-1"?>` + doc(`<state>active</state>`), "malformed"},
		{"too big", doc(`<state>active</state>` + strings.Repeat(" ", MaxComposingSize)), "limit"},
		{"too deep", doc(`<state>active</state>` + strings.Repeat(`<e:x xmlns:e="urn:e">`, 20) + strings.Repeat(`</e:x>`, 20)), "deeper"},
		{"too many tokens", `<isComposing ` + ns + ` xmlns:e="urn:e"><state>active</state>` + strings.Repeat(`<e:x/>`, 600) + `</isComposing>`, "tokens"},
		{"long value", doc(`<state>active</state><contenttype>text/` + strings.Repeat("a", 300) + `</contenttype>`), "longer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseComposing([]byte(tc.doc))
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			if c != (Composing{}) {
				t.Fatalf("error with non-zero result %+v", c)
			}
		})
	}
}

func TestMarshalComposingRoundTrip(t *testing.T) {
	for _, c := range []Composing{
		{State: StateActive},
		{State: StateIdle, LastActive: time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", 3600))},
		{State: StateActive, ContentType: `text/plain; charset="utf-8"`, Refresh: 60 * time.Second, LastActive: time.Now()},
		{State: StateActive, ContentType: "text/html<&>", Refresh: MaxRefresh},
	} {
		if strings.Contains(c.ContentType, "<") {
			// not a valid media type: refused
			if _, err := MarshalComposing(c); !errors.Is(err, ErrInvalid) {
				t.Fatalf("%+v: err = %v, want ErrInvalid", c, err)
			}
			continue
		}
		b, err := MarshalComposing(c)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if !bytes.Contains(b, []byte(`<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">`)) {
			t.Fatalf("document lacks the namespace:\n%s", b)
		}
		got, err := ParseComposing(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if got.State != c.State || got.ContentType != c.ContentType || got.Refresh != c.Refresh || !got.LastActive.Equal(c.LastActive) {
			t.Fatalf("round trip: %+v -> %s -> %+v", c, b, got)
		}
	}
	b, err := MarshalComposing(Composing{State: StateActive, Refresh: 1500 * time.Millisecond})
	if err != nil || !bytes.Contains(b, []byte("<refresh>2</refresh>")) {
		t.Fatalf("refresh not rounded up to whole seconds: %s %v", b, err)
	}
	for _, c := range []Composing{
		{},
		{State: "Active"},
		{State: StateIdle, Refresh: -time.Second},
		{State: StateIdle, Refresh: MaxRefresh + time.Second},
		{State: StateIdle, ContentType: "text/plain\r\nX: y"},
		{State: StateIdle, ContentType: " text/plain"},
		{State: StateIdle, LastActive: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := MarshalComposing(c); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%+v: err = %v, want ErrInvalid", c, err)
		}
	}
}

func TestIsText(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/plain":                     true,
		"text/plain;charset=UTF-8":       true,
		"Text/Plain; charset=\"utf-8\"":  true,
		"text/html;charset=us-ascii":     true,
		"text/plain;charset=ISO-8859-1":  false,
		"application/im-iscomposing+xml": false,
		"message/cpim":                   false,
		"":                               false,
		"text":                           false,
		"text/plain;;":                   false,
	} {
		if got := IsText(ct); got != want {
			t.Errorf("IsText(%q) = %v, want %v", ct, got, want)
		}
	}
	if !IsComposing("Application/IM-isComposing+XML; charset=utf-8") || IsComposing("text/plain") || IsComposing("application/im-iscomposing") {
		t.Fatal("IsComposing misclassifies")
	}
	m := Message{ContentType: TextPlain, Body: []byte("héllo ✓")}
	if !m.IsText() || m.Text() != "héllo ✓" {
		t.Fatalf("message %+v", m)
	}
	m.Body = []byte{0xff, 'a'}
	if m.IsText() {
		t.Fatal("invalid UTF-8 body counted as text")
	}
}
