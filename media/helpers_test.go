package media

import (
	"io"
	"math"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"go.uber.org/goleak"

	"github.com/voipkit/voipkit/audio"
	_ "github.com/voipkit/voipkit/codec" // registers PCMU and PCMA
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var loopback = netip.MustParseAddr("127.0.0.1")

// newTestSession returns a Session on 127.0.0.1 that is closed when the
// test ends.
func newTestSession(t testing.TB, codecs ...string) *Session {
	t.Helper()
	s, err := NewSession(Config{LocalIP: loopback, Codecs: codecs})
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitFor polls cond every 5 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// sineSource is a Source producing an endless sine wave. It does not
// allocate, so benchmarks can use it.
type sineSource struct {
	freq, amp float64
	phase     float64 // in cycles
}

func (s *sineSource) ReadFrame(f *audio.Frame) error {
	step := s.freq / float64(f.SampleRate)
	for i := range f.Samples {
		f.Samples[i] = int16(s.amp * math.Sin(2*math.Pi*s.phase))
		s.phase += step
		if s.phase >= 1 {
			s.phase--
		}
	}
	return nil
}

// limitedSource yields n frames from src, then io.EOF.
type limitedSource struct {
	src audio.Source
	n   int
}

func (l *limitedSource) ReadFrame(f *audio.Frame) error {
	if l.n <= 0 {
		return io.EOF
	}
	l.n--
	return l.src.ReadFrame(f)
}

// captureSink records everything written to it.
type captureSink struct {
	mu      sync.Mutex
	samples []int16
	frames  int
	rate    int
}

func (c *captureSink) WriteFrame(f *audio.Frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples = append(c.samples, f.Samples...)
	c.frames++
	c.rate = f.SampleRate
	return nil
}

// snapshot returns a copy of the samples and the sample rate.
func (c *captureSink) snapshot() ([]int16, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.samples...), c.rate
}

func (c *captureSink) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.samples)
}

// discardSink drops audio without allocating.
type discardSink struct{ frames int }

func (d *discardSink) WriteFrame(*audio.Frame) error { d.frames++; return nil }

// goertzelPower returns the power of freq in samples (scaled so that a
// sine of amplitude 1.0 full scale gives about 1).
func goertzelPower(samples []int16, rate int, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, x := range samples {
		s1, s2 = float64(x)/32768+coeff*s1-s2, s1
	}
	n := float64(len(samples))
	return 4 * (s1*s1 + s2*s2 - coeff*s1*s2) / (n * n)
}

// zeroCrossingFreq estimates the frequency of a tone from its zero
// crossings.
func zeroCrossingFreq(samples []int16, rate int) float64 {
	crossings := 0
	for i := 1; i < len(samples); i++ {
		if (samples[i-1] < 0) != (samples[i] < 0) {
			crossings++
		}
	}
	return float64(crossings) / 2 / (float64(len(samples)) / float64(rate))
}

// udpPeer is a raw UDP socket on 127.0.0.1 playing the remote party.
type udpPeer struct {
	t    testing.TB
	conn *net.UDPConn
}

func newUDPPeer(t testing.TB) *udpPeer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &udpPeer{t: t, conn: c}
}

func (p *udpPeer) addr() netip.AddrPort {
	return p.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (p *udpPeer) send(to netip.AddrPort, b []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatalf("send: %v", err)
	}
}

// readRTP waits up to d for an RTP packet and returns it with its source.
func (p *udpPeer) readRTP(d time.Duration) (*rtp.Packet, netip.AddrPort, error) {
	buf := make([]byte, 2048)
	if err := p.conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		return nil, netip.AddrPort{}, err
	}
	n, from, err := p.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	var pkt rtp.Packet
	if err := pkt.Unmarshal(buf[:n]); err != nil {
		return nil, from, err
	}
	return &pkt, from, nil
}

// rtpPacket marshals an RTP packet.
func rtpPacket(t testing.TB, pt uint8, seq uint16, ts, ssrc uint32, payload []byte) []byte {
	t.Helper()
	p := rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc},
		Payload: payload,
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// peerOffer is an offer from a raw peer at addr with PCMU and
// telephone-event.
func peerOffer(addr netip.AddrPort) []byte {
	return []byte("v=0\r\n" +
		"o=peer 1 1 IN IP4 127.0.0.1\r\n" +
		"s=-\r\n" +
		"c=IN IP4 " + addr.Addr().String() + "\r\n" +
		"t=0 0\r\n" +
		"m=audio " + strconv.Itoa(int(addr.Port())) + " RTP/AVP 0 101\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-16\r\n" +
		"a=ptime:20\r\n" +
		"a=sendrecv\r\n")
}
