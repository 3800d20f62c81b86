package presence

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// ContentTypeMessageSummary is the media type of message-summary bodies.
const ContentTypeMessageSummary = "application/simple-message-summary"

// Counts are the message counts of one message context class:
// new/old (urgent new/urgent old).
type Counts struct {
	New, Old, UrgentNew, UrgentOld int
}

// MessageSummary is a parsed message-summary body (RFC 3842).
type MessageSummary struct {
	// Waiting is the Messages-Waiting status.
	Waiting bool
	// Account is the Message-Account URI, if given.
	Account string
	// Voice is the voice-message counts (zero when absent).
	Voice Counts
	// Classes holds the counts of every message context class given,
	// keyed by lower-case class name ("voice-message", "fax-message"...).
	Classes map[string]Counts
}

// maxCount bounds a message count.
const maxCount = 1 << 30

var messageClasses = map[string]bool{
	"voice-message": true, "fax-message": true, "pager-message": true,
	"multimedia-message": true, "text-message": true, "none": true,
}

// ParseMessageSummary parses a message-summary body. Header names are
// case-insensitive; Messages-Waiting is required and must come first;
// extension headers are skipped; the optional message headers after a
// blank line are ignored. Errors wrap ErrMalformed.
func ParseMessageSummary(data []byte) (*MessageSummary, error) {
	if len(data) == 0 {
		return nil, malformed("empty message-summary")
	}
	if len(data) > MaxDocumentSize {
		return nil, malformed("message-summary of %d bytes exceeds %d", len(data), MaxDocumentSize)
	}
	ms := &MessageSummary{Classes: map[string]Counts{}}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	first := true
	for i, line := range lines {
		if i >= 1000 {
			return nil, malformed("too many lines")
		}
		if strings.TrimSpace(line) == "" {
			if first {
				continue // leading blank lines
			}
			break // optional message headers follow
		}
		if err := checkText("line", line, 1024); err != nil {
			return nil, err
		}
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			return nil, malformed("line %d has no colon", i+1)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.TrimSpace(val)
		if name == "" || strings.ContainsAny(name, " \t") {
			return nil, malformed("line %d: bad header name", i+1)
		}
		if first {
			if name != "messages-waiting" {
				return nil, malformed("first line is %q, want Messages-Waiting", name)
			}
			switch strings.ToLower(val) {
			case "yes":
				ms.Waiting = true
			case "no":
			default:
				return nil, malformed("Messages-Waiting %q", val)
			}
			first = false
			continue
		}
		switch {
		case name == "messages-waiting":
			return nil, malformed("Messages-Waiting repeated")
		case name == "message-account":
			if val == "" {
				return nil, malformed("empty Message-Account")
			}
			ms.Account = val
		case messageClasses[name]:
			c, err := parseCounts(val)
			if err != nil {
				return nil, fmt.Errorf("%w (%s)", err, name)
			}
			if _, dup := ms.Classes[name]; dup {
				return nil, malformed("%s repeated", name)
			}
			ms.Classes[name] = c
			if name == "voice-message" {
				ms.Voice = c
			}
		}
	}
	if first {
		return nil, malformed("no Messages-Waiting line")
	}
	return ms, nil
}

// parseCounts parses "new/old" or "new/old (urgentnew/urgentold)".
func parseCounts(v string) (Counts, error) {
	var c Counts
	main, urgent, hasUrgent := strings.Cut(v, "(")
	var err error
	if c.New, c.Old, err = pair(strings.TrimSpace(main)); err != nil {
		return c, err
	}
	if hasUrgent {
		u, rest, ok := strings.Cut(urgent, ")")
		if !ok || strings.TrimSpace(rest) != "" {
			return c, malformed("counts %q: bad urgent part", v)
		}
		if c.UrgentNew, c.UrgentOld, err = pair(strings.TrimSpace(u)); err != nil {
			return c, err
		}
	}
	return c, nil
}

func pair(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, malformed("counts %q: want new/old", s)
	}
	x, err1 := count(a)
	y, err2 := count(b)
	if err1 != nil || err2 != nil {
		return 0, 0, malformed("counts %q", s)
	}
	return x, y, nil
}

func count(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 10 {
		return 0, malformed("count %q", s)
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, malformed("count %q", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > maxCount {
		return 0, malformed("count %q", s)
	}
	return n, nil
}

// BuildMessageSummary renders a message-summary body with the
// Messages-Waiting line, Message-Account when set and the voice-message
// counts.
func BuildMessageSummary(waiting bool, account string, voice Counts) ([]byte, error) {
	if strings.ContainsAny(account, "\r\n") {
		return nil, malformed("account contains a line break")
	}
	for _, n := range []int{voice.New, voice.Old, voice.UrgentNew, voice.UrgentOld} {
		if n < 0 || n > maxCount {
			return nil, malformed("count %d out of range", n)
		}
	}
	var b bytes.Buffer
	w := "no"
	if waiting {
		w = "yes"
	}
	fmt.Fprintf(&b, "Messages-Waiting: %s\r\n", w)
	if account != "" {
		fmt.Fprintf(&b, "Message-Account: %s\r\n", account)
	}
	fmt.Fprintf(&b, "Voice-Message: %d/%d (%d/%d)\r\n", voice.New, voice.Old, voice.UrgentNew, voice.UrgentOld)
	return b.Bytes(), nil
}
