package sip

import (
	"strconv"
	"strings"
	"time"

	gsip "github.com/emiago/sipgo/sip"
)

// Refresher names who refreshes a session (RFC 4028 §4).
type Refresher int

// Refreshers.
const (
	RefresherUnknown Refresher = iota
	// RefresherUAC: the caller refreshes.
	RefresherUAC
	// RefresherUAS: the callee refreshes.
	RefresherUAS
)

func (r Refresher) String() string {
	switch r {
	case RefresherUAC:
		return "uac"
	case RefresherUAS:
		return "uas"
	}
	return "unknown"
}

// SessionTimer is a dialog's negotiated session timer (RFC 4028).
type SessionTimer struct {
	// Interval is the session interval; zero means no session timer.
	Interval time.Duration
	// Refresher is who must refresh before Interval runs out.
	Refresher Refresher
}

// WeRefresh reports whether our side must send the refreshes, given
// whether we were the caller.
func (s SessionTimer) WeRefresh(caller bool) bool {
	return s.Interval > 0 && (s.Refresher == RefresherUAC) == caller
}

// ExpiryWarning is how long before the interval ends the side that does
// not refresh gives up: min(32 s, interval/3) (RFC 4028 §10).
func (s SessionTimer) ExpiryWarning() time.Duration {
	return min(32*time.Second, s.Interval/3)
}

// parseSessionExpires reads "Session-Expires: 1800;refresher=uac" (also the
// compact form "x").
func parseSessionExpires(h gsip.Header) (SessionTimer, bool) {
	if h == nil {
		return SessionTimer{}, false
	}
	parts := strings.Split(h.Value(), ";")
	n, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil || n <= 0 || n > 86400 {
		return SessionTimer{}, false
	}
	st := SessionTimer{Interval: time.Duration(n) * time.Second}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "refresher") {
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "uac":
				st.Refresher = RefresherUAC
			case "uas":
				st.Refresher = RefresherUAS
			}
		}
	}
	return st, true
}

func sessionExpiresHeader(m interface{ GetHeader(string) gsip.Header }) gsip.Header {
	if h := m.GetHeader("Session-Expires"); h != nil {
		return h
	}
	return m.GetHeader("x")
}

func headerHasToken(m interface{ GetHeaders(string) []gsip.Header }, name, token string) bool {
	for _, h := range m.GetHeaders(name) {
		for _, t := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func formatSessionExpires(st SessionTimer) string {
	s := strconv.Itoa(int(st.Interval / time.Second))
	if st.Refresher != RefresherUnknown {
		s += ";refresher=" + st.Refresher.String()
	}
	return s
}

// SessionTimer returns the dialog's negotiated session timer.
func (d *Dialog) SessionTimer() SessionTimer {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.timer
}

// IsCaller reports whether we sent the dialog's initial INVITE.
func (d *Dialog) IsCaller() bool { return d.isCaller }

// PeerAllows reports whether the peer listed method in its Allow header.
func (d *Dialog) PeerAllows(method string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range d.peerAllow {
		if strings.EqualFold(m, method) {
			return true
		}
	}
	return false
}

func allowList(m interface{ GetHeaders(string) []gsip.Header }) []string {
	var out []string
	for _, h := range m.GetHeaders("Allow") {
		for _, t := range strings.Split(h.Value(), ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}
