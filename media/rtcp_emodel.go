package media

import (
	"math"
	"strings"
	"time"
)

// Call quality estimate: a simplified ITU-T G.107 E-model.
//
// The transmission rating factor is
//
//	R = 93.2 − Idd(Ta) − Ie,eff
//
// 93.2 is R0 − Is with every G.107 default value (no circuit or room
// noise, default loudness ratings). Talker and listener echo (Idte, Idle)
// are taken as zero, as with working echo cancellation, and the advantage
// factor A as zero.
//
// Idd is the G.107 delay impairment for the absolute one-way
// (mouth-to-ear) delay Ta in milliseconds:
//
//	Idd = 0                                               for Ta ≤ 100 ms
//	Idd = 25·((1 + X⁶)^(1/6) − 3·(1 + (X/3)⁶)^(1/6) + 2)    above, X = log2(Ta/100)
//
// Ta is estimated as half the RTCP round-trip time plus the jitter
// buffer's current playout delay, one packetization interval and the
// codec's look-ahead (the network delay is taken as zero until an RTT is
// known).
//
// Ie,eff is the effective equipment impairment under random packet loss:
//
//	Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl/BurstR + Bpl)
//
// with Ppl the percentage of packets lost, or dropped by the jitter
// buffer (late, or discarded to cut its delay), since the start, BurstR = 1 (losses taken as random), and the
// codec's Ie and Bpl from ITU-T G.113 Appendix I: G.711 with packet loss
// concealment Ie 0, Bpl 25.1 (this package's concealment is simpler than
// G.711 Appendix I's, so the estimate is somewhat optimistic under loss);
// G.729A Ie 11, Bpl 19. G.722 and Opus have no narrowband values in
// G.113; they are rated like G.711 (their quality is at least that on the
// narrowband scale). Other codecs get G.729A's values.
//
// MOS follows from R by the G.107 Annex B formula:
//
//	MOS = 1                                          for R < 0
//	MOS = 1 + 0.035·R + R·(R − 60)·(100 − R)·7·10⁻⁶    for 0 ≤ R ≤ 100
//	MOS = 4.5                                        for R > 100
//
// With no loss and under 100 ms of delay this gives R 93.2 and MOS 4.41.
// The listening-quality variants (RFC 3611 MOS-LQ) leave Idd out.

// baseRFactor is R0 − Is with G.107's default values.
const baseRFactor = 93.2

// codecImpairment holds a codec's E-model values.
type codecImpairment struct {
	ie, bpl   float64       // equipment impairment, packet-loss robustness
	lookahead time.Duration // algorithmic delay beyond the frame
}

// impairmentOf returns the E-model values of the named codec: the G.113
// Appendix I ones, or the stand-ins described above.
func impairmentOf(name string) codecImpairment {
	switch strings.ToUpper(name) {
	case "PCMU", "PCMA", "G722":
		return codecImpairment{ie: 0, bpl: 25.1}
	case "OPUS":
		return codecImpairment{ie: 0, bpl: 25.1, lookahead: 6500 * time.Microsecond}
	}
	return codecImpairment{ie: 11, bpl: 19, lookahead: 5 * time.Millisecond} // G.729A
}

// delayImpairment returns G.107's Idd for a one-way delay of ta.
func delayImpairment(ta time.Duration) float64 {
	ms := float64(ta) / float64(time.Millisecond)
	if ms <= 100 {
		return 0
	}
	x := math.Log2(ms / 100)
	return 25 * (math.Pow(1+math.Pow(x, 6), 1.0/6) - 3*math.Pow(1+math.Pow(x/3, 6), 1.0/6) + 2)
}

// effectiveIe returns Ie,eff for packet loss ppl (in percent) with
// random losses (BurstR = 1).
func effectiveIe(c codecImpairment, ppl float64) float64 {
	if ppl <= 0 {
		return c.ie
	}
	return c.ie + (95-c.ie)*ppl/(ppl+c.bpl)
}

// mosFromR maps an R factor to a mean opinion score (G.107 Annex B).
func mosFromR(r float64) float64 {
	switch {
	case r < 0:
		return 1
	case r > 100:
		return 4.5
	}
	return 1 + 0.035*r + r*(r-60)*(100-r)*7e-6
}

// qualityEstimate is the outcome of the E-model for one stream.
type qualityEstimate struct {
	r, mos     float64 // conversational
	rLQ, mosLQ float64 // listening quality (no delay impairment)
}

// estimateQuality rates a stream of the named codec with the given
// one-way delay and loss percentage.
func estimateQuality(codecName string, oneWay time.Duration, ppl float64) qualityEstimate {
	c := impairmentOf(codecName)
	ie := effectiveIe(c, min(max(ppl, 0), 100))
	q := qualityEstimate{
		r:   min(max(baseRFactor-delayImpairment(oneWay+c.lookahead)-ie, 0), 100),
		rLQ: min(max(baseRFactor-ie, 0), 100),
	}
	q.mos, q.mosLQ = mosFromR(q.r), mosFromR(q.rLQ)
	return q
}

// lossPercent returns the percentage of packets lost or dropped by the
// jitter buffer among those expected (received plus lost).
func lossPercent(received, lost, dropped uint64) float64 {
	expected := received + lost
	if expected == 0 {
		return 0
	}
	return 100 * float64(lost+min(dropped, received)) / float64(expected)
}

// dropped returns how many received packets the jitter buffer did not
// play: late ones and those discarded to cut its delay.
func dropped(st *Stats) uint64 { return st.Late + st.Discarded }

// playoutDelay returns the jitter buffer's current playout delay, or the
// configured one before it has measured any.
func (s *Session) playoutDelay(st *Stats) time.Duration {
	if st.JitterDelay > 0 {
		return st.JitterDelay
	}
	return s.jitterDelay
}

// oneWayDelay estimates the mouth-to-ear delay of the audio we receive:
// half the RTT plus the playout delay and one packetization interval
// (the codec's look-ahead is added by estimateQuality).
func (s *Session) oneWayDelay(n *negotiated, st *Stats) time.Duration {
	return st.RTT/2 + s.playoutDelay(st) + codecPTime(n.send.info)
}

// quality rates the audio we receive from the statistics in st.
func (s *Session) quality(n *negotiated, st *Stats) qualityEstimate {
	return estimateQuality(n.send.info.Name, s.oneWayDelay(n, st), lossPercent(st.PacketsReceived, st.PacketsLost, dropped(st)))
}
