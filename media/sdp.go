package media

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pion/sdp/v3"
)

// maxSDPSize bounds the size of a session description this package
// parses. Real audio offers are a few hundred bytes.
const maxSDPSize = 64 << 10

// telephoneEvent is the encoding name of RFC 4733 DTMF events.
const telephoneEvent = "telephone-event"

// telephoneEventPT is the dynamic payload type offered for telephone-event.
const telephoneEventPT = 101

// Format is one payload format of an SDP media description: the payload
// type of the m= line with its a=rtpmap and a=fmtp values. Static payload
// types (RFC 3551) without an a=rtpmap line get their well-known name and
// clock rate. A Format is a plain value, safe to copy and share.
type Format struct {
	// PayloadType is the RTP payload type number (0-127).
	PayloadType uint8
	// Name is the encoding name, e.g. "PCMU" or "telephone-event"; empty
	// for a dynamic payload type without a=rtpmap.
	Name string
	// ClockRate is the RTP clock rate in Hz; 0 when unknown.
	ClockRate int
	// Channels is the number of audio channels (1 unless stated).
	Channels int
	// Fmtp holds the a=fmtp parameters for this payload type, or "".
	Fmtp string
}

// String returns the format as in an a=rtpmap line, e.g. "0 PCMU/8000".
func (f Format) String() string {
	s := strconv.Itoa(int(f.PayloadType)) + " " + f.Name + "/" + strconv.Itoa(f.ClockRate)
	if f.Channels > 1 {
		s += "/" + strconv.Itoa(f.Channels)
	}
	return s
}

// matches reports whether the format carries the named encoding at the
// given clock rate (names compare case-insensitively, RFC 4855).
func (f Format) matches(name string, clockRate int) bool {
	return strings.EqualFold(f.Name, name) && f.ClockRate == clockRate
}

// Description is the negotiated view of the first audio stream of a
// session description: where to send RTP and RTCP, in which direction and
// with which payload formats. A Description is a plain value; it is not
// modified after ParseDescription returns it and may be read from several
// goroutines.
type Description struct {
	// Addr is the RTP address: the connection address (media-level c=,
	// else session-level) and the m=audio port. Its port is 0 when the
	// stream is rejected; its address is unspecified (0.0.0.0) for an
	// RFC 2543 style hold.
	Addr netip.AddrPort
	// RTCPAddr is the RTCP address from a=rtcp (RFC 3605), else Addr's
	// port plus one.
	RTCPAddr netip.AddrPort
	// Direction is the stream's direction as seen by the writer of the
	// SDP. A connection address of 0.0.0.0 (or ::) removes the receive
	// half: sendrecv becomes sendonly and recvonly becomes inactive.
	Direction Direction
	// Formats lists the payload formats in the order of the m= line.
	Formats []Format
	// PTime is the a=ptime packetization time, or 0 when absent.
	PTime time.Duration
	// Proto is the transport protocol of the m= line, e.g. "RTP/AVP".
	Proto string
	// SessionID and SessionVersion are the o= line's values; a changed
	// version marks a changed description (RFC 3264 section 8).
	SessionID, SessionVersion uint64
	// RTCPMux reports an a=rtcp-mux attribute (RFC 5761): the writer
	// multiplexes RTCP onto the RTP port (an offerer: wants to).
	RTCPMux bool
	// SSRC is the writer's RTP source from the first a=ssrc attribute
	// (RFC 5576), or 0 when there is none.
	SSRC uint32
}

// Rejected reports whether the audio stream has port 0, which declines
// or disables it (RFC 3264 sections 6 and 8.2).
func (d *Description) Rejected() bool { return d.Addr.Port() == 0 }

// Format returns the format with payload type pt.
func (d *Description) Format(pt uint8) (Format, bool) {
	for _, f := range d.Formats {
		if f.PayloadType == pt {
			return f, true
		}
	}
	return Format{}, false
}

// clone returns a deep copy of d.
func (d *Description) clone() *Description {
	c := *d
	c.Formats = append([]Format(nil), d.Formats...)
	return &c
}

// staticFormats are the RFC 3551 static audio payload types, usable in an
// m= line without a=rtpmap.
var staticFormats = [...]struct {
	name      string
	clockRate int
	channels  int
}{
	0:  {"PCMU", 8000, 1},
	3:  {"GSM", 8000, 1},
	4:  {"G723", 8000, 1},
	5:  {"DVI4", 8000, 1},
	6:  {"DVI4", 16000, 1},
	7:  {"LPC", 8000, 1},
	8:  {"PCMA", 8000, 1},
	9:  {"G722", 8000, 1},
	10: {"L16", 44100, 2},
	11: {"L16", 44100, 1},
	12: {"QCELP", 8000, 1},
	13: {"CN", 8000, 1},
	14: {"MPA", 90000, 1},
	15: {"G728", 8000, 1},
	16: {"DVI4", 11025, 1},
	17: {"DVI4", 22050, 1},
	18: {"G729", 8000, 1},
}

// ParseDescription parses a session description and returns its first
// audio stream. Errors wrap ErrMalformedSDP; a rejected stream (port 0)
// is returned without error, see Description.Rejected.
func ParseDescription(b []byte) (*Description, error) {
	_, _, d, err := parseSDP(b)
	return d, err
}

// parseSDP parses b and returns the full description, the index of the
// first audio media description and its negotiated view.
func parseSDP(b []byte) (sd *sdp.SessionDescription, audioIdx int, d *Description, err error) {
	if len(b) == 0 {
		return nil, 0, nil, fmt.Errorf("%w: empty", ErrMalformedSDP)
	}
	if len(b) > maxSDPSize {
		return nil, 0, nil, fmt.Errorf("%w: %d bytes is too large", ErrMalformedSDP, len(b))
	}
	sd = new(sdp.SessionDescription)
	if err := unmarshalSDP(sd, b); err != nil {
		return nil, 0, nil, err
	}
	audioIdx = -1
	for i, m := range sd.MediaDescriptions {
		if m != nil && m.MediaName.Media == "audio" {
			audioIdx = i
			break
		}
	}
	if audioIdx < 0 {
		return nil, 0, nil, fmt.Errorf("%w: no m=audio line", ErrMalformedSDP)
	}
	d, err = describeAudio(sd, sd.MediaDescriptions[audioIdx])
	if err != nil {
		return nil, 0, nil, err
	}
	return sd, audioIdx, d, nil
}

// unmarshalSDP runs the SDP parser, turning any failure of it (including
// a panic on input it does not expect) into ErrMalformedSDP.
func unmarshalSDP(sd *sdp.SessionDescription, b []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrMalformedSDP, r)
		}
	}()
	if err := sd.UnmarshalString(string(b)); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedSDP, err)
	}
	return nil
}

// describeAudio builds the Description of audio media description m.
func describeAudio(sd *sdp.SessionDescription, m *sdp.MediaDescription) (*Description, error) {
	d := &Description{
		Proto:          strings.Join(m.MediaName.Protos, "/"),
		SessionID:      sd.Origin.SessionID,
		SessionVersion: sd.Origin.SessionVersion,
	}
	port := m.MediaName.Port.Value
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("%w: bad m=audio port %d", ErrMalformedSDP, port)
	}

	// Payload types of the m= line.
	if len(m.MediaName.Formats) > 128 {
		return nil, fmt.Errorf("%w: %d payload types", ErrMalformedSDP, len(m.MediaName.Formats))
	}
	var seen [128]bool
	for _, s := range m.MediaName.Formats {
		pt, err := parsePayloadType(s)
		if err != nil {
			return nil, err
		}
		if seen[pt] {
			continue
		}
		seen[pt] = true
		f := Format{PayloadType: pt, Channels: 1}
		if int(pt) < len(staticFormats) && staticFormats[pt].name != "" {
			st := staticFormats[pt]
			f.Name, f.ClockRate, f.Channels = st.name, st.clockRate, st.channels
		}
		d.Formats = append(d.Formats, f)
	}

	// Media-level attributes; session-level direction applies when the
	// media level states none.
	dir := DirectionUnknown
	for _, a := range sd.Attributes {
		if v, ok := parseDirection(a.Key); ok {
			dir = v
		}
	}
	var mediaDir Direction
	var rtcpPort int
	var rtcpAddr netip.Addr
	var seenMap, seenFmtp [128]bool
	for _, a := range m.Attributes {
		if v, ok := parseDirection(a.Key); ok {
			mediaDir = v
			continue
		}
		switch a.Key {
		case "rtpmap":
			pt, name, rate, ch, err := parseRTPMap(a.Value)
			if err != nil {
				return nil, err
			}
			if seenMap[pt] {
				continue
			}
			seenMap[pt] = true
			for i := range d.Formats {
				if d.Formats[i].PayloadType == pt {
					d.Formats[i].Name, d.Formats[i].ClockRate, d.Formats[i].Channels = name, rate, ch
				}
			}
		case "fmtp":
			sp := strings.IndexAny(a.Value, " \t")
			if sp < 0 {
				sp = len(a.Value)
			}
			pt, err := parsePayloadType(a.Value[:sp])
			if err != nil {
				return nil, err
			}
			if seenFmtp[pt] {
				continue
			}
			seenFmtp[pt] = true
			for i := range d.Formats {
				if d.Formats[i].PayloadType == pt {
					d.Formats[i].Fmtp = strings.TrimSpace(a.Value[sp:])
				}
			}
		case "ptime":
			// A bad ptime is ignored: it is a hint, not a requirement.
			if v, err := strconv.ParseFloat(strings.TrimSpace(a.Value), 64); err == nil && v >= 1 && v <= 1000 {
				d.PTime = time.Duration(v * float64(time.Millisecond))
			}
		case "rtcp":
			p, addr, err := parseRTCPAttr(a.Value)
			if err != nil {
				return nil, err
			}
			rtcpPort, rtcpAddr = p, addr
		case "rtcp-mux": // RFC 5761 section 5.1.1
			d.RTCPMux = true
		case "ssrc": // RFC 5576 section 4.1: "<ssrc-id> <attribute>..."
			// A malformed one is ignored: it only helps a Hub route.
			id, _, _ := strings.Cut(strings.TrimSpace(a.Value), " ")
			if v, err := strconv.ParseUint(id, 10, 32); err == nil && d.SSRC == 0 {
				d.SSRC = uint32(v)
			}
		}
	}
	if mediaDir != DirectionUnknown {
		dir = mediaDir
	}

	// Connection address: media level, else session level.
	conn := m.ConnectionInformation
	if conn == nil {
		conn = sd.ConnectionInformation
	}
	var addr netip.Addr
	switch {
	case conn != nil && conn.Address != nil:
		a, err := parseConnAddr(conn.AddressType, conn.Address.Address)
		if err != nil {
			return nil, err
		}
		addr = a
	case port != 0:
		return nil, fmt.Errorf("%w: no connection address (c=) for m=audio", ErrMalformedSDP)
	default:
		// A rejected stream needs no address.
		addr = netip.IPv4Unspecified()
	}
	if addr.IsUnspecified() {
		// RFC 2543 hold: the writer does not want to receive.
		dir = directionOf(dir.Sends(), false)
	}
	if dir == DirectionUnknown {
		dir = DirectionSendRecv
	}
	d.Direction = dir
	d.Addr = netip.AddrPortFrom(addr, uint16(port))

	switch {
	case rtcpPort != 0 && rtcpAddr.IsValid():
		d.RTCPAddr = netip.AddrPortFrom(rtcpAddr, uint16(rtcpPort))
	case rtcpPort != 0:
		d.RTCPAddr = netip.AddrPortFrom(addr, uint16(rtcpPort))
	case port != 0 && port < 65535:
		d.RTCPAddr = netip.AddrPortFrom(addr, uint16(port+1))
	default:
		d.RTCPAddr = netip.AddrPortFrom(addr, 0)
	}
	return d, nil
}

// parsePayloadType parses an RTP payload type number (0-127).
func parsePayloadType(s string) (uint8, error) {
	v, err := strconv.ParseUint(s, 10, 8)
	if err != nil || v > 127 {
		return 0, fmt.Errorf("%w: bad payload type %q", ErrMalformedSDP, s)
	}
	return uint8(v), nil
}

// parseRTPMap parses an a=rtpmap value: "<pt> <name>/<rate>[/<channels>]".
func parseRTPMap(v string) (pt uint8, name string, rate, channels int, err error) {
	bad := func() (uint8, string, int, int, error) {
		return 0, "", 0, 0, fmt.Errorf("%w: bad a=rtpmap %q", ErrMalformedSDP, v)
	}
	ptStr, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return bad()
	}
	if pt, err = parsePayloadType(ptStr); err != nil {
		return bad()
	}
	parts := strings.Split(strings.TrimSpace(rest), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return bad()
	}
	r, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil || r == 0 || r > 1_000_000 {
		return bad()
	}
	channels = 1
	if len(parts) == 3 {
		c, err := strconv.ParseUint(parts[2], 10, 8)
		if err != nil || c == 0 {
			return bad()
		}
		channels = int(c)
	}
	return pt, parts[0], int(r), channels, nil
}

// parseRTCPAttr parses an a=rtcp value (RFC 3605):
// "<port> [<nettype> <addrtype> <address>]".
func parseRTCPAttr(v string) (port int, addr netip.Addr, err error) {
	fields := strings.Fields(v)
	if len(fields) != 1 && len(fields) != 4 {
		return 0, addr, fmt.Errorf("%w: bad a=rtcp %q", ErrMalformedSDP, v)
	}
	p, err := strconv.ParseUint(fields[0], 10, 16)
	if err != nil || p == 0 {
		return 0, addr, fmt.Errorf("%w: bad a=rtcp port %q", ErrMalformedSDP, fields[0])
	}
	if len(fields) == 4 {
		if addr, err = parseConnAddr(fields[2], fields[3]); err != nil || fields[1] != "IN" {
			return 0, addr, fmt.Errorf("%w: bad a=rtcp address %q", ErrMalformedSDP, v)
		}
	}
	return int(p), addr, nil
}

// parseConnAddr parses a c= connection address of the given address type,
// dropping a multicast /ttl or /count suffix.
func parseConnAddr(addrType, s string) (netip.Addr, error) {
	host, _, _ := strings.Cut(s, "/")
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: bad connection address %q", ErrMalformedSDP, s)
	}
	switch {
	case addrType == "IP4" && a.Is4():
	case addrType == "IP6" && a.Is6() && !a.Is4In6():
	default:
		return netip.Addr{}, fmt.Errorf("%w: connection address %q is not %s", ErrMalformedSDP, s, addrType)
	}
	return a, nil
}

// localSDP is what this side puts in an offer or answer.
type localSDP struct {
	sessionID, version uint64
	addr               netip.Addr
	port               int
	formats            []Format
	ptime              time.Duration
	dir                Direction
	// proto is the m= line protocol; "" means RTP/AVP.
	proto string
	// crypto are the a=crypto attributes (RFC 4568), in order.
	crypto []cryptoAttr
	// rtcpMux adds a=rtcp-mux (RFC 5761); muxOnly (an answer accepting
	// it) also drops a=rtcp, since RTCP then shares the RTP port.
	rtcpMux, muxOnly bool
	// peer is the offer being answered: its other m= lines are answered
	// with port 0, in their original positions (RFC 3264 section 6).
	peer     *sdp.SessionDescription
	audioIdx int
	// public is the address learned by STUN, announced instead (stun.go).
	public publicAddr
	// ssrc and cname, when ssrc is not 0, are announced with a=ssrc
	// (RFC 5576).
	ssrc  uint32
	cname string
}

// marshal renders the description.
func (l *localSDP) marshal() ([]byte, error) {
	l.usePublic()
	addrType := "IP4"
	if l.addr.Is6() && !l.addr.Is4In6() {
		addrType = "IP6"
	}
	host := l.addr.WithZone("").String()
	sd := &sdp.SessionDescription{
		Version: 0,
		Origin: sdp.Origin{
			Username:       "-",
			SessionID:      l.sessionID,
			SessionVersion: l.version,
			NetworkType:    "IN",
			AddressType:    addrType,
			UnicastAddress: host,
		},
		SessionName: "voipkit",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN",
			AddressType: addrType,
			Address:     &sdp.Address{Address: host},
		},
		TimeDescriptions: []sdp.TimeDescription{{}},
	}

	proto := l.proto
	if proto == "" {
		proto = "RTP/AVP"
	}
	audio := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media:  "audio",
			Port:   sdp.RangedPort{Value: l.port},
			Protos: strings.Split(proto, "/"),
		},
	}
	for _, f := range l.formats {
		audio.MediaName.Formats = append(audio.MediaName.Formats, strconv.Itoa(int(f.PayloadType)))
	}
	for _, f := range l.formats {
		audio.Attributes = append(audio.Attributes, sdp.Attribute{Key: "rtpmap", Value: f.String()})
		if f.Fmtp != "" {
			audio.Attributes = append(audio.Attributes, sdp.Attribute{
				Key: "fmtp", Value: strconv.Itoa(int(f.PayloadType)) + " " + f.Fmtp,
			})
		}
	}
	if l.ptime > 0 {
		audio.Attributes = append(audio.Attributes, sdp.Attribute{
			Key: "ptime", Value: strconv.FormatInt(l.ptime.Milliseconds(), 10),
		})
	}
	for i := range l.crypto {
		audio.Attributes = append(audio.Attributes, sdp.Attribute{Key: "crypto", Value: l.crypto[i].value()})
	}
	dir := directionOf(l.dir.Sends(), l.dir.Receives()) // unknown → sendrecv
	audio.Attributes = append(audio.Attributes, sdp.Attribute{Key: dir.String()})
	if !l.muxOnly {
		audio.Attributes = append(audio.Attributes, sdp.Attribute{Key: "rtcp", Value: strconv.Itoa(l.rtcpPort())})
	}
	if l.rtcpMux {
		audio.Attributes = append(audio.Attributes, sdp.Attribute{Key: "rtcp-mux"})
	}
	if l.ssrc != 0 {
		audio.Attributes = append(audio.Attributes, sdp.Attribute{
			Key: "ssrc", Value: strconv.FormatUint(uint64(l.ssrc), 10) + " cname:" + l.cname,
		})
	}

	if l.peer == nil {
		sd.MediaDescriptions = []*sdp.MediaDescription{audio}
	} else {
		for i, m := range l.peer.MediaDescriptions {
			if i == l.audioIdx {
				sd.MediaDescriptions = append(sd.MediaDescriptions, audio)
				continue
			}
			formats := m.MediaName.Formats
			if len(formats) == 0 {
				formats = []string{"0"}
			}
			sd.MediaDescriptions = append(sd.MediaDescriptions, &sdp.MediaDescription{
				MediaName: sdp.MediaName{
					Media:   m.MediaName.Media,
					Port:    sdp.RangedPort{Value: 0},
					Protos:  m.MediaName.Protos,
					Formats: formats,
				},
			})
		}
	}
	return sd.Marshal()
}
