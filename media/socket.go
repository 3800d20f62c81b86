package media

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
)

// Default RTP port range used when Config.PortMin and PortMax are zero.
const (
	defaultPortMin = 10000
	defaultPortMax = 60000
	// maxBindAttempts bounds how many port pairs NewSession tries.
	maxBindAttempts = 64
)

// listenPair binds an RTP socket on an even port of ip within
// [portMin, portMax] and an RTCP socket on the port above it. Candidate
// ports are tried in order from a random starting point, at most
// maxBindAttempts of them.
func listenPair(ip netip.Addr, portMin, portMax int) (rtpConn, rtcpConn *net.UDPConn, err error) {
	if portMin == 0 && portMax == 0 {
		portMin, portMax = defaultPortMin, defaultPortMax
	}
	if portMin < 1 || portMax > 65535 || portMin > portMax {
		return nil, nil, fmt.Errorf("%w: port range %d-%d", ErrConfig, portMin, portMax)
	}
	first := portMin + portMin%2 // lowest even port
	if first+1 > portMax {
		return nil, nil, fmt.Errorf("%w: port range %d-%d holds no even/odd pair", ErrConfig, portMin, portMax)
	}
	pairs := (portMax-1-first)/2 + 1
	network := "udp4"
	if ip.Is6() && !ip.Is4In6() {
		network = "udp6"
	}
	start := rand.IntN(pairs)
	var lastErr error
	for i := range min(pairs, maxBindAttempts) {
		port := first + 2*((start+i)%pairs)
		rtpConn, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
		if err != nil {
			lastErr = err
			continue
		}
		rtcpConn, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port+1))))
		if err != nil {
			rtpConn.Close()
			lastErr = err
			continue
		}
		return rtpConn, rtcpConn, nil
	}
	return nil, nil, fmt.Errorf("media: no free RTP/RTCP port pair on %s in %d-%d: %w", ip, portMin, portMax, lastErr)
}
