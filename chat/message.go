package chat

import (
	"mime"
	"strings"
	"time"
	"unicode/utf8"
)

// Content types used in instant messaging.
const (
	// TextPlain is the content type of a plain text message.
	TextPlain = "text/plain;charset=UTF-8"
	// ComposingType is the content type of an isComposing document
	// (RFC 3994).
	ComposingType = "application/im-iscomposing+xml"
)

// Message is one instant message (a SIP MESSAGE request). It is a plain
// value, safe to copy and to share read-only between goroutines.
type Message struct {
	// From is the sender's URI and FromName its display name; To is the
	// recipient's URI.
	From, FromName, To string
	// ContentType is the body's media type, e.g. "text/plain;charset=UTF-8".
	ContentType string
	// Body is the content as sent.
	Body []byte
	// Time is when the message was received or sent.
	Time time.Time
}

// IsText reports whether the message's body is text that can be shown as
// a Go string (see IsText) and is valid UTF-8.
func (m Message) IsText() bool { return IsText(m.ContentType) && utf8.Valid(m.Body) }

// Text returns the body as a string. Check IsText first for content that
// is not text.
func (m Message) Text() string { return string(m.Body) }

// IsText reports whether contentType is a text/* media type whose charset
// is absent, UTF-8 or US-ASCII: a body that reads as a UTF-8 string.
// Parameters and letter case are ignored; a malformed content type is not
// text.
func IsText(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.HasPrefix(mt, "text/") {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8") || strings.EqualFold(cs, "us-ascii") || strings.EqualFold(cs, "utf8")
}

// IsComposing reports whether contentType is the isComposing type
// application/im-iscomposing+xml (parameters and letter case ignored).
func IsComposing(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == ComposingType
}
