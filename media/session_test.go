package media

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/codec"
)

// connect negotiates a (offerer) with b (answerer) and starts both.
// exchange runs one offer/answer: a offers, b answers and a takes the
// answer. It returns both descriptions.
func exchange(t *testing.T, a, b *Session) (offer, answer []byte) {
	t.Helper()
	offer, err := a.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	answer, err = b.AcceptOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetRemoteAnswer(answer); err != nil {
		t.Fatal(err)
	}
	return offer, answer
}

func connect(t *testing.T, a, b *Session) {
	t.Helper()
	exchange(t, a, b)
	for _, s := range []*Session{a, b} {
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatalf("second Start: %v", err)
		}
	}
}

// checkTone asserts that samples hold a tone of freq Hz at a level of
// at least minRMS.
func checkTone(t *testing.T, what string, samples []int16, rate int, freq float64) {
	t.Helper()
	if got := audio.DominantFrequency(samples, rate); math.Abs(got-freq) > 5 {
		t.Errorf("%s: dominant frequency %.1f Hz, want %.0f", what, got, freq)
	}
	if got := zeroCrossingFreq(samples, rate); math.Abs(got-freq) > freq*0.02 {
		t.Errorf("%s: zero crossings say %.1f Hz, want %.0f", what, got, freq)
	}
	if on, off := goertzelPower(samples, rate, freq), goertzelPower(samples, rate, freq*1.5); on < 100*off || on < 0.05 {
		t.Errorf("%s: power at %.0f Hz %.4f, at %.0f Hz %.4f", what, freq, on, freq*1.5, off)
	}
}

func TestLoopbackTone(t *testing.T) {
	a := newTestSession(t, "PCMU", "PCMA")
	b := newTestSession(t, "PCMU", "PCMA")
	a.SetSource(audio.NewTone(0.5, 1000))
	capA, capB := &captureSink{}, &captureSink{}
	a.SetSink(capA)
	b.SetSink(capB)
	connect(t, a, b)

	const frames = 50 // one second
	if !waitFor(5*time.Second, func() bool { return capB.len() >= frames*160 }) {
		t.Fatalf("B captured %d samples; A %+v; B %+v", capB.len(), a.Stats(), b.Stats())
	}
	a.Close() // stop sending, then let everything in flight arrive
	if !waitFor(2*time.Second, func() bool { return b.Stats().PacketsReceived >= a.Stats().PacketsSent }) {
		t.Errorf("B received %d of %d packets", b.Stats().PacketsReceived, a.Stats().PacketsSent)
	}
	b.Close()
	sa, sb := a.Stats(), b.Stats()
	t.Logf("A: %+v", sa)
	t.Logf("B: %+v", sb)

	if sb.PacketsReceived < 40 || sb.PacketsReceived != sa.PacketsSent {
		t.Errorf("B received %d packets, A sent %d", sb.PacketsReceived, sa.PacketsSent)
	}
	if sb.BytesReceived != 160*sb.PacketsReceived || sa.BytesSent != sb.BytesReceived {
		t.Errorf("bytes: A sent %d, B received %d", sa.BytesSent, sb.BytesReceived)
	}
	if sb.PacketsLost != 0 || sb.Garbage != 0 || sb.Duplicates != 0 || sb.Late != 0 {
		t.Errorf("B: lost %d garbage %d dup %d late %d", sb.PacketsLost, sb.Garbage, sb.Duplicates, sb.Late)
	}
	if sb.Codec != "PCMU" || sa.Codec != "PCMU" {
		t.Errorf("codecs %q %q", sa.Codec, sb.Codec)
	}
	if sb.RemoteAddr != a.LocalAddr() || sa.RemoteAddr != b.LocalAddr() {
		t.Errorf("remote addresses %v %v", sa.RemoteAddr, sb.RemoteAddr)
	}
	if sb.FirstPacketAt.IsZero() || time.Since(sb.FirstPacketAt) > 10*time.Second {
		t.Errorf("FirstPacketAt %v", sb.FirstPacketAt)
	}
	if sb.Jitter > 100*time.Millisecond {
		t.Errorf("jitter %v on loopback", sb.Jitter)
	}
	if sa.PacketsReceived < 40 {
		t.Errorf("A received %d packets of B's silence", sa.PacketsReceived)
	}

	samples, rate := capB.snapshot()
	if rate != 8000 {
		t.Fatalf("sink sample rate %d", rate)
	}
	// Skip the first frame (the tone's onset) and analyse one second.
	checkTone(t, "B", samples[160:frames*160], rate, 1000)
	if rms := audio.RMS(samples[160 : frames*160]); rms < 0.3 || rms > 0.4 {
		t.Errorf("B level %.3f, want about 0.35 (a 0.5 sine)", rms)
	}
	silence, _ := capA.snapshot()
	if len(silence) == 0 || audio.RMS(silence) > 0.001 {
		t.Errorf("A captured %d samples at level %.4f, want B's silence", len(silence), audio.RMS(silence))
	}
}

func TestSourceEOFAndSwap(t *testing.T) {
	a := newTestSession(t, "PCMA")
	b := newTestSession(t, "PCMA")
	a.SetSource(&limitedSource{src: &sineSource{freq: 1000, amp: 10000}, n: 10})
	capB := &captureSink{}
	b.SetSink(capB)
	connect(t, a, b)

	// The source ends after 10 frames; media must go on with silence.
	if !waitFor(5*time.Second, func() bool { return b.Stats().PacketsReceived >= 30 }) {
		t.Fatalf("B stats %+v", b.Stats())
	}
	samples, _ := capB.snapshot()
	if n := len(samples); n < 25*160 || audio.RMS(samples[n-10*160:]) > 0.001 {
		t.Errorf("after the source ended: %d samples, tail level %.4f", n, audio.RMS(samples[max(n-10*160, 0):]))
	}
	if audio.RMS(samples[:8*160]) < 0.1 {
		t.Errorf("the first frames should carry the tone")
	}

	// A new source replaces silence while running.
	mark := capB.len()
	a.SetSource(&sineSource{freq: 500, amp: 10000})
	if !waitFor(5*time.Second, func() bool { return capB.len() >= mark+30*160 }) {
		t.Fatalf("B stats %+v", b.Stats())
	}
	samples, rate := capB.snapshot()
	checkTone(t, "after SetSource", samples[len(samples)-15*160:], rate, 500)
	if st := b.Stats(); st.Codec != "PCMA" || st.PacketsLost != 0 {
		t.Errorf("B stats %+v", st)
	}
}

func TestHoldStopsSending(t *testing.T) {
	a := newTestSession(t, "PCMU")
	b := newTestSession(t, "PCMU")
	connect(t, a, b)
	if !waitFor(5*time.Second, func() bool { return a.Stats().PacketsReceived >= 5 && b.Stats().PacketsReceived >= 5 }) {
		t.Fatal("no media before hold")
	}

	// A puts B on hold with a sendonly re-offer; B answers recvonly.
	a.SetDirection(DirectionSendOnly)
	_, answer := exchange(t, a, b)
	if d, _ := ParseDescription(answer); d.Direction != DirectionRecvOnly {
		t.Fatalf("answer to hold: %v", d.Direction)
	}
	time.Sleep(100 * time.Millisecond) // let packets in flight land
	held := b.Stats().PacketsSent
	receivedByB := b.Stats().PacketsReceived
	time.Sleep(300 * time.Millisecond)
	if sent := b.Stats().PacketsSent; sent != held {
		t.Errorf("B sent %d packets while on hold", sent-held)
	}
	if got := b.Stats().PacketsReceived; got < receivedByB+10 {
		t.Errorf("A stopped sending during hold: %d -> %d", receivedByB, got)
	}
}

// peerStream plays the remote party from a raw socket: PCMU packets of a
// sine wave from one SSRC.
type peerStream struct {
	t    *testing.T
	enc  codec.Encoder
	src  sineSource
	seq  uint16
	ts   uint32
	ssrc uint32
}

func newPeerStream(t *testing.T, freq float64) *peerStream {
	c, err := codec.Lookup("PCMU")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	return &peerStream{t: t, enc: enc, src: sineSource{freq: freq, amp: 12000}, seq: 65500, ts: 1234, ssrc: 0xdecafbad}
}

// next returns the next packet of the stream.
func (p *peerStream) next() []byte {
	pcm := make([]int16, 160)
	p.src.ReadFrame(&audio.Frame{Samples: pcm, SampleRate: 8000})
	payload := make([]byte, 160)
	if _, err := p.enc.Encode(payload, pcm); err != nil {
		p.t.Fatal(err)
	}
	b := rtpPacket(p.t, 0, p.seq, p.ts, p.ssrc, payload)
	p.seq++
	p.ts += 160
	return b
}

func TestSymmetricRTPLatching(t *testing.T) {
	s := newTestSession(t, "PCMU")
	decoy, peer := newUDPPeer(t), newUDPPeer(t)
	decoyRTCP, peerRTCP := newUDPPeer(t), newUDPPeer(t)
	offer := string(peerOffer(decoy.addr())) + "a=rtcp:" + strconv.Itoa(int(decoyRTCP.addr().Port())) + "\r\n"
	if _, err := s.AcceptOffer([]byte(offer)); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}

	// Until the peer speaks, media goes where the SDP says.
	pkt, from, err := decoy.readRTP(2 * time.Second)
	if err != nil {
		t.Fatalf("no RTP at the SDP address: %v", err)
	}
	if from != s.LocalAddr() || pkt.PayloadType != 0 || pkt.Version != 2 {
		t.Errorf("RTP from %v: %+v", from, pkt.Header)
	}

	// The peer sends from another port (a NAT): we latch onto it.
	stream := newPeerStream(t, 1000)
	for range 3 {
		peer.send(s.LocalAddr(), stream.next())
	}
	if !waitFor(2*time.Second, func() bool { return s.Stats().RemoteAddr == peer.addr() }) {
		t.Fatalf("RemoteAddr = %v, want %v", s.Stats().RemoteAddr, peer.addr())
	}
	first := uint16(0)
	for i := range 3 {
		pkt, from, err := peer.readRTP(2 * time.Second)
		if err != nil {
			t.Fatalf("no RTP at the latched address: %v", err)
		}
		if from != s.LocalAddr() {
			t.Errorf("from %v", from)
		}
		// Sequence numbers keep counting up by one.
		if i > 0 && pkt.SequenceNumber != first+uint16(i) {
			t.Errorf("sequence %d after %d", pkt.SequenceNumber, first)
		}
		if i == 0 {
			first = pkt.SequenceNumber
		}
	}

	// The same for RTCP.
	rr, err := (&rtcp.ReceiverReport{SSRC: 0xdecafbad}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	rtcpAddr := netipAddrPort(s.LocalAddr(), 1)
	peerRTCP.send(rtcpAddr, rr)
	if !waitFor(2*time.Second, func() bool {
		st := s.Stats()
		return st.RTCPReceived == 1 && st.RemoteRTCPAddr == peerRTCP.addr()
	}) {
		t.Errorf("after RTCP from %v: %+v", peerRTCP.addr(), s.Stats())
	}
	peerRTCP.send(rtcpAddr, []byte{0x80, 0x00, 0x01})
	if !waitFor(2*time.Second, func() bool { return s.Stats().Garbage == 1 }) {
		t.Errorf("bad RTCP not counted: %+v", s.Stats())
	}

	// A single packet from yet another address does not move the latch.
	other := newUDPPeer(t)
	other.send(s.LocalAddr(), stream.next())
	time.Sleep(50 * time.Millisecond)
	if got := s.Stats().RemoteAddr; got != peer.addr() {
		t.Errorf("one stray packet moved the latch to %v", got)
	}
}

func TestGarbageIsCountedAndIgnored(t *testing.T) {
	s := newTestSession(t, "PCMU")
	peer, attacker := newUDPPeer(t), newUDPPeer(t)
	if _, err := s.AcceptOffer(peerOffer(peer.addr())); err != nil {
		t.Fatal(err)
	}
	capture := &captureSink{}
	s.SetSink(capture)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	randomBytes := func() []byte {
		b := make([]byte, 20+rng.IntN(200))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		b[0] = b[0]&0x3f | 0x40 // RTP version 1: never valid
		return b
	}
	stream := newPeerStream(t, 1000)
	garbage := [][]byte{
		randomBytes(),
		randomBytes(),
		{},                 // empty datagram
		{0x80, 0x00, 0x12}, // shorter than an RTP header
		make([]byte, 11),   // one byte short
		rtpPacket(t, 96, 1, 1, stream.ssrc, make([]byte, 160)), // payload type not negotiated
		rtpPacket(t, 8, 1, 1, stream.ssrc, make([]byte, 160)),  // PCMA: offered? no
		{0xa0, 0x00, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9}, // padding longer than the packet
		{0x81, 0x00, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1},             // CSRC count beyond the packet
		{0x80, 0xc8, 0, 6, 0, 0, 0, 1},                         // RTCP on the RTP port
	}
	const packets = 40
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	sentGarbage := 0
	for i := range packets {
		<-ticker.C
		peer.send(s.LocalAddr(), stream.next())
		if i%4 == 1 && sentGarbage < len(garbage) {
			attacker.send(s.LocalAddr(), garbage[sentGarbage])
			sentGarbage++
		}
		if i == 20 {
			// One packet of a foreign SSRC from the peer's own address.
			peer.send(s.LocalAddr(), rtpPacket(t, 0, 7, 7, 0x1234, make([]byte, 160)))
			sentGarbage++
		}
		if i == 30 {
			// Telephone events take sequence numbers but are not audio.
			for range 3 {
				peer.send(s.LocalAddr(), rtpPacket(t, 101, stream.seq, stream.ts, stream.ssrc, []byte{5, 0x8a, 0, 160}))
				stream.seq++
			}
		}
	}
	if !waitFor(2*time.Second, func() bool {
		st := s.Stats()
		return st.PacketsReceived == packets+3 && st.Garbage == uint64(sentGarbage)
	}) {
		t.Fatalf("sent %d packets and %d garbage datagrams; stats %+v", packets, sentGarbage, s.Stats())
	}
	st := s.Stats()
	if st.PacketsLost != 0 || st.TelephoneEvents != 3 || st.RemoteAddr != peer.addr() || st.Late != 0 || st.Duplicates != 0 {
		t.Errorf("stats %+v", st)
	}
	if !waitFor(2*time.Second, func() bool { return capture.len() >= (packets-5)*160 }) {
		t.Fatalf("captured %d samples", capture.len())
	}
	samples, rate := capture.snapshot()
	checkTone(t, "received", samples[160:(packets-8)*160], rate, 1000)
}

func TestReceiveDuplicatesAndReordering(t *testing.T) {
	s := newTestSession(t, "PCMU")
	peer := newUDPPeer(t)
	if _, err := s.AcceptOffer(peerOffer(peer.addr())); err != nil {
		t.Fatal(err)
	}
	capture := &captureSink{}
	s.SetSink(capture)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	stream := newPeerStream(t, 1000)
	var pkts [][]byte
	for range 30 {
		pkts = append(pkts, stream.next())
	}
	// Swap neighbours, send one twice and drop two. The sequence numbers
	// wrap from 65535 to 0 on the way.
	pkts[5], pkts[6] = pkts[6], pkts[5]
	var order [][]byte
	for i, p := range pkts {
		switch i {
		case 9:
			order = append(order, p, p)
		case 10, 20:
		default:
			order = append(order, p)
		}
	}
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for _, p := range order {
		<-ticker.C
		peer.send(s.LocalAddr(), p)
	}
	if !waitFor(2*time.Second, func() bool { return s.Stats().PacketsReceived == uint64(len(order)) }) {
		t.Fatalf("stats %+v", s.Stats())
	}
	if !waitFor(2*time.Second, func() bool { return capture.len() >= 27*160 }) {
		t.Fatalf("captured %d samples", capture.len())
	}
	st := s.Stats()
	// RFC 3550 counts the duplicate as received: 30 expected, 29 received.
	if st.PacketsLost != 1 || st.Duplicates != 1 || st.Late != 0 || st.Concealed < 2 {
		t.Errorf("want 1 lost, 1 duplicate, 0 late, ≥2 concealed: %+v", st)
	}
}

// netipAddrPort returns a with its port moved by delta.
func netipAddrPort(a netip.AddrPort, delta int) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr(), uint16(int(a.Port())+delta))
}
