package media

import (
	crand "crypto/rand"
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"
)

// RTCP (RFC 3550 section 6). Every started Session runs one control
// goroutine (controlLoop) that sends a compound report at the RFC 3550
// interval: a sender report (SR) when we sent RTP during the interval
// since the last report or the previous one, else a receiver report
// (RR), with one report block about the peer's stream when RTP arrived
// since the last report; then SDES with our CNAME and, unless disabled,
// an RTCP XR VoIP Metrics block (rtcp_xr.go). Close adds a BYE.
//
// Reports go to the peer's RTCP address, or to its RTP address when
// rtcp-mux (RFC 5761) was negotiated, and are SRTCP-protected when the
// stream uses SRTP. They keep flowing whatever the negotiated direction,
// so that on hold they keep NAT bindings open and the peer's media
// timeout quiet.
//
// Received RTCP (on the RTCP socket, or muxed on the RTP socket) goes
// through handleRTCP from either reader goroutine: report blocks about
// our stream give the peer's view of it and the round-trip time; the
// peer's sender reports give LSR and DLSR for our next report block.

// DefaultRTCPInterval is the minimum RTCP report interval used when
// Config.RTCPInterval is zero (RFC 3550 section 6.2 recommends 5 s).
const DefaultRTCPInterval = 5 * time.Second

const (
	// minRTCPInterval bounds Config.RTCPInterval from below.
	minRTCPInterval = 10 * time.Millisecond
	// rtcpBandwidthShare is the RTCP share of the session bandwidth
	// (RFC 3550 section 6.2).
	rtcpBandwidthShare = 0.05
	// rtcpSenderShare is the part of it reserved for senders when they
	// are at most a quarter of the members (RFC 3550 section 6.3.1).
	rtcpSenderShare = 0.25
	// udpIPOverhead is the IPv4 and UDP header size that RFC 3550
	// section 6.2 counts in RTCP packet sizes.
	udpIPOverhead = 28
	// nominalPayloadRate is the payload rate in bytes per second
	// assumed for each of the two senders of a call when computing the
	// session bandwidth: G.711's 64 kbit/s, the highest of the codecs
	// here at their usual settings.
	nominalPayloadRate = 8000
	// rtpHeaderOverhead is the RTP, UDP and IPv4 header size per packet.
	rtpHeaderOverhead = 12 + udpIPOverhead
	// sentSRHistory is how many of our latest sender reports a report
	// block's LSR is checked against.
	sentSRHistory = 8
	// maxReportSize bounds a marshalled compound report.
	maxReportSize = 1200
)

// ntpEpochOffset is the number of seconds from the NTP epoch
// (1900-01-01) to the Unix epoch.
const ntpEpochOffset = 2208988800

// toNTP returns t as a 64-bit NTP timestamp (RFC 3550 section 4).
func toNTP(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := (uint64(t.Nanosecond()) << 32) / uint64(time.Second)
	return secs<<32 | frac
}

// ntpMiddle returns the middle 32 bits of an NTP timestamp, the form
// LSR and the arrival time take in RFC 3550 section 6.4.1.
func ntpMiddle(ntp uint64) uint32 { return uint32(ntp >> 16) }

// toShortNTP converts d (at least 0) to units of 1/65536 s, saturating.
func toShortNTP(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	v := (uint64(d) << 16) / uint64(time.Second)
	if v > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(v)
}

// fromShortNTP converts units of 1/65536 s to a duration.
func fromShortNTP(v uint32) time.Duration {
	return time.Duration((uint64(v) * uint64(time.Second)) >> 16)
}

// rxSnapshot is the reception state of the peer's RTP stream as the RTP
// receiver last left it (RFC 3550 appendix A.1 and A.8).
type rxSnapshot struct {
	valid     bool
	ssrc      uint32
	baseSeq   uint64 // first sequence number of the current run
	extMax    uint32 // extended highest sequence number received
	expected  uint64 // packets expected in the current run
	received  uint64 // packets received in the current run
	jitter    uint32 // interarrival jitter, timestamp units
	clockRate int
	at        time.Duration // session clock of the latest packet
}

// rxPrior is what the previous report block said (RFC 3550 appendix
// A.3's expected_prior and received_prior) and for which run.
type rxPrior struct {
	valid              bool
	ssrc               uint32
	baseSeq            uint64
	expected, received uint64
}

// txSnapshot describes the latest RTP packet we sent.
type txSnapshot struct {
	valid     bool
	ts        uint32        // its RTP timestamp
	at        time.Duration // session clock when it was sent
	clockRate int
}

// peerSR is the peer's latest sender report.
type peerSR struct {
	valid bool
	ssrc  uint32
	lsr   uint32        // middle 32 bits of its NTP timestamp
	at    time.Duration // session clock of its arrival
}

// remoteView is what the peer reports about our stream.
type remoteView struct {
	haveBlock bool
	fraction  uint8  // fraction lost, binary point at the left
	cumLost   int32  // cumulative number lost (24-bit signed)
	jitter    uint32 // interarrival jitter in our timestamp units
	haveRTT   bool
	rtt       time.Duration

	haveXR bool
	xr     rtcp.VoIPMetricsReportBlock

	bye bool // it sent an RTCP BYE
}

// rtcpState is the RTCP state a Session shares between its goroutines.
// Its zero value is usable (a Session built without NewSession, as in
// benchmarks, sends nothing).
type rtcpState struct {
	// Set by initControl, then read-only.
	ssrc     uint32        // our SSRC, also the RTP sender's
	cname    string        // our SDES CNAME
	epoch    time.Time     // the session clock's origin (with a monotonic reading)
	interval time.Duration // Tmin; negative: send no RTCP
	xr       bool          // add an XR VoIP Metrics block
	byeSent  chan struct{} // closed when the control loop ends (after the BYE)

	mu       sync.Mutex // guards the fields below
	rx       rxSnapshot
	tx       txSnapshot
	sr       peerSR
	remote   remoteView
	sentSR   [sentSRHistory]uint32 // LSR values of our latest SRs (ring)
	sentSRN  int
	heard    bool    // any valid RTP or RTCP from the peer
	gotRTCP  bool    // any valid RTCP from the peer
	avgSize  float64 // avg_rtcp_size of RFC 3550 section 6.3.3, bytes
	lastSent time.Duration
}

// checkControlConfig validates the RTCP and media timeout settings.
func checkControlConfig(cfg Config) error {
	if cfg.RTCPInterval > 0 && cfg.RTCPInterval < minRTCPInterval {
		return fmt.Errorf("%w: RTCPInterval %v is below %v", ErrConfig, cfg.RTCPInterval, minRTCPInterval)
	}
	return nil
}

// initControl sets up RTCP and the media timeout from cfg (already
// checked by checkControlConfig).
func (s *Session) initControl(cfg Config) {
	r := &s.rtcp
	r.ssrc = uint32(randUint64())
	var b [12]byte
	_, _ = crand.Read(b[:]) // never fails (crypto/rand documents this)
	// A random CNAME (RFC 7022 section 4.2): 96 bits, base64.
	r.cname = base64.RawStdEncoding.EncodeToString(b[:])
	r.epoch = time.Now()
	r.interval = cfg.RTCPInterval
	if r.interval == 0 {
		r.interval = DefaultRTCPInterval
	}
	r.xr = !cfg.DisableRTCPXR
	r.byeSent = make(chan struct{})
	r.avgSize = 100 // about the size of a first report with UDP/IP headers
	s.mon.init(cfg.MediaTimeout, cfg.HoldMediaTimeout)
}

// since returns the session clock: the time since the Session was made.
func (r *rtcpState) since() time.Duration { return time.Since(r.epoch) }

// ntpAt returns the NTP timestamp of session clock value d. Derived from
// the monotonic clock, it does not jump when the wall clock is set.
func (r *rtcpState) ntpAt(d time.Duration) uint64 { return toNTP(r.epoch.Add(d)) }

// noteSent records an RTP packet we sent with timestamp ts at clock
// rate rate, at session clock now.
func (r *rtcpState) noteSent(ts uint32, rate int, now time.Duration) {
	r.mu.Lock()
	r.tx = txSnapshot{valid: true, ts: ts, at: now, clockRate: rate}
	r.mu.Unlock()
}

// noteReception records the receiver's state after a packet of source
// ssrc arrived at session clock now.
func (r *rtcpState) noteReception(st *receptionStats, ssrc uint32, now time.Duration) {
	snap := rxSnapshot{
		valid:     st.started,
		ssrc:      ssrc,
		baseSeq:   st.baseSeq,
		extMax:    uint32(st.cycles + uint64(st.maxSeq)),
		expected:  st.expected(),
		received:  st.received,
		jitter:    uint32(min(st.jitter>>4, math.MaxUint32)),
		clockRate: st.clockRate,
		at:        now,
	}
	r.mu.Lock()
	r.rx = snap
	r.heard = true
	r.mu.Unlock()
}

// updateAvgSize folds a sent or received compound packet of n bytes
// into avg_rtcp_size (RFC 3550 section 6.3.3). Called with r.mu held.
func (r *rtcpState) updateAvgSize(n int) {
	r.avgSize = float64(n+udpIPOverhead)/16 + 15*r.avgSize/16
}

// receptionBlock returns the report block about the stream in rx and
// advances prior (RFC 3550 section 6.4.1 and appendix A.3). sr is the
// peer's latest sender report; now is the session clock.
func receptionBlock(rx *rxSnapshot, prior *rxPrior, sr *peerSR, now time.Duration) rtcp.ReceptionReport {
	if !prior.valid || prior.ssrc != rx.ssrc || prior.baseSeq != rx.baseSeq ||
		rx.expected < prior.expected || rx.received < prior.received {
		*prior = rxPrior{valid: true, ssrc: rx.ssrc, baseSeq: rx.baseSeq} // a new run: count from its start
	}
	expInt := int64(rx.expected - prior.expected)
	recInt := int64(rx.received - prior.received)
	lostInt := expInt - recInt
	var fraction uint8
	if expInt > 0 && lostInt > 0 {
		fraction = uint8(min((lostInt<<8)/expInt, 255))
	}
	prior.expected, prior.received = rx.expected, rx.received

	rr := rtcp.ReceptionReport{
		SSRC:               rx.ssrc,
		FractionLost:       fraction,
		TotalLost:          encodeCumulativeLost(int64(rx.expected) - int64(rx.received)),
		LastSequenceNumber: rx.extMax,
		Jitter:             rx.jitter,
	}
	if sr.valid && sr.ssrc == rx.ssrc {
		rr.LastSenderReport = sr.lsr
		rr.Delay = toShortNTP(now - sr.at)
	}
	return rr
}

// encodeCumulativeLost clamps a cumulative loss to the 24-bit signed
// field of a report block and returns its two's complement form.
func encodeCumulativeLost(lost int64) uint32 {
	lost = max(min(lost, 1<<23-1), -(1 << 23))
	return uint32(lost) & 0xffffff
}

// decodeCumulativeLost sign-extends a 24-bit cumulative loss.
func decodeCumulativeLost(v uint32) int32 {
	return int32(v<<8) >> 8
}

// rttFrom returns the round-trip time given by a report block with LSR
// lsr and DLSR dlsr that arrived at NTP middle time arrival: A − LSR −
// DLSR (RFC 3550 section 6.4.1). It fails for a block that echoes no
// sender report (LSR 0) or gives a negative time.
func rttFrom(arrival, lsr, dlsr uint32) (time.Duration, bool) {
	if lsr == 0 {
		return 0, false
	}
	rtt := int32(arrival - lsr - dlsr)
	if rtt < 0 {
		return 0, false
	}
	return fromShortNTP(uint32(rtt)), true
}

// rtcpInterval computes the time to the next report (RFC 3550 section
// 6.3.1 and appendix A.7) for a session with the given members and
// senders, the minimum interval tmin (halved for the first report),
// avg_rtcp_size avgSize in bytes and an RTCP bandwidth of rtcpBW bytes
// per second. rnd, in [0, 1), randomizes the result to 0.5-1.5 times the
// deterministic interval. Timer reconsideration (section 6.3.3) is not
// done, so neither is its compensation (division by e − 3/2): with two
// members it changes little.
func rtcpInterval(tmin time.Duration, initial bool, members, senders int, weSent bool, avgSize, rtcpBW, rnd float64) time.Duration {
	if initial {
		tmin /= 2
	}
	n := float64(max(members, 1))
	if float64(senders) <= float64(members)*rtcpSenderShare {
		if weSent {
			rtcpBW *= rtcpSenderShare
			n = float64(max(senders, 1))
		} else {
			rtcpBW *= 1 - rtcpSenderShare
			n -= float64(senders)
		}
	}
	td := tmin
	if rtcpBW > 0 {
		if t := time.Duration(avgSize * n / rtcpBW * float64(time.Second)); t > td {
			td = t
		}
	}
	return time.Duration(float64(td) * (rnd + 0.5))
}

// sessionRTCPBandwidth returns the RTCP bandwidth in bytes per second of
// a two-party call sending packets every ptime: 5% of the nominal
// bandwidth of both senders.
func sessionRTCPBandwidth(ptime time.Duration) float64 {
	if ptime <= 0 {
		ptime = defaultPTime
	}
	perSender := nominalPayloadRate + rtpHeaderOverhead*float64(time.Second)/float64(ptime)
	return rtcpBandwidthShare * 2 * perSender
}

// reporter builds and sends our reports. It is owned by the control
// goroutine (or a benchmark).
type reporter struct {
	s          *Session
	prior      rxPrior
	sentBefore [2]uint64 // packets sent at the last report and the one before
	weSent     bool      // the last report was an SR

	// SRTCP: the context in use (nil: plain RTCP) and every context made
	// so far, by suite, kept for the whole Session like the RTP sender's
	// (the SRTCP index must never repeat under one key).
	srtcp       *srtp.Context
	srtcpFor    *srtpNeg
	srtcpCtxs   []sendContext
	srtcpFailed bool
	out         []byte

	pkts  []rtcp.Packet
	block [1]rtcp.ReceptionReport
}

func newReporter(s *Session) *reporter {
	return &reporter{s: s, out: make([]byte, 0, maxReportSize+64)}
}

// build returns our compound report at session clock now, with a BYE
// when bye is set, and records what the next report needs. The result is
// plain RTCP, valid until the next call.
func (rep *reporter) build(now time.Duration, bye bool) ([]byte, error) {
	s := rep.s
	r := &s.rtcp
	r.mu.Lock()
	rx, tx, sr := r.rx, r.tx, r.sr
	r.mu.Unlock()

	sent := s.ctr.packetsSent.Load()
	// RFC 3550 section 6.4: an SR when we sent RTP "during the interval
	// since issuing the last report or the previous one".
	rep.weSent = tx.valid && sent != rep.sentBefore[1]
	rep.sentBefore[1], rep.sentBefore[0] = rep.sentBefore[0], sent

	blocks := rep.block[:0]
	if rx.valid && (!rep.prior.valid || rx.ssrc != rep.prior.ssrc || rx.baseSeq != rep.prior.baseSeq || rx.received != rep.prior.received) {
		// RTP arrived since the last report.
		blocks = append(blocks, receptionBlock(&rx, &rep.prior, &sr, now))
	}

	pkts := rep.pkts[:0]
	ntp := r.ntpAt(now)
	if rep.weSent {
		ts := tx.ts
		if tx.clockRate > 0 && now > tx.at {
			ts += toClock(now-tx.at, tx.clockRate)
		}
		pkts = append(pkts, &rtcp.SenderReport{
			SSRC:        r.ssrc,
			NTPTime:     ntp,
			RTPTime:     ts,
			PacketCount: uint32(sent),
			OctetCount:  uint32(s.ctr.bytesSent.Load()),
			Reports:     blocks,
		})
	} else {
		pkts = append(pkts, &rtcp.ReceiverReport{SSRC: r.ssrc, Reports: blocks})
	}
	pkts = append(pkts, rtcp.NewCNAMESourceDescription(r.ssrc, r.cname))
	if r.xr && rx.valid {
		xr := s.voipMetrics(&rx)
		pkts = append(pkts, &rtcp.ExtendedReport{SenderSSRC: r.ssrc, Reports: []rtcp.ReportBlock{&xr}})
	}
	if bye {
		pkts = append(pkts, &rtcp.Goodbye{Sources: []uint32{r.ssrc}})
	}
	rep.pkts = pkts
	b, err := rtcp.Marshal(pkts)
	clear(rep.pkts) // do not keep the packets alive
	if err != nil {
		return nil, fmt.Errorf("media: build RTCP report: %w", err)
	}
	if len(b) > maxReportSize {
		return nil, fmt.Errorf("media: RTCP report of %d bytes", len(b))
	}
	if rep.weSent {
		r.mu.Lock()
		r.sentSR[r.sentSRN%sentSRHistory] = ntpMiddle(ntp)
		r.sentSRN++
		r.mu.Unlock()
	}
	return b, nil
}

// protect returns pkt SRTCP-protected with our key of sec (unchanged
// for plain RTCP), or false when no SRTCP context could be made.
func (rep *reporter) protect(sec *srtpNeg, pkt []byte) ([]byte, bool) {
	if sec == nil {
		return pkt, true
	}
	if sec != rep.srtcpFor {
		rep.srtcpFor, rep.srtcp, rep.srtcpFailed = sec, nil, false
		for _, c := range rep.srtcpCtxs {
			if c.suite == sec.suite.name {
				rep.srtcp = c.ctx
			}
		}
		if rep.srtcp == nil {
			ctx, err := newSendContext(sec)
			if err != nil {
				rep.srtcpFailed = true
				rep.s.log.Error("media: cannot send SRTCP", "err", err)
				return nil, false
			}
			rep.srtcpCtxs = append(rep.srtcpCtxs, sendContext{suite: sec.suite.name, ctx: ctx})
			rep.srtcp = ctx
		}
	}
	if rep.srtcpFailed {
		return nil, false
	}
	out, err := rep.srtcp.EncryptRTCP(rep.out[:0], pkt, nil)
	if err != nil {
		rep.s.log.Error("media: SRTCP protect", "err", err)
		return nil, false
	}
	rep.out = out[:0]
	return out, true
}

// send builds, protects and sends one compound report to the peer.
func (rep *reporter) send(bye bool) {
	s := rep.s
	neg := s.neg.Load()
	if neg == nil {
		return
	}
	conn, dest := s.rtcpConn, s.rtcpDest.Load()
	if neg.rtcpMux {
		conn, dest = s.rtpConn, s.rtpDest.Load()
	}
	if dest == nil || !canSendRTCPTo(*dest) {
		return // e.g. an RFC 2543 hold (c=0.0.0.0)
	}
	now := s.rtcp.since()
	pkt, err := rep.build(now, bye)
	if err != nil {
		s.log.Error("media: RTCP", "err", err)
		return
	}
	size := len(pkt)
	pkt, ok := rep.protect(neg.sec, pkt)
	if !ok {
		return
	}
	if _, err := conn.WriteToUDPAddrPort(pkt, *dest); err != nil {
		s.log.Debug("media: send RTCP", "to", dest.String(), "err", err)
		return
	}
	s.ctr.rtcpSent.Add(1)
	s.rtcp.mu.Lock()
	s.rtcp.updateAvgSize(size)
	s.rtcp.lastSent = now
	s.rtcp.mu.Unlock()
}

// canSendRTCPTo reports whether a is an address RTCP can be sent to.
func canSendRTCPTo(a netip.AddrPort) bool {
	return a.Addr().IsValid() && !a.Addr().IsUnspecified() && a.Port() != 0
}

// nextInterval returns the time to the report after this one.
func (rep *reporter) nextInterval(initial bool) time.Duration {
	s := rep.s
	r := &s.rtcp
	r.mu.Lock()
	members, senders := 1, 0
	if r.heard {
		members = 2
	}
	// The peer counts as a sender while its RTP keeps arriving.
	if r.rx.valid && r.since()-r.rx.at < 2*r.interval {
		senders++
	}
	avg := r.avgSize
	r.mu.Unlock()
	if rep.weSent {
		senders++
	}
	var ptime time.Duration
	if n := s.neg.Load(); n != nil {
		ptime = n.send.info.FrameDuration
	}
	return rtcpInterval(r.interval, initial, members, senders, rep.weSent, avg, sessionRTCPBandwidth(ptime), rand.Float64())
}

// controlLoop sends RTCP reports and watches for a media timeout until
// the Session closes; it then sends a BYE and closes rtcp.byeSent.
func (s *Session) controlLoop() {
	defer s.wg.Done()
	defer close(s.rtcp.byeSent)
	s.mon.running.Store(true)
	defer s.mon.running.Store(false)
	rep := newReporter(s)
	sending := s.rtcp.interval > 0
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var nextReport time.Duration
	if sending {
		nextReport = s.rtcp.since() + rep.nextInterval(true)
	}
	for {
		now := s.rtcp.since()
		if sending && now >= nextReport {
			rep.send(false)
			now = s.rtcp.since()
			nextReport = now + rep.nextInterval(false)
		}
		wake, ok := s.mon.check(s, now)
		if sending && (!ok || nextReport < wake) {
			wake, ok = nextReport, true
		}
		if ok {
			timer.Reset(max(wake-now, time.Millisecond))
		} else {
			timer.Stop()
		}
		select {
		case <-s.done:
			if sending {
				rep.send(true)
			}
			return
		case <-timer.C:
		case <-s.mon.kick:
		}
	}
}

// handleRTCP processes a plain (already unprotected) RTCP compound
// packet that arrived at session clock now. It reports false, counting
// nothing, for a packet that is not valid RTCP.
func (s *Session) handleRTCP(b []byte, now time.Duration) bool {
	if !rtcpHeaderOK(b) {
		return false
	}
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return false
	}
	s.ctr.rtcpReceived.Add(1)
	s.mon.touch(now)
	r := &s.rtcp
	arrival := ntpMiddle(r.ntpAt(now))
	var bye, first bool
	r.mu.Lock()
	first = !r.gotRTCP
	r.heard, r.gotRTCP = true, true
	r.updateAvgSize(len(b))
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			r.sr = peerSR{valid: true, ssrc: p.SSRC, lsr: ntpMiddle(p.NTPTime), at: now}
			r.reportBlocks(p.Reports, arrival)
		case *rtcp.ReceiverReport:
			r.reportBlocks(p.Reports, arrival)
		case *rtcp.ExtendedReport:
			for _, blk := range p.Reports {
				if vm, ok := blk.(*rtcp.VoIPMetricsReportBlock); ok && vm.SSRC == r.ssrc {
					r.remote.haveXR, r.remote.xr = true, *vm
				}
			}
		case *rtcp.Goodbye:
			bye = !r.remote.bye
			r.remote.bye = true
		}
	}
	r.mu.Unlock()
	if first {
		s.log.Debug("media: RTCP from the peer")
	}
	if bye {
		s.log.Info("media: the peer sent RTCP BYE")
	}
	return true
}

// reportBlocks takes in the report blocks about our stream, which
// arrived at NTP middle time arrival. Called with r.mu held.
func (r *rtcpState) reportBlocks(blocks []rtcp.ReceptionReport, arrival uint32) {
	for i := range blocks {
		b := &blocks[i]
		if b.SSRC != r.ssrc {
			continue
		}
		r.remote.haveBlock = true
		r.remote.fraction = b.FractionLost
		r.remote.cumLost = decodeCumulativeLost(b.TotalLost)
		r.remote.jitter = b.Jitter
		if !r.sentLSR(b.LastSenderReport) {
			continue // echoes no SR of ours (or none we remember)
		}
		if rtt, ok := rttFrom(arrival, b.LastSenderReport, b.Delay); ok {
			r.remote.haveRTT, r.remote.rtt = true, rtt
		}
	}
}

// sentLSR reports whether lsr is the LSR value of one of our latest
// sender reports. Called with r.mu held.
func (r *rtcpState) sentLSR(lsr uint32) bool {
	if lsr == 0 {
		return false
	}
	for i := range min(r.sentSRN, sentSRHistory) {
		if r.sentSR[i] == lsr {
			return true
		}
	}
	return false
}

// muxedRTCP handles an RTCP packet that arrived on the RTP port with
// rtcp-mux (RFC 5761) at session clock arrival: unprotected with the
// receiver's SRTP context.
func (r *receiver) muxedRTCP(pkt []byte, arrival time.Duration) {
	r.s.receiveRTCP(&r.unprot, pkt, arrival)
}

// receiveRTCP unprotects an RTCP packet with u (when SRTP is on) and
// processes it; a packet that fails either counts as garbage. It reports
// whether the packet was taken.
func (s *Session) receiveRTCP(u *unprotector, pkt []byte, arrival time.Duration) bool {
	if u.active() {
		plain, ok := u.rtcp(pkt)
		if !ok {
			s.ctr.garbage.Add(1)
			return false
		}
		pkt = plain
	}
	if !s.handleRTCP(pkt, arrival) {
		s.ctr.garbage.Add(1)
		return false
	}
	return true
}

// rtcpStats fills the RTCP and quality fields of st, whose other fields
// are already set.
func (s *Session) rtcpStats(st *Stats) {
	r := &s.rtcp
	r.mu.Lock()
	rem := r.remote
	r.mu.Unlock()
	n := s.neg.Load()
	if rem.haveRTT {
		st.RTT = rem.rtt
	}
	if rem.haveBlock {
		st.RemoteFractionLost = float64(rem.fraction) / 256
		st.RemoteCumulativeLost = int64(rem.cumLost)
		if n != nil && n.send.info.ClockRate > 0 {
			st.RemoteJitter = time.Duration(uint64(rem.jitter) * uint64(time.Second) / uint64(n.send.info.ClockRate))
		}
	}
	if rem.haveXR {
		st.RemoteRFactor, st.RemoteMOS = xrQuality(&rem.xr)
	}
	if n != nil && st.PacketsReceived > 0 {
		q := s.quality(n, st)
		st.RFactor, st.MOS = q.r, q.mos
	}
}
