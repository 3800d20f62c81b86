package media

import (
	"net/netip"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a Session's counters, returned by Session.Stats.
// It is a plain value, safe for concurrent use.
type Stats struct {
	// Codec is the name of the codec being sent, or "" before negotiation.
	Codec string
	// SRTP is the negotiated SRTP crypto suite, e.g.
	// "AES_CM_128_HMAC_SHA1_80", or "" for plain RTP.
	SRTP string
	// PacketsSent and BytesSent count RTP packets sent and their payload
	// bytes.
	PacketsSent, BytesSent uint64
	// PacketsReceived and BytesReceived count valid RTP packets received
	// from the peer (audio and telephone-event) and their payload bytes.
	PacketsReceived, BytesReceived uint64
	// PacketsLost is the RFC 3550 cumulative number of packets lost:
	// packets expected from the sequence numbers minus packets received,
	// never negative.
	PacketsLost uint64
	// Late counts valid packets the jitter buffer dropped because they
	// arrived too late to be played (after their playout time, once the
	// delay could not grow further to wait for them) or were far outside
	// the sequence.
	Late uint64
	// Duplicates counts packets received more than once.
	Duplicates uint64
	// Garbage counts datagrams on the RTP and RTCP ports that are not
	// valid packets of the negotiated stream (bad version or length,
	// unknown payload type, unexpected source; with SRTP, RTCP packets
	// that fail SRTCP authentication or replay checks).
	Garbage uint64
	// Concealed counts frames written to the Sink in place of audio that
	// was lost, arrived too late or could not be decoded: loss
	// concealment, and frames concealed while the jitter buffer waited
	// for delayed packets. Silence between talkspurts (a timestamp jump
	// without a sequence gap, DTX) is not counted, nor is the audio after
	// the last packet received.
	Concealed uint64
	// FECRecovered counts the concealed frames that were rebuilt from the
	// in-band forward error correction of the next packet (Opus) rather
	// than extrapolated.
	FECRecovered uint64

	// Jitter buffer (jitter.go).

	// Discarded counts frames of received audio the jitter buffer dropped
	// to reduce its delay: each cut of up to one frame that shortens
	// speech, and each packet skipped when the delay exceeded JitterMax.
	// Silence shortened between talkspurts is not counted.
	Discarded uint64
	// JitterDelay is the jitter buffer's current playout delay: how much
	// longer than the fastest recent packet a packet may take to arrive
	// and still be played in time (the time it spends buffered, plus its
	// share of the network jitter).
	JitterDelay time.Duration
	// JitterTarget is the delay the jitter buffer aims for: with
	// JitterAdaptive its estimate of what the measured jitter needs
	// (between Config.JitterMin and JitterMax), with JitterFixed
	// Config.JitterDelay.
	JitterTarget time.Duration
	// SendSkipped counts frames the sender skipped because it fell more
	// than a few frames behind its schedule.
	SendSkipped uint64
	// TelephoneEvents counts RFC 4733 telephone-event packets received.
	TelephoneEvents uint64
	// DTMFSent counts digits sent (RFC 4733 and in-band); DTMFReceived
	// counts digits delivered on Session.DTMF and DTMFDropped those
	// dropped because its buffer was full.
	DTMFSent, DTMFReceived, DTMFDropped uint64
	// RTCPReceived counts valid RTCP packets received.
	RTCPReceived uint64
	// RTCPSent counts RTCP compound packets sent (reports and BYE).
	RTCPSent uint64
	// SRTPAuthFailures counts packets on the RTP port dropped because
	// they failed SRTP authentication (a wrong key, tampering, plain RTP
	// while SRTP is in use, or too short to carry a tag).
	SRTPAuthFailures uint64
	// SRTPReplays counts packets on the RTP port dropped by SRTP replay
	// protection (RFC 3711 section 3.3.2): seen before, or too old. With
	// SRTP, duplicates are counted here rather than in Duplicates.
	SRTPReplays uint64
	// Jitter is the RFC 3550 interarrival jitter estimate.
	Jitter time.Duration
	// RemoteAddr is where RTP is sent: the address from the peer's SDP,
	// or the source address latched from its packets (symmetric RTP).
	RemoteAddr netip.AddrPort
	// RemoteRTCPAddr is the peer's RTCP address, likewise.
	RemoteRTCPAddr netip.AddrPort
	// FirstPacketAt is when the first valid RTP packet arrived, or zero.
	FirstPacketAt time.Time

	// RTCP (RFC 3550 section 6.4) and quality; see rtcp.go and
	// rtcp_emodel.go.

	// RTT is the round-trip time computed from the latest report block
	// about our stream that echoed one of our sender reports (LSR and
	// DLSR, RFC 3550 section 6.4.1); zero until one has arrived.
	RTT time.Duration
	// RemoteFractionLost is the fraction (0 to 1) of our RTP packets the
	// peer lost in its last reporting interval, RemoteCumulativeLost the
	// number it lost since the start (negative with duplicates) and
	// RemoteJitter its interarrival jitter estimate of our stream, all
	// from the peer's latest report block about our stream.
	RemoteFractionLost   float64
	RemoteCumulativeLost int64
	RemoteJitter         time.Duration
	// RFactor and MOS estimate the conversational quality of the audio
	// we receive with a simplified ITU-T G.107 E-model from its codec,
	// loss (including late discards), jitter buffer delay and RTT. R runs
	// from 0 to 100 (93.2 is the best narrowband value), MOS from 1 to
	// 4.5. Both are zero until RTP has been received.
	RFactor, MOS float64
	// RemoteRFactor and RemoteMOS are the R factor and conversational MOS
	// (MOS-CQ, else MOS-LQ) of our stream as the peer reports them in an
	// RTCP XR VoIP Metrics block (RFC 3611 section 4.7); zero when the
	// peer sends none or leaves them unavailable.
	RemoteRFactor, RemoteMOS float64
}

// counters holds the Session's statistics as atomics so that Stats can
// read them from any goroutine while the media goroutines update them.
type counters struct {
	packetsSent, bytesSent, sendSkipped atomic.Uint64
	packetsReceived, bytesReceived      atomic.Uint64
	lost, garbage, concealed            atomic.Uint64
	fecRecovered                        atomic.Uint64
	telephoneEvents, rtcpReceived       atomic.Uint64
	rtcpSent                            atomic.Uint64
	srtpAuthFailures, srtpReplays       atomic.Uint64
	jitterNanos                         atomic.Int64
	firstPacketAt                       atomic.Pointer[time.Time]
}

// RFC 3550 appendix A.1 constants.
const (
	seqMod      = 1 << 16
	maxDropout  = 3000
	maxMisorder = 100
)

// receptionStats is the RFC 3550 receiver state of one source: extended
// sequence numbers (appendix A.1) and interarrival jitter (appendix A.8).
// It is owned by the receiver goroutine.
type receptionStats struct {
	started  bool
	maxSeq   uint16
	cycles   uint64
	baseSeq  uint64
	badSeq   uint32
	received uint64
	// Totals of earlier sequence runs (after a restart of the sequence).
	prevExpected, prevReceived uint64

	haveTransit bool
	lastTransit uint32
	jitter      uint64 // RFC 3550 J scaled by 16, in clock units
	clockRate   int
}

// newSource keeps the totals so far and starts over for a new source.
func (r *receptionStats) newSource() {
	r.prevExpected += r.expected()
	r.prevReceived += r.received
	r.received = 0
	r.started = false
	r.haveTransit = false
}

// initSeq starts a new sequence run at seq.
func (r *receptionStats) initSeq(seq uint16) {
	r.prevExpected += r.expected()
	r.prevReceived += r.received
	r.started = true
	r.baseSeq = uint64(seq)
	r.maxSeq = seq
	r.badSeq = seqMod + 1
	r.cycles = 0
	r.received = 0
}

// expected is the number of packets expected in the current run.
func (r *receptionStats) expected() uint64 {
	if !r.started {
		return 0
	}
	return r.cycles + uint64(r.maxSeq) - r.baseSeq + 1
}

// updateSeq records sequence number seq and reports whether the packet
// belongs to the stream (false for the first packet after a large jump,
// which is only accepted once the next one confirms it).
func (r *receptionStats) updateSeq(seq uint16) bool {
	if !r.started {
		r.initSeq(seq)
		r.received++
		return true
	}
	udelta := seq - r.maxSeq
	switch {
	case udelta < maxDropout:
		if seq < r.maxSeq {
			r.cycles += seqMod
		}
		r.maxSeq = seq
	case uint32(udelta) <= seqMod-maxMisorder:
		if uint32(seq) != r.badSeq {
			r.badSeq = (uint32(seq) + 1) & (seqMod - 1)
			return false
		}
		r.initSeq(seq) // two sequential packets: the sender restarted
		r.haveTransit = false
	default:
		// duplicate or reordered packet
	}
	r.received++
	return true
}

// lost returns the cumulative number of packets lost, never negative.
func (r *receptionStats) lost() uint64 {
	exp := r.prevExpected + r.expected()
	rec := r.prevReceived + r.received
	if rec >= exp {
		return 0
	}
	return exp - rec
}

// updateJitter records a packet with RTP timestamp ts that arrived
// `arrival` after a fixed reference, at the given clock rate.
func (r *receptionStats) updateJitter(arrival time.Duration, ts uint32, clockRate int) {
	if clockRate <= 0 {
		return
	}
	if clockRate != r.clockRate {
		r.clockRate = clockRate
		r.haveTransit = false
		r.jitter = 0
	}
	transit := toClock(arrival, clockRate) - ts
	if !r.haveTransit {
		r.haveTransit = true
		r.lastTransit = transit
		return
	}
	d := int64(int32(transit - r.lastTransit))
	r.lastTransit = transit
	if d < 0 {
		d = -d
	}
	// J += (|D| - J) / 16, kept scaled by 16 (RFC 3550 A.8).
	r.jitter += uint64(d) - ((r.jitter + 8) >> 4)
}

// jitterDuration returns the jitter estimate as a duration.
func (r *receptionStats) jitterDuration() time.Duration {
	if r.clockRate <= 0 {
		return 0
	}
	return time.Duration(r.jitter>>4) * time.Second / time.Duration(r.clockRate)
}

// toClock converts d to RTP clock units at rate Hz, modulo 2^32.
func toClock(d time.Duration, rate int) uint32 {
	ns := int64(d)
	sec, rem := ns/int64(time.Second), ns%int64(time.Second)
	return uint32(sec*int64(rate) + rem*int64(rate)/int64(time.Second))
}
