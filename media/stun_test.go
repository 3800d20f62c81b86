package media

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/voipkit/voipkit/internal/stunclient/stuntest"
)

func TestSTUNSessionAnnouncesPublicAddr(t *testing.T) {
	srv := stuntest.Start(t, stuntest.Answer, stuntest.Shift("127.0.0.2", 7))
	s, err := NewSession(Config{LocalIP: netip.MustParseAddr("127.0.0.1"), STUN: STUNConfig{Server: srv.Addr(), Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	local := s.LocalAddr()
	want := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), local.Port()+7)
	if got := s.PublicAddr(); got != want {
		t.Fatalf("PublicAddr = %v, want %v", got, want)
	}
	if local.Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("LocalAddr changed to %v", local)
	}
	if srv.Requests(local) == 0 || srv.Requests(netip.AddrPortFrom(local.Addr(), local.Port()+1)) == 0 {
		t.Fatalf("the binding requests did not come from the RTP and RTCP sockets: %v", srv.Sources())
	}
	offer, err := s.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"c=IN IP4 127.0.0.2",
		fmt.Sprintf("m=audio %d RTP/AVP", want.Port()),
		fmt.Sprintf("a=rtcp:%d", local.Port()+1+7),
	} {
		if !strings.Contains(string(offer), line) {
			t.Errorf("offer lacks %q:\n%s", line, offer)
		}
	}
	if strings.Contains(string(offer), "127.0.0.1") || strings.Contains(string(offer), fmt.Sprintf(" %d ", local.Port())) {
		t.Errorf("offer still announces the local address:\n%s", offer)
	}

	// The answer side announces its public address too.
	peer, err := NewSession(Config{LocalIP: netip.MustParseAddr("127.0.0.1"), STUN: STUNConfig{Server: srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	answer, err := peer.AcceptOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	pw := peer.PublicAddr()
	if !strings.Contains(string(answer), "c=IN IP4 127.0.0.2") || !strings.Contains(string(answer), fmt.Sprintf("m=audio %d ", pw.Port())) {
		t.Errorf("answer does not announce %v:\n%s", pw, answer)
	}
	if got := peer.Remote().Addr; got != want {
		t.Errorf("answerer sees the offer's address as %v, want %v", got, want)
	}
}

func TestSTUNSessionFallsBackToLocal(t *testing.T) {
	for _, mode := range []stuntest.Mode{stuntest.Silent, stuntest.Refuse} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			srv := stuntest.Start(t, mode, stuntest.Shift("127.0.0.2", 7))
			const timeout = 300 * time.Millisecond
			start := time.Now()
			s, err := NewSession(Config{LocalIP: netip.MustParseAddr("127.0.0.1"), STUN: STUNConfig{Server: srv.Addr(), Timeout: timeout}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			took := time.Since(start)
			if took > timeout+time.Second {
				t.Errorf("NewSession took %v with a %v STUN timeout", took, timeout)
			}
			if mode == stuntest.Refuse && took > timeout/2 {
				t.Errorf("an error response should end the exchange at once; took %v", took)
			}
			if mode == stuntest.Silent && srv.Requests(s.LocalAddr()) < 2 {
				t.Errorf("requests were not retransmitted: %d", srv.Requests(s.LocalAddr()))
			}
			if a := s.PublicAddr(); a.IsValid() {
				t.Fatalf("PublicAddr = %v after a failed exchange", a)
			}
			offer, err := s.CreateOffer()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(offer), "c=IN IP4 127.0.0.1") || !strings.Contains(string(offer), fmt.Sprintf("m=audio %d ", s.LocalAddr().Port())) {
				t.Errorf("offer does not fall back to the local address:\n%s", offer)
			}
		})
	}
}
