package media

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

const (
	// readBufferSize is the size of the datagram buffers; larger
	// datagrams are truncated and then fail validation.
	readBufferSize = 2048
	// rtcpReadBufferSize is the size of the RTCP datagram buffer: an
	// audio call's compound reports fit an Ethernet MTU.
	rtcpReadBufferSize = 1500
	// ssrcProbation is how many packets in a row a new SSRC must send
	// before the receiver switches to it; until then its packets count as
	// garbage. This keeps stray packets from resetting the stream.
	ssrcProbation = 3
	// relatchPackets is how many valid packets in a row must come from a
	// new address before a latched destination moves there.
	relatchPackets = 10
)

// addrLatch implements symmetric RTP (RFC 4961 style "latching"): media
// is sent to the address from the SDP until the first valid packet
// arrives; the destination then becomes that packet's source address.
// Once latched, the destination moves only after relatchPackets valid
// packets in a row from one new address (a sustained change, such as a
// NAT rebinding). A new negotiated remote address starts over.
type addrLatch struct {
	dest    *atomic.Pointer[netip.AddrPort]
	latched bool
	cand    netip.AddrPort
	n       int
}

// observe records a valid packet from `from` and reports whether the
// destination changed.
func (l *addrLatch) observe(from netip.AddrPort) bool {
	if cur := l.dest.Load(); cur != nil && *cur == from {
		l.latched, l.n = true, 0
		return false
	}
	if l.latched {
		if from != l.cand {
			l.cand, l.n = from, 0
		}
		l.n++
		if l.n < relatchPackets {
			return false
		}
	}
	l.latched, l.n = true, 0
	a := from
	l.dest.Store(&a)
	return true
}

// receiver is the state of the RTP receive path: validation, source
// tracking, statistics and handing packets to the jitter buffer. It is
// owned by the receive goroutine (or a benchmark).
type receiver struct {
	s     *Session
	neg   *negotiated
	hdr   rtp.Header
	latch addrLatch

	haveSSRC  bool
	ssrc      uint32
	candSSRC  uint32
	candSSRCN int

	stats receptionStats

	unprot unprotector
	dtmf   dtmfRecv // RFC 4733 events (dtmf_recv.go)
}

func newReceiver(s *Session) *receiver {
	return &receiver{s: s, latch: addrLatch{dest: &s.rtpDest}}
}

// unprotector holds the SRTP receive state of one goroutine (the RTP or
// the RTCP reader): pion contexts are not safe for concurrent use.
type unprotector struct {
	sec      *srtpNeg      // the keys ctx was made for, or nil
	ctx      *srtp.Context // nil: plain RTP, or failed when sec is set
	replayed bool          // set by the replay window when it rejects
	rtcpHdr  rtcp.Header
}

// update follows a re-negotiation: the context is replaced only when the
// peer's key changes, so that its rollover counter and replay window
// carry on across a re-INVITE with the same keys.
func (u *unprotector) update(s *Session, sec *srtpNeg) {
	switch {
	case sec == nil:
		u.sec, u.ctx = nil, nil
		return
	case sec.sameRemote(u.sec):
		u.sec = sec
		return
	}
	u.sec = sec
	ctx, err := newReceiveContext(sec, &u.replayed)
	if err != nil {
		s.log.Error("media: SRTP: received packets will be dropped", "err", err)
	}
	u.ctx = ctx
}

// active reports whether received packets must be unprotected.
func (u *unprotector) active() bool { return u.sec != nil }

// rtp authenticates and decrypts pkt in place, with hdr as scratch. It
// returns the plain RTP packet, or false after counting the failure.
func (u *unprotector) rtp(s *Session, pkt []byte, hdr *rtp.Header) ([]byte, bool) {
	if u.ctx == nil {
		s.ctr.srtpAuthFailures.Add(1)
		return nil, false
	}
	u.replayed = false
	plain, err := u.ctx.DecryptRTP(pkt, pkt, hdr)
	if err != nil {
		if u.replayed {
			s.ctr.srtpReplays.Add(1)
		} else {
			s.ctr.srtpAuthFailures.Add(1)
		}
		return nil, false
	}
	return plain, true
}

// rtcp authenticates and decrypts an SRTCP packet in place. It returns
// false for a packet that fails (the caller counts it as garbage: peers
// send stray plain RTCP, and some use a non-standard SRTCP tag length
// with AES_CM_128_HMAC_SHA1_32, so these are not attacks on the audio).
func (u *unprotector) rtcp(pkt []byte) ([]byte, bool) {
	if u.ctx == nil {
		return nil, false
	}
	plain, err := u.ctx.DecryptRTCP(pkt, pkt, &u.rtcpHdr)
	if err != nil {
		return nil, false
	}
	return plain, true
}

// handle processes one datagram that arrived at `arrival` (measured from
// a fixed reference) from `from`.
func (r *receiver) handle(pkt []byte, from netip.AddrPort, arrival time.Duration) {
	s := r.s
	if cur := s.neg.Load(); cur != r.neg {
		if r.neg != nil && cur.remote.Addr != r.neg.remote.Addr {
			r.latch.latched = false
		}
		r.neg = cur
		r.unprot.update(s, cur.sec)
	}
	neg := r.neg
	if neg.rtcpMux && rtcpHeaderOK(pkt) {
		r.muxedRTCP(pkt, arrival) // RFC 5761 section 4: RTCP on the RTP port
		return
	}
	if len(pkt) < 12 || pkt[0]>>6 != 2 {
		s.ctr.garbage.Add(1)
		return
	}
	hlen, err := r.hdr.Unmarshal(pkt)
	if err != nil {
		s.ctr.garbage.Add(1)
		return
	}
	if r.unprot.active() {
		plain, ok := r.unprot.rtp(s, pkt, &r.hdr)
		if !ok {
			return
		}
		pkt = plain
	}
	end := len(pkt)
	if r.hdr.Padding {
		pad := int(pkt[end-1])
		if pad == 0 || hlen+pad > end {
			s.ctr.garbage.Add(1)
			return
		}
		end -= pad
	}
	payload := pkt[hlen:end]
	pt := r.hdr.PayloadType
	dtmf := neg.isDTMF(pt)
	var clockRate int
	if pc, ok := neg.recvCodec(pt); ok {
		clockRate = pc.info.ClockRate
	} else if !dtmf {
		s.ctr.garbage.Add(1)
		return
	}
	if len(payload) > maxPayload {
		s.ctr.garbage.Add(1)
		return
	}
	if !r.acceptSSRC(r.hdr.SSRC) {
		s.ctr.garbage.Add(1)
		return
	}
	if r.latch.observe(from) {
		s.log.Info("media: RTP peer latched", "addr", from.String())
	}

	if s.ctr.firstPacketAt.Load() == nil {
		t := time.Now()
		s.ctr.firstPacketAt.CompareAndSwap(nil, &t)
	}
	s.ctr.packetsReceived.Add(1)
	s.ctr.bytesReceived.Add(uint64(len(payload)))
	r.stats.updateSeq(r.hdr.SequenceNumber)
	s.ctr.lost.Store(r.stats.lost())
	if dtmf {
		r.telephoneEvent(payload, neg.send.info.ClockRate)
	} else {
		r.dtmf.audio(&s.dtmf, r.hdr.Timestamp, clockRate)
		r.stats.updateJitter(arrival, r.hdr.Timestamp, clockRate)
		s.ctr.jitterNanos.Store(int64(r.stats.jitterDuration()))
	}
	s.rtcp.noteReception(&r.stats, r.ssrc, arrival) // for our report blocks
	s.mon.touch(arrival)
	if !neg.recvOK {
		return
	}
	s.jbMu.Lock()
	s.jb.Push(jbPacket{
		seq: r.hdr.SequenceNumber, ts: r.hdr.Timestamp, pt: pt, marker: r.hdr.Marker,
		skip: dtmf || len(payload) == 0, rate: clockRate, payload: payload,
	}, arrival)
	s.jbMu.Unlock()
}

// telephoneEvent handles an RFC 4733 telephone-event payload at clock
// rate Hz. Events are counted and reported once each (dtmf_recv.go); the
// jitter buffer keeps their sequence numbers so they are not mistaken for
// lost audio.
func (r *receiver) telephoneEvent(payload []byte, rate int) {
	if len(payload) >= 4 {
		r.s.ctr.telephoneEvents.Add(1)
		r.dtmf.event(&r.s.dtmf, r.hdr.Timestamp, payload, rate)
	}
}

// acceptSSRC reports whether a packet from SSRC ssrc belongs to the
// stream, switching to a new source after ssrcProbation packets in a row.
func (r *receiver) acceptSSRC(ssrc uint32) bool {
	switch {
	case !r.haveSSRC:
		r.haveSSRC, r.ssrc = true, ssrc
		return true
	case ssrc == r.ssrc:
		r.candSSRCN = 0
		return true
	}
	if ssrc != r.candSSRC {
		r.candSSRC, r.candSSRCN = ssrc, 0
	}
	r.candSSRCN++
	if r.candSSRCN < ssrcProbation {
		return false
	}
	r.s.log.Info("media: new RTP source", "ssrc", ssrc)
	r.ssrc, r.candSSRCN = ssrc, 0
	r.stats.newSource()
	r.s.jbMu.Lock()
	r.s.jb.Clear()
	r.s.jbMu.Unlock()
	return true
}

// receiveLoop reads RTP datagrams until the socket is closed.
func (s *Session) receiveLoop() {
	defer s.wg.Done()
	r := newReceiver(s)
	buf := make([]byte, readBufferSize)
	base := s.rtcp.epoch // arrival times are on the session clock (rtcp.go)
	for {
		n, from, err := s.rtpConn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if !s.readFailed("RTP", err) {
				return
			}
			continue
		}
		r.handle(buf[:n], from, time.Since(base))
	}
}

// rtcpLoop reads RTCP datagrams until the socket is closed and hands
// them to an rtcpReader.
func (s *Session) rtcpLoop() {
	defer s.wg.Done()
	r := rtcpReader{latch: addrLatch{dest: &s.rtcpDest}}
	buf := make([]byte, rtcpReadBufferSize)
	for {
		n, from, err := s.rtcpConn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if !s.readFailed("RTCP", err) {
				return
			}
			continue
		}
		r.handle(s, buf[:n], from, s.rtcp.since())
	}
}

// rtcpHeaderOK reports whether b starts like an RTCP packet: RFC 3550
// section 6.1, version 2, packet types 192-223 (RFC 5761). SRTCP leaves
// these first bytes in the clear.
func rtcpHeaderOK(b []byte) bool {
	return len(b) >= 8 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223
}

// readFailed handles a socket read error and reports whether reading
// should go on (false once the session is closing).
func (s *Session) readFailed(what string, err error) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	s.log.Warn("media: read "+what, "err", err)
	// Do not spin if the socket keeps failing.
	select {
	case <-s.done:
		return false
	case <-time.After(10 * time.Millisecond):
	}
	return true
}

// rtcpReader is the state of the RTCP port's reader for one Session.
type rtcpReader struct {
	latch  addrLatch
	neg    *negotiated
	unprot unprotector
}

// handle processes one datagram from the RTCP port: validates it (with
// SRTP: authenticates and decrypts), hands it to handleRTCP and latches
// the RTCP destination.
func (r *rtcpReader) handle(s *Session, pkt []byte, from netip.AddrPort, arrival time.Duration) {
	if cur := s.neg.Load(); cur != r.neg {
		if r.neg != nil && cur.remote.RTCPAddr != r.neg.remote.RTCPAddr {
			r.latch.latched = false
		}
		r.neg = cur
		r.unprot.update(s, cur.sec)
	}
	if !rtcpHeaderOK(pkt) {
		s.ctr.garbage.Add(1)
		return
	}
	if !s.receiveRTCP(&r.unprot, pkt, arrival) {
		return
	}
	if r.latch.observe(from) {
		s.log.Info("media: RTCP peer latched", "addr", from.String())
	}
}
