package media

import (
	"math"
	"time"

	"github.com/pion/rtcp"
)

// RTCP XR VoIP Metrics (RFC 3611 section 4.7). Our reports carry one
// block about the peer's stream once RTP has arrived (unless
// Config.DisableRTCPXR). Simplifications:
//
//   - Losses are not split into bursts and gaps: the whole reception
//     counts as one gap (burst density and duration 0, gap density the
//     loss plus discard rate, gap duration the time since the first
//     packet). Gmin is still given as the recommended 16.
//   - Signal level, noise level, RERL and the external R factor are
//     reported as unavailable (127).
//   - The R factor, MOS-LQ and MOS-CQ come from the E-model estimate of
//     rtcp_emodel.go; end system delay is the current playout delay plus
//     two packetization intervals (packetizing and decoding).
//   - Discards are the packets the jitter buffer dropped (late, or to cut
//     its delay). It is described by its target delay (JB nominal) and
//     its current delay (JB maximum and absolute maximum: the largest
//     delay is not exported by the buffer), with its adaptivity
//     "unknown".

const (
	xrUnavailable = 127  // the "unavailable" value of the 8-bit metrics
	xrGmin        = 16   // RFC 3611 section 4.7.2's recommended Gmin
	xrPLCStandard = 0x80 // RX config: PLC bits 10, "standard"
)

// xrInput is what a VoIP Metrics block is built from.
type xrInput struct {
	ssrc                       uint32 // the source reported on
	expected, lost, discarded  uint64 // since the start of reception
	duration                   time.Duration
	rtt                        time.Duration // 0: unknown
	endSystemDelay             time.Duration
	jbNominal, jbMax, jbAbsMax time.Duration
	quality                    qualityEstimate
	rated                      bool // quality holds an estimate
}

// rate8 returns part/whole as an 8-bit fixed point fraction with the
// binary point at the left edge, saturating at 255.
func rate8(part, whole uint64) uint8 {
	if whole == 0 || part == 0 {
		return 0
	}
	if part >= whole {
		return 255
	}
	return uint8(min(part*256/whole, 255))
}

// ms16 returns d in whole milliseconds, saturating at 65535.
func ms16(d time.Duration) uint16 {
	if d <= 0 {
		return 0
	}
	return uint16(min(d.Milliseconds(), math.MaxUint16))
}

// buildVoIPMetrics returns the VoIP Metrics block for in.
func buildVoIPMetrics(in *xrInput) rtcp.VoIPMetricsReportBlock {
	b := rtcp.VoIPMetricsReportBlock{
		SSRC:           in.ssrc,
		LossRate:       rate8(in.lost, in.expected),
		DiscardRate:    rate8(in.discarded, in.expected),
		GapDensity:     rate8(in.lost+in.discarded, in.expected),
		GapDuration:    ms16(in.duration),
		RoundTripDelay: ms16(in.rtt),
		EndSystemDelay: ms16(in.endSystemDelay),
		SignalLevel:    xrUnavailable,
		NoiseLevel:     xrUnavailable,
		RERL:           xrUnavailable,
		Gmin:           xrGmin,
		RFactor:        xrUnavailable,
		ExtRFactor:     xrUnavailable,
		MOSLQ:          xrUnavailable,
		MOSCQ:          xrUnavailable,
		RXConfig:       xrPLCStandard,
		JBNominal:      ms16(in.jbNominal),
		JBMaximum:      ms16(in.jbMax),
		JBAbsMax:       ms16(in.jbAbsMax),
	}
	if in.rated {
		b.RFactor = uint8(math.Round(in.quality.r))
		b.MOSLQ = uint8(math.Round(in.quality.mosLQ * 10))
		b.MOSCQ = uint8(math.Round(in.quality.mos * 10))
	}
	return b
}

// xrQuality returns the R factor and MOS (MOS-CQ, else MOS-LQ) of a
// received VoIP Metrics block, 0 for values it leaves unavailable.
func xrQuality(b *rtcp.VoIPMetricsReportBlock) (rFactor, mos float64) {
	if b.RFactor <= 100 {
		rFactor = float64(b.RFactor)
	}
	switch {
	case b.MOSCQ >= 10 && b.MOSCQ <= 50:
		mos = float64(b.MOSCQ) / 10
	case b.MOSLQ >= 10 && b.MOSLQ <= 50:
		mos = float64(b.MOSLQ) / 10
	}
	return rFactor, mos
}

// voipMetrics returns the VoIP Metrics block about the peer's stream rx.
func (s *Session) voipMetrics(rx *rxSnapshot) rtcp.VoIPMetricsReportBlock {
	st := s.Stats()
	in := xrInput{
		ssrc:      rx.ssrc,
		expected:  st.PacketsReceived + st.PacketsLost,
		lost:      st.PacketsLost,
		discarded: min(dropped(&st), st.PacketsReceived),
		rtt:       st.RTT,
		jbNominal: st.JitterTarget,
		jbMax:     s.playoutDelay(&st),
	}
	if in.jbNominal <= 0 {
		in.jbNominal = s.jitterDelay
	}
	in.jbMax = max(in.jbMax, in.jbNominal)
	in.jbAbsMax = in.jbMax
	if !st.FirstPacketAt.IsZero() {
		in.duration = time.Since(st.FirstPacketAt)
	}
	if n := s.neg.Load(); n != nil {
		in.endSystemDelay = s.playoutDelay(&st) + 2*codecPTime(n.send.info)
		if st.PacketsReceived > 0 {
			in.quality, in.rated = s.quality(n, &st), true
		}
	}
	return buildVoIPMetrics(&in)
}
