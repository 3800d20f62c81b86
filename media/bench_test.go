package media

import (
	"encoding/binary"
	"log/slog"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/codec"
)

// tableSource replays one second of a precomputed 1 kHz tone, so that
// benchmarks measure the media path rather than math.Sin.
type tableSource struct {
	table []int16
	pos   int
}

func newTableSource(rate int) *tableSource {
	t := &tableSource{table: make([]int16, rate)}
	for i := range t.table {
		t.table[i] = int16(10000 * math.Sin(2*math.Pi*1000*float64(i)/float64(rate)))
	}
	return t
}

func (t *tableSource) ReadFrame(f *audio.Frame) error {
	for i := range f.Samples {
		f.Samples[i] = t.table[t.pos]
		t.pos++
		if t.pos == len(t.table) {
			t.pos = 0
		}
	}
	return nil
}

func pcmu(b testing.TB) codec.Codec {
	c, err := codec.Lookup("PCMU")
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkSendPath measures one frame from the Source through the
// encoder into a marshalled RTP packet (no socket).
func BenchmarkSendPath(b *testing.B) {
	snd := newSender()
	if err := snd.configure(bind(pcmu(b), 0, 20*time.Millisecond)); err != nil {
		b.Fatal(err)
	}
	h := &sourceHolder{src: newTableSource(8000)}
	b.ReportAllocs()
	for b.Loop() {
		if err := snd.fill(h); err != nil {
			b.Fatal(err)
		}
		pkt, n, err := snd.packetize()
		if err != nil || n != 160 || len(pkt) != 172 {
			b.Fatalf("packetize: %d %d %v", len(pkt), n, err)
		}
	}
}

// newBenchSession returns a negotiated Session without sockets, enough
// for the receive and playout paths.
func newBenchSession(b testing.TB, remote netip.AddrPort) *Session {
	// Adaptive, but never below 40 ms: on this steady stream it stays at
	// 40 ms, two packets buffered.
	jc := jitterConfig{delay: 40 * time.Millisecond, minDelay: 40 * time.Millisecond}
	return socketlessSession(jc, bind(pcmu(b), 0, 20*time.Millisecond), remote)
}

// socketlessSession returns a Session without sockets, negotiated to send
// and receive pc with remote, for tests and benchmarks that drive its
// send, receive and playout paths themselves.
func socketlessSession(jc jitterConfig, pc payloadCodec, remote netip.AddrPort) *Session {
	s := &Session{log: slog.New(slog.DiscardHandler), jb: newJitterBuffer(jc), done: make(chan struct{})}
	s.neg.Store(&negotiated{
		send: pc, recv: []payloadCodec{pc}, dtmfPT: 101, sendOK: true, recvOK: true,
		remote: &Description{Addr: remote},
	})
	s.rtpDest.Store(&remote)
	return s
}

// BenchmarkReceivePath measures one received packet through validation,
// statistics and the jitter buffer, then one playout frame: pop, decode
// and write to the Sink (no socket).
func BenchmarkReceivePath(b *testing.B) {
	remote := netip.MustParseAddrPort("127.0.0.1:40000")
	s := newBenchSession(b, remote)
	sink := &discardSink{}
	s.SetSink(sink)
	r, p := newReceiver(s), newPlayer(s)
	pkt := rtpPacket(b, 0, 0, 0, 0x11223344, make([]byte, 160))
	var seq uint16
	var ts uint32
	var arrival time.Duration
	step := func() {
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], ts)
		r.handle(pkt, remote, arrival)
		p.playOne()
		seq++
		ts += 160
		arrival += 20 * time.Millisecond
	}
	// Warm up: every jitter buffer slot gets its payload buffer once.
	for range 2 * len(s.jb.slots) {
		step()
	}
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
	b.StopTimer()
	st := s.Stats()
	if played := sink.frames; st.Garbage != 0 || st.PacketsLost != 0 || st.Concealed != 0 || uint64(played) != st.PacketsReceived-2 {
		b.Fatalf("stats %+v, %d frames played", st, played)
	}
}

func BenchmarkParseDescription(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(baresipOffer)))
	for b.Loop() {
		if _, err := ParseDescription(baresipOffer); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateOffer(b *testing.B) {
	s := newTestSession(b, "PCMU", "PCMA")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.CreateOffer(); err != nil {
			b.Fatal(err)
		}
	}
}
