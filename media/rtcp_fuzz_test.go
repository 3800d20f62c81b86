package media

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// rtcpSeeds returns well-formed RTCP compounds of every kind the receive
// path handles, about the stream of SSRC ours.
func rtcpSeeds(tb testing.TB, ours uint32) [][]byte {
	tb.Helper()
	block := rtcp.ReceptionReport{SSRC: ours, FractionLost: 12, TotalLost: 3, LastSequenceNumber: 70000, Jitter: 40, LastSenderReport: 0x11223344, Delay: 655}
	compounds := [][]rtcp.Packet{
		{
			&rtcp.SenderReport{SSRC: 0x1234, NTPTime: 0xe6a1b2c3d4e5f607, RTPTime: 16000, PacketCount: 50, OctetCount: 8000, Reports: []rtcp.ReceptionReport{block}},
			rtcp.NewCNAMESourceDescription(0x1234, "peer@127.0.0.1"),
			&rtcp.ExtendedReport{SenderSSRC: 0x1234, Reports: []rtcp.ReportBlock{
				&rtcp.VoIPMetricsReportBlock{SSRC: ours, LossRate: 3, RFactor: 90, MOSLQ: 43, MOSCQ: 42, Gmin: 16},
				&rtcp.DLRRReportBlock{Reports: []rtcp.DLRRReport{{SSRC: ours, LastRR: 1, DLRR: 2}}},
			}},
		},
		{&rtcp.ReceiverReport{SSRC: 0x1234, Reports: []rtcp.ReceptionReport{block, {SSRC: ours + 1}}}},
		{&rtcp.ReceiverReport{SSRC: 0x1234}, &rtcp.Goodbye{Sources: []uint32{0x1234}, Reason: "bye"}},
		{rtcp.NewCNAMESourceDescription(0x1234, "x")},
		{&rtcp.ReceiverReport{SSRC: 0x1234}, &rtcp.ExtendedReport{SenderSSRC: 0x1234, Reports: []rtcp.ReportBlock{
			&rtcp.ReceiverReferenceTimeReportBlock{NTPTimestamp: 1},
			&rtcp.UnknownReportBlock{Bytes: []byte{1, 2, 3, 4}},
		}}},
	}
	var out [][]byte
	for _, c := range compounds {
		b, err := rtcp.Marshal(c)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzHandleRTCP feeds arbitrary datagrams to the RTCP receive path, on
// the RTCP port and muxed on the RTP port: no input may panic, each one
// counts exactly once (as RTCP or as garbage), the statistics stay in
// range, and the next report still builds and parses.
func FuzzHandleRTCP(f *testing.F) {
	// The fixed SSRC of the Session under test, so seeds can address it.
	const ours = 0x0a0b0c0d
	for _, b := range rtcpSeeds(f, ours) {
		f.Add(b)
	}
	f.Add([]byte{0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 1})
	f.Add([]byte{0xa0, 0xc8, 0x00, 0x01, 0, 0, 0, 1})
	f.Add([]byte{0x80, 0xcf, 0x00, 0x02, 0, 0, 0, 1, 7, 0, 0, 8})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newControlSession(t, Config{})
		s.rtcp.ssrc = ours
		n := s.neg.Load()
		mux := *n
		mux.rtcpMux = true
		s.neg.Store(&mux)
		// Our side sent an SR whose LSR a block may echo, and receives RTP.
		s.rtcp.noteSent(0, 8000, 0)
		s.ctr.packetsSent.Store(1)
		var st receptionStats
		receive(s, &st, 0x1234, 0, 1, 2, 3)
		rep := newReporter(s)
		if _, err := rep.build(time.Second, false); err != nil {
			t.Fatal(err)
		}

		in := append([]byte(nil), b...)
		ok := s.handleRTCP(in, 2*time.Second)
		if got := s.Stats().RTCPReceived; (got == 1) != ok || got > 1 {
			t.Fatalf("handleRTCP = %v, RTCPReceived %d", ok, got)
		}
		if ok {
			if _, err := rtcp.Unmarshal(b); err != nil {
				t.Fatalf("accepted what does not parse: %v", err)
			}
		}
		// The same datagram on the RTP port with rtcp-mux.
		if rtcpHeaderOK(b) {
			r := newReceiver(s)
			before := s.Stats()
			r.handle(append([]byte(nil), b...), netip.MustParseAddrPort("127.0.0.1:40000"), 2*time.Second)
			after := s.Stats()
			if after.RTCPReceived+after.Garbage != before.RTCPReceived+before.Garbage+1 || after.PacketsReceived != before.PacketsReceived {
				t.Fatalf("muxed: before %+v, after %+v", before, after)
			}
		}

		got := s.Stats()
		if got.RTT < 0 || got.RemoteFractionLost < 0 || got.RemoteFractionLost >= 1 || got.RemoteJitter < 0 ||
			got.RemoteMOS != 0 && (got.RemoteMOS < 1 || got.RemoteMOS > 5) || got.RemoteRFactor < 0 || got.RemoteRFactor > 100 ||
			got.MOS < 1 || got.MOS > 4.5 || got.RFactor < 0 || got.RFactor > 100 {
			t.Fatalf("stats out of range: %+v", got)
		}
		out, err := rep.build(3*time.Second, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rtcp.Unmarshal(out); err != nil {
			t.Fatalf("report after the input does not parse: %v", err)
		}
	})
}
