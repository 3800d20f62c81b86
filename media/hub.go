package media

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultHubTick is the pacing interval of a Hub whose HubConfig.Tick is
// zero: every Session attached to it sends and plays out what has fallen
// due once per tick. It is the usual 20 ms packetization time, the clock
// a conference bridge also runs on.
const DefaultHubTick = 20 * time.Millisecond

// hubSocketBuffer is the socket buffer size a Hub asks for.
const hubSocketBuffer = 4 << 20

// hubBatch is how many datagrams one batched read or write moves (one
// recvmmsg or sendmmsg system call on Linux).
const hubBatch = 64

// HubConfig configures a Hub.
type HubConfig struct {
	// LocalIP is the address the Hub binds and its Sessions announce. It
	// must be a specific (not unspecified) IPv4 or IPv6 address.
	LocalIP netip.Addr
	// PortMin and PortMax bound the Hub's RTP port (an even port; RTCP
	// uses the next one), as in Config. Both zero means any pair in
	// 10000-60000.
	PortMin, PortMax int
	// Tick is the pacing interval. Each Session's packets keep their own
	// schedule (a packet per packetization time); the tick sets how late
	// past that schedule one may go out. A Session with a shorter
	// packetization time sends the frames that fell due within a tick
	// together. A longer tick means fewer wake-ups and fuller batches.
	// Zero means DefaultHubTick; otherwise it must be within 1-20 ms.
	Tick time.Duration
	// Logger receives diagnostics. Nil discards them.
	Logger *slog.Logger
}

// HubStats counts a Hub's traffic.
type HubStats struct {
	// Sessions is the number of started Sessions attached to the Hub.
	Sessions int
	// PacketsSent and PacketsReceived count RTP and RTCP datagrams.
	PacketsSent, PacketsReceived uint64
	// Unrouted counts received datagrams that matched no Session: an
	// unknown SSRC from an address no Session's peer uses, or an
	// address several Sessions' peers share without a=ssrc.
	Unrouted uint64
	// WriteBatches and ReadBatches count the batched system calls; the
	// packets per batch is the saving over one call per packet.
	WriteBatches, ReadBatches uint64
}

// A Hub carries the media of many Sessions over one pair of UDP sockets
// (RTP on an even port, RTCP on the next) and drives their sending and
// playout from one pacing goroutine. Datagrams are read and written in
// batches, so a host with thousands of calls makes one system call per
// batch instead of one per packet, and wakes one goroutine per tick
// instead of one per packet and stream.
//
// Received datagrams are routed to a Session by the SSRC its peer
// announced with a=ssrc (RFC 5576), by an SSRC already seen from that
// peer, or by the peer's address when only one attached Session uses it.
// Sessions on a Hub announce their own SSRC, so two Hubs can carry calls
// between each other over one port pair each; a peer that sends from
// its announced address needs nothing special, and once found it is
// followed by its SSRC should its address change. A peer that announces
// no SSRC and sends from an address other than the one in its SDP (a
// private address behind NAT) cannot be told apart from strangers: its
// packets are counted as unrouted. Such peers need Sessions with ports
// of their own.
//
// Sessions use a Hub through Config.Hub. Their Sources and Sinks are
// then called from the Hub's pacing goroutine, so they must not block: a
// slow one delays every Session on the Hub. STUN is not available for
// Sessions on a Hub.
type Hub struct {
	log       *slog.Logger
	tick      time.Duration
	rtpConn   *net.UDPConn
	rtcpConn  *net.UDPConn
	rtpBatch  batchIO
	rtcpBatch batchIO
	local     netip.AddrPort

	routeMu sync.RWMutex // guards the routing tables and members
	members []*hubMember
	bySSRC  map[uint32]*hubMember
	byAddr  map[netip.AddrPort][]*hubMember

	out outBatch // owned by the pacing goroutine

	sent, received, unrouted atomic.Uint64
	writeBatches, readBatch  atomic.Uint64

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// hubMember is one started Session on a Hub. Each part of its state has
// one owner: recv the RTP reader, rtcp the RTCP reader, send and play the
// pacing goroutine.
type hubMember struct {
	s    *Session
	recv *receiver
	rtcp rtcpReader
	send *sendClock
	play *playClock

	// Routing keys, guarded by Hub.routeMu.
	ssrcs []uint32 // announced or learned peer SSRCs in bySSRC
	addrs []netip.AddrPort

	// busy counts readers and the pacer working on the member; detach
	// waits for it after taking the member out of the tables.
	busy sync.WaitGroup
}

// NewHub binds the Hub's sockets and starts its goroutines. Close it
// after the Sessions that use it.
func NewHub(cfg HubConfig) (*Hub, error) {
	if !cfg.LocalIP.IsValid() || cfg.LocalIP.IsUnspecified() {
		return nil, fmt.Errorf("%w: hub LocalIP %v is not a specific address", ErrConfig, cfg.LocalIP)
	}
	tick := cfg.Tick
	if tick == 0 {
		tick = DefaultHubTick
	}
	if tick < time.Millisecond || tick > 20*time.Millisecond {
		return nil, fmt.Errorf("%w: hub tick %v is outside 1-20 ms", ErrConfig, cfg.Tick)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rtpConn, rtcpConn, err := listenPair(cfg.LocalIP, cfg.PortMin, cfg.PortMax)
	if err != nil {
		return nil, err
	}
	for _, c := range []*net.UDPConn{rtpConn, rtcpConn} {
		// A tick's packets for all calls arrive as one burst; the
		// kernel caps the request at net.core.rmem_max (best effort).
		_ = c.SetReadBuffer(hubSocketBuffer)
		_ = c.SetWriteBuffer(hubSocketBuffer)
	}
	local := rtpConn.LocalAddr().(*net.UDPAddr).AddrPort()
	h := &Hub{
		log:      log.With("hub", local.String()),
		tick:     tick,
		rtpConn:  rtpConn,
		rtcpConn: rtcpConn,
		local:    netip.AddrPortFrom(cfg.LocalIP, local.Port()),
		bySSRC:   make(map[uint32]*hubMember),
		byAddr:   make(map[netip.AddrPort][]*hubMember),
		done:     make(chan struct{}),
	}
	h.rtpBatch, h.rtcpBatch = newBatchIO(rtpConn, hubBatch), newBatchIO(rtcpConn, hubBatch)
	h.out.init()
	h.wg.Add(3)
	go h.pace()
	go h.read(h.rtpBatch, false)
	go h.read(h.rtcpBatch, true)
	return h, nil
}

// LocalAddr returns the Hub's RTP address; RTCP uses the next port.
func (h *Hub) LocalAddr() netip.AddrPort { return h.local }

// Close stops the Hub's goroutines and closes its sockets. Sessions still
// attached stop sending and receiving; close them first. It is idempotent
// and always returns nil.
func (h *Hub) Close() error {
	h.closeOnce.Do(func() {
		close(h.done)
		h.rtpConn.Close()
		h.rtcpConn.Close()
		h.wg.Wait()
	})
	return nil
}

// Stats returns the Hub's counters.
func (h *Hub) Stats() HubStats {
	h.routeMu.RLock()
	n := len(h.members)
	h.routeMu.RUnlock()
	return HubStats{
		Sessions:        n,
		PacketsSent:     h.sent.Load(),
		PacketsReceived: h.received.Load(),
		Unrouted:        h.unrouted.Load(),
		WriteBatches:    h.writeBatches.Load(),
		ReadBatches:     h.readBatch.Load(),
	}
}

// attach adds a starting Session. It is called with s.mu held.
func (h *Hub) attach(s *Session) *hubMember {
	m := &hubMember{s: s, recv: newReceiver(s), send: newSendClock(s), play: newPlayClock(s)}
	m.rtcp.latch = addrLatch{dest: &s.rtcpDest}
	h.routeMu.Lock()
	h.members = append(h.members, m)
	h.routeLocked(m, s.neg.Load())
	h.routeMu.Unlock()
	return m
}

// reroute follows a new negotiation of m's Session. It is called with
// s.mu held.
func (h *Hub) reroute(m *hubMember, n *negotiated) {
	h.routeMu.Lock()
	// SSRCs stay: a learned one is what still finds a peer behind NAT,
	// whose packets do not come from the address in its SDP.
	h.unrouteAddrsLocked(m)
	h.routeLocked(m, n)
	h.routeMu.Unlock()
}

// detach takes m off the Hub and waits until no Hub goroutine works on
// it any more.
func (h *Hub) detach(m *hubMember) {
	h.routeMu.Lock()
	h.unrouteLocked(m)
	for i, x := range h.members {
		if x == m {
			last := len(h.members) - 1
			h.members[i] = h.members[last]
			h.members[last] = nil
			h.members = h.members[:last]
			break
		}
	}
	h.routeMu.Unlock()
	m.busy.Wait()
}

// routeLocked enters m's keys for negotiation n: the peer's announced
// SSRC and its RTP and RTCP addresses.
func (h *Hub) routeLocked(m *hubMember, n *negotiated) {
	if n == nil {
		return
	}
	if ssrc := n.remote.SSRC; ssrc != 0 {
		h.learnLocked(m, ssrc)
	}
	for _, a := range []netip.AddrPort{n.remote.Addr, n.remote.RTCPAddr} {
		if !a.IsValid() || a.Port() == 0 || containsAddr(m.addrs, a) {
			continue
		}
		m.addrs = append(m.addrs, a)
		h.byAddr[a] = append(h.byAddr[a], m)
	}
}

// learnLocked routes packets from ssrc to m, unless another member
// already has it.
func (h *Hub) learnLocked(m *hubMember, ssrc uint32) {
	if _, taken := h.bySSRC[ssrc]; taken {
		return
	}
	h.bySSRC[ssrc] = m
	m.ssrcs = append(m.ssrcs, ssrc)
}

// unrouteLocked removes all of m's keys.
func (h *Hub) unrouteLocked(m *hubMember) {
	for _, ssrc := range m.ssrcs {
		if h.bySSRC[ssrc] == m {
			delete(h.bySSRC, ssrc)
		}
	}
	m.ssrcs = m.ssrcs[:0]
	h.unrouteAddrsLocked(m)
}

// unrouteAddrsLocked removes m's address keys.
func (h *Hub) unrouteAddrsLocked(m *hubMember) {
	for _, a := range m.addrs {
		list := h.byAddr[a]
		for i, x := range list {
			if x == m {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(h.byAddr, a)
		} else {
			h.byAddr[a] = list
		}
	}
	m.addrs = m.addrs[:0]
}

func containsAddr(list []netip.AddrPort, a netip.AddrPort) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// packetSSRC returns the SSRC a datagram names: the sender SSRC of an
// RTCP packet (RFC 3550 section 6.4; SRTCP leaves it in the clear) or the
// SSRC of an RTP header.
func packetSSRC(pkt []byte) (uint32, bool) {
	switch {
	case rtcpHeaderOK(pkt):
		return uint32(pkt[4])<<24 | uint32(pkt[5])<<16 | uint32(pkt[6])<<8 | uint32(pkt[7]), true
	case len(pkt) >= 12 && pkt[0]>>6 == 2:
		return uint32(pkt[8])<<24 | uint32(pkt[9])<<16 | uint32(pkt[10])<<8 | uint32(pkt[11]), true
	}
	return 0, false
}

// maxLearnedSSRCs bounds the SSRCs a member is routed by, so that a
// peer cycling through sources cannot grow the table.
const maxLearnedSSRCs = 4

// lookup finds the member a datagram from `from` belongs to and marks it
// busy; the caller calls m.busy.Done when finished with it.
func (h *Hub) lookup(pkt []byte, from netip.AddrPort) *hubMember {
	ssrc, ok := packetSSRC(pkt)
	h.routeMu.RLock()
	m := h.bySSRC[ssrc]
	learn := false
	if !ok || m == nil {
		m = nil
		if list := h.byAddr[from]; len(list) == 1 {
			m = list[0]
			learn = ok && len(m.ssrcs) < maxLearnedSSRCs
		}
	}
	if m != nil {
		m.busy.Add(1)
	}
	h.routeMu.RUnlock()
	if learn {
		h.routeMu.Lock()
		if h.bySSRC[ssrc] == nil && containsMember(h.members, m) {
			// Found by address: keep following the peer by SSRC should
			// its address change (a NAT rebinding the latch follows).
			h.learnLocked(m, ssrc)
		}
		h.routeMu.Unlock()
	}
	return m
}

func containsMember(list []*hubMember, m *hubMember) bool {
	for _, x := range list {
		if x == m {
			return true
		}
	}
	return false
}

// read reads one socket in batches until the Hub closes and hands each
// datagram to its Session.
func (h *Hub) read(conn batchIO, rtcpPort bool) {
	defer h.wg.Done()
	ds := make([]datagram, hubBatch)
	for i := range ds {
		ds[i].buf = make([]byte, readBufferSize)
	}
	for {
		n, err := conn.read(ds)
		if err != nil {
			select {
			case <-h.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			h.log.Warn("media: hub read", "err", err)
			select {
			case <-h.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		h.readBatch.Add(1)
		h.received.Add(uint64(n))
		now := time.Now()
		for i := range ds[:n] {
			pkt, from := ds[i].buf[:ds[i].n], ds[i].addr
			m := h.lookup(pkt, from)
			if m == nil {
				h.unrouted.Add(1)
				continue
			}
			arrival := now.Sub(m.s.rtcp.epoch)
			if rtcpPort {
				m.rtcp.handle(m.s, pkt, from, arrival)
			} else {
				m.recv.handle(pkt, from, arrival)
			}
			m.busy.Done()
		}
	}
}

// pace runs every member's send and playout schedule once per tick and
// then writes the tick's packets in batches.
func (h *Hub) pace() {
	defer h.wg.Done()
	ticker := time.NewTicker(h.tick)
	defer ticker.Stop()
	var work []*hubMember
	for {
		select {
		case <-h.done:
			return
		case <-ticker.C:
		}
		h.routeMu.RLock()
		work = append(work[:0], h.members...)
		for _, m := range work {
			m.busy.Add(1)
		}
		h.routeMu.RUnlock()
		now := time.Now()
		for i, m := range work {
			m.step(now)
			m.busy.Done()
			work[i] = nil
		}
		h.flush()
	}
}

// maxStepFrames bounds how many frames one tick sends or plays for one
// Session; the clocks skip ahead when they fall further behind.
const maxStepFrames = 4

// step sends and plays out what is due for m's Session at now.
func (m *hubMember) step(now time.Time) {
	for range maxStepFrames {
		if m.send.due(now).After(now) {
			break
		}
		m.send.send()
	}
	for range maxStepFrames {
		if m.play.due(now).After(now) {
			break
		}
		m.play.play()
	}
}

// outBatch collects a tick's outgoing datagrams for batched writes.
type outBatch struct {
	ds []datagram
	n  int
}

func (b *outBatch) init() {
	b.ds = make([]datagram, hubBatch)
	for i := range b.ds {
		b.ds[i].buf = make([]byte, readBufferSize)
	}
}

// queue copies a datagram for the next flush, flushing first when the
// batch is full. It is called by the pacing goroutine only.
func (h *Hub) queue(pkt []byte, to netip.AddrPort) error {
	if !to.IsValid() || to.Addr().IsUnspecified() || to.Port() == 0 {
		return fmt.Errorf("media: hub: cannot send to %v", to)
	}
	if len(pkt) > readBufferSize {
		return fmt.Errorf("media: hub: %d-byte datagram", len(pkt))
	}
	b := &h.out
	if b.n == len(b.ds) {
		h.flush()
	}
	d := &b.ds[b.n]
	d.n = copy(d.buf, pkt)
	d.addr = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	b.n++
	return nil
}

// flush writes the queued datagrams. A datagram the kernel refuses is
// dropped (and logged) so that the rest still go out.
func (h *Hub) flush() {
	b := &h.out
	sent := 0
	for sent < b.n {
		k, err := h.rtpBatch.write(b.ds[sent:b.n])
		h.writeBatches.Add(1)
		h.sent.Add(uint64(k))
		sent += k
		if err != nil {
			h.log.Debug("media: hub write", "to", b.ds[sent].addr.String(), "err", err)
			sent++ // skip the datagram that failed
		} else if k == 0 {
			break
		}
	}
	b.n = 0
}
