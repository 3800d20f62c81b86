package voipkit

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/voipkit/voipkit/internal/stunclient"
	"github.com/voipkit/voipkit/media"
	"github.com/voipkit/voipkit/sip"
)

// ErrSTUN reports a STUN failure (RFC 5389): an unusable Config.STUNServer
// from NewPhone, or, in the log, a server that did not answer in time or
// answered with an error. A Phone whose STUN exchanges fail keeps working
// with its local addresses.
var ErrSTUN = sip.ErrSTUN

// setupSTUN resolves Config.STUNServer and learns the public address of
// the SIP UDP socket. Only an invalid server string is an error; an
// unresolvable or silent server is logged and the local address is kept.
func (p *Phone) setupSTUN() error {
	if p.cfg.STUNServer == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(p.cfg.STUNServer); err != nil {
		return fmt.Errorf("%w: STUNServer %q: %w", ErrSTUN, p.cfg.STUNServer, err)
	}
	family := 4
	if a := p.cfg.ListenAddr.Addr(); a.Is6() && !a.Is4In6() {
		family = 6
	}
	timeout := p.cfg.STUNTimeout
	if timeout <= 0 {
		timeout = stunclient.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	server, err := stunclient.Resolve(ctx, p.cfg.STUNServer, family)
	if err != nil {
		p.log.Warn("voipkit: STUN server unusable; using local addresses", "server", p.cfg.STUNServer, "err", err)
		return nil
	}
	p.stunServer = server
	if p.cfg.AdvertisedHost != "" || p.cfg.DisableUDP {
		return nil // an explicit advertised host wins for SIP
	}
	if _, err := p.ua.DiscoverPublicAddr(ctx, server, timeout); err != nil {
		p.log.Warn("voipkit: STUN failed; advertising the local SIP address", "server", server.String(), "err", err)
	}
	return nil
}

// PublicAddr returns the public address of the Phone's SIP UDP socket as
// learned by STUN (Config.STUNServer), or the zero AddrPort when STUN is
// off or failed. When valid, it is the host and port of Contact and Via.
func (p *Phone) PublicAddr() netip.AddrPort { return p.ua.PublicAddr() }

// mediaSTUN is the STUN setting of each call's media session.
func (p *Phone) mediaSTUN() media.STUNConfig {
	return media.STUNConfig{Server: p.stunServer, Timeout: p.cfg.STUNTimeout}
}
