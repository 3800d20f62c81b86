package media

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// BenchmarkRTCPBuildReport measures one full compound report (SR with a
// report block, SDES CNAME, XR VoIP Metrics) from the session state to
// marshalled bytes, without SRTCP or a socket.
func BenchmarkRTCPBuildReport(b *testing.B) {
	s := newControlSession(b, Config{})
	var st receptionStats
	receive(s, &st, 0x1234, 0, 1, 2, 3, 5, 6)
	rep := newReporter(s)
	now := time.Second
	var seq uint16 = 7
	b.ReportAllocs()
	for b.Loop() {
		// New RTP both ways since the last report: an SR with a block.
		receive(s, &st, 0x1234, 0, seq)
		seq++
		s.ctr.packetsSent.Add(1)
		s.rtcp.noteSent(uint32(now/time.Millisecond)*8, 8000, now)
		now += 5 * time.Second
		pkt, err := rep.build(now, false)
		if err != nil || len(pkt) < 100 || pkt[1] != 200 {
			b.Fatalf("build: %d bytes, %v", len(pkt), err)
		}
	}
}

// BenchmarkRTCPHandle measures receiving one compound report (SR with a
// block about our stream, SDES, XR VoIP Metrics): parsing and updating
// the session's RTCP state.
func BenchmarkRTCPHandle(b *testing.B) {
	s := newControlSession(b, Config{})
	pkt := rtcpSeeds(b, s.rtcp.ssrc)[0]
	buf := make([]byte, len(pkt))
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		copy(buf, pkt)
		if !s.handleRTCP(buf, time.Second) {
			b.Fatal("rejected")
		}
	}
	b.StopTimer()
	if st := s.Stats(); st.RemoteMOS != 4.2 || st.RemoteFractionLost == 0 {
		b.Fatalf("stats %+v", st)
	}
	if _, err := rtcp.Unmarshal(pkt); err != nil {
		b.Fatal(err)
	}
}
