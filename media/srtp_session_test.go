package media

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/voipkit/voipkit/audio"
)

// TestSRTPLoopbackTone calls between two Sessions with each suite: A
// offers SRTP mandatory with only that suite, B answers with all
// supported ones. A's tone must arrive at B and B's silence at A, with
// no authentication failures.
func TestSRTPLoopbackTone(t *testing.T) {
	for _, suite := range SupportedSRTPSuites() {
		t.Run(suite, func(t *testing.T) {
			t.Parallel()
			a := newSRTPSession(t, SRTPMandatory, suite)
			b := newSRTPSession(t, SRTPOptional, SupportedSRTPSuites()...)
			a.SetSource(audio.NewTone(0.5, 1000))
			capA, capB := &captureSink{}, &captureSink{}
			a.SetSink(capA)
			b.SetSink(capB)
			connect(t, a, b)

			const frames = 40
			if !waitFor(5*time.Second, func() bool { return capB.len() >= frames*160 && capA.len() >= frames*160 }) {
				t.Fatalf("captured %d/%d samples; A %+v; B %+v", capA.len(), capB.len(), a.Stats(), b.Stats())
			}
			a.Close()
			if !waitFor(2*time.Second, func() bool { return b.Stats().PacketsReceived >= a.Stats().PacketsSent }) {
				t.Errorf("B received %d of %d packets", b.Stats().PacketsReceived, a.Stats().PacketsSent)
			}
			b.Close()
			sa, sb := a.Stats(), b.Stats()
			for name, st := range map[string]Stats{"A": sa, "B": sb} {
				if st.SRTP != suite || st.SRTPAuthFailures != 0 || st.SRTPReplays != 0 || st.Garbage != 0 || st.PacketsLost != 0 {
					t.Errorf("%s: %+v", name, st)
				}
			}
			if sb.PacketsReceived < frames || sb.PacketsReceived != sa.PacketsSent || sb.BytesReceived != 160*sb.PacketsReceived {
				t.Errorf("B received %d packets (%d bytes), A sent %d", sb.PacketsReceived, sb.BytesReceived, sa.PacketsSent)
			}
			samples, rate := capB.snapshot()
			checkTone(t, "B", samples[160:frames*160], rate, 1000)
			silence, _ := capA.snapshot()
			if audio.RMS(silence) > 0.001 {
				t.Errorf("A heard level %.4f, want B's silence", audio.RMS(silence))
			}
		})
	}
}

// tap relays RTP between two Sessions through its own socket, recording
// what crosses the wire.
type tap struct {
	t      *testing.T
	conn   *net.UDPConn
	a, b   netip.AddrPort
	mu     sync.Mutex
	fromA  [][]byte
	wg     sync.WaitGroup
	closed chan struct{}
}

func newTap(t *testing.T, a, b netip.AddrPort) *tap {
	p := newUDPPeer(t)
	tp := &tap{t: t, conn: p.conn, a: a, b: b, closed: make(chan struct{})}
	tp.wg.Add(1)
	go tp.run()
	t.Cleanup(func() {
		tp.conn.Close()
		tp.wg.Wait()
	})
	return tp
}

func (tp *tap) addr() netip.AddrPort { return tp.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (tp *tap) run() {
	defer tp.wg.Done()
	buf := make([]byte, 2048)
	for range 100000 {
		n, from, err := tp.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		pkt := append([]byte(nil), buf[:n]...)
		switch from {
		case tp.a:
			tp.mu.Lock()
			tp.fromA = append(tp.fromA, pkt)
			tp.mu.Unlock()
			_, _ = tp.conn.WriteToUDPAddrPort(pkt, tp.b)
		case tp.b:
			_, _ = tp.conn.WriteToUDPAddrPort(pkt, tp.a)
		}
	}
}

// packets returns a copy of what A sent so far.
func (tp *tap) packets() [][]byte {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([][]byte(nil), tp.fromA...)
}

func (tp *tap) send(to netip.AddrPort, b []byte) {
	if _, err := tp.conn.WriteToUDPAddrPort(b, to); err != nil {
		tp.t.Fatal(err)
	}
}

// TestSRTPWireTamperReplay sends A's SRTP through a tap to B: the wire
// carries ciphertext that only A's key opens; replayed, tampered and
// plain packets are counted and dropped while the audio goes on.
func TestSRTPWireTamperReplay(t *testing.T) {
	a := newSRTPSession(t, SRTPMandatory)
	b := newSRTPSession(t, SRTPMandatory)
	b.SetDirection(DirectionRecvOnly) // only A sends, so A never latches past the tap
	a.SetSource(audio.NewTone(0.5, 1000))
	capB := &captureSink{}
	b.SetSink(capB)
	offer, err := a.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	answer, err := b.AcceptOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	tp := newTap(t, a.LocalAddr(), b.LocalAddr())
	port := strconv.Itoa(int(b.LocalAddr().Port()))
	viaTap := strings.Replace(string(answer), "m=audio "+port+" ", "m=audio "+strconv.Itoa(int(tp.addr().Port()))+" ", 1)
	if err := a.SetRemoteAnswer([]byte(viaTap)); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Session{a, b} {
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
	}
	if !waitFor(5*time.Second, func() bool { return capB.len() >= 20*160 }) {
		t.Fatalf("B captured %d samples; B %+v", capB.len(), b.Stats())
	}

	// The wire: 12-byte header, 160 bytes of ciphertext, 10-byte tag.
	wire := tp.packets()
	aKey := a.neg.Load().sec.local
	if !bytes.Equal(aKey, b.neg.Load().sec.remote) {
		t.Fatal("B does not hold A's key")
	}
	right, err := srtp.CreateContext(aKey[:16], aKey[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	wrongKey := append([]byte(nil), aKey...)
	wrongKey[3] ^= 0x40
	wrong, err := srtp.CreateContext(wrongKey[:16], wrongKey[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range wire[:10] {
		if len(p) != 12+160+10 {
			t.Fatalf("packet %d is %d bytes", i, len(p))
		}
		if _, err := wrong.DecryptRTP(nil, p, nil); !errors.Is(err, srtp.ErrFailedToVerifyAuthTag) {
			t.Errorf("packet %d: decrypt with a wrong key: %v", i, err)
		}
		plain, err := right.DecryptRTP(nil, p, nil)
		if err != nil {
			t.Fatalf("packet %d: decrypt with A's key: %v", i, err)
		}
		if len(plain) != 172 || !bytes.Equal(plain[:12], p[:12]) || bytes.Equal(plain[12:], p[12:172]) {
			t.Errorf("packet %d: payload on the wire is not encrypted", i)
		}
		if i > 2 && bytes.Count(plain[12:], plain[12:13]) == 160 {
			t.Errorf("packet %d: decrypted payload is constant, want the tone", i)
		}
	}

	before := b.Stats()
	if before.SRTPAuthFailures != 0 || before.SRTPReplays != 0 || before.SRTP != suiteAES128SHA80 {
		t.Fatalf("B before the attack: %+v", before)
	}
	// Replays from the tap (the latched address): an old packet and the
	// newest one.
	tp.send(b.LocalAddr(), wire[1])
	tp.send(b.LocalAddr(), tp.packets()[len(tp.packets())-1])
	// Tampering from another address: a flipped payload bit with an
	// unused sequence number, a forged tag, and plain RTP.
	attacker := newUDPPeer(t)
	tampered := append([]byte(nil), wire[5]...)
	seq := uint16(tampered[2])<<8 | uint16(tampered[3])
	seq += 500
	tampered[2], tampered[3] = byte(seq>>8), byte(seq)
	tampered[40] ^= 1
	attacker.send(b.LocalAddr(), tampered)
	forged := append([]byte(nil), tampered...)
	copy(forged[len(forged)-10:], "0123456789")
	attacker.send(b.LocalAddr(), forged)
	var h rtp.Header
	if _, err := h.Unmarshal(wire[6]); err != nil {
		t.Fatal(err)
	}
	attacker.send(b.LocalAddr(), rtpPacket(t, 0, h.SequenceNumber+600, h.Timestamp, h.SSRC, make([]byte, 160)))
	if !waitFor(2*time.Second, func() bool {
		st := b.Stats()
		return st.SRTPReplays == 2 && st.SRTPAuthFailures == 3
	}) {
		t.Fatalf("B after 2 replays and 3 forgeries: %+v", b.Stats())
	}

	// Audio goes on, from the same peer.
	mark, got := capB.len(), b.Stats().PacketsReceived
	if !waitFor(5*time.Second, func() bool { return capB.len() >= mark+25*160 }) {
		t.Fatalf("B stopped playing: %+v", b.Stats())
	}
	st := b.Stats()
	if st.PacketsReceived < got+20 || st.RemoteAddr != tp.addr() || st.Garbage != 0 || st.PacketsLost != 0 || st.Duplicates != 0 {
		t.Errorf("B after the attack: %+v", st)
	}
	samples, rate := capB.snapshot()
	checkTone(t, "B after the attack", samples[len(samples)-20*160:], rate, 1000)

	// SRTCP: a receiver report protected with A's key is accepted; a
	// plain one and a replayed one are garbage.
	rr, err := (&rtcp.ReceiverReport{SSRC: h.SSRC}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	protected, err := right.EncryptRTCP(nil, rr, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The sessions negotiated rtcp-mux, so RTCP goes to the RTP port.
	rtcpAddr := netipAddrPort(b.LocalAddr(), 0)
	attacker.send(rtcpAddr, protected)
	if !waitFor(2*time.Second, func() bool { return b.Stats().RTCPReceived == 1 }) {
		t.Errorf("SRTCP not received: %+v", b.Stats())
	}
	attacker.send(rtcpAddr, rr)
	attacker.send(rtcpAddr, protected) // replay
	if !waitFor(2*time.Second, func() bool { return b.Stats().Garbage == 2 }) {
		t.Errorf("plain and replayed RTCP: %+v", b.Stats())
	}
	if st := b.Stats(); st.RTCPReceived != 1 || st.SRTPAuthFailures != 3 || st.SRTPReplays != 2 {
		t.Errorf("after plain RTCP: %+v", st)
	}
}

// TestSRTPRenegotiationKeepsRolloverCounter sends across a sequence
// number wrap with a re-negotiation (same keys) in the middle: if either
// side recreated its context, the rollover counters would disagree and
// authentication would fail.
func TestSRTPRenegotiationKeepsRolloverCounter(t *testing.T) {
	for _, suite := range []string{suiteAES128SHA80, suiteGCM128} {
		a := newSRTPSession(t, SRTPMandatory, suite)
		b := newSRTPSession(t, SRTPMandatory, suite)
		negotiate := func() (sa, sb *srtpNeg) {
			exchange(t, a, b)
			return a.neg.Load().sec, b.neg.Load().sec
		}
		secA, secB := negotiate()

		snd := newSender()
		if err := snd.configure(bind(pcmu(t), 0, 20*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		snd.hdr.SequenceNumber = 65530
		var u unprotector
		u.update(b, secB)
		send := func(k int) {
			t.Helper()
			for range k {
				clear(snd.pcm)
				pkt, _, err := snd.packetize()
				if err != nil {
					t.Fatal(err)
				}
				pkt = append([]byte(nil), pkt...)
				var h rtp.Header
				if _, ok := u.rtp(b, pkt, &h); !ok {
					t.Fatalf("%s: packet seq %d failed: %+v", suite, h.SequenceNumber, b.Stats())
				}
			}
		}
		if err := snd.secure(secA); err != nil {
			t.Fatal(err)
		}
		ctxA, ctxB := snd.srtp, u.ctx
		send(10) // wraps: the rollover counter is now 1

		secA2, secB2 := negotiate() // a re-INVITE with the same keys
		if secA2 == secA || secB2 == secB || !bytes.Equal(secA2.local, secA.local) || !secB2.sameRemote(secB) {
			t.Fatalf("%s: re-negotiation changed keys", suite)
		}
		if err := snd.secure(secA2); err != nil {
			t.Fatal(err)
		}
		u.update(b, secB2)
		if snd.srtp != ctxA || u.ctx != ctxB {
			t.Fatalf("%s: contexts were recreated for the same keys", suite)
		}
		send(10)

		// New keys mean new contexts.
		other := *secB2
		other.remote = bytes.Repeat([]byte{1}, len(secB2.remote))
		u.update(b, &other)
		if u.ctx == ctxB || u.ctx == nil {
			t.Errorf("%s: new key, same context", suite)
		}
		u.update(b, nil)
		if u.active() {
			t.Errorf("%s: plain RTP still unprotected", suite)
		}
		if st := b.Stats(); st.SRTPAuthFailures != 0 || st.SRTPReplays != 0 {
			t.Errorf("%s: %+v", suite, st)
		}
	}
}

// TestSRTPRenegotiateWhileRunning re-negotiates a running SRTP call
// (hold and resume with the same keys): no packet fails.
func TestSRTPRenegotiateWhileRunning(t *testing.T) {
	a := newSRTPSession(t, SRTPMandatory)
	b := newSRTPSession(t, SRTPOptional)
	a.SetSource(audio.NewTone(0.5, 1000))
	connect(t, a, b)
	if !waitFor(5*time.Second, func() bool { return b.Stats().PacketsReceived >= 10 && a.Stats().PacketsReceived >= 10 }) {
		t.Fatal("no media")
	}
	for _, dir := range []Direction{DirectionSendOnly, DirectionSendRecv} {
		a.SetDirection(dir)
		exchange(t, a, b)
		mark := b.Stats().PacketsReceived
		if !waitFor(5*time.Second, func() bool { return b.Stats().PacketsReceived >= mark+10 }) {
			t.Fatalf("after %v: %+v", dir, b.Stats())
		}
	}
	for name, st := range map[string]Stats{"A": a.Stats(), "B": b.Stats()} {
		if st.SRTPAuthFailures != 0 || st.SRTPReplays != 0 || st.SRTP != suiteAES128SHA80 || st.Garbage != 0 {
			t.Errorf("%s: %+v", name, st)
		}
	}
}

// TestSRTPRemoteMKI receives from a peer whose key carries an MKI
// (RFC 4568 "|1:4"): its packets end in the MKI before the tag.
func TestSRTPRemoteMKI(t *testing.T) {
	key := bytes.Repeat([]byte{5}, 30)
	su, _ := lookupSuite(suiteAES128SHA80)
	line := (&cryptoAttr{tag: 1, suite: su, key: key}).value() + "|2^20|1:4"
	s := newSRTPSession(t, SRTPOptional)
	if _, err := s.AcceptOffer(cryptoOffer(netip.MustParseAddrPort("127.0.0.1:40000"), "RTP/AVP", line)); err != nil {
		t.Fatal(err)
	}
	sec := s.neg.Load().sec
	if !bytes.Equal(sec.remoteMKI, []byte{0, 0, 0, 1}) {
		t.Fatalf("remote MKI %x", sec.remoteMKI)
	}
	var u unprotector
	u.update(s, sec)
	for i, mki := range [][]byte{{0, 0, 0, 1}, {0, 0, 0, 2}} {
		peer, err := srtp.CreateContext(key[:16], key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.MasterKeyIndicator(mki))
		if err != nil {
			t.Fatal(err)
		}
		pkt, err := peer.EncryptRTP(nil, rtpPacket(t, 0, uint16(100+i), 0, 0x5555, make([]byte, 160)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(pkt) != 12+160+4+10 {
			t.Fatalf("packet of %d bytes", len(pkt))
		}
		var h rtp.Header
		_, ok := u.rtp(s, pkt, &h)
		if ok != (i == 0) {
			t.Errorf("MKI %x: accepted %v", mki, ok)
		}
	}
	if st := s.Stats(); st.SRTPAuthFailures != 1 {
		t.Errorf("unknown MKI: %+v", st)
	}
}
