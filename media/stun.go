package media

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/voipkit/voipkit/internal/stunclient"
)

// ErrSTUN reports that a STUN binding request (RFC 5389) failed: no
// response in time, an error response or a malformed one. A Session whose
// STUN exchange fails still works: it announces its local address and logs
// the error.
var ErrSTUN = stunclient.ErrSTUN

// STUNConfig asks a Session to learn the public (server-reflexive)
// addresses of its RTP and RTCP sockets with STUN binding requests when it
// is created, and to announce them in its SDP (c=, o=, m= and a=rtcp)
// instead of the local ones. The zero value disables STUN.
type STUNConfig struct {
	// Server is the STUN server's address. Zero: no STUN.
	Server netip.AddrPort
	// Timeout bounds the exchange (both sockets in parallel, with
	// retransmissions). Zero: 2 s. NewSession waits at most this long.
	Timeout time.Duration
}

// publicAddr is what a Session learned from STUN; the zero value means
// nothing was learned and the local addresses are announced.
type publicAddr struct {
	rtp  netip.AddrPort
	rtcp uint16 // public RTCP port, when learned
}

// learnPublicAddr runs the STUN exchange of a new Session on its RTP and
// RTCP sockets, before any media goroutine reads them. Failures are logged
// and leave the local address in force.
func learnPublicAddr(cfg STUNConfig, rtpConn, rtcpConn *net.UDPConn, log *slog.Logger) publicAddr {
	if !cfg.Server.IsValid() {
		return publicAddr{}
	}
	local := rtpConn.LocalAddr().(*net.UDPAddr).AddrPort()
	if local.Addr().Unmap().Is4() != cfg.Server.Addr().Unmap().Is4() {
		log.Warn("media: STUN server address family differs from the RTP socket's; announcing the local address",
			"server", cfg.Server.String())
		return publicAddr{}
	}
	ctx := context.Background()
	var (
		wg       sync.WaitGroup
		rtcp     netip.AddrPort
		rtcpErr  error
		rtp      netip.AddrPort
		rtpError error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		rtcp, rtcpErr = stunclient.Bind(ctx, rtcpConn, cfg.Server, cfg.Timeout)
	}()
	rtp, rtpError = stunclient.Bind(ctx, rtpConn, cfg.Server, cfg.Timeout)
	wg.Wait()
	if rtpError != nil {
		log.Warn("media: STUN failed; announcing the local RTP address", "local", local.String(), "err", rtpError)
		return publicAddr{}
	}
	p := publicAddr{rtp: rtp}
	if rtcpErr == nil && rtcp.Addr() == rtp.Addr() {
		p.rtcp = rtcp.Port()
	} else {
		log.Warn("media: STUN for RTCP failed; announcing RTP port+1", "err", rtcpErr)
	}
	log.Debug("media: public address learned by STUN", "local", local.String(), "rtp", rtp.String(), "rtcp", p.rtcp)
	return p
}

// PublicAddr returns the RTP address learned by STUN (see
// Config.STUN), or the zero AddrPort when STUN is off or failed.
func (s *Session) PublicAddr() netip.AddrPort { return s.public.rtp }

// usePublic replaces the local address and port with the public ones
// learned by STUN, if any.
func (l *localSDP) usePublic() {
	if l.public.rtp.IsValid() {
		l.addr, l.port = l.public.rtp.Addr(), int(l.public.rtp.Port())
	}
}

// rtcpPort is the RTCP port announced in a=rtcp.
func (l *localSDP) rtcpPort() int {
	if l.public.rtp.IsValid() && l.public.rtcp != 0 {
		return int(l.public.rtcp)
	}
	return l.port + 1
}
