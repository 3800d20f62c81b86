package media

import (
	"bytes"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/voipkit/voipkit/audio"
)

// newControlSession returns a negotiated PCMU Session without sockets or
// goroutines, enough to build and handle RTCP with injected times.
func newControlSession(t testing.TB, cfg Config) *Session {
	t.Helper()
	s := newBenchSession(t, netip.MustParseAddrPort("127.0.0.1:40000"))
	s.jitterDelay = DefaultJitterDelay
	s.initControl(cfg)
	return s
}

// receive feeds the given sequence numbers of source ssrc (20 ms PCMU
// packets arriving on time from session clock at) into the reception
// statistics st and s, as the RTP receiver does.
func receive(s *Session, st *receptionStats, ssrc uint32, at time.Duration, seqs ...uint16) {
	for _, seq := range seqs {
		st.updateSeq(seq)
		st.updateJitter(at+time.Duration(seq)*20*time.Millisecond, uint32(seq)*160, 8000)
		s.ctr.packetsReceived.Add(1)
		s.ctr.lost.Store(st.lost())
		s.rtcp.noteReception(st, ssrc, at+time.Duration(seq)*20*time.Millisecond)
	}
}

// parseReport unmarshals a compound report.
func parseReport(t *testing.T, b []byte) []rtcp.Packet {
	t.Helper()
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		t.Fatalf("our report does not parse: %v (% x)", err, b)
	}
	return pkts
}

func TestNTPConversions(t *testing.T) {
	if got, want := toNTP(time.Unix(0, 0)), uint64(2208988800)<<32; got != want {
		t.Errorf("toNTP(Unix 0) = %#x, want %#x", got, want)
	}
	if got, want := toNTP(time.Unix(1, 500_000_000)), (uint64(2208988801)<<32)|0x80000000; got != want {
		t.Errorf("toNTP(1.5 s) = %#x, want %#x", got, want)
	}
	if got := ntpMiddle(0x0123456789abcdef); got != 0x456789ab {
		t.Errorf("ntpMiddle = %#x", got)
	}
	if got := toShortNTP(1500 * time.Millisecond); got != 98304 {
		t.Errorf("toShortNTP(1.5 s) = %d, want 98304", got)
	}
	if got := fromShortNTP(98304); got != 1500*time.Millisecond {
		t.Errorf("fromShortNTP(98304) = %v", got)
	}
	if toShortNTP(-time.Second) != 0 || toShortNTP(100000*time.Hour) != math.MaxUint32 {
		t.Error("toShortNTP does not saturate")
	}
}

func TestCumulativeLostEncoding(t *testing.T) {
	tests := []struct {
		lost int64
		enc  uint32
		dec  int32
	}{
		{0, 0, 0},
		{10, 10, 10},
		{-2, 0xfffffe, -2}, // duplicates make it negative
		{1 << 24, 0x7fffff, 1<<23 - 1},
		{-(1 << 30), 0x800000, -(1 << 23)},
	}
	for _, tt := range tests {
		enc := encodeCumulativeLost(tt.lost)
		if enc != tt.enc || decodeCumulativeLost(enc) != tt.dec {
			t.Errorf("%d: encoded %#x (want %#x), decoded %d (want %d)", tt.lost, enc, tt.enc, decodeCumulativeLost(enc), tt.dec)
		}
	}
}

func TestReceptionBlockArithmetic(t *testing.T) {
	// expected 100, received 90; the previous block said 50 and 48: the
	// interval expected 50 and got 42, so 8 lost: 8·256/50 = 40.96 → 40.
	rx := rxSnapshot{valid: true, ssrc: 7, baseSeq: 1, extMax: 70000, expected: 100, received: 90, jitter: 33}
	prior := rxPrior{valid: true, ssrc: 7, baseSeq: 1, expected: 50, received: 48}
	sr := peerSR{valid: true, ssrc: 7, lsr: 0x12345678, at: time.Second}
	b := receptionBlock(&rx, &prior, &sr, 1500*time.Millisecond)
	want := rtcp.ReceptionReport{SSRC: 7, FractionLost: 40, TotalLost: 10, LastSequenceNumber: 70000, Jitter: 33,
		LastSenderReport: 0x12345678, Delay: 32768}
	if b != want {
		t.Errorf("block %+v, want %+v", b, want)
	}
	if prior.expected != 100 || prior.received != 90 {
		t.Errorf("prior not advanced: %+v", prior)
	}
	// More received than expected in the interval (duplicates): no
	// negative fraction.
	rx.expected, rx.received = 110, 102
	if b := receptionBlock(&rx, &prior, &sr, 2*time.Second); b.FractionLost != 0 || b.TotalLost != 8 {
		t.Errorf("duplicates: %+v", b)
	}
	// An SR from another source gives no LSR.
	sr.ssrc = 8
	if b := receptionBlock(&rx, &prior, &sr, 2*time.Second); b.LastSenderReport != 0 || b.Delay != 0 {
		t.Errorf("LSR from another source: %+v", b)
	}
	// A new run (sequence restart) counts from its own start.
	rx = rxSnapshot{valid: true, ssrc: 7, baseSeq: 500, expected: 4, received: 3}
	if b := receptionBlock(&rx, &prior, &sr, 3*time.Second); b.FractionLost != 64 || b.TotalLost != 1 {
		t.Errorf("new run: %+v (1 of 4 lost is 64/256)", b)
	}
}

func TestReceptionBlockFromPackets(t *testing.T) {
	s := newControlSession(t, Config{})
	var st receptionStats
	// Sequence 1..10 without 4 and 5; the 10th packet arrives 10 ms late:
	// transit differs by 80 timestamp units once, J = 80/16 = 5.
	receive(s, &st, 0xabc, 0, 1, 2, 3, 6, 7, 8, 9)
	st.updateSeq(10)
	st.updateJitter(210*time.Millisecond, 1600, 8000)
	s.rtcp.noteReception(&st, 0xabc, 210*time.Millisecond)
	rep := newReporter(s)
	pkts := parseReport(t, mustBuild(t, rep, time.Second, false))
	rr, ok := pkts[0].(*rtcp.ReceiverReport)
	if !ok || len(rr.Reports) != 1 {
		t.Fatalf("first packet %T %+v, want an RR with one block", pkts[0], pkts[0])
	}
	b := rr.Reports[0]
	// 2 of 10 lost: 2·256/10 = 51.2 → 51.
	if b.SSRC != 0xabc || b.FractionLost != 51 || b.TotalLost != 2 || b.LastSequenceNumber != 10 || b.Jitter != 5 {
		t.Errorf("block %+v, want fraction 51, lost 2, highest 10, jitter 5", b)
	}
	// No packet since: the next report has no block.
	pkts = parseReport(t, mustBuild(t, rep, 2*time.Second, false))
	if rr := pkts[0].(*rtcp.ReceiverReport); len(rr.Reports) != 0 {
		t.Errorf("block without new packets: %+v", rr.Reports)
	}
	// 11..20 all arrive: fraction 0, cumulative still 2.
	receive(s, &st, 0xabc, 0, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)
	pkts = parseReport(t, mustBuild(t, rep, 3*time.Second, false))
	b = pkts[0].(*rtcp.ReceiverReport).Reports[0]
	if b.FractionLost != 0 || b.TotalLost != 2 || b.LastSequenceNumber != 20 {
		t.Errorf("block %+v, want fraction 0, lost 2, highest 20", b)
	}

	// Across the 65535 → 0 wrap the extended number counts a cycle.
	s2 := newControlSession(t, Config{})
	st = receptionStats{}
	receive(s2, &st, 0xdef, 0, 65533, 65534, 65535, 0, 2)
	pkts = parseReport(t, mustBuild(t, newReporter(s2), time.Second, false))
	b = pkts[0].(*rtcp.ReceiverReport).Reports[0]
	// 65533..65538 is 6 expected, 5 received: 256/6 = 42.67 → 42.
	if b.LastSequenceNumber != 1<<16+2 || b.TotalLost != 1 || b.FractionLost != 42 {
		t.Errorf("block across the wrap %+v, want highest %d, lost 1, fraction 42", b, 1<<16+2)
	}
}

func mustBuild(t testing.TB, rep *reporter, now time.Duration, bye bool) []byte {
	t.Helper()
	b, err := rep.build(now, bye)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(b)
}

func TestReportRoundTrip(t *testing.T) {
	s := newControlSession(t, Config{})
	var st receptionStats
	receive(s, &st, 0x5eed, 0, 1, 2, 3, 4, 5)
	s.rtcp.noteSent(1000, 8000, time.Second)
	s.ctr.packetsSent.Store(50)
	s.ctr.bytesSent.Store(8000)
	rep := newReporter(s)

	b := mustBuild(t, rep, 1500*time.Millisecond, false)
	pkts := parseReport(t, b)
	if len(pkts) != 3 {
		t.Fatalf("%d packets, want SR, SDES, XR: %v", len(pkts), pkts)
	}
	sr, ok := pkts[0].(*rtcp.SenderReport)
	if !ok {
		t.Fatalf("first packet is %T, want an SR", pkts[0])
	}
	// 500 ms after the last packet at 8 kHz: 4000 timestamp units on.
	if sr.SSRC != s.rtcp.ssrc || sr.PacketCount != 50 || sr.OctetCount != 8000 || sr.RTPTime != 5000 {
		t.Errorf("SR %+v", sr)
	}
	if want := s.rtcp.ntpAt(1500 * time.Millisecond); sr.NTPTime != want {
		t.Errorf("SR NTP %#x, want %#x", sr.NTPTime, want)
	}
	if len(sr.Reports) != 1 || sr.Reports[0].SSRC != 0x5eed || sr.Reports[0].LastSequenceNumber != 5 || sr.Reports[0].TotalLost != 0 {
		t.Errorf("SR blocks %+v", sr.Reports)
	}
	sdes, ok := pkts[1].(*rtcp.SourceDescription)
	if !ok || len(sdes.Chunks) != 1 || sdes.Chunks[0].Source != s.rtcp.ssrc || len(sdes.Chunks[0].Items) != 1 ||
		sdes.Chunks[0].Items[0].Type != rtcp.SDESCNAME || sdes.Chunks[0].Items[0].Text != s.rtcp.cname || len(s.rtcp.cname) != 16 {
		t.Errorf("SDES %+v", pkts[1])
	}
	xr, ok := pkts[2].(*rtcp.ExtendedReport)
	if !ok || xr.SenderSSRC != s.rtcp.ssrc || len(xr.Reports) != 1 {
		t.Fatalf("XR %+v", pkts[2])
	}
	vm, ok := xr.Reports[0].(*rtcp.VoIPMetricsReportBlock)
	if !ok {
		t.Fatalf("XR block %T", xr.Reports[0])
	}
	// No loss, under 100 ms of delay: R 93.2 → 93, MOS 4.41 → 44. End
	// system delay: the playout delay plus two 20 ms frames.
	st2 := s.Stats()
	jb := s.playoutDelay(&st2)
	if vm.SSRC != 0x5eed || vm.LossRate != 0 || vm.DiscardRate != 0 || vm.RFactor != 93 || vm.MOSLQ != 44 || vm.MOSCQ != 44 ||
		vm.Gmin != 16 || vm.SignalLevel != 127 || vm.ExtRFactor != 127 || vm.EndSystemDelay != ms16(jb+40*time.Millisecond) ||
		vm.JBNominal == 0 || vm.JBMaximum < vm.JBNominal || vm.RXConfig != 0x80 {
		t.Errorf("VoIP metrics %+v (playout delay %v)", vm, jb)
	}

	// We sent nothing since: the next report is still an SR (RFC 3550
	// counts the interval before the last report too), the one after an
	// RR; BYE comes last.
	if _, ok := parseReport(t, mustBuild(t, rep, 2*time.Second, false))[0].(*rtcp.SenderReport); !ok {
		t.Error("second report is not an SR")
	}
	pkts = parseReport(t, mustBuild(t, rep, 3*time.Second, true))
	if rr, ok := pkts[0].(*rtcp.ReceiverReport); !ok || rr.SSRC != s.rtcp.ssrc {
		t.Errorf("third report starts with %T, want an RR", pkts[0])
	}
	if bye, ok := pkts[len(pkts)-1].(*rtcp.Goodbye); !ok || len(bye.Sources) != 1 || bye.Sources[0] != s.rtcp.ssrc {
		t.Errorf("last packet %+v, want a BYE", pkts[len(pkts)-1])
	}

	// Without XR, and before any RTP, the report is RR + SDES.
	s2 := newControlSession(t, Config{DisableRTCPXR: true})
	pkts = parseReport(t, mustBuild(t, newReporter(s2), time.Second, false))
	if len(pkts) != 2 {
		t.Errorf("idle report: %v", pkts)
	}
	if rr, ok := pkts[0].(*rtcp.ReceiverReport); !ok || len(rr.Reports) != 0 {
		t.Errorf("idle report starts with %+v", pkts[0])
	}
}

// TestRTTFromCraftedExchange runs an SR → RR exchange between two
// Sessions with injected clocks: A sends an SR at 1 s; it reaches B 10 ms
// later; B reports 50 ms after that; the RR reaches A 10 ms later. RTT =
// A − LSR − DLSR = 70 ms − 50 ms = 20 ms.
func TestRTTFromCraftedExchange(t *testing.T) {
	a := newControlSession(t, Config{})
	b := newControlSession(t, Config{})
	a.rtcp.noteSent(160, 8000, 990*time.Millisecond)
	a.ctr.packetsSent.Store(10)
	repA, repB := newReporter(a), newReporter(b)
	srPkt := mustBuild(t, repA, time.Second, false)

	// B received A's RTP, then its SR (B's clock runs from another origin).
	var st receptionStats
	receive(b, &st, a.rtcp.ssrc, 7*time.Second, 1, 2, 3)
	if !b.handleRTCP(srPkt, 7*time.Second+10*time.Millisecond) {
		t.Fatal("B rejected A's SR")
	}
	rrPkt := mustBuild(t, repB, 7*time.Second+60*time.Millisecond, false)
	blocks := parseReport(t, rrPkt)[0].(*rtcp.ReceiverReport).Reports
	if len(blocks) != 1 || blocks[0].SSRC != a.rtcp.ssrc {
		t.Fatalf("B's blocks %+v", blocks)
	}
	if want := ntpMiddle(a.rtcp.ntpAt(time.Second)); blocks[0].LastSenderReport != want {
		t.Errorf("LSR %#x, want %#x", blocks[0].LastSenderReport, want)
	}
	if blocks[0].Delay != toShortNTP(50*time.Millisecond) {
		t.Errorf("DLSR %d, want %d", blocks[0].Delay, toShortNTP(50*time.Millisecond))
	}
	if !a.handleRTCP(rrPkt, time.Second+70*time.Millisecond) {
		t.Fatal("A rejected B's RR")
	}
	st2 := a.Stats()
	// The fields are in 1/65536 s: allow two units of rounding.
	if d := st2.RTT - 20*time.Millisecond; d < -31*time.Microsecond || d > 31*time.Microsecond {
		t.Errorf("RTT %v, want 20ms", st2.RTT)
	}
	if st2.RTCPReceived != 1 || st2.RemoteFractionLost != 0 || st2.RemoteCumulativeLost != 0 {
		t.Errorf("A's stats %+v", st2)
	}

	// A block echoing an LSR A never sent gives no RTT.
	c := newControlSession(t, Config{})
	forged, err := (&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: c.rtcp.ssrc, LastSenderReport: 0x1000, Delay: 1}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !c.handleRTCP(forged, time.Second) || c.Stats().RTT != 0 {
		t.Errorf("forged LSR gave RTT %v", c.Stats().RTT)
	}
}

func TestHandleRTCPRemoteView(t *testing.T) {
	s := newControlSession(t, Config{})
	ours, other := s.rtcp.ssrc, s.rtcp.ssrc+1
	rr := &rtcp.ReceiverReport{SSRC: 99, Reports: []rtcp.ReceptionReport{
		{SSRC: other, FractionLost: 200, TotalLost: 500, Jitter: 9999},
		{SSRC: ours, FractionLost: 64, TotalLost: 0xffffff, Jitter: 80},
	}}
	xr := &rtcp.ExtendedReport{SenderSSRC: 99, Reports: []rtcp.ReportBlock{
		&rtcp.VoIPMetricsReportBlock{SSRC: ours, RFactor: 88, MOSLQ: 42, MOSCQ: 41},
	}}
	b, err := rtcp.Marshal([]rtcp.Packet{rr, rtcp.NewCNAMESourceDescription(99, "peer"), xr, &rtcp.Goodbye{Sources: []uint32{99}}})
	if err != nil {
		t.Fatal(err)
	}
	if !s.handleRTCP(b, time.Second) {
		t.Fatal("rejected")
	}
	st := s.Stats()
	// 64/256 = 0.25; 0xffffff is −1 (a duplicate); 80 units at 8 kHz = 10 ms.
	if st.RemoteFractionLost != 0.25 || st.RemoteCumulativeLost != -1 || st.RemoteJitter != 10*time.Millisecond {
		t.Errorf("remote view %v %v %v", st.RemoteFractionLost, st.RemoteCumulativeLost, st.RemoteJitter)
	}
	if st.RemoteRFactor != 88 || st.RemoteMOS != 4.1 {
		t.Errorf("remote XR: R %v, MOS %v", st.RemoteRFactor, st.RemoteMOS)
	}
	if !s.rtcp.remote.bye || st.RTCPReceived != 1 || st.RTT != 0 {
		t.Errorf("BYE %v, stats %+v", s.rtcp.remote.bye, st)
	}
	// Unavailable XR values stay zero; MOS-LQ stands in for MOS-CQ.
	if r, m := xrQuality(&rtcp.VoIPMetricsReportBlock{RFactor: 127, MOSLQ: 38, MOSCQ: 127}); r != 0 || m != 3.8 {
		t.Errorf("xrQuality = %v, %v", r, m)
	}

	for name, bad := range map[string][]byte{
		"empty":     {},
		"short":     {0x80, 0xc9, 0, 1},
		"version 1": {0x40, 0xc9, 0, 1, 0, 0, 0, 1},
		"RTP type":  {0x80, 0x00, 0, 1, 0, 0, 0, 1},
		"overlong":  {0x80, 0xc9, 0, 9, 0, 0, 0, 1},
		"truncated": b[:len(b)-3],
	} {
		if s.handleRTCP(bad, 2*time.Second) {
			t.Errorf("%s: accepted", name)
		}
	}
	if got := s.Stats().RTCPReceived; got != 1 {
		t.Errorf("RTCPReceived %d after garbage", got)
	}
}

func TestEModel(t *testing.T) {
	tests := []struct {
		name     string
		codec    string
		delay    time.Duration
		loss     float64
		r, mos   float64
		mosLQ    float64
		tolerate float64
	}{
		// R = 93.2, MOS = 1 + 3.262 + 93.2·33.2·6.8·7e-6 = 4.4093.
		{"G.711 clean", "PCMU", 80 * time.Millisecond, 0, 93.2, 4.4093, 4.4093, 1e-3},
		// Idd(200 ms) = 25·(2^(1/6) − 3·(1+1/729)^(1/6) + 2) = 3.0444.
		{"G.711 200 ms", "PCMA", 200 * time.Millisecond, 0, 90.1556, 4.3428, 4.4093, 1e-3},
		// Ie,eff = 95·2/(2+25.1) = 7.0111.
		{"G.711 2% loss", "PCMU", 50 * time.Millisecond, 2, 86.1889, 4.2348, 4.2348, 1e-3},
		// Idd(300 ms) = 14.7607 on top.
		{"G.711 300 ms 2%", "PCMU", 300 * time.Millisecond, 2, 71.4282, 3.6632, 4.2348, 1e-3},
		// G.729A: Ie 11; 5% loss: 11 + 84·5/24 = 28.5.
		{"G.729 clean", "G729", 50 * time.Millisecond, 0, 82.2, 4.1044, 4.1044, 1e-3},
		{"G.729 5%", "g729", 50 * time.Millisecond, 5, 64.7, 3.3396, 3.3396, 1e-3},
		// Everything lost, 1 s late: R clamps at 0, MOS 1; without the
		// delay R = 93.2 − 95·100/125.1 = 17.261, MOS-LQ 1.1769.
		{"all lost", "PCMU", time.Second, 100, 0, 1, 1.1769, 1e-3},
	}
	for _, tt := range tests {
		q := estimateQuality(tt.codec, tt.delay, tt.loss)
		if math.Abs(q.r-tt.r) > tt.tolerate*100 || math.Abs(q.mos-tt.mos) > tt.tolerate || math.Abs(q.mosLQ-tt.mosLQ) > tt.tolerate {
			t.Errorf("%s: R %.4f MOS %.4f LQ %.4f, want %.4f %.4f %.4f", tt.name, q.r, q.mos, q.mosLQ, tt.r, tt.mos, tt.mosLQ)
		}
	}
	if mosFromR(-5) != 1 || mosFromR(120) != 4.5 {
		t.Error("MOS not clamped")
	}
	if got := lossPercent(98, 2, 1); got != 3 {
		t.Errorf("lossPercent = %v, want 3", got)
	}
	if lossPercent(0, 0, 0) != 0 {
		t.Error("lossPercent of nothing")
	}
}

func TestRTCPInterval(t *testing.T) {
	const bw = 1000 // bytes/s: sessionRTCPBandwidth(20 ms)
	if got := sessionRTCPBandwidth(20 * time.Millisecond); got != bw {
		t.Errorf("RTCP bandwidth %v, want 0.05·2·(8000 + 40·50) = 1000", got)
	}
	tests := []struct {
		name             string
		tmin             time.Duration
		initial          bool
		members, senders int
		weSent           bool
		rnd              float64
		want             time.Duration
	}{
		{"minimum dominates", 5 * time.Second, false, 2, 2, true, 0.5, 5 * time.Second},
		{"randomized low", 5 * time.Second, false, 2, 2, true, 0, 2500 * time.Millisecond},
		{"randomized high", 5 * time.Second, false, 2, 2, true, 1, 7500 * time.Millisecond},
		{"initial halves", 5 * time.Second, true, 2, 1, false, 0.5, 2500 * time.Millisecond},
		// 150 B · 2 / 1000 B/s = 0.3 s > 0.2 s.
		{"bandwidth dominates", 200 * time.Millisecond, false, 2, 1, true, 0.5, 300 * time.Millisecond},
		// Senders a quarter of the members or fewer: 150 B · 1 / 250 B/s.
		{"few senders, sender", 100 * time.Millisecond, false, 8, 1, true, 0.5, 600 * time.Millisecond},
		// Receivers: 150 B · 7 / 750 B/s.
		{"few senders, receiver", 100 * time.Millisecond, false, 8, 1, false, 0.5, 1400 * time.Millisecond},
	}
	for _, tt := range tests {
		got := rtcpInterval(tt.tmin, tt.initial, tt.members, tt.senders, tt.weSent, 150, bw, tt.rnd)
		if d := got - tt.want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRTCPConfig(t *testing.T) {
	if _, err := NewSession(Config{LocalIP: loopback, RTCPInterval: time.Millisecond}); err == nil {
		t.Error("RTCPInterval 1 ms accepted")
	}
	s, err := NewSession(Config{LocalIP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.rtcp.interval != DefaultRTCPInterval || !s.rtcp.xr || s.mon.active != DefaultMediaTimeout || s.mon.hold != DefaultHoldMediaTimeout {
		t.Errorf("defaults: interval %v xr %v timeouts %v %v", s.rtcp.interval, s.rtcp.xr, s.mon.active, s.mon.hold)
	}
}

// TestRTCPMuxSDP: offers carry a=rtcp-mux; an answer takes it up (and
// drops a=rtcp) only when the offer has it.
func TestRTCPMuxSDP(t *testing.T) {
	a := newTestSession(t, "PCMU")
	offer, err := a.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	if d, err := ParseDescription(offer); err != nil || !d.RTCPMux || !strings.Contains(string(offer), "a=rtcp:") {
		t.Fatalf("offer lacks a=rtcp-mux or a=rtcp (%v):\n%s", err, offer)
	}
	b := newTestSession(t, "PCMU")
	muxAnswer, err := b.AcceptOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := ParseDescription(muxAnswer); err != nil || !d.RTCPMux || strings.Contains(string(muxAnswer), "a=rtcp:") {
		t.Fatalf("mux answer (%v):\n%s", err, muxAnswer)
	}
	if err := a.SetRemoteAnswer(muxAnswer); err != nil {
		t.Fatal(err)
	}
	if !a.neg.Load().rtcpMux || !b.neg.Load().rtcpMux {
		t.Error("rtcp-mux not negotiated")
	}
	c := newTestSession(t, "PCMU")
	peer := newUDPPeer(t)
	answer, err := c.AcceptOffer(peerOffer(peer.addr()))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := ParseDescription(answer); err != nil || d.RTCPMux || !strings.Contains(string(answer), "a=rtcp:") || c.neg.Load().rtcpMux {
		t.Fatalf("answer to an offer without rtcp-mux (%v):\n%s", err, answer)
	}
	// An answer without a=rtcp-mux to our offer: separate ports.
	noMux := strings.Replace(string(muxAnswer), "a=rtcp-mux\r\n", "", 1)
	if _, err := a.CreateOffer(); err != nil {
		t.Fatal(err)
	}
	if err := a.SetRemoteAnswer([]byte(noMux)); err != nil {
		t.Fatal(err)
	}
	if a.neg.Load().rtcpMux {
		t.Error("rtcp-mux without the answer's consent")
	}
}

// TestRTCPMuxWithRawPeer: with rtcp-mux our reports arrive at the peer's
// RTP port among the RTP packets, and RTCP it sends to our RTP port is
// taken as RTCP, not garbage.
func TestRTCPMuxWithRawPeer(t *testing.T) {
	s, err := NewSession(Config{LocalIP: loopback, Codecs: []string{"PCMU"}, RTCPInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	peer := newUDPPeer(t)
	if _, err := s.AcceptOffer(append(peerOffer(peer.addr()), "a=rtcp-mux\r\n"...)); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	stream := newPeerStream(t, 1000)
	buf := make([]byte, 1500)
	var sawRTCP bool
	deadline := time.Now().Add(5 * time.Second)
	for !sawRTCP && time.Now().Before(deadline) {
		peer.send(s.LocalAddr(), stream.next())
		_ = peer.conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		for {
			n, _, err := peer.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				break
			}
			if rtcpHeaderOK(buf[:n]) {
				pkts, err := rtcp.Unmarshal(buf[:n])
				if err != nil {
					t.Fatalf("muxed RTCP does not parse: %v", err)
				}
				// An SR (we send RTP too) with a block about the peer's stream.
				if sr, ok := pkts[0].(*rtcp.SenderReport); ok && len(sr.Reports) == 1 && sr.Reports[0].SSRC == stream.ssrc {
					sawRTCP = true
				}
			}
		}
	}
	if !sawRTCP {
		t.Fatal("no RTCP report about our stream on the RTP port")
	}
	rr, err := (&rtcp.ReceiverReport{SSRC: stream.ssrc}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	peer.send(s.LocalAddr(), rr)
	if !waitFor(2*time.Second, func() bool { return s.Stats().RTCPReceived == 1 }) {
		t.Errorf("muxed RTCP not received: %+v", s.Stats())
	}
	if st := s.Stats(); st.Garbage != 0 || st.RTCPSent == 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestLoopbackRTCP: two Sessions exchange reports every ~200 ms, with
// and without rtcp-mux and SRTP; each sees the other's reports, a small
// RTT and MOS about 4.4 for clean G.711.
func TestLoopbackRTCP(t *testing.T) {
	for _, tt := range []struct {
		name string
		mux  bool
		srtp SRTPPolicy
	}{
		{"rtcp-mux", true, SRTPOff},
		{"separate ports", false, SRTPOff},
		{"SRTCP rtcp-mux", true, SRTPMandatory},
		{"SRTCP separate ports", false, SRTPMandatory},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{LocalIP: loopback, Codecs: []string{"PCMU"}, RTCPInterval: 200 * time.Millisecond, SRTP: tt.srtp}
			a, err := NewSession(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := NewSession(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			a.SetSource(audio.NewTone(0.3, 1000))
			offer, err := a.CreateOffer()
			if err != nil {
				t.Fatal(err)
			}
			if !tt.mux {
				offer = bytes.Replace(offer, []byte("a=rtcp-mux\r\n"), nil, 1)
			}
			answer, err := b.AcceptOffer(offer)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.SetRemoteAnswer(answer); err != nil {
				t.Fatal(err)
			}
			if a.neg.Load().rtcpMux != tt.mux || b.neg.Load().rtcpMux != tt.mux {
				t.Fatalf("rtcp-mux negotiated %v/%v", a.neg.Load().rtcpMux, b.neg.Load().rtcpMux)
			}
			if err := a.Start(); err != nil {
				t.Fatal(err)
			}
			if err := b.Start(); err != nil {
				t.Fatal(err)
			}
			ready := func(st Stats) bool {
				return st.RTCPReceived >= 2 && st.RTT > 0 && st.RemoteMOS > 0 && st.MOS > 0
			}
			if !waitFor(10*time.Second, func() bool { return ready(a.Stats()) && ready(b.Stats()) }) {
				t.Fatalf("no report exchange:\nA %+v\nB %+v", a.Stats(), b.Stats())
			}
			for name, s := range map[string]*Session{"A": a, "B": b} {
				st := s.Stats()
				t.Logf("%s: RTCP sent %d received %d, RTT %v, R %.1f MOS %.2f, remote MOS %.1f, lost %d late %d",
					name, st.RTCPSent, st.RTCPReceived, st.RTT, st.RFactor, st.MOS, st.RemoteMOS, st.PacketsLost, st.Late)
				if st.RTT > 50*time.Millisecond || st.Garbage != 0 || st.RTCPSent == 0 {
					t.Errorf("%s: %+v", name, st)
				}
				// Clean G.711 under 100 ms mouth to ear: R 93.2, MOS 4.41.
				if st.PacketsLost == 0 && st.Late == 0 && (math.Abs(st.MOS-4.4093) > 0.001 || math.Abs(st.RFactor-93.2) > 0.001) {
					t.Errorf("%s: R %v MOS %v without loss, want 93.2 and 4.41", name, st.RFactor, st.MOS)
				}
				if st.MOS < 4 || st.MOS > 4.41 || st.RemoteMOS < 4 || st.RemoteMOS > 4.4 {
					t.Errorf("%s: MOS %v, remote MOS %v", name, st.MOS, st.RemoteMOS)
				}
			}
			// A's BYE reaches B.
			a.Close()
			if !waitFor(2*time.Second, func() bool {
				b.rtcp.mu.Lock()
				defer b.rtcp.mu.Unlock()
				return b.rtcp.remote.bye
			}) {
				t.Error("B saw no BYE")
			}
		})
	}
}

// TestRTCPPortReadOnceMuxEnds: with rtcp-mux the RTCP port is not read;
// when a later answer drops a=rtcp-mux, RTCP sent to the RTCP port is
// taken up again.
func TestRTCPPortReadOnceMuxEnds(t *testing.T) {
	a := newTestSession(t, "PCMU")
	b := newTestSession(t, "PCMU")
	connect(t, a, b)
	a.mu.Lock()
	reading := a.rtcpReading
	a.mu.Unlock()
	if reading || !a.neg.Load().rtcpMux {
		t.Fatalf("mux %v, RTCP port read %v", a.neg.Load().rtcpMux, reading)
	}
	// A re-offer whose answer leaves out a=rtcp-mux.
	offer, err := a.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	answer, err := b.AcceptOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetRemoteAnswer([]byte(strings.Replace(string(answer), "a=rtcp-mux\r\n", "", 1))); err != nil {
		t.Fatal(err)
	}
	rr, err := (&rtcp.ReceiverReport{SSRC: 1234}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	peer := newUDPPeer(t)
	if !waitFor(2*time.Second, func() bool {
		peer.send(netipAddrPort(a.LocalAddr(), 1), rr)
		return a.Stats().RTCPReceived > 0
	}) {
		t.Errorf("RTCP to the RTCP port after mux ended: %+v", a.Stats())
	}
}
