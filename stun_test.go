package voipkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voipkit/voipkit/internal/stunclient/stuntest"
)

// captureInvite dials a UDP socket that only listens, from p, and returns
// the INVITE that arrives there.
func captureInvite(t *testing.T, p *Phone) string {
	t.Helper()
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.Dial(ctx, "sip:bob@"+conn.LocalAddr().String()); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 8192)
	n, _, err := conn.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no INVITE arrived: %v", err)
	}
	return string(buf[:n])
}

func header(msg, name string) string {
	for _, line := range strings.Split(msg, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestSTUNPhoneAdvertisesPublicAddr(t *testing.T) {
	leakCheck(t)
	srv := stuntest.Start(t, stuntest.Answer, stuntest.Shift("127.0.0.2", 7))
	p := newTestPhone(t, Config{STUNServer: srv.Addr().String()})
	sipPublic := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), uint16(p.SIPPort()+7))
	if got := p.PublicAddr(); got != sipPublic {
		t.Fatalf("PublicAddr = %v, want %v", got, sipPublic)
	}
	if u := p.URI("alice"); !strings.Contains(u, "@"+sipPublic.String()) {
		t.Errorf("URI = %s, want the public address %v", u, sipPublic)
	}
	inv := captureInvite(t, p.Phone)
	if c := header(inv, "Contact"); !strings.Contains(c, sipPublic.String()) {
		t.Errorf("Contact = %q, want %v", c, sipPublic)
	}
	if v := header(inv, "Via"); !strings.Contains(v, "UDP "+sipPublic.String()) {
		t.Errorf("Via = %q, want sent-by %v", v, sipPublic)
	}
	if !strings.Contains(inv, "c=IN IP4 127.0.0.2\r\n") {
		t.Errorf("SDP lacks the public c= address:\n%s", inv)
	}
	// The m= port is the one the server mapped the call's RTP socket to.
	var mport int
	for _, line := range strings.Split(inv, "\r\n") {
		if strings.HasPrefix(line, "m=audio ") {
			fmt.Sscanf(line, "m=audio %d", &mport)
		}
	}
	rtpLocal := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(mport-7))
	if mport == 0 || srv.Requests(rtpLocal) == 0 {
		t.Errorf("m=audio port %d is not the mapping of a socket that asked (%v)", mport, srv.Sources())
	}
}

// lockedBuffer is a log destination tests can read while the Phone writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestSTUNPhoneDeadServerFallsBack(t *testing.T) {
	leakCheck(t)
	srv := stuntest.Start(t, stuntest.Silent, nil)
	var logs lockedBuffer
	const timeout = 300 * time.Millisecond
	start := time.Now()
	p := newTestPhone(t, Config{STUNServer: srv.Addr().String(), STUNTimeout: timeout,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if took := time.Since(start); took > timeout+time.Second {
		t.Errorf("NewPhone took %v with a %v STUN timeout", took, timeout)
	}
	if a := p.PublicAddr(); a.IsValid() {
		t.Fatalf("PublicAddr = %v with a dead server", a)
	}
	local := fmt.Sprintf("127.0.0.1:%d", p.SIPPort())
	if u := p.URI("alice"); !strings.Contains(u, local) {
		t.Errorf("URI = %s, want the local address %s", u, local)
	}
	start = time.Now()
	inv := captureInvite(t, p.Phone)
	if took := time.Since(start); took > timeout+2*time.Second {
		t.Errorf("dialling took %v with a dead STUN server", took)
	}
	if !strings.Contains(header(inv, "Contact"), local) || !strings.Contains(inv, "c=IN IP4 127.0.0.1\r\n") {
		t.Errorf("INVITE does not fall back to local addresses:\n%s", inv)
	}
	if l := logs.String(); !strings.Contains(l, "STUN failed") || !strings.Contains(l, "no response") {
		t.Errorf("the failure was not logged:\n%s", l)
	}
}

func TestSTUNPhoneBadServer(t *testing.T) {
	leakCheck(t)
	_, err := NewPhone(Config{ListenAddr: netip.MustParseAddrPort("127.0.0.1:0"), STUNServer: "no-port"})
	if !errors.Is(err, ErrSTUN) {
		t.Fatalf("err = %v, want ErrSTUN", err)
	}
}
