package media

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// benchSec returns SRTP keys for suite: side A's send key is side B's
// receive key.
func benchSec(b testing.TB, suite string) (a, bb *srtpNeg) {
	b.Helper()
	su, ok := lookupSuite(suite)
	if !ok {
		b.Fatalf("suite %s", suite)
	}
	k1 := bytes.Repeat([]byte{0x11}, su.keyLen+su.saltLen)
	k2 := bytes.Repeat([]byte{0x22}, su.keyLen+su.saltLen)
	return &srtpNeg{suite: su, local: k1, remote: k2}, &srtpNeg{suite: su, local: k2, remote: k1}
}

// benchPacket is a 172-byte RTP packet: 12-byte header and 160 bytes of
// G.711 payload.
func benchPacket(b testing.TB) []byte {
	return rtpPacket(b, 0, 1000, 160000, 0x11223344, bytes.Repeat([]byte{0xd5}, 160))
}

// benchProtect protects one 172-byte packet per iteration into a reused
// buffer, advancing the sequence number.
func benchProtect(b *testing.B, suite string) {
	sec, _ := benchSec(b, suite)
	ctx, err := newSendContext(sec)
	if err != nil {
		b.Fatal(err)
	}
	plain := benchPacket(b)
	out := make([]byte, 0, 256)
	var hdr rtp.Header
	seq := uint16(1000)
	b.ReportAllocs()
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		binary.BigEndian.PutUint16(plain[2:], seq)
		seq++
		res, err := ctx.EncryptRTP(out, plain, &hdr)
		if err != nil || len(res) != len(plain)+sec.suite.tagLen {
			b.Fatalf("protect: %d bytes, %v", len(res), err)
		}
	}
}

func BenchmarkSRTPProtectAESCM80(b *testing.B) { benchProtect(b, suiteAES128SHA80) }
func BenchmarkSRTPProtectGCM(b *testing.B)     { benchProtect(b, suiteGCM128) }

// batchSize is how many packets the unprotect benchmarks protect ahead,
// with the timer stopped.
const batchSize = 1024

// protectedBatch protects consecutive packets of one stream in batches,
// so that unprotect benchmarks can consume fresh (never replayed)
// packets.
type protectedBatch struct {
	ctx   *srtp.Context
	plain []byte
	hdr   rtp.Header
	seq   uint16
	ts    uint32
	pkts  [][]byte
	next  int
}

func newProtectedBatch(b testing.TB, sec *srtpNeg) *protectedBatch {
	ctx, err := newSendContext(sec)
	if err != nil {
		b.Fatal(err)
	}
	pb := &protectedBatch{ctx: ctx, plain: benchPacket(b), seq: 65000, pkts: make([][]byte, batchSize)}
	for i := range pb.pkts {
		pb.pkts[i] = make([]byte, 0, 256)
	}
	pb.next = batchSize
	return pb
}

// take returns the next protected packet, refilling the batch (timer
// stopped) when it is used up.
func (pb *protectedBatch) take(b *testing.B) []byte {
	if pb.next == batchSize {
		b.StopTimer()
		for i := range pb.pkts {
			binary.BigEndian.PutUint16(pb.plain[2:], pb.seq)
			binary.BigEndian.PutUint32(pb.plain[4:], pb.ts)
			pb.seq++
			pb.ts += 160
			p, err := pb.ctx.EncryptRTP(pb.pkts[i][:0], pb.plain, &pb.hdr)
			if err != nil {
				b.Fatal(err)
			}
			pb.pkts[i] = p
		}
		pb.next = 0
		b.StartTimer()
	}
	p := pb.pkts[pb.next]
	pb.next++
	return p
}

func BenchmarkSRTPUnprotectAESCM80(b *testing.B) {
	secA, secB := benchSec(b, suiteAES128SHA80)
	pb := newProtectedBatch(b, secA)
	s := newBenchSession(b, netip.MustParseAddrPort("127.0.0.1:40000"))
	var u unprotector
	u.update(s, secB)
	var hdr rtp.Header
	b.ReportAllocs()
	b.SetBytes(172)
	for b.Loop() {
		if plain, ok := u.rtp(s, pb.take(b), &hdr); !ok || len(plain) != 172 {
			b.Fatalf("unprotect failed: %+v", s.Stats())
		}
	}
}

// BenchmarkSendPathSRTP is BenchmarkSendPath with SRTP
// (AES_CM_128_HMAC_SHA1_80): source, encoder, RTP header and protection
// in place.
func BenchmarkSendPathSRTP(b *testing.B) {
	snd := newSender()
	if err := snd.configure(bind(pcmu(b), 0, 20*time.Millisecond)); err != nil {
		b.Fatal(err)
	}
	sec, _ := benchSec(b, suiteAES128SHA80)
	if err := snd.secure(sec); err != nil {
		b.Fatal(err)
	}
	h := &sourceHolder{src: newTableSource(8000)}
	b.ReportAllocs()
	for b.Loop() {
		if err := snd.fill(h); err != nil {
			b.Fatal(err)
		}
		pkt, n, err := snd.packetize()
		if err != nil || n != 160 || len(pkt) != 182 {
			b.Fatalf("packetize: %d %d %v", len(pkt), n, err)
		}
	}
}

// BenchmarkReceivePathSRTP is BenchmarkReceivePath with SRTP
// (AES_CM_128_HMAC_SHA1_80): unprotect in place, validation, statistics,
// jitter buffer, then one playout frame.
func BenchmarkReceivePathSRTP(b *testing.B) {
	remote := netip.MustParseAddrPort("127.0.0.1:40000")
	s := newBenchSession(b, remote)
	secA, secB := benchSec(b, suiteAES128SHA80)
	n := *s.neg.Load()
	n.sec = secB
	s.neg.Store(&n)
	sink := &discardSink{}
	s.SetSink(sink)
	r, p := newReceiver(s), newPlayer(s)
	pb := newProtectedBatch(b, secA)
	var arrival time.Duration
	step := func() {
		r.handle(pb.take(b), remote, arrival)
		p.playOne()
		arrival += 20 * time.Millisecond
	}
	for range 2 * len(s.jb.slots) {
		step()
	}
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
	b.StopTimer()
	st := s.Stats()
	if played := sink.frames; st.SRTP != suiteAES128SHA80 || st.SRTPAuthFailures != 0 || st.SRTPReplays != 0 ||
		st.Garbage != 0 || st.PacketsLost != 0 || st.Concealed != 0 || uint64(played) != st.PacketsReceived-2 {
		b.Fatalf("stats %+v, %d frames played", st, played)
	}
}
