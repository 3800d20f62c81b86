package media

import (
	"fmt"
	"strings"
	"time"

	"github.com/voipkit/voipkit/codec"
)

// defaultPTime is the packetization time used when a codec states none.
const defaultPTime = 20 * time.Millisecond

// payloadCodec binds a negotiated payload type to a codec. info is the
// codec's Info with PayloadType set to the negotiated number and
// FrameDuration to the packetization time in use.
type payloadCodec struct {
	pt    uint8
	codec codec.Codec
	info  codec.Info
}

// negotiated is the immutable outcome of one offer/answer exchange. The
// media and receive goroutines load it atomically and react
// when a re-negotiation replaces it.
type negotiated struct {
	send   payloadCodec   // what we send
	recv   []payloadCodec // what we accept
	dtmfPT int            // telephone-event payload type, or -1
	sendOK bool           // we send RTP
	recvOK bool           // we play out received RTP
	remote *Description
	sec    *srtpNeg // SRTP keys, or nil for plain RTP
	// rtcpMux: RTCP shares the RTP port both ways (RFC 5761).
	rtcpMux bool
}

// srtpSuite returns the negotiated crypto suite name, or "".
func (n *negotiated) srtpSuite() string {
	if n == nil || n.sec == nil {
		return ""
	}
	return n.sec.suite.name
}

// answerParams is what our answer says besides the address: the
// formats, direction, m= line protocol and a=crypto attribute.
type answerParams struct {
	formats []Format
	dir     Direction
	proto   string
	crypto  *cryptoAttr
	rtcpMux bool // accept the offer's a=rtcp-mux (RFC 5761)
}

// recvCodec returns the receive format with payload type pt.
func (n *negotiated) recvCodec(pt uint8) (*payloadCodec, bool) {
	for i := range n.recv {
		if n.recv[i].pt == pt {
			return &n.recv[i], true
		}
	}
	return nil, false
}

// isDTMF reports whether pt is the negotiated telephone-event type.
func (n *negotiated) isDTMF(pt uint8) bool { return n.dtmfPT >= 0 && int(pt) == n.dtmfPT }

// codecPTime returns a codec's frame duration, or the default.
func codecPTime(info codec.Info) time.Duration {
	if info.FrameDuration > 0 {
		return info.FrameDuration
	}
	return defaultPTime
}

// sendPTime picks the packetization time to send with: the peer's a=ptime
// when it is a multiple of 10 ms between 10 and 60 ms, else the codec's.
func sendPTime(remote time.Duration, info codec.Info) time.Duration {
	if remote >= 10*time.Millisecond && remote <= 60*time.Millisecond && remote%(10*time.Millisecond) == 0 {
		return remote
	}
	return codecPTime(info)
}

// bind returns the payloadCodec for c at payload type pt.
func bind(c codec.Codec, pt uint8, ptime time.Duration) payloadCodec {
	info := c.Info()
	info.PayloadType = pt
	info.FrameDuration = ptime
	info.Channels = 1 // PCM is mono; a codec's Channels (opus/48000/2) only goes into SDP, via formatOf
	return payloadCodec{pt: pt, codec: c, info: info}
}

// formatOf returns the SDP format describing codec info at payload type pt.
func formatOf(info codec.Info, pt uint8) Format {
	ch := info.Channels
	if ch <= 0 {
		ch = 1
	}
	return Format{PayloadType: pt, Name: info.Name, ClockRate: info.ClockRate, Channels: ch, Fmtp: info.Fmtp}
}

// telephoneEventFormat is the telephone-event format we offer.
func telephoneEventFormat(pt uint8, clockRate int, fmtp string) Format {
	if fmtp == "" {
		fmtp = "0-16"
	}
	return Format{PayloadType: pt, Name: telephoneEvent, ClockRate: clockRate, Channels: 1, Fmtp: fmtp}
}

// offerFormats assigns payload types to the local codecs: static types
// where the codec has one, else its preferred dynamic type when free,
// else the next free dynamic type. telephone-event/8000 is added as 101.
func offerFormats(codecs []codec.Codec) ([]Format, []payloadCodec) {
	var used [128]bool
	used[telephoneEventPT] = true
	formats := make([]Format, 0, len(codecs)+1)
	bound := make([]payloadCodec, 0, len(codecs))
	nextDynamic := 96
	for _, c := range codecs {
		info := c.Info()
		pt := int(info.PayloadType)
		if pt >= 128 || used[pt] || (pt >= 35 && pt < 96) {
			pt = -1
			for ; nextDynamic < 128; nextDynamic++ {
				if !used[nextDynamic] {
					pt = nextDynamic
					break
				}
			}
			if pt < 0 {
				continue // out of dynamic payload types
			}
		}
		used[pt] = true
		formats = append(formats, formatOf(info, uint8(pt)))
		bound = append(bound, bind(c, uint8(pt), codecPTime(info)))
	}
	formats = append(formats, telephoneEventFormat(telephoneEventPT, 8000, ""))
	return formats, bound
}

// checkTransport rejects m= lines that are neither RTP nor SRTP.
func checkTransport(d *Description) error {
	switch strings.ToUpper(d.Proto) {
	case "RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF":
		return nil
	}
	return fmt.Errorf("%w: transport %q is not supported", ErrNoCommonCodec, d.Proto)
}

// canSendTo reports whether d names an address RTP can be sent to.
func canSendTo(d *Description) bool {
	return d.Addr.Addr().IsValid() && !d.Addr.Addr().IsUnspecified() && d.Addr.Port() != 0
}

// findTelephoneEvent returns the peer's telephone-event payload type at
// the given clock rate, or -1.
func findTelephoneEvent(d *Description, clockRate int) (Format, bool) {
	for _, f := range d.Formats {
		if f.matches(telephoneEvent, clockRate) {
			return f, true
		}
	}
	return Format{}, false
}

// formatNames lists a description's encoding names for error messages.
func formatNames(d *Description) string {
	names := make([]string, 0, len(d.Formats))
	for _, f := range d.Formats {
		if f.Name == "" {
			names = append(names, fmt.Sprint(f.PayloadType))
			continue
		}
		names = append(names, fmt.Sprintf("%s/%d", f.Name, f.ClockRate))
	}
	return strings.Join(names, ",")
}

// negotiateAnswer answers offer as the answerer: it picks the first local
// codec (in local priority order) the offer contains, using the
// offerer's payload type, and settles SRTP by policy from the offer's
// a=crypto values crypto. It returns the outcome and what our answer
// says.
func negotiateAnswer(local []codec.Codec, sec *srtpLocal, offer *Description, crypto []string, localDir Direction) (*negotiated, *answerParams, error) {
	if offer.Rejected() {
		return nil, nil, fmt.Errorf("%w: offer has port 0", ErrStreamRejected)
	}
	if err := checkTransport(offer); err != nil {
		return nil, nil, err
	}
	var chosen *payloadCodec
	var chosenFmt Format
	for _, c := range local {
		info := c.Info()
		for _, f := range offer.Formats {
			if f.matches(info.Name, info.ClockRate) {
				pc := bind(c, f.PayloadType, sendPTime(offer.PTime, info))
				chosen, chosenFmt = &pc, f
				break
			}
		}
		if chosen != nil {
			break
		}
	}
	if chosen == nil {
		return nil, nil, fmt.Errorf("%w: offer has %s", ErrNoCommonCodec, formatNames(offer))
	}
	srtpNeg, proto, attr, err := answerSRTP(sec, offer, crypto)
	if err != nil {
		return nil, nil, err
	}
	// Answer with our own parameters for the codec at the offerer's
	// payload type number.
	formats := []Format{formatOf(chosen.codec.Info(), chosenFmt.PayloadType)}
	n := &negotiated{
		send:   *chosen,
		recv:   []payloadCodec{*chosen},
		dtmfPT: -1,
		remote: offer.clone(),
		sec:    srtpNeg,
	}
	if te, ok := findTelephoneEvent(offer, chosen.info.ClockRate); ok {
		n.dtmfPT = int(te.PayloadType)
		formats = append(formats, telephoneEventFormat(te.PayloadType, te.ClockRate, te.Fmtp))
	}
	dir := AnswerDirection(offer.Direction, localDir)
	n.sendOK = dir.Sends() && canSendTo(offer)
	n.recvOK = dir.Receives()
	n.rtcpMux = offer.RTCPMux // we always accept multiplexing
	return n, &answerParams{formats: formats, dir: dir, proto: proto, crypto: attr, rtcpMux: n.rtcpMux}, nil
}

// negotiateOffer applies answer to our offer (whose formats are offered
// and a=crypto attributes offeredCrypto, under SRTP policy): we send the
// first format of the answer that we offered and accept any answered
// format that we offered. crypto holds the answer's a=crypto values.
func negotiateOffer(offered []payloadCodec, policy SRTPPolicy, offeredCrypto []cryptoAttr, answer *Description, crypto []string, localDir Direction) (*negotiated, error) {
	if answer.Rejected() {
		return nil, fmt.Errorf("%w: answer has port 0", ErrStreamRejected)
	}
	if err := checkTransport(answer); err != nil {
		return nil, err
	}
	n := &negotiated{dtmfPT: -1, remote: answer.clone()}
	for _, f := range answer.Formats {
		for _, o := range offered {
			if !f.matches(o.info.Name, o.info.ClockRate) {
				continue
			}
			if len(n.recv) == 0 {
				n.send = bind(o.codec, f.PayloadType, sendPTime(answer.PTime, o.info))
			}
			if _, dup := n.recvCodec(f.PayloadType); !dup {
				n.recv = append(n.recv, bind(o.codec, f.PayloadType, codecPTime(o.info)))
			}
			break
		}
	}
	if len(n.recv) == 0 {
		return nil, fmt.Errorf("%w: answer has %s", ErrNoCommonCodec, formatNames(answer))
	}
	sec, err := offerSRTP(policy, offeredCrypto, answer, crypto)
	if err != nil {
		return nil, err
	}
	n.sec = sec
	if te, ok := findTelephoneEvent(answer, n.send.info.ClockRate); ok {
		n.dtmfPT = int(te.PayloadType)
	}
	n.sendOK = localDir.Sends() && answer.Direction.Receives() && canSendTo(answer)
	n.recvOK = localDir.Receives() && answer.Direction.Sends()
	n.rtcpMux = answer.RTCPMux // our offers always carry a=rtcp-mux
	return n, nil
}
