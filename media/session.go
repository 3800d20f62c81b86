package media

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/codec"
)

// DefaultJitterDelay is the jitter buffer depth used when
// Config.JitterDelay is zero.
const DefaultJitterDelay = 60 * time.Millisecond

// maxJitterDelay bounds Config.JitterDelay, JitterMin and JitterMax.
const maxJitterDelay = 2 * time.Second

// Config configures a Session. The zero value is not usable: LocalIP is
// required. NewSession only reads the Config, so one Config may be used
// for many sessions, from several goroutines.
type Config struct {
	// LocalIP is the address the RTP and RTCP sockets bind to and that
	// the SDP announces. It must be a specific (not unspecified) IPv4 or
	// IPv6 address.
	LocalIP netip.Addr
	// PortMin and PortMax bound the RTP port (an even port; RTCP uses the
	// next one). Both zero means any pair in 10000-60000.
	PortMin, PortMax int
	// Codecs lists codec names in priority order, as registered with
	// package codec. Empty means codec.DefaultPriority.
	Codecs []string
	// JitterMode selects how the jitter buffer chooses its playout
	// delay. The zero value JitterUnknown means JitterAdaptive.
	JitterMode JitterMode
	// JitterDelay is, with JitterFixed, the playout delay the jitter
	// buffer keeps; with JitterAdaptive, the delay it starts with until
	// it has measured the network. Zero means DefaultJitterDelay.
	JitterDelay time.Duration
	// JitterMin and JitterMax bound the adaptive playout delay. Zero
	// JitterMin means one frame of the received audio; zero JitterMax
	// means DefaultJitterMax, or JitterDelay if that is larger.
	// JitterMax also caps how far the delay may grow while packets come
	// late in fixed mode. JitterDelay, JitterMin and JitterMax must be
	// within 0-2 s.
	JitterMin, JitterMax time.Duration
	// SRTP is the SRTP policy: whether media is protected with SRTP
	// (RFC 3711) keyed by SDP security descriptions (RFC 4568). The zero
	// value SRTPUnknown means SRTPOff.
	SRTP SRTPPolicy
	// SRTPSuites lists crypto suite names in priority order, as in
	// RFC 4568 and RFC 7714 (see SupportedSRTPSuites). Empty means
	// DefaultSRTPSuites.
	SRTPSuites []string
	// RTCPInterval is the minimum interval between RTCP reports (Tmin of
	// RFC 3550 section 6.2). Each interval is the larger of it and the
	// RFC 3550 bandwidth-derived one (5% of the session bandwidth; well
	// under a second for a two-party audio call), randomized to 0.5-1.5
	// times; the first report comes after half of it. Zero means
	// DefaultRTCPInterval; a negative value sends no RTCP at all (neither
	// reports nor BYE; received RTCP is still processed). Positive values
	// must be at least 10 ms.
	RTCPInterval time.Duration
	// DisableRTCPXR leaves the RTCP XR VoIP Metrics block (RFC 3611
	// section 4.7) out of our reports; by default every report carries
	// one once RTP has been received.
	DisableRTCPXR bool
	// MediaTimeout is how long a started Session may receive neither RTP
	// nor RTCP while the negotiated stream is sendrecv on both sides
	// before it reports a media timeout (see Session.Timeout).
	// HoldMediaTimeout applies instead while either side holds the call
	// (a sendonly, recvonly or inactive stream). Zero means
	// DefaultMediaTimeout and DefaultHoldMediaTimeout; a negative value
	// disables that timeout.
	MediaTimeout, HoldMediaTimeout time.Duration
	// STUN learns the public RTP/RTCP addresses announced in SDP; see
	// STUNConfig. The zero value disables it.
	STUN STUNConfig
	// Hub, when set, carries the Session's media over the Hub's shared
	// sockets instead of a port pair of its own, and sends and plays
	// out from the Hub's pacing goroutine (see Hub). PortMin, PortMax
	// and STUN must then be zero; the SDP announces the Hub's address
	// and our SSRC (a=ssrc, RFC 5576).
	Hub *Hub
	// Logger receives diagnostics. Nil discards them. Keys and session
	// descriptions are never logged.
	Logger *slog.Logger
}

// sourceHolder and sinkHolder box the current Source and Sink so they can
// be swapped atomically. A new holder per Set call also tells the media
// goroutines to reset their per-source state.
type sourceHolder struct{ src audio.Source }
type sinkHolder struct{ sink audio.Sink }

// Session is the media of one call: one audio stream over RTP with its
// RTCP port. All methods are safe for concurrent use. The Source and Sink
// are called from the Session's own goroutines, never while it holds a
// lock.
type Session struct {
	log         *slog.Logger
	codecs      []codec.Codec
	localIP     netip.Addr
	rtpConn     *net.UDPConn
	rtcpConn    *net.UDPConn
	local       netip.AddrPort
	jitterDelay time.Duration
	sec         srtpLocal
	public      publicAddr // learned by STUN (stun.go)
	hub         *Hub       // shared sockets and pacing, or nil (hub.go)

	mu            sync.Mutex // guards the fields below
	sessionID     uint64
	version       uint64
	dir           Direction
	offered       []payloadCodec // formats of our outstanding offer
	offeredCrypto []cryptoAttr   // its a=crypto attributes
	started       bool
	closed        bool
	rtcpReading   bool       // rtcpLoop runs
	member        *hubMember // on the Hub once started

	neg      atomic.Pointer[negotiated]
	source   atomic.Pointer[sourceHolder]
	sink     atomic.Pointer[sinkHolder]
	rtpDest  atomic.Pointer[netip.AddrPort]
	rtcpDest atomic.Pointer[netip.AddrPort]
	ctr      counters

	jbMu sync.Mutex
	jb   *jitterBuffer

	// DTMF (dtmf.go) and mute (SetMute).
	dtmf                   dtmfState
	micMuted, speakerMuted atomic.Bool

	// RTCP reports and the media timeout (rtcp.go, timeout.go).
	rtcp rtcpState
	mon  mediaMonitor

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// NewSession binds the RTP and RTCP sockets and returns an idle Session.
// Errors wrap ErrConfig for an invalid Config (including unknown codec
// names, which also match codec.ErrUnknownCodec).
func NewSession(cfg Config) (*Session, error) {
	if !cfg.LocalIP.IsValid() || cfg.LocalIP.IsUnspecified() {
		return nil, fmt.Errorf("%w: LocalIP %v is not a specific address", ErrConfig, cfg.LocalIP)
	}
	codecs, err := codec.Resolve(cfg.Codecs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if len(codecs) == 0 {
		return nil, fmt.Errorf("%w: no codecs", ErrConfig)
	}
	jcfg, err := jitterConfigOf(cfg, codecPTime(codecs[0].Info()))
	if err != nil {
		return nil, err
	}
	sec, err := newSRTPLocal(cfg.SRTP, cfg.SRTPSuites)
	if err != nil {
		return nil, err
	}
	if err := checkControlConfig(cfg); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var rtpConn, rtcpConn *net.UDPConn
	if h := cfg.Hub; h != nil {
		if cfg.PortMin != 0 || cfg.PortMax != 0 || cfg.STUN.Server.IsValid() {
			return nil, fmt.Errorf("%w: a Session on a Hub takes no port range or STUN", ErrConfig)
		}
		if h.local.Addr() != cfg.LocalIP {
			return nil, fmt.Errorf("%w: LocalIP %v is not the Hub's %v", ErrConfig, cfg.LocalIP, h.local.Addr())
		}
		rtpConn, rtcpConn = h.rtpConn, h.rtcpConn // RTCP is written directly
	} else {
		rtpConn, rtcpConn, err = listenPair(cfg.LocalIP, cfg.PortMin, cfg.PortMax)
		if err != nil {
			return nil, err
		}
	}
	local := rtpConn.LocalAddr().(*net.UDPAddr).AddrPort()
	s := &Session{
		log:         log.With("rtp", local.String()),
		codecs:      codecs,
		localIP:     cfg.LocalIP,
		rtpConn:     rtpConn,
		rtcpConn:    rtcpConn,
		local:       netip.AddrPortFrom(cfg.LocalIP, local.Port()),
		jitterDelay: jcfg.delay,
		sec:         sec,
		hub:         cfg.Hub,
		sessionID:   randUint64() >> 2,
		jb:          newJitterBuffer(jcfg),
		done:        make(chan struct{}),
	}
	s.version = s.sessionID
	if s.hub == nil {
		s.public = learnPublicAddr(cfg.STUN, rtpConn, rtcpConn, s.log)
	}
	s.initControl(cfg)
	s.dtmf.init() // DTMF and the sink tap (dtmf.go, dtmf_inband.go)
	s.SetSink(nil)
	return s, nil
}

// randUint64 returns a cryptographically random number.
func randUint64() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents this)
	return binary.BigEndian.Uint64(b[:])
}

// LocalAddr returns the local RTP address (LocalIP and the RTP port).
func (s *Session) LocalAddr() netip.AddrPort { return s.local }

// SetDirection sets the direction this side wants, used by the next
// CreateOffer or AcceptOffer (for example DirectionSendOnly to put a call
// on hold). It does not change a negotiated stream until the next
// offer/answer exchange completes.
func (s *Session) SetDirection(d Direction) {
	s.mu.Lock()
	s.dir = d
	s.mu.Unlock()
}

// CreateOffer returns an SDP offer listing the configured codecs and
// telephone-event, with the current direction. Each call produces a new
// o= version, so it also serves re-INVITEs (hold, resume, refresh).
// Unless SRTP is off, the offer carries one a=crypto attribute per
// configured suite (tags 1..n), on an RTP/SAVP m= line when SRTP is
// mandatory and on RTP/AVP when it is optional. The keys stay the same
// for the life of the Session. The offer contains keys: do not log it.
func (s *Session) CreateOffer() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	formats, bound := offerFormats(s.codecs)
	s.version++
	l := localSDP{
		sessionID: s.sessionID,
		version:   s.version,
		addr:      s.localIP,
		port:      int(s.local.Port()),
		public:    s.public,
		formats:   formats,
		ptime:     codecPTime(s.codecs[0].Info()),
		dir:       s.dir,
		proto:     s.sec.offerProto(),
		crypto:    s.sec.offer(),
		rtcpMux:   true, // RFC 5761
	}
	s.announceSource(&l)
	b, err := l.marshal()
	if err != nil {
		return nil, fmt.Errorf("media: build offer: %w", err)
	}
	s.offered = bound
	s.offeredCrypto = l.crypto
	return b, nil
}

// SetRemoteAnswer applies the peer's answer to our last offer. It may be
// called again with the same or a changed answer (for example from a
// 183 and then the 200 OK). If our offer carried a=crypto attributes and
// the answer accepts one of them, media is protected with SRTP; an
// answer without one falls back to plain RTP when SRTP is optional and
// fails with ErrSRTPRequired when it is mandatory. Errors wrap
// ErrMalformedSDP, ErrNoCommonCodec, ErrSRTPRequired, ErrSRTPRefused,
// ErrStreamRejected, ErrNoOffer or ErrClosed; on error the previous
// negotiation (if any) stays in force.
func (s *Session) SetRemoteAnswer(answer []byte) error {
	sd, audioIdx, d, err := parseSDP(answer)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.offered == nil {
		return ErrNoOffer
	}
	n, err := negotiateOffer(s.offered, s.sec.policy, s.offeredCrypto, d, cryptoLines(sd.MediaDescriptions[audioIdx]), s.dir)
	if err != nil {
		return err
	}
	s.apply(n)
	return nil
}

// AcceptOffer negotiates the peer's offer and returns our answer: the
// first configured codec the offer contains, at the offerer's payload
// type, plus telephone-event when offered. Other media streams of the
// offer are declined with port 0.
//
// SRTP follows the policy: unless it is off, the first of our crypto
// suites (in our priority order) that the offer's a=crypto attributes
// contain is accepted with our own key under the offer's tag, on the
// offer's protocol (RTP/SAVP, or RTP/AVP for best-effort SRTP). An
// RTP/SAVP offer fails with ErrSRTPRefused when SRTP is off or no suite
// is common; an offer without a usable a=crypto fails with
// ErrSRTPRequired when SRTP is mandatory. The answer may contain a key:
// do not log it.
//
// Errors wrap ErrMalformedSDP, ErrNoCommonCodec, ErrSRTPRequired,
// ErrSRTPRefused, ErrStreamRejected or ErrClosed; on error the previous
// negotiation (if any) stays in force.
func (s *Session) AcceptOffer(offer []byte) ([]byte, error) {
	sd, audioIdx, d, err := parseSDP(offer)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	n, ap, err := negotiateAnswer(s.codecs, &s.sec, d, cryptoLines(sd.MediaDescriptions[audioIdx]), s.dir)
	if err != nil {
		return nil, err
	}
	l := localSDP{
		sessionID: s.sessionID,
		version:   s.version + 1,
		addr:      s.localIP,
		port:      int(s.local.Port()),
		public:    s.public,
		formats:   ap.formats,
		ptime:     codecPTime(n.send.codec.Info()),
		dir:       ap.dir,
		proto:     ap.proto,
		rtcpMux:   ap.rtcpMux,
		muxOnly:   ap.rtcpMux,
		peer:      sd,
		audioIdx:  audioIdx,
	}
	if ap.crypto != nil {
		l.crypto = []cryptoAttr{*ap.crypto}
	}
	s.announceSource(&l)
	b, err := l.marshal()
	if err != nil {
		return nil, fmt.Errorf("media: build answer: %w", err)
	}
	s.version++
	s.offered, s.offeredCrypto = nil, nil
	s.apply(n)
	return b, nil
}

// announceSource adds our SSRC and CNAME to a description (a=ssrc, RFC
// 5576) when the Session is on a Hub, whose peers may need them to tell
// its calls apart.
func (s *Session) announceSource(l *localSDP) {
	if s.hub != nil {
		l.ssrc, l.cname = s.rtcp.ssrc, s.rtcp.cname
	}
}

// startRTCPReader starts reading the RTCP port, once: with rtcp-mux
// (RFC 5761) RTCP comes on the RTP port, and the RTCP port is only read
// if a later negotiation stops multiplexing. It is called with s.mu held.
func (s *Session) startRTCPReader() {
	if s.rtcpReading || s.closed {
		return
	}
	s.rtcpReading = true
	s.wg.Add(1)
	go s.rtcpLoop()
}

// apply installs a negotiation outcome. It is called with s.mu held.
func (s *Session) apply(n *negotiated) {
	prev := s.neg.Swap(n)
	if prev == nil || prev.remote.Addr != n.remote.Addr {
		a := n.remote.Addr
		s.rtpDest.Store(&a)
	}
	if prev == nil || prev.remote.RTCPAddr != n.remote.RTCPAddr {
		a := n.remote.RTCPAddr
		s.rtcpDest.Store(&a)
	}
	if s.member != nil {
		s.hub.reroute(s.member, n)
	}
	if s.started && !n.rtcpMux && s.hub == nil {
		s.startRTCPReader()
	}
	s.mon.rearm(s.rtcp.since()) // the media timeout counts from here
	s.log.Debug("media negotiated",
		"codec", n.send.info.Name, "pt", n.send.pt, "ptime", n.send.info.FrameDuration,
		"remote", n.remote.Addr.String(), "send", n.sendOK, "recv", n.recvOK, "srtp", n.srtpSuite(),
		"rtcp-mux", n.rtcpMux)
}

// SRTPSuite returns the negotiated SRTP crypto suite, e.g.
// "AES_CM_128_HMAC_SHA1_80", or "" when media is plain RTP or not yet
// negotiated.
func (s *Session) SRTPSuite() string { return s.neg.Load().srtpSuite() }

// Codec returns the negotiated codec we send with; its PayloadType is the
// negotiated payload type and FrameDuration the packetization time. It is
// the zero Info before negotiation.
func (s *Session) Codec() codec.Info {
	if n := s.neg.Load(); n != nil {
		return n.send.info
	}
	return codec.Info{}
}

// Remote returns a copy of the peer's negotiated description, or nil
// before negotiation.
func (s *Session) Remote() *Description {
	if n := s.neg.Load(); n != nil {
		return n.remote.clone()
	}
	return nil
}

// SetSource sets where outgoing audio comes from; nil sends silence. It
// may be called at any time. When the Source returns io.EOF (or another
// error) the Session sends silence until SetSource is called again.
func (s *Session) SetSource(src audio.Source) {
	s.source.Store(&sourceHolder{src: src})
}

// SetSink sets where received audio goes; nil discards it. It may be
// called at any time.
func (s *Session) SetSink(sink audio.Sink) {
	// The tap feeds in-band DTMF detection and applies the speaker mute
	// (dtmf_inband.go).
	s.sink.Store(&sinkHolder{sink: &tapSink{s: s, app: sink}})
}

// SetMute mutes or unmutes without signalling: with mic set, silence is
// sent in place of the Source's audio (RTP keeps flowing, and the Source
// keeps being read so it stays in time); with speaker set, received
// audio is decoded (and checked for in-band DTMF) but not written to the
// Sink. The Source and Sink stay attached, so unmuting restores them.
func (s *Session) SetMute(mic, speaker bool) {
	s.micMuted.Store(mic)
	s.speakerMuted.Store(speaker)
}

// Muted reports the mute state set by SetMute.
func (s *Session) Muted() (mic, speaker bool) {
	return s.micMuted.Load(), s.speakerMuted.Load()
}

// Start begins sending and receiving. It requires a completed
// negotiation (ErrNotNegotiated otherwise). Calling it again only
// restarts the media timeout's quiet time (see Timeout), as when early
// media turns into an answered call. Later re-negotiations take effect
// without another Start.
func (s *Session) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.neg.Load() == nil:
		return ErrNotNegotiated
	case s.started:
		s.mon.rearm(s.rtcp.since())
		return nil
	}
	s.started = true
	s.mon.rearm(s.rtcp.since())
	if s.hub != nil {
		s.wg.Add(1)
		go s.controlLoop()
		s.member = s.hub.attach(s) // receiving, sending and playout
		return nil
	}
	s.wg.Add(3)
	go s.mediaLoop() // sending and playout (media_loop.go)
	go s.receiveLoop()
	go s.controlLoop() // RTCP reports and the media timeout
	if !s.neg.Load().rtcpMux {
		s.startRTCPReader()
	}
	return nil
}

// Close stops the media goroutines, waits for them and closes the
// sockets. A started Session first sends an RTCP BYE (RFC 3550 section
// 6.6). It is idempotent and always returns nil.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		started, member := s.started, s.member
		s.member = nil
		s.mu.Unlock()
		close(s.done)
		if started {
			<-s.rtcp.byeSent // the control loop says BYE before the sockets close
		}
		if s.hub != nil {
			if member != nil {
				s.hub.detach(member)
			}
		} else {
			s.rtpConn.Close()
			s.rtcpConn.Close()
		}
		s.wg.Wait()
		close(s.dtmf.events) // no goroutine reports digits any more
	})
	return nil
}

// Stats returns a snapshot of the session's statistics.
func (s *Session) Stats() Stats {
	st := Stats{
		PacketsSent:      s.ctr.packetsSent.Load(),
		BytesSent:        s.ctr.bytesSent.Load(),
		PacketsReceived:  s.ctr.packetsReceived.Load(),
		BytesReceived:    s.ctr.bytesReceived.Load(),
		PacketsLost:      s.ctr.lost.Load(),
		Garbage:          s.ctr.garbage.Load(),
		Concealed:        s.ctr.concealed.Load(),
		FECRecovered:     s.ctr.fecRecovered.Load(),
		SendSkipped:      s.ctr.sendSkipped.Load(),
		TelephoneEvents:  s.ctr.telephoneEvents.Load(),
		DTMFSent:         s.dtmf.sent.Load(),
		DTMFReceived:     s.dtmf.recv.Load(),
		DTMFDropped:      s.dtmf.dropped.Load(),
		RTCPReceived:     s.ctr.rtcpReceived.Load(),
		RTCPSent:         s.ctr.rtcpSent.Load(),
		SRTPAuthFailures: s.ctr.srtpAuthFailures.Load(),
		SRTPReplays:      s.ctr.srtpReplays.Load(),
		Jitter:           time.Duration(s.ctr.jitterNanos.Load()),
	}
	if n := s.neg.Load(); n != nil {
		st.Codec = n.send.info.Name
		st.SRTP = n.srtpSuite()
	}
	if a := s.rtpDest.Load(); a != nil {
		st.RemoteAddr = *a
	}
	if a := s.rtcpDest.Load(); a != nil {
		st.RemoteRTCPAddr = *a
	}
	if t := s.ctr.firstPacketAt.Load(); t != nil {
		st.FirstPacketAt = *t
	}
	s.jbMu.Lock()
	st.Late = s.jb.late
	st.Duplicates = s.jb.duplicates
	// Adaptive jitter buffer (jitter.go).
	st.Discarded = s.jb.discarded
	st.Concealed += s.jb.concealed
	st.JitterDelay, st.JitterTarget = s.jb.delay, s.jb.target
	s.jbMu.Unlock()
	s.rtcpStats(&st)
	return st
}
