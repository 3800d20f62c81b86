// Package stunclient sends STUN binding requests (RFC 5389) to learn the
// public (server-reflexive) address of a UDP socket. It is shared by the
// SIP user agent and the media sessions; message encoding and decoding is
// done by github.com/pion/stun/v3.
package stunclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/pion/stun/v3"
)

// ErrSTUN reports that the public address could not be learned: no
// response in time, an error response, or a malformed one.
var ErrSTUN = errors.New("STUN binding failed")

// DefaultTimeout bounds one binding exchange when no timeout is given.
const DefaultTimeout = 2 * time.Second

// Retransmission: the first retransmission after initialRTO, then doubling
// (RFC 5389 section 7.2.1, with a shorter first interval because the whole
// exchange is bounded by a call-setup-sized timeout).
const (
	initialRTO = 250 * time.Millisecond
	// maxDatagrams bounds how many unrelated datagrams one exchange reads
	// and ignores.
	maxDatagrams = 10000
)

// Transaction is one binding request. It is not safe for concurrent use.
type Transaction struct {
	id  [stun.TransactionIDSize]byte
	raw []byte
}

// NewBinding builds a binding request with a fresh transaction ID and a
// FINGERPRINT.
func NewBinding() (*Transaction, error) {
	m, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		return nil, fmt.Errorf("%w: build request: %w", ErrSTUN, err)
	}
	return &Transaction{id: m.TransactionID, raw: m.Raw}, nil
}

// ID returns the transaction ID.
func (t *Transaction) ID() [stun.TransactionIDSize]byte { return t.id }

// Request returns the encoded request.
func (t *Transaction) Request() []byte { return t.raw }

// IsSTUN reports whether b looks like a STUN message (the magic cookie
// is in place), as opposed to SIP or RTP sharing the socket.
func IsSTUN(b []byte) bool { return stun.IsMessage(b) }

// TransactionID returns the transaction ID of the STUN message b, or false
// when b is not one.
func TransactionID(b []byte) ([stun.TransactionIDSize]byte, bool) {
	var id [stun.TransactionIDSize]byte
	if !stun.IsMessage(b) {
		return id, false
	}
	copy(id[:], b[8:20])
	return id, true
}

// Parse reads a response to t. It reports ok=false when b is not a
// response to this transaction (ignore it), and an error wrapping ErrSTUN
// for an error response or a success response without a usable address.
func (t *Transaction) Parse(b []byte) (addr netip.AddrPort, ok bool, err error) {
	if id, isSTUN := TransactionID(b); !isSTUN || id != t.id {
		return netip.AddrPort{}, false, nil
	}
	m := new(stun.Message)
	if err := stun.Decode(append([]byte(nil), b...), m); err != nil {
		return netip.AddrPort{}, true, fmt.Errorf("%w: malformed response: %w", ErrSTUN, err)
	}
	if m.Type.Method != stun.MethodBinding {
		return netip.AddrPort{}, false, nil
	}
	if m.Contains(stun.AttrFingerprint) {
		if err := stun.Fingerprint.Check(m); err != nil {
			return netip.AddrPort{}, true, fmt.Errorf("%w: response fingerprint: %w", ErrSTUN, err)
		}
	}
	switch m.Type.Class {
	case stun.ClassErrorResponse:
		var code stun.ErrorCodeAttribute
		if err := code.GetFrom(m); err != nil {
			return netip.AddrPort{}, true, fmt.Errorf("%w: error response without ERROR-CODE", ErrSTUN)
		}
		return netip.AddrPort{}, true, fmt.Errorf("%w: server answered %d %s", ErrSTUN, code.Code, code.Reason)
	case stun.ClassSuccessResponse:
	default:
		return netip.AddrPort{}, false, nil // a request or indication
	}
	var ip net.IP
	var port int
	var xor stun.XORMappedAddress
	if err := xor.GetFrom(m); err == nil {
		ip, port = xor.IP, xor.Port
	} else {
		var mapped stun.MappedAddress // RFC 3489 servers
		if err := mapped.GetFrom(m); err != nil {
			return netip.AddrPort{}, true, fmt.Errorf("%w: response has no XOR-MAPPED-ADDRESS", ErrSTUN)
		}
		ip, port = mapped.IP, mapped.Port
	}
	a, okIP := netip.AddrFromSlice(ip)
	if !okIP || port <= 0 || port > 65535 || a.IsUnspecified() {
		return netip.AddrPort{}, true, fmt.Errorf("%w: response maps to invalid address %v:%d", ErrSTUN, ip, port)
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(port)), true, nil
}

// Exchange runs transaction t: send transmits the request (and each
// retransmission), recv returns the next datagram that arrived before
// until, or an error satisfying errors.Is(err, os.ErrDeadlineExceeded)
// when none did. It returns the mapped address, or an error wrapping
// ErrSTUN once timeout (zero: DefaultTimeout) or ctx runs out.
func Exchange(ctx context.Context, t *Transaction, server netip.AddrPort, timeout time.Duration,
	send func([]byte) error, recv func(until time.Time) ([]byte, error)) (netip.AddrPort, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	rto := initialRTO
	var nextSend time.Time
	for range maxDatagrams {
		if err := ctx.Err(); err != nil {
			return netip.AddrPort{}, fmt.Errorf("%w: %s: %w", ErrSTUN, server, err)
		}
		now := time.Now()
		if !now.Before(deadline) {
			return netip.AddrPort{}, fmt.Errorf("%w: no response from %s within %v", ErrSTUN, server, timeout)
		}
		if !now.Before(nextSend) {
			if err := send(t.raw); err != nil {
				return netip.AddrPort{}, fmt.Errorf("%w: send to %s: %w", ErrSTUN, server, err)
			}
			nextSend = now.Add(rto)
			rto *= 2
		}
		b, err := recv(minTime(nextSend, deadline))
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("%w: read from %s: %w", ErrSTUN, server, err)
		}
		addr, ok, err := t.Parse(b)
		if !ok {
			continue
		}
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("%w (server %s)", err, server)
		}
		return addr, nil
	}
	return netip.AddrPort{}, fmt.Errorf("%w: too many unrelated datagrams while waiting for %s", ErrSTUN, server)
}

// Bind learns the public address of conn, which nothing else may read
// from meanwhile: it sends a binding request to server and reads conn
// (ignoring datagrams from elsewhere) until the answer or the timeout.
// conn's read deadline is cleared afterwards.
func Bind(ctx context.Context, conn *net.UDPConn, server netip.AddrPort, timeout time.Duration) (netip.AddrPort, error) {
	t, err := NewBinding()
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer conn.SetReadDeadline(time.Time{})
	buf := make([]byte, 1500)
	dst := net.UDPAddrFromAddrPort(server)
	return Exchange(ctx, t, server, timeout,
		func(b []byte) error { _, err := conn.WriteToUDP(b, dst); return err },
		func(until time.Time) ([]byte, error) {
			if err := conn.SetReadDeadline(until); err != nil {
				return nil, err
			}
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return nil, err
			}
			if from.Addr().Unmap() != server.Addr().Unmap() || from.Port() != server.Port() {
				return nil, nil // not from the server: Parse ignores it
			}
			return buf[:n], nil
		})
}

// Resolve turns "host:port" into an address of the given family (4 or 6;
// 0: any, IPv4 first).
func Resolve(ctx context.Context, hostport string, family int) (netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: server %q: %w", ErrSTUN, hostport, err)
	}
	port, err := net.LookupPort("udp", portStr)
	if err != nil || port <= 0 {
		return netip.AddrPort{}, fmt.Errorf("%w: server %q: bad port", ErrSTUN, hostport)
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a.Unmap()}
	} else {
		addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("%w: resolve %q: %w", ErrSTUN, host, err)
		}
	}
	for _, want := range []int{4, 6} {
		if family != 0 && family != want {
			continue
		}
		for _, a := range addrs {
			a = a.Unmap()
			if (want == 4) == a.Is4() {
				return netip.AddrPortFrom(a, uint16(port)), nil
			}
		}
	}
	if family == 0 {
		return netip.AddrPort{}, fmt.Errorf("%w: server %q has no address", ErrSTUN, hostport)
	}
	return netip.AddrPort{}, fmt.Errorf("%w: server %q has no IPv%d address", ErrSTUN, hostport, family)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
