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
	// Late counts valid packets the jitter buffer discarded because they
	// fell outside its window: arrived after their playout time, were
	// trimmed to bound the delay, or were far outside the sequence.
	Late uint64
	// Duplicates counts packets received more than once.
	Duplicates uint64
	// Garbage counts datagrams on the RTP and RTCP ports that are not
	// valid packets of the negotiated stream (bad version or length,
	// unknown payload type, unexpected source).
	Garbage uint64
	// Concealed counts frames written to the Sink that were not decoded
	// from a received packet: loss concealment and underrun silence.
	Concealed uint64
	// SendSkipped counts frames the sender skipped because it fell more
	// than a few frames behind its schedule.
	SendSkipped uint64
	// TelephoneEvents counts RFC 4733 telephone-event packets received.
	TelephoneEvents uint64
	// RTCPReceived counts valid RTCP packets received.
	RTCPReceived uint64
	// Jitter is the RFC 3550 interarrival jitter estimate.
	Jitter time.Duration
	// RemoteAddr is where RTP is sent: the address from the peer's SDP,
	// or the source address latched from its packets (symmetric RTP).
	RemoteAddr netip.AddrPort
	// RemoteRTCPAddr is the peer's RTCP address, likewise.
	RemoteRTCPAddr netip.AddrPort
	// FirstPacketAt is when the first valid RTP packet arrived, or zero.
	FirstPacketAt time.Time
}

// counters holds the Session's statistics as atomics so that Stats can
// read them from any goroutine while the media goroutines update them.
type counters struct {
	packetsSent, bytesSent, sendSkipped atomic.Uint64
	packetsReceived, bytesReceived      atomic.Uint64
	lost, garbage, concealed            atomic.Uint64
	telephoneEvents, rtcpReceived       atomic.Uint64
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
