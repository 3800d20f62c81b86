package presence

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// ErrMalformed is wrapped by every error about a document that is too
// large, not well-formed, or does not follow its format.
var ErrMalformed = errors.New("presence: malformed document")

// Limits applied by the parsers.
const (
	// MaxDocumentSize bounds PIDF, dialog-info and message-summary bodies.
	MaxDocumentSize = 256 << 10
	// MaxPhoneBookSize bounds phone-book documents.
	MaxPhoneBookSize = 4 << 20
	// MaxDepth bounds element nesting.
	MaxDepth = 32
	// MaxElements bounds the number of elements in one document.
	MaxElements = 50000
)

// Namespaces of the XML formats.
const (
	NamespacePIDF       = "urn:ietf:params:xml:ns:pidf"
	NamespaceDataModel  = "urn:ietf:params:xml:ns:pidf:data-model"
	NamespaceRPID       = "urn:ietf:params:xml:ns:pidf:rpid"
	NamespaceDialogInfo = "urn:ietf:params:xml:ns:dialog-info"
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// node is one XML element with its direct text.
type node struct {
	name  xml.Name
	attrs []xml.Attr
	kids  []*node
	text  strings.Builder
}

// attr returns the value of the unqualified attribute name.
func (n *node) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Local == name && (a.Name.Space == "" || a.Name.Space == n.name.Space) {
			return a.Value, true
		}
	}
	return "", false
}

// is reports whether n is the element local in namespace ns.
func (n *node) is(ns, local string) bool { return n.name.Space == ns && n.name.Local == local }

// child returns the first child local in ns.
func (n *node) child(ns, local string) *node {
	for _, k := range n.kids {
		if k.is(ns, local) {
			return k
		}
	}
	return nil
}

// value returns the trimmed text of n.
func (n *node) value() string { return strings.TrimSpace(n.text.String()) }

// parseTree parses a whole XML document into a tree, enforcing size,
// depth and element limits and refusing DTDs and trailing content.
func parseTree(data []byte, limit int) (*node, error) {
	if len(data) == 0 {
		return nil, malformed("empty document")
	}
	if len(data) > limit {
		return nil, malformed("document of %d bytes exceeds %d", len(data), limit)
	}
	if !utf8.Valid(data) {
		return nil, malformed("not UTF-8")
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		if strings.EqualFold(charset, "us-ascii") || strings.EqualFold(charset, "ascii") {
			return r, nil
		}
		return nil, fmt.Errorf("unsupported charset %q", charset)
	}
	var root *node
	var stack []*node
	elements := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, malformed("%v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			elements++
			if elements > MaxElements {
				return nil, malformed("more than %d elements", MaxElements)
			}
			if len(stack) >= MaxDepth {
				return nil, malformed("nested deeper than %d", MaxDepth)
			}
			n := &node{name: t.Name, attrs: t.Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, malformed("more than one root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, malformed("text outside the root element")
				}
				continue
			}
			stack[len(stack)-1].text.Write(t)
		case xml.Directive:
			return nil, malformed("DTDs and directives are not allowed")
		case xml.ProcInst:
			if t.Target != "xml" {
				return nil, malformed("processing instruction %q", t.Target)
			}
		}
	}
	if root == nil {
		return nil, malformed("no root element")
	}
	return root, nil
}

// checkText refuses control characters (other than tab and newlines) in
// values that end up in events and user interfaces.
func checkText(what, s string, maxLen int) error {
	if len(s) > maxLen {
		return malformed("%s longer than %d bytes", what, maxLen)
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return malformed("%s contains control characters", what)
		}
	}
	return nil
}
