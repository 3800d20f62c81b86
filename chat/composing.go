package chat

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors returned by the isComposing functions; test with errors.Is.
var (
	// ErrMalformed means a document is not a valid isComposing document.
	ErrMalformed = errors.New("chat: malformed isComposing document")
	// ErrInvalid means a Composing value cannot be marshalled.
	ErrInvalid = errors.New("chat: invalid isComposing value")
)

// isComposing states (RFC 3994 section 3).
const (
	StateActive = "active"
	StateIdle   = "idle"
)

// Timers of RFC 3994.
const (
	// DefaultRefresh is how long an active indication without a refresh
	// element lasts at the receiver.
	DefaultRefresh = 120 * time.Second
	// IdleTimeout is how long after the last keystroke a composer turns
	// idle.
	IdleTimeout = 15 * time.Second
	// MaxRefresh bounds the refresh interval this package parses and
	// writes.
	MaxRefresh = 24 * time.Hour
)

// Limits applied by ParseComposing.
const (
	// MaxComposingSize is the largest document accepted, in bytes.
	MaxComposingSize = 8 << 10
	maxDepth         = 16
	maxTokens        = 1024
	maxValueLen      = 256
)

// ComposingNamespace is the XML namespace of isComposing documents.
const ComposingNamespace = "urn:ietf:params:xml:ns:im-iscomposing"

// Composing is an isComposing status (RFC 3994): whether the sender is
// typing a message. It is a plain value, safe to copy.
type Composing struct {
	// State is StateActive (typing) or StateIdle.
	State string
	// LastActive is when the composer was last active; zero when absent.
	LastActive time.Time
	// ContentType is the type of the message being composed, e.g.
	// "text/plain"; empty when absent.
	ContentType string
	// Refresh is the interval within which an active composer sends a new
	// indication, in whole seconds; zero when absent (the receiver then
	// assumes DefaultRefresh).
	Refresh time.Duration
}

// Active reports whether the status says the sender is typing.
func (c Composing) Active() bool { return c.State == StateActive }

// MarshalComposing renders c as an application/im-iscomposing+xml
// document. Refresh is rounded up to whole seconds. An invalid value (an
// unknown state, a malformed content type, a refresh outside 1 s to
// MaxRefresh, a LastActive outside years 1-9999) gives an error wrapping
// ErrInvalid.
func MarshalComposing(c Composing) ([]byte, error) {
	if c.State != StateActive && c.State != StateIdle {
		return nil, fmt.Errorf("%w: state %q (want %q or %q)", ErrInvalid, c.State, StateActive, StateIdle)
	}
	var la string
	if !c.LastActive.IsZero() {
		t := c.LastActive.UTC()
		if y := t.Year(); y < 1 || y > 9999 {
			return nil, fmt.Errorf("%w: last active year %d out of range", ErrInvalid, y)
		}
		la = t.Format(time.RFC3339Nano)
	}
	if c.ContentType != "" {
		if err := checkContentType(c.ContentType); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	var refresh int64
	if c.Refresh != 0 {
		if c.Refresh < 0 || c.Refresh > MaxRefresh {
			return nil, fmt.Errorf("%w: refresh %v out of range", ErrInvalid, c.Refresh)
		}
		refresh = int64((c.Refresh + time.Second - 1) / time.Second)
	}

	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<isComposing xmlns="` + ComposingNamespace + `">` + "\n")
	b.WriteString("  <state>" + c.State + "</state>\n")
	if la != "" {
		b.WriteString("  <lastactive>" + la + "</lastactive>\n")
	}
	if c.ContentType != "" {
		b.WriteString("  <contenttype>")
		_ = xml.EscapeText(&b, []byte(c.ContentType))
		b.WriteString("</contenttype>\n")
	}
	if refresh > 0 {
		b.WriteString("  <refresh>" + strconv.FormatInt(refresh, 10) + "</refresh>\n")
	}
	b.WriteString("</isComposing>\n")
	return b.Bytes(), nil
}

// ParseComposing parses an application/im-iscomposing+xml document. It is
// strict: the root must be isComposing in ComposingNamespace with exactly
// one state ("active" or "idle", any letter case) and at most one each of
// lastactive (an xs:dateTime), contenttype (a media type) and refresh (1
// to 86400 seconds); elements of other namespaces are skipped, unknown
// elements of this namespace, text outside elements, DTDs and documents
// over MaxComposingSize bytes are refused. Element order and attributes
// are not checked. Errors wrap ErrMalformed.
func ParseComposing(data []byte) (Composing, error) {
	var c Composing
	if len(data) == 0 {
		return c, fmt.Errorf("%w: empty document", ErrMalformed)
	}
	if len(data) > MaxComposingSize {
		return c, fmt.Errorf("%w: %d bytes exceeds the %d byte limit", ErrMalformed, len(data), MaxComposingSize)
	}
	if !utf8.Valid(data) {
		return c, fmt.Errorf("%w: not valid UTF-8", ErrMalformed)
	}
	p := &composingParser{dec: xml.NewDecoder(bytes.NewReader(data))}
	p.dec.Strict = true
	if err := p.parse(&c); err != nil {
		return Composing{}, err
	}
	return c, nil
}

type composingParser struct {
	dec    *xml.Decoder
	tokens int
	seen   map[string]bool
}

// next returns the next token, counting them against maxTokens.
func (p *composingParser) next() (xml.Token, error) {
	p.tokens++
	if p.tokens > maxTokens {
		return nil, fmt.Errorf("%w: more than %d XML tokens", ErrMalformed, maxTokens)
	}
	tok, err := p.dec.Token()
	if err == io.EOF {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return tok, nil
}

func (p *composingParser) parse(c *Composing) error {
	rootSeen, rootDone := false, false
	for {
		tok, err := p.next()
		if err == io.EOF {
			if !rootDone {
				return fmt.Errorf("%w: no isComposing element", ErrMalformed)
			}
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.ProcInst, xml.Comment:
		case xml.Directive:
			return fmt.Errorf("%w: XML directives (DTD) are not allowed", ErrMalformed)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("%w: text outside the isComposing element", ErrMalformed)
			}
		case xml.StartElement:
			if rootSeen {
				return fmt.Errorf("%w: second root element <%s>", ErrMalformed, t.Name.Local)
			}
			rootSeen = true
			if t.Name.Local != "isComposing" || t.Name.Space != ComposingNamespace {
				return fmt.Errorf("%w: root element is {%s}%s, want {%s}isComposing", ErrMalformed, t.Name.Space, t.Name.Local, ComposingNamespace)
			}
			if err := p.root(c); err != nil {
				return err
			}
			rootDone = true
		default:
			return fmt.Errorf("%w: unexpected %T", ErrMalformed, tok)
		}
	}
}

// root reads the children of isComposing up to its end tag.
func (p *composingParser) root(c *Composing) error {
	p.seen = map[string]bool{}
	for {
		tok, err := p.next()
		if err == io.EOF {
			return fmt.Errorf("%w: unterminated isComposing element", ErrMalformed)
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if !p.seen["state"] {
				return fmt.Errorf("%w: no state element", ErrMalformed)
			}
			return nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("%w: text %q directly inside isComposing", ErrMalformed, clip(string(bytes.TrimSpace(t))))
			}
		case xml.Comment, xml.ProcInst:
		case xml.StartElement:
			if t.Name.Space != ComposingNamespace {
				if t.Name.Space == "" {
					return fmt.Errorf("%w: element <%s> has no namespace", ErrMalformed, t.Name.Local)
				}
				if err := p.skip(1); err != nil {
					return err
				}
				continue
			}
			if err := p.child(c, t.Name.Local); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: unexpected %T inside isComposing", ErrMalformed, tok)
		}
	}
}

// child reads one known element of the isComposing namespace.
func (p *composingParser) child(c *Composing, name string) error {
	switch name {
	case "state", "lastactive", "contenttype", "refresh":
	default:
		return fmt.Errorf("%w: unknown element <%s>", ErrMalformed, clip(name))
	}
	if p.seen[name] {
		return fmt.Errorf("%w: more than one <%s>", ErrMalformed, name)
	}
	p.seen[name] = true
	v, err := p.text(name)
	if err != nil {
		return err
	}
	switch name {
	case "state":
		switch strings.ToLower(v) {
		case StateActive:
			c.State = StateActive
		case StateIdle:
			c.State = StateIdle
		default:
			return fmt.Errorf("%w: state %q (want %q or %q)", ErrMalformed, clip(v), StateActive, StateIdle)
		}
	case "lastactive":
		t, err := parseDateTime(v)
		if err != nil {
			return fmt.Errorf("%w: lastactive: %w", ErrMalformed, err)
		}
		c.LastActive = t
	case "contenttype":
		if err := checkContentType(v); err != nil {
			return fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		c.ContentType = v
	case "refresh":
		d, err := parseRefresh(v)
		if err != nil {
			return fmt.Errorf("%w: refresh: %w", ErrMalformed, err)
		}
		c.Refresh = d
	}
	return nil
}

// text returns the trimmed text content of a simple element whose start
// tag was just read, consuming its end tag.
func (p *composingParser) text(name string) (string, error) {
	var b []byte
	for {
		tok, err := p.next()
		if err == io.EOF {
			return "", fmt.Errorf("%w: unterminated <%s>", ErrMalformed, name)
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b = append(b, t...)
			if len(b) > maxValueLen*4 {
				return "", fmt.Errorf("%w: <%s> value too long", ErrMalformed, name)
			}
		case xml.Comment, xml.ProcInst:
		case xml.EndElement:
			v := strings.TrimSpace(string(b))
			if len(v) > maxValueLen {
				return "", fmt.Errorf("%w: <%s> value longer than %d bytes", ErrMalformed, name, maxValueLen)
			}
			if v == "" {
				return "", fmt.Errorf("%w: empty <%s>", ErrMalformed, name)
			}
			return v, nil
		case xml.StartElement:
			return "", fmt.Errorf("%w: element <%s> inside <%s>", ErrMalformed, clip(t.Name.Local), name)
		default:
			return "", fmt.Errorf("%w: unexpected %T inside <%s>", ErrMalformed, tok, name)
		}
	}
}

// skip consumes an extension element whose start tag was just read.
func (p *composingParser) skip(depth int) error {
	for depth > 0 {
		tok, err := p.next()
		if err == io.EOF {
			return fmt.Errorf("%w: unterminated extension element", ErrMalformed)
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxDepth {
				return fmt.Errorf("%w: elements nested deeper than %d", ErrMalformed, maxDepth)
			}
		case xml.EndElement:
			depth--
		case xml.Directive:
			return fmt.Errorf("%w: XML directives are not allowed", ErrMalformed)
		}
	}
	return nil
}

// parseDateTime parses an xs:dateTime; one without a time zone is taken
// as UTC. The result is in UTC, years 1 to 9999.
func parseDateTime(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		var err2 error
		t, err2 = time.Parse("2006-01-02T15:04:05.999999999", v)
		if err2 != nil {
			return time.Time{}, fmt.Errorf("%q is not an xs:dateTime", clip(v))
		}
	}
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, fmt.Errorf("year %d out of range", y)
	}
	return t, nil
}

// parseRefresh parses a positive number of seconds up to MaxRefresh.
func parseRefresh(v string) (time.Duration, error) {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Errorf("%q is not a positive integer", clip(v))
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > int64(MaxRefresh/time.Second) {
		return 0, fmt.Errorf("%q seconds out of range 1-%d", clip(v), int64(MaxRefresh/time.Second))
	}
	return time.Duration(n) * time.Second, nil
}

// checkContentType accepts a media type of printable ASCII (up to
// maxValueLen bytes) that mime.ParseMediaType understands.
func checkContentType(v string) error {
	if v != strings.TrimSpace(v) || len(v) > maxValueLen {
		return fmt.Errorf("content type %q: surrounding space or too long", clip(v))
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return fmt.Errorf("content type %q: byte %#x not allowed", clip(v), v[i])
		}
	}
	mt, _, err := mime.ParseMediaType(v)
	if err != nil || !strings.Contains(mt, "/") {
		return fmt.Errorf("content type %q is not a media type", clip(v))
	}
	return nil
}

// clip shortens s for an error message.
func clip(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
