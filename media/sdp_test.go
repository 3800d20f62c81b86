package media

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// crlf turns a readable multi-line SDP into wire form.
func crlf(s string) []byte {
	s = strings.TrimSpace(s)
	return []byte(strings.ReplaceAll(s, "\n", "\r\n") + "\r\n")
}

// baresipOffer is an offer in the shape baresip sends: many codecs,
// dynamic payload types, rtcp-mux and a=rtcp.
var baresipOffer = crlf(`
v=0
o=- 2890844526 2890844527 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
m=audio 10314 RTP/AVP 96 97 9 0 8 101
b=AS:128
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1
a=rtpmap:97 G7221/16000
a=fmtp:97 bitrate=32000
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp:10315
a=sendrecv
a=label:1
a=rtcp-mux
a=ssrc:1122334455 cname:2c8f8a3b-1d3b
a=ptime:20
`)

// sippOffer is the minimal offer of a sipp UAC scenario: one static
// payload type.
var sippOffer = crlf(`
v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
`)

// opusOffer offers Opus first, then G.711 at non-standard dynamic
// payload types and telephone-event at two clock rates.
var opusOffer = crlf(`
v=0
o=linphone 123 456 IN IP4 198.51.100.7
s=Talk
c=IN IP4 198.51.100.7
t=0 0
m=audio 7078 RTP/AVP 111 110 112 100 101
a=rtpmap:111 opus/48000/2
a=fmtp:111 useinbandfec=1
a=rtpmap:110 PCMA/8000
a=rtpmap:112 PCMU/8000
a=rtpmap:100 telephone-event/48000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-11
a=ptime:20
`)

func TestCreateOffer(t *testing.T) {
	s := newTestSession(t, "PCMU", "PCMA")
	offer, err := s.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDescription(offer)
	if err != nil {
		t.Fatalf("ParseDescription(own offer): %v\n%s", err, offer)
	}
	if d.Addr != s.LocalAddr() {
		t.Errorf("Addr = %v, want %v", d.Addr, s.LocalAddr())
	}
	if d.Addr.Port()%2 != 0 {
		t.Errorf("RTP port %d is odd", d.Addr.Port())
	}
	if want := netip.AddrPortFrom(loopback, s.LocalAddr().Port()+1); d.RTCPAddr != want {
		t.Errorf("RTCPAddr = %v, want %v", d.RTCPAddr, want)
	}
	if d.Direction != DirectionSendRecv || d.PTime != 20*time.Millisecond || d.Proto != "RTP/AVP" {
		t.Errorf("direction %v ptime %v proto %q", d.Direction, d.PTime, d.Proto)
	}
	want := []Format{
		{0, "PCMU", 8000, 1, ""},
		{8, "PCMA", 8000, 1, ""},
		{101, "telephone-event", 8000, 1, "0-16"},
	}
	if fmt.Sprint(d.Formats) != fmt.Sprint(want) || d.Formats[2].Fmtp != "0-16" {
		t.Errorf("formats = %v, want %v", d.Formats, want)
	}
	text := string(offer)
	for _, line := range []string{"v=0\r\n", "s=voipkit\r\n", "c=IN IP4 127.0.0.1\r\n", "t=0 0\r\n",
		"a=rtpmap:0 PCMU/8000\r\n", "a=fmtp:101 0-16\r\n", "a=ptime:20\r\n", "a=sendrecv\r\n"} {
		if !strings.Contains(text, line) {
			t.Errorf("offer lacks %q:\n%s", line, text)
		}
	}

	// A new offer (re-INVITE) keeps the session id and bumps the version.
	s.SetDirection(DirectionSendOnly)
	offer2, err := s.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	d2, err := ParseDescription(offer2)
	if err != nil {
		t.Fatal(err)
	}
	if d2.SessionID != d.SessionID || d2.SessionVersion != d.SessionVersion+1 {
		t.Errorf("o= went from %d/%d to %d/%d", d.SessionID, d.SessionVersion, d2.SessionID, d2.SessionVersion)
	}
	if d2.Direction != DirectionSendOnly {
		t.Errorf("hold offer direction = %v", d2.Direction)
	}
}

func TestCreateOfferIPv6(t *testing.T) {
	s, err := NewSession(Config{LocalIP: netip.IPv6Loopback()})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer s.Close()
	offer, err := s.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(offer), "c=IN IP6 ::1\r\n") {
		t.Errorf("offer:\n%s", offer)
	}
	d, err := ParseDescription(offer)
	if err != nil || d.Addr != s.LocalAddr() {
		t.Fatalf("parse: %v %v", d, err)
	}
}

// answerOf makes s answer offer and parses the answer.
func answerOf(t *testing.T, s *Session, offer []byte) *Description {
	t.Helper()
	answer, err := s.AcceptOffer(offer)
	if err != nil {
		t.Fatalf("AcceptOffer: %v", err)
	}
	d, err := ParseDescription(answer)
	if err != nil {
		t.Fatalf("parse answer: %v\n%s", err, answer)
	}
	return d
}

func TestAcceptOfferLocalPriority(t *testing.T) {
	offer := crlf(`
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 4000 RTP/AVP 8 0 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
`)
	tests := []struct {
		local  []string
		wantPT uint8
		name   string
	}{
		{[]string{"PCMU", "PCMA"}, 0, "PCMU"},
		{[]string{"PCMA", "PCMU"}, 8, "PCMA"},
		{[]string{"PCMU"}, 0, "PCMU"},
	}
	for _, tt := range tests {
		s := newTestSession(t, tt.local...)
		d := answerOf(t, s, offer)
		if len(d.Formats) != 2 || d.Formats[0].PayloadType != tt.wantPT || d.Formats[0].Name != tt.name {
			t.Errorf("local %v: answer formats %v, want %d %s + telephone-event", tt.local, d.Formats, tt.wantPT, tt.name)
		}
		if te := d.Formats[len(d.Formats)-1]; te.PayloadType != 101 || te.Name != telephoneEvent || te.Fmtp != "0-15" {
			t.Errorf("telephone-event in answer = %v %q", te, te.Fmtp)
		}
		if c := s.Codec(); c.Name != tt.name || c.PayloadType != tt.wantPT || c.FrameDuration != 20*time.Millisecond {
			t.Errorf("Codec() = %+v", c)
		}
		if d.Addr != s.LocalAddr() || d.Direction != DirectionSendRecv {
			t.Errorf("answer addr %v dir %v", d.Addr, d.Direction)
		}
		r := s.Remote()
		if r == nil || r.Addr != netip.MustParseAddrPort("192.0.2.1:4000") || r.RTCPAddr.Port() != 4001 {
			t.Errorf("Remote() = %+v", r)
		}
	}
}

func TestAcceptOfferStaticPayloadTypesWithoutRTPMap(t *testing.T) {
	offer := crlf(`
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 4000 RTP/AVP 8 0
`)
	d, err := ParseDescription(offer)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(d.Formats); got != "[8 PCMA/8000 0 PCMU/8000]" {
		t.Errorf("formats = %s", got)
	}
	s := newTestSession(t, "PCMU", "PCMA")
	a := answerOf(t, s, offer)
	if len(a.Formats) != 1 || a.Formats[0].PayloadType != 0 {
		t.Errorf("answer formats %v, want only 0 (no telephone-event: not offered)", a.Formats)
	}
}

func TestAcceptOfferDynamicPayloadTypes(t *testing.T) {
	s := newTestSession(t, "PCMU", "PCMA")
	a := answerOf(t, s, opusOffer)
	// Opus is not configured; PCMU is our first choice, at the offerer's
	// dynamic type 112, with telephone-event/8000 at 101 (not the 48 kHz one).
	if len(a.Formats) != 2 || a.Formats[0].PayloadType != 112 || a.Formats[0].Name != "PCMU" ||
		a.Formats[1].PayloadType != 101 || a.Formats[1].ClockRate != 8000 {
		t.Errorf("answer formats = %v", a.Formats)
	}
	if c := s.Codec(); c.PayloadType != 112 {
		t.Errorf("Codec().PayloadType = %d, want 112", c.PayloadType)
	}
}

func TestAcceptOfferRealOffers(t *testing.T) {
	for name, offer := range map[string][]byte{"baresip": baresipOffer, "sipp": sippOffer, "opus": opusOffer} {
		s := newTestSession(t, "PCMA", "PCMU")
		a := answerOf(t, s, offer)
		if len(a.Formats) == 0 || a.Formats[0].Name != "PCMA" && a.Formats[0].Name != "PCMU" {
			t.Errorf("%s: answer formats %v", name, a.Formats)
		}
		if name == "sipp" && a.Formats[0].Name != "PCMU" {
			t.Errorf("sipp offers only PCMU, answer %v", a.Formats)
		}
		if name == "baresip" && (a.Formats[0].PayloadType != 8 || s.Remote().RTCPAddr.Port() != 10315) {
			t.Errorf("baresip: answer %v remote %+v", a.Formats, s.Remote())
		}
	}
}

func TestDirectionNegotiation(t *testing.T) {
	tests := []struct {
		offered, local, answer Direction
		send, recv             bool
	}{
		{DirectionSendRecv, DirectionUnknown, DirectionSendRecv, true, true},
		{DirectionSendRecv, DirectionSendRecv, DirectionSendRecv, true, true},
		{DirectionSendOnly, DirectionUnknown, DirectionRecvOnly, false, true},
		{DirectionRecvOnly, DirectionUnknown, DirectionSendOnly, true, false},
		{DirectionInactive, DirectionUnknown, DirectionInactive, false, false},
		{DirectionSendRecv, DirectionSendOnly, DirectionSendOnly, true, false},
		{DirectionSendRecv, DirectionRecvOnly, DirectionRecvOnly, false, true},
		{DirectionSendOnly, DirectionSendOnly, DirectionInactive, false, false},
		{DirectionSendRecv, DirectionInactive, DirectionInactive, false, false},
	}
	for _, tt := range tests {
		offer := crlf(`
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 4000 RTP/AVP 0
a=` + tt.offered.String() + `
`)
		if got := AnswerDirection(tt.offered, tt.local); got != tt.answer {
			t.Errorf("AnswerDirection(%v, %v) = %v, want %v", tt.offered, tt.local, got, tt.answer)
		}
		s := newTestSession(t, "PCMU")
		s.SetDirection(tt.local)
		a := answerOf(t, s, offer)
		if a.Direction != tt.answer {
			t.Errorf("offer %v local %v: answer says %v, want %v", tt.offered, tt.local, a.Direction, tt.answer)
		}
		n := s.neg.Load()
		if n.sendOK != tt.send || n.recvOK != tt.recv {
			t.Errorf("offer %v local %v: send %v recv %v, want %v %v", tt.offered, tt.local, n.sendOK, n.recvOK, tt.send, tt.recv)
		}
	}
}

func TestDirectionString(t *testing.T) {
	want := map[Direction]string{
		DirectionUnknown: "unknown", DirectionSendRecv: "sendrecv", DirectionSendOnly: "sendonly",
		DirectionRecvOnly: "recvonly", DirectionInactive: "inactive", Direction(42): "Direction(42)",
	}
	for d, w := range want {
		if d.String() != w {
			t.Errorf("%d.String() = %q, want %q", int(d), d.String(), w)
		}
	}
	if !DirectionUnknown.Sends() || !DirectionUnknown.Receives() || DirectionUnknown.Reverse() != DirectionSendRecv {
		t.Error("DirectionUnknown must behave as sendrecv")
	}
}

func TestHoldWithZeroConnectionAddress(t *testing.T) {
	offer := crlf(`
v=0
o=- 1 2 IN IP4 192.0.2.1
s=-
c=IN IP4 0.0.0.0
t=0 0
m=audio 4000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
`)
	d, err := ParseDescription(offer)
	if err != nil {
		t.Fatal(err)
	}
	if d.Direction != DirectionSendOnly || !d.Addr.Addr().IsUnspecified() {
		t.Errorf("c=0.0.0.0 hold: direction %v addr %v", d.Direction, d.Addr)
	}
	s := newTestSession(t, "PCMU")
	a := answerOf(t, s, offer)
	if a.Direction != DirectionRecvOnly {
		t.Errorf("answer to hold: %v", a.Direction)
	}
	if n := s.neg.Load(); n.sendOK || !n.recvOK {
		t.Errorf("on hold we must not send: send %v recv %v", n.sendOK, n.recvOK)
	}

	inactive := []byte(strings.Replace(string(offer), "a=rtpmap:0 PCMU/8000", "a=recvonly", 1))
	d, err = ParseDescription(inactive)
	if err != nil || d.Direction != DirectionInactive {
		t.Errorf("c=0.0.0.0 with recvonly: %v %v", d, err)
	}
}

func TestConnectionAndRTCPAddress(t *testing.T) {
	base := `
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 5000 RTP/AVP 0
`
	tests := []struct {
		extra    string
		rtp      string
		rtcp     string
		dir      Direction
		sessAttr string
	}{
		{"", "192.0.2.1:5000", "192.0.2.1:5001", DirectionSendRecv, ""},
		{"c=IN IP4 192.0.2.99\n", "192.0.2.99:5000", "192.0.2.99:5001", DirectionSendRecv, ""},
		{"a=rtcp:6001\n", "192.0.2.1:5000", "192.0.2.1:6001", DirectionSendRecv, ""},
		{"a=rtcp:6001 IN IP4 198.51.100.1\n", "192.0.2.1:5000", "198.51.100.1:6001", DirectionSendRecv, ""},
		{"a=inactive\n", "192.0.2.1:5000", "192.0.2.1:5001", DirectionInactive, ""},
		{"", "192.0.2.1:5000", "192.0.2.1:5001", DirectionSendOnly, "a=sendonly\n"},
		{"a=recvonly\n", "192.0.2.1:5000", "192.0.2.1:5001", DirectionRecvOnly, "a=sendonly\n"},
	}
	for _, tt := range tests {
		sdp := strings.Replace(base, "m=audio", tt.sessAttr+"m=audio", 1) + tt.extra
		d, err := ParseDescription(crlf(sdp))
		if err != nil {
			t.Errorf("%q: %v", tt.extra, err)
			continue
		}
		if d.Addr.String() != tt.rtp || d.RTCPAddr.String() != tt.rtcp || d.Direction != tt.dir {
			t.Errorf("%q%q: got %v %v %v, want %s %s %v", tt.sessAttr, tt.extra, d.Addr, d.RTCPAddr, d.Direction, tt.rtp, tt.rtcp, tt.dir)
		}
	}
}

func TestMalformedSDP(t *testing.T) {
	valid := string(crlf(`
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 5000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
`))
	tests := map[string]string{
		"empty":           "",
		"garbage":         "hello world",
		"binary":          "\x00\x01\x02\xff",
		"no m=audio":      strings.Replace(valid, "m=audio 5000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", "", 1),
		"video only":      strings.Replace(valid, "m=audio", "m=video", 1),
		"bad c= address":  strings.Replace(valid, "c=IN IP4 192.0.2.1", "c=IN IP4 999.1.1.1", 1),
		"hostname c=":     strings.Replace(valid, "c=IN IP4 192.0.2.1", "c=IN IP4 pbx.example.com", 1),
		"c= family":       strings.Replace(valid, "c=IN IP4 192.0.2.1", "c=IN IP6 192.0.2.1", 1),
		"no c=":           strings.Replace(valid, "c=IN IP4 192.0.2.1\r\n", "", 1),
		"bad port":        strings.Replace(valid, "5000", "70000", 1),
		"negative port":   strings.Replace(valid, "5000", "-1", 1),
		"port not number": strings.Replace(valid, "5000", "abc", 1),
		"bad pt":          strings.Replace(valid, "RTP/AVP 0", "RTP/AVP 300", 1),
		"pt not number":   strings.Replace(valid, "RTP/AVP 0", "RTP/AVP x", 1),
		"bad rtpmap":      strings.Replace(valid, "PCMU/8000", "PCMU", 1),
		"bad rtpmap rate": strings.Replace(valid, "PCMU/8000", "PCMU/0", 1),
		"bad a=rtcp":      valid + "a=rtcp:0\r\n",
		"bad a=rtcp addr": valid + "a=rtcp:5001 IN IP4 nowhere\r\n",
		"version 1":       strings.Replace(valid, "v=0", "v=1", 1),
		"truncated":       valid[:40],
	}
	for name, in := range tests {
		d, err := ParseDescription([]byte(in))
		if !errors.Is(err, ErrMalformedSDP) {
			t.Errorf("%s: ParseDescription = %+v, %v; want ErrMalformedSDP", name, d, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "media: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
		s := newTestSession(t, "PCMU")
		if _, err := s.AcceptOffer([]byte(in)); !errors.Is(err, ErrMalformedSDP) {
			t.Errorf("%s: AcceptOffer error %v", name, err)
		}
	}
}

func TestNoCommonCodec(t *testing.T) {
	offer := crlf(`
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 5000 RTP/AVP 96 18 101
a=rtpmap:96 opus/48000/2
a=rtpmap:101 telephone-event/8000
`)
	s := newTestSession(t, "PCMU", "PCMA")
	_, err := s.AcceptOffer(offer)
	if !errors.Is(err, ErrNoCommonCodec) || !strings.Contains(err.Error(), "opus/48000") {
		t.Fatalf("AcceptOffer = %v, want ErrNoCommonCodec naming the offered codecs", err)
	}
	if s.Remote() != nil {
		t.Error("failed negotiation must not install a remote description")
	}
	if err := s.Start(); !errors.Is(err, ErrNotNegotiated) {
		t.Errorf("Start = %v, want ErrNotNegotiated", err)
	}

	// Same codec name at the wrong clock rate is a different format.
	wrongRate := []byte(strings.Replace(string(offer), "opus/48000/2", "PCMU/16000", 1))
	if _, err := s.AcceptOffer(wrongRate); !errors.Is(err, ErrNoCommonCodec) {
		t.Errorf("PCMU/16000: %v", err)
	}

	// Secure RTP is not supported.
	savp := []byte(strings.Replace(string(sippOffer), "RTP/AVP", "RTP/SAVP", 1))
	if _, err := s.AcceptOffer(savp); !errors.Is(err, ErrNoCommonCodec) {
		t.Errorf("RTP/SAVP: %v", err)
	}
}

func TestStreamRejected(t *testing.T) {
	offer := []byte(strings.Replace(string(sippOffer), "m=audio 6000", "m=audio 0", 1))
	d, err := ParseDescription(offer)
	if err != nil || !d.Rejected() {
		t.Fatalf("port 0: %+v %v", d, err)
	}
	s := newTestSession(t, "PCMU")
	if _, err := s.AcceptOffer(offer); !errors.Is(err, ErrStreamRejected) {
		t.Errorf("AcceptOffer = %v, want ErrStreamRejected", err)
	}
	if _, err := s.CreateOffer(); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRemoteAnswer(offer); !errors.Is(err, ErrStreamRejected) {
		t.Errorf("SetRemoteAnswer = %v, want ErrStreamRejected", err)
	}
}

func TestAnswerDeclinesOtherStreams(t *testing.T) {
	offer := crlf(`
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=video 5002 RTP/AVP 96
a=rtpmap:96 H264/90000
m=audio 5000 RTP/AVP 0
m=audio 5004 RTP/AVP 8
`)
	s := newTestSession(t, "PCMU", "PCMA")
	answer, err := s.AcceptOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	text := string(answer)
	iv := strings.Index(text, "m=video 0 RTP/AVP 96\r\n")
	ia := strings.Index(text, fmt.Sprintf("m=audio %d RTP/AVP 0\r\n", s.LocalAddr().Port()))
	i2 := strings.Index(text, "m=audio 0 RTP/AVP 8\r\n")
	if iv < 0 || ia < iv || i2 < ia {
		t.Errorf("answer must keep the m= lines in order, declining the extra ones:\n%s", text)
	}
}

func TestSetRemoteAnswer(t *testing.T) {
	s := newTestSession(t, "PCMU", "PCMA")
	if err := s.SetRemoteAnswer(sippOffer); !errors.Is(err, ErrNoOffer) {
		t.Errorf("answer without offer: %v", err)
	}
	if _, err := s.CreateOffer(); err != nil {
		t.Fatal(err)
	}
	answer := crlf(`
v=0
o=- 7 7 IN IP4 192.0.2.5
s=-
c=IN IP4 192.0.2.5
t=0 0
m=audio 7000 RTP/AVP 8 0 101
a=rtpmap:101 telephone-event/8000
a=rtcp:7010
a=ptime:30
`)
	if err := s.SetRemoteAnswer(answer); err != nil {
		t.Fatal(err)
	}
	// The answerer's order decides what we send; we accept both.
	c := s.Codec()
	if c.Name != "PCMA" || c.PayloadType != 8 || c.FrameDuration != 30*time.Millisecond {
		t.Errorf("Codec() = %+v, want PCMA pt 8 at the answer's 30 ms ptime", c)
	}
	n := s.neg.Load()
	if len(n.recv) != 2 || n.dtmfPT != 101 || !n.sendOK || !n.recvOK {
		t.Errorf("negotiated %+v", n)
	}
	st := s.Stats()
	if st.Codec != "PCMA" || st.RemoteAddr.String() != "192.0.2.5:7000" || st.RemoteRTCPAddr.String() != "192.0.2.5:7010" {
		t.Errorf("stats %+v", st)
	}

	// An answer without a codec we offered.
	bad := []byte(strings.ReplaceAll(string(answer), "RTP/AVP 8 0 101", "RTP/AVP 18"))
	if err := s.SetRemoteAnswer(bad); !errors.Is(err, ErrNoCommonCodec) {
		t.Errorf("answer with G729 only: %v", err)
	}
	if s.Codec().Name != "PCMA" {
		t.Error("a failed answer must leave the negotiation in force")
	}

	// A hold answer (recvonly to our sendonly re-offer).
	s.SetDirection(DirectionSendOnly)
	if _, err := s.CreateOffer(); err != nil {
		t.Fatal(err)
	}
	hold := []byte(strings.Replace(string(answer), "a=ptime:30", "a=recvonly", 1))
	if err := s.SetRemoteAnswer(hold); err != nil {
		t.Fatal(err)
	}
	if n := s.neg.Load(); !n.sendOK || n.recvOK {
		t.Errorf("hold: send %v recv %v", n.sendOK, n.recvOK)
	}
}

func TestClosedSession(t *testing.T) {
	s := newTestSession(t, "PCMU")
	s.Close()
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := s.CreateOffer(); !errors.Is(err, ErrClosed) {
		t.Errorf("CreateOffer after Close = %v", err)
	}
	if _, err := s.AcceptOffer(sippOffer); !errors.Is(err, ErrClosed) {
		t.Errorf("AcceptOffer after Close = %v", err)
	}
	if err := s.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v", err)
	}
}

func TestNewSessionConfig(t *testing.T) {
	bad := []Config{
		{},
		{LocalIP: netip.IPv4Unspecified()},
		{LocalIP: loopback, Codecs: []string{"NOPE"}},
		{LocalIP: loopback, PortMin: 20001, PortMax: 20001},
		{LocalIP: loopback, PortMin: 30000, PortMax: 20000},
		{LocalIP: loopback, JitterDelay: -time.Second},
	}
	for _, cfg := range bad {
		if s, err := NewSession(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("NewSession(%+v) = %v, want ErrConfig", cfg, err)
			if s != nil {
				s.Close()
			}
		}
	}

	// A port range is honoured: the RTP port is even and both ports fit.
	s, err := NewSession(Config{LocalIP: loopback, PortMin: 40001, PortMax: 40101})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if p := s.LocalAddr().Port(); p%2 != 0 || p < 40002 || p+1 > 40101 {
		t.Errorf("port %d outside 40001-40101 or odd", p)
	}
}

func ExampleParseDescription() {
	offer := "v=0\r\n" +
		"o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n" +
		"s=-\r\n" +
		"c=IN IP4 192.0.2.10\r\n" +
		"t=0 0\r\n" +
		"m=audio 49170 RTP/AVP 0 8 101\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-15\r\n" +
		"a=ptime:20\r\n" +
		"a=sendonly\r\n"
	d, err := ParseDescription([]byte(offer))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("rtp:", d.Addr, "rtcp:", d.RTCPAddr)
	fmt.Println("direction:", d.Direction, "ptime:", d.PTime)
	for _, f := range d.Formats {
		fmt.Println(f)
	}
	// Output:
	// rtp: 192.0.2.10:49170 rtcp: 192.0.2.10:49171
	// direction: sendonly ptime: 20ms
	// 0 PCMU/8000
	// 8 PCMA/8000
	// 101 telephone-event/8000
}
