package sip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	gsip "github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/voipkit/voipkit/internal/stunclient/stuntest"
)

func newSTUNTestUA(t *testing.T) *UA {
	t.Helper()
	u, err := NewUA(Config{ListenAddr: netip.MustParseAddrPort("127.0.0.1:0")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	return u
}

func TestSTUNContactAndVia(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	srv := stuntest.Start(t, stuntest.Answer, func(netip.AddrPort) netip.AddrPort {
		return netip.MustParseAddrPort("127.0.0.2:40000")
	})
	u := newSTUNTestUA(t)
	local := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(u.Port()))
	got, err := u.DiscoverPublicAddr(context.Background(), srv.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := netip.MustParseAddrPort("127.0.0.2:40000")
	if got != want || u.PublicAddr() != want {
		t.Fatalf("DiscoverPublicAddr = %v, PublicAddr = %v, want %v", got, u.PublicAddr(), want)
	}
	if srv.Requests(local) == 0 {
		t.Fatalf("the binding request did not leave from the SIP socket %v: %v", local, srv.Sources())
	}
	if c := u.ContactURI("alice", UDP); c.Host != "127.0.0.2" || c.Port != 40000 {
		t.Errorf("UDP Contact = %s, want the public address", c.String())
	}
	if c := u.ContactURI("alice", TCP); c.Host != "127.0.0.1" || c.Port != u.Port() {
		t.Errorf("TCP Contact = %s, want the local address", c.String())
	}
	req := u.newRequest(gsip.OPTIONS, URI{Scheme: "sip", Host: "127.0.0.1", Port: 5060}, UDP, "")
	if via := req.Via(); via == nil || via.Host != "127.0.0.2" || via.Port != 40000 {
		t.Errorf("Via = %v, want sent-by 127.0.0.2:40000", via)
	}

	// SIP on the same socket still works, and stray STUN messages are
	// kept from the SIP parser.
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dst := net.UDPAddrFromAddrPort(local)
	stray := []byte{0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	if _, err := conn.WriteToUDP(stray, dst); err != nil {
		t.Fatal(err)
	}
	me := conn.LocalAddr().String()
	options := "OPTIONS sip:alice@" + local.String() + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + me + ";branch=z9hG4bKstun1\r\n" +
		"From: <sip:t@" + me + ">;tag=1\r\nTo: <sip:alice@" + local.String() + ">\r\n" +
		"Call-ID: stun-test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.WriteToUDP([]byte(options), dst); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 4096)
	n, _, err := conn.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no answer to OPTIONS after STUN: %v", err)
	}
	if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
		t.Fatalf("OPTIONS answered with %q", strings.SplitN(string(buf[:n]), "\r\n", 2)[0])
	}
}

func TestSTUNFailures(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	cases := []struct {
		mode   stuntest.Mode
		detail string
	}{
		{stuntest.Silent, "no response"},
		{stuntest.Refuse, "400"},
	}
	for _, tc := range cases {
		srv := stuntest.Start(t, tc.mode, stuntest.Shift("127.0.0.2", 1))
		u := newSTUNTestUA(t)
		const timeout = 300 * time.Millisecond
		start := time.Now()
		_, err := u.DiscoverPublicAddr(context.Background(), srv.Addr(), timeout)
		if !errors.Is(err, ErrSTUN) || !strings.Contains(err.Error(), tc.detail) {
			t.Fatalf("mode %d: err = %v, want ErrSTUN with %q", tc.mode, err, tc.detail)
		}
		if took := time.Since(start); took > timeout+time.Second {
			t.Errorf("mode %d: gave up after %v with a %v timeout", tc.mode, took, timeout)
		}
		if a := u.PublicAddr(); a.IsValid() {
			t.Errorf("mode %d: PublicAddr = %v after a failure", tc.mode, a)
		}
		if c := u.ContactURI("a", UDP); c.Host != "127.0.0.1" || c.Port != u.Port() {
			t.Errorf("mode %d: Contact = %s, want the local address", tc.mode, c.String())
		}
	}

	// A closed UA or a cancelled context ends the wait at once.
	srv := stuntest.Start(t, stuntest.Silent, nil)
	u := newSTUNTestUA(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := u.DiscoverPublicAddr(ctx, srv.Addr(), time.Minute); !errors.Is(err, ErrSTUN) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	_ = u.Close()
	if _, err := u.DiscoverPublicAddr(context.Background(), srv.Addr(), time.Minute); !errors.Is(err, ErrClosed) {
		t.Errorf("closed: err = %v", err)
	}
}
