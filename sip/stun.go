package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	gsip "github.com/emiago/sipgo/sip"
	"github.com/voipkit/voipkit/internal/stunclient"
)

// ErrSTUN reports that a STUN binding request (RFC 5389) failed: no
// response in time, an error response or a malformed one.
var ErrSTUN = stunclient.ErrSTUN

// stunState holds the STUN transactions in flight on the UDP listener and
// the public address learned. Responses arrive on the listener, which
// sipgo reads; stunFilter takes them out before SIP parsing.
type stunState struct {
	mu      sync.Mutex
	pending map[[12]byte]chan []byte
	public  netip.AddrPort
}

// stunFilter diverts STUN messages arriving on the UDP listener to the
// transaction waiting for them; every STUN message is kept from the SIP
// parser. It runs on sipgo's read goroutine and never blocks.
func (u *UA) stunFilter(props gsip.TransportReadProps, data []byte) ([]byte, error) {
	if !strings.EqualFold(props.Transport, "udp") || !stunclient.IsSTUN(data) {
		return data, nil
	}
	id, _ := stunclient.TransactionID(data)
	u.stun.mu.Lock()
	ch := u.stun.pending[id]
	u.stun.mu.Unlock()
	if ch != nil {
		select {
		case ch <- append([]byte(nil), data...):
		default: // a retransmitted response while one is queued
		}
	}
	return nil, nil
}

// DiscoverPublicAddr sends a STUN binding request from the UDP listener to
// server and returns the public address it maps to. From then on that
// address is the host and port of Contact and Via for UDP (TCP keeps the
// local ones). It gives up after timeout (zero: 2 s, retransmitting
// meanwhile) or when ctx ends, leaving the advertised address as it was;
// errors wrap ErrSTUN (and ErrClosed after Close). It is safe to call
// again, for example to refresh the address.
func (u *UA) DiscoverPublicAddr(ctx context.Context, server netip.AddrPort, timeout time.Duration) (netip.AddrPort, error) {
	if u.isClosed() {
		return netip.AddrPort{}, ErrClosed
	}
	if u.udpConn == nil {
		return netip.AddrPort{}, fmt.Errorf("%w: UDP is disabled", ErrSTUN)
	}
	t, err := stunclient.NewBinding()
	if err != nil {
		return netip.AddrPort{}, err
	}
	ch := make(chan []byte, 1)
	u.stun.mu.Lock()
	if u.stun.pending == nil {
		u.stun.pending = map[[12]byte]chan []byte{}
	}
	u.stun.pending[t.ID()] = ch
	u.stun.mu.Unlock()
	defer func() {
		u.stun.mu.Lock()
		delete(u.stun.pending, t.ID())
		u.stun.mu.Unlock()
	}()
	dst := net.UDPAddrFromAddrPort(server)
	addr, err := stunclient.Exchange(ctx, t, server, timeout,
		func(b []byte) error { _, err := u.udpConn.WriteTo(b, dst); return err },
		func(until time.Time) ([]byte, error) {
			timer := time.NewTimer(time.Until(until))
			defer timer.Stop()
			select {
			case b := <-ch:
				return b, nil
			case <-timer.C:
				return nil, errDeadline
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-u.closeCh:
				return nil, ErrClosed
			}
		})
	if err != nil {
		return netip.AddrPort{}, err
	}
	u.stun.mu.Lock()
	u.stun.public = addr
	u.stun.mu.Unlock()
	u.log.Debug("sip: public address learned by STUN", "local", u.udpConn.LocalAddr().String(), "public", addr.String())
	return addr, nil
}

// errDeadline is what the STUN wait returns when its interval passes; it
// matches os.ErrDeadlineExceeded as stunclient.Exchange expects.
var errDeadline error = deadlineError{}

type deadlineError struct{}

func (deadlineError) Error() string   { return "i/o timeout" }
func (deadlineError) Timeout() bool   { return true }
func (deadlineError) Is(t error) bool { return t == os.ErrDeadlineExceeded }

// PublicAddr returns the public UDP address learned by
// DiscoverPublicAddr, or the zero AddrPort.
func (u *UA) PublicAddr() netip.AddrPort {
	u.stun.mu.Lock()
	defer u.stun.mu.Unlock()
	return u.stun.public
}

// advertised returns the host and port for Contact and Via over tp: the
// STUN-learned public address for UDP when there is one, else Host and
// the local port.
func (u *UA) advertised(tp Transport) (string, int) {
	if tp != TCP {
		if pub := u.PublicAddr(); pub.IsValid() {
			return pub.Addr().String(), int(pub.Port())
		}
	}
	return u.Host(), u.port
}
