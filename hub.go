package voipkit

import (
	"net/netip"

	"github.com/voipkit/voipkit/media"
)

// mediaConfig completes a call's media configuration with its ports:
// the shared Hub of its media address with Config.SharedMediaPort, else
// a port pair of its own in the configured range (with STUN).
func (p *Phone) mediaConfig(mc media.Config) media.Config {
	if p.cfg.SharedMediaPort {
		if h := p.mediaHub(mc.LocalIP); h != nil {
			mc.Hub = h
			return mc
		}
	}
	mc.PortMin, mc.PortMax = p.cfg.RTPPortMin, p.cfg.RTPPortMax
	mc.STUN = p.mediaSTUN()
	return mc
}

// mediaHub returns the Hub for ip, starting it on first use; nil if it
// cannot be bound or the Phone is closing.
func (p *Phone) mediaHub(ip netip.Addr) *media.Hub {
	p.hubMu.Lock()
	defer p.hubMu.Unlock()
	if h := p.hubs[ip]; h != nil {
		return h
	}
	select {
	case <-p.quit:
		return nil
	default:
	}
	h, err := media.NewHub(media.HubConfig{LocalIP: ip, PortMin: p.cfg.RTPPortMin, PortMax: p.cfg.RTPPortMax, Logger: p.log})
	if err != nil {
		p.log.Warn("shared media port unavailable; calls use ports of their own", "ip", ip.String(), "err", err)
		return nil
	}
	if p.hubs == nil {
		p.hubs = make(map[netip.Addr]*media.Hub)
	}
	p.hubs[ip] = h
	return h
}

// closeHubs closes the shared media ports once no call uses them.
func (p *Phone) closeHubs() {
	p.hubMu.Lock()
	defer p.hubMu.Unlock()
	for ip, h := range p.hubs {
		_ = h.Close()
		delete(p.hubs, ip)
	}
}
