// Package stuntest runs a small STUN server on 127.0.0.1 for tests: it
// answers binding requests with an XOR-MAPPED-ADDRESS the test chooses,
// with an error response, or not at all.
package stuntest

import (
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/pion/stun/v3"
)

// Mode says how the server answers.
type Mode int

const (
	// Answer sends a binding success response with the mapped address.
	Answer Mode = iota
	// Silent never answers (a dead server).
	Silent
	// Refuse sends a 400 Bad Request error response.
	Refuse
)

// Server is a STUN server on 127.0.0.1. It is safe for concurrent use.
type Server struct {
	conn *net.UDPConn
	mode Mode
	mapf func(src netip.AddrPort) netip.AddrPort
	done chan struct{}

	mu       sync.Mutex
	requests map[netip.AddrPort]int // binding requests per source
}

// Start starts a server whose success responses map each request's source
// to mapf(source). It is closed when the test ends.
func Start(t testing.TB, mode Mode, mapf func(src netip.AddrPort) netip.AddrPort) *Server {
	t.Helper()
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{conn: conn, mode: mode, mapf: mapf, done: make(chan struct{}), requests: map[netip.AddrPort]int{}}
	go s.serve()
	t.Cleanup(func() {
		conn.Close()
		<-s.done
	})
	return s
}

// Addr returns the server's address.
func (s *Server) Addr() netip.AddrPort { return s.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// Requests returns how many binding requests came from src.
func (s *Server) Requests(src netip.AddrPort) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[src]
}

// Sources returns every address a binding request came from.
func (s *Server) Sources() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]netip.AddrPort, 0, len(s.requests))
	for a := range s.requests {
		out = append(out, a)
	}
	return out
}

func (s *Server) serve() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, src, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		req := new(stun.Message)
		if err := stun.Decode(append([]byte(nil), buf[:n]...), req); err != nil || req.Type != stun.BindingRequest {
			continue
		}
		s.mu.Lock()
		s.requests[src]++
		s.mu.Unlock()
		var res *stun.Message
		switch s.mode {
		case Silent:
			continue
		case Refuse:
			res, err = stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingError,
				stun.ErrorCodeAttribute{Code: stun.CodeBadRequest, Reason: []byte("Bad Request")}, stun.Fingerprint)
		default:
			m := s.mapf(src)
			res, err = stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
				&stun.XORMappedAddress{IP: m.Addr().AsSlice(), Port: int(m.Port())}, stun.Fingerprint)
		}
		if err != nil {
			continue
		}
		_, _ = s.conn.WriteToUDPAddrPort(res.Raw, src)
	}
}

// Shift returns a mapping to ip with the source port plus delta, as a NAT
// that rewrites addresses would.
func Shift(ip string, delta int) func(netip.AddrPort) netip.AddrPort {
	a := netip.MustParseAddr(ip)
	return func(src netip.AddrPort) netip.AddrPort {
		return netip.AddrPortFrom(a, uint16(int(src.Port())+delta))
	}
}
