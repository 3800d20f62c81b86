package media

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voipkit/voipkit/audio"
)

// newTestHub returns a Hub on 127.0.0.1 that is closed when the test
// ends (after the sessions, whose cleanups run first).
func newTestHub(t *testing.T) *Hub {
	t.Helper()
	h, err := NewHub(HubConfig{LocalIP: loopback})
	if err != nil {
		t.Fatalf("NewHub: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// newHubSession returns a Session on h with the given config changes.
func newHubSession(t *testing.T, h *Hub, cfg Config) *Session {
	t.Helper()
	cfg.LocalIP, cfg.Hub = loopback, h
	s, err := NewSession(cfg)
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestHubCallsBetweenHubs carries four calls between two Hubs, two of
// them with SRTP. Every call's two ends share one port with the other
// calls, so each side can tell them apart only by the SSRCs the SDP
// announces: each end must hear its own peer's tone.
func TestHubCallsBetweenHubs(t *testing.T) {
	ha, hb := newTestHub(t), newTestHub(t)
	const calls = 4
	type pair struct {
		a, b       *Session
		capA, capB *captureSink
		fa, fb     float64
	}
	pairs := make([]pair, calls)
	for i := range pairs {
		cfg := Config{Codecs: []string{"PCMU"}}
		if i < 2 {
			cfg.SRTP = SRTPMandatory
		}
		p := pair{
			a: newHubSession(t, ha, cfg), b: newHubSession(t, hb, cfg),
			capA: &captureSink{}, capB: &captureSink{},
			fa: 500 + 200*float64(i), fb: 1500 + 200*float64(i),
		}
		if p.a.LocalAddr() != ha.LocalAddr() {
			t.Fatalf("session address %v, hub %v", p.a.LocalAddr(), ha.LocalAddr())
		}
		p.a.SetSource(audio.NewTone(0.5, p.fa))
		p.b.SetSource(audio.NewTone(0.5, p.fb))
		p.a.SetSink(p.capA)
		p.b.SetSink(p.capB)
		offer, _ := exchange(t, p.a, p.b)
		if !strings.Contains(string(offer), fmt.Sprintf("a=ssrc:%d cname:", p.a.rtcp.ssrc)) {
			t.Fatalf("offer on a Hub announces no SSRC:\n%s", offer)
		}
		for _, s := range []*Session{p.a, p.b} {
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
		}
		pairs[i] = p
	}
	const frames = 50 // one second
	for i, p := range pairs {
		if !waitFor(5*time.Second, func() bool { return p.capA.len() >= (frames+10)*160 && p.capB.len() >= (frames+10)*160 }) {
			t.Fatalf("call %d: captured %d and %d samples; A %+v; B %+v", i, p.capA.len(), p.capB.len(), p.a.Stats(), p.b.Stats())
		}
	}
	for i, p := range pairs {
		sa, _ := p.capA.snapshot()
		sb, _ := p.capB.snapshot()
		// Skip the jitter buffer's start and analyse one second.
		checkTone(t, fmt.Sprintf("call %d at B", i), sb[10*160:(frames+10)*160], 8000, p.fa)
		checkTone(t, fmt.Sprintf("call %d at A", i), sa[10*160:(frames+10)*160], 8000, p.fb)
		st := p.b.Stats()
		if st.Garbage != 0 || st.SRTPAuthFailures != 0 || st.PacketsLost != 0 {
			t.Errorf("call %d at B: garbage %d, auth failures %d, lost %d", i, st.Garbage, st.SRTPAuthFailures, st.PacketsLost)
		}
		if (i < 2) != (st.SRTP != "") {
			t.Errorf("call %d: SRTP suite %q", i, st.SRTP)
		}
	}
	for _, h := range []*Hub{ha, hb} {
		st := h.Stats()
		t.Logf("hub %v: %+v", h.LocalAddr(), st)
		if st.Sessions != calls || st.Unrouted != 0 {
			t.Errorf("hub %v: %d sessions, %d unrouted", h.LocalAddr(), st.Sessions, st.Unrouted)
		}
		// Four calls' packets fall due in the same ticks: a batch must
		// carry more than one.
		if st.WriteBatches == 0 || st.PacketsSent < 2*st.WriteBatches {
			t.Errorf("hub %v: %d packets in %d write batches", h.LocalAddr(), st.PacketsSent, st.WriteBatches)
		}
	}
	for _, p := range pairs {
		p.a.Close()
		p.b.Close()
	}
	if n := ha.Stats().Sessions; n != 0 {
		t.Errorf("%d sessions left on the hub after Close", n)
	}
}

// TestHubWithOwnSockets: a Session on a Hub calls one with its own port
// pair, which announces no SSRC; the Hub routes by the peer's address,
// both ways carry audio and RTCP.
func TestHubWithOwnSockets(t *testing.T) {
	h := newTestHub(t)
	a := newHubSession(t, h, Config{Codecs: []string{"PCMU"}, RTCPInterval: 100 * time.Millisecond})
	b, err := NewSession(Config{LocalIP: loopback, Codecs: []string{"PCMU"}, RTCPInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a.SetSource(audio.NewTone(0.5, 1000))
	b.SetSource(audio.NewTone(0.5, 600))
	capA, capB := &captureSink{}, &captureSink{}
	a.SetSink(capA)
	b.SetSink(capB)
	_, answer := exchange(t, b, a) // the Hub's Session answers
	if !strings.Contains(string(answer), "a=ssrc:") {
		t.Errorf("answer on a Hub announces no SSRC:\n%s", answer)
	}
	for _, s := range []*Session{a, b} {
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
	}
	if !waitFor(5*time.Second, func() bool {
		return capA.len() >= 60*160 && capB.len() >= 60*160 && a.Stats().RTCPReceived > 0 && b.Stats().RTCPReceived > 0
	}) {
		t.Fatalf("A %+v; B %+v", a.Stats(), b.Stats())
	}
	sa, _ := capA.snapshot()
	sb, _ := capB.snapshot()
	checkTone(t, "A", sa[10*160:60*160], 8000, 600)
	checkTone(t, "B", sb[10*160:60*160], 8000, 1000)
	if st := b.Stats(); st.RemoteAddr != h.LocalAddr() || st.Garbage != 0 {
		t.Errorf("B: remote %v (hub %v), garbage %d", st.RemoteAddr, h.LocalAddr(), st.Garbage)
	}
}

// TestHubUnrouted: datagrams that match no Session are counted and
// dropped, and the Session's call goes on.
func TestHubUnrouted(t *testing.T) {
	h := newTestHub(t)
	a := newHubSession(t, h, Config{Codecs: []string{"PCMU"}})
	b := newTestSession(t, "PCMU")
	capA := &captureSink{}
	a.SetSink(capA)
	b.SetSource(audio.NewTone(0.5, 800))
	connect(t, a, b)
	stray := newUDPPeer(t)
	stray.send(h.LocalAddr(), []byte("not RTP"))
	stray.send(h.LocalAddr(), rtpPacket(t, 0, 1, 160, 0xdecafbad, make([]byte, 160)))
	stray.send(netipAddrPort(h.LocalAddr(), 1), []byte{0x80, 200, 0, 1, 1, 2, 3, 4}) // RTCP port
	if !waitFor(5*time.Second, func() bool { return h.Stats().Unrouted >= 3 && capA.len() >= 30*160 }) {
		t.Fatalf("hub %+v; A captured %d samples", h.Stats(), capA.len())
	}
	if st := a.Stats(); st.Garbage != 0 {
		t.Errorf("A counted %d garbage packets: the Hub routed a stray one", st.Garbage)
	}
	sa, _ := capA.snapshot()
	checkTone(t, "A", sa[5*160:30*160], 8000, 800)
}

func TestHubConfigErrors(t *testing.T) {
	h := newTestHub(t)
	for _, cfg := range []Config{
		{LocalIP: loopback, Hub: h, PortMin: 20000, PortMax: 20100},
		{LocalIP: loopback, Hub: h, STUN: STUNConfig{Server: h.LocalAddr()}},
		{LocalIP: loopback.Next(), Hub: h},
	} {
		if _, err := NewSession(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("NewSession(%+v): %v, want ErrConfig", cfg, err)
		}
	}
	for _, cfg := range []HubConfig{{}, {LocalIP: loopback, Tick: 50 * time.Millisecond}, {LocalIP: loopback, Tick: time.Microsecond}} {
		if h, err := NewHub(cfg); !errors.Is(err, ErrConfig) {
			if h != nil {
				h.Close()
			}
			t.Errorf("NewHub(%+v): %v, want ErrConfig", cfg, err)
		}
	}
}

func TestParseSSRCAttribute(t *testing.T) {
	base := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	for attrs, want := range map[string]uint32{
		"":                              0,
		"a=ssrc:3735928559 cname:x\r\n": 3735928559,
		"a=ssrc:12 cname:x\r\na=ssrc:13 msid:y\r\n": 12,
		"a=ssrc:99999999999 cname:x\r\n":            0, // out of range: ignored
		"a=ssrc:abc\r\n":                            0,
	} {
		d, err := ParseDescription([]byte(base + attrs))
		if err != nil {
			t.Fatalf("%q: %v", attrs, err)
		}
		if d.SSRC != want {
			t.Errorf("%q: SSRC %d, want %d", attrs, d.SSRC, want)
		}
	}
}

// FuzzPacketSSRC: the Hub's demultiplexer reads any datagram without
// panicking, and names an SSRC only for one long enough to hold it.
func FuzzPacketSSRC(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("not RTP"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ssrc, ok := packetSSRC(b)
		switch {
		case !ok && ssrc != 0:
			t.Fatalf("SSRC %d without ok", ssrc)
		case ok && len(b) < 8:
			t.Fatalf("SSRC from %d bytes", len(b))
		case ok && !rtcpHeaderOK(b) && len(b) < 12:
			t.Fatalf("RTP SSRC from %d bytes", len(b))
		}
	})
}

// TestHubMediaTimeout: a Session on a Hub whose peer vanishes reports a
// media timeout, as one with its own sockets does, while another call on
// the same Hub goes on.
func TestHubMediaTimeout(t *testing.T) {
	h := newTestHub(t)
	cfg := Config{Codecs: []string{"PCMU"}, MediaTimeout: 300 * time.Millisecond, RTCPInterval: 100 * time.Millisecond}
	a := newHubSession(t, h, cfg)
	other := newHubSession(t, h, cfg)
	peer, err := NewSession(Config{LocalIP: loopback, Codecs: []string{"PCMU"}})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	otherPeer := newTestSession(t, "PCMU")
	connect(t, a, peer)
	connect(t, other, otherPeer)
	if !waitFor(5*time.Second, func() bool { return a.Stats().PacketsReceived >= 20 }) {
		t.Fatalf("A received %d packets", a.Stats().PacketsReceived)
	}
	if fired(a) || fired(other) {
		t.Fatal("timeout while packets flow")
	}
	peer.Close() // nothing comes after its RTCP BYE
	select {
	case <-a.Timeout():
	case <-time.After(5 * time.Second):
		t.Fatalf("no media timeout 5 s after the peer vanished: %+v", a.Stats())
	}
	if fired(other) || other.TimedOut() {
		t.Fatal("the other call on the Hub timed out too")
	}
	n := other.Stats().PacketsReceived
	if !waitFor(2*time.Second, func() bool { return other.Stats().PacketsReceived >= n+10 }) {
		t.Fatalf("the other call stopped receiving at %d packets", n)
	}
}

// TestHubFollowsPeerBySSRC: a peer that announces no SSRC is found by its
// address first; when its packets then come from a new address (a NAT
// rebinding) the Hub still finds it by the SSRC it learned, also after a
// re-INVITE, and the Session latches its replies onto the new address.
func TestHubFollowsPeerBySSRC(t *testing.T) {
	h := newTestHub(t)
	a := newHubSession(t, h, Config{Codecs: []string{"PCMU"}})
	first, moved := newUDPPeer(t), newUDPPeer(t)
	if _, err := a.AcceptOffer(peerOffer(first.addr())); err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	const ssrc = 0x5eed1234
	seq, ts := uint16(1), uint32(0)
	sendFrom := func(p *udpPeer, n int) {
		for range n {
			p.send(h.LocalAddr(), rtpPacket(t, 0, seq, ts, ssrc, make([]byte, 160)))
			seq, ts = seq+1, ts+160
			time.Sleep(2 * time.Millisecond)
		}
	}
	received := func(n uint64) bool {
		return waitFor(2*time.Second, func() bool { return a.Stats().PacketsReceived >= n })
	}
	sendFrom(first, 5)
	if !received(5) {
		t.Fatalf("by address: %+v; hub %+v", a.Stats(), h.Stats())
	}
	sendFrom(moved, 15)
	if !received(20) {
		t.Fatalf("after the move: %+v; hub %+v", a.Stats(), h.Stats())
	}
	if got := a.Stats().RemoteAddr; got != moved.addr() {
		t.Errorf("replies go to %v, want the new address %v", got, moved.addr())
	}
	if _, err := a.AcceptOffer(peerOffer(first.addr())); err != nil { // a re-INVITE
		t.Fatal(err)
	}
	sendFrom(moved, 5)
	if !received(25) {
		t.Fatalf("after the re-INVITE: %+v; hub %+v", a.Stats(), h.Stats())
	}
	if n := h.Stats().Unrouted; n != 0 {
		t.Errorf("%d datagrams unrouted", n)
	}
}
