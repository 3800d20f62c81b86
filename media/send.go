package media

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/codec"
)

// maxSendLag is how many frames the sender may fall behind its schedule
// before it skips ahead instead of catching up with a burst.
const maxSendLag = 5

// sender is the state of the send path: it reads a frame from the
// Source, encodes it and packetizes it into a reused buffer. It is owned
// by the media loop (or a benchmark).
type sender struct {
	hdr     rtp.Header
	pc      payloadCodec
	enc     codec.Encoder
	frameTS uint32
	pcm     []int16
	frame   audio.Frame
	pkt     []byte

	holder  *sourceHolder // the Source last read
	srcDone bool          // it returned io.EOF or an error

	dtmf dtmfSend // the DTMF digit being sent (dtmf_send.go)

	// SRTP: the context in use (nil for plain RTP), a scratch header for
	// it and every context created so far, by suite. Our key for a suite
	// never changes during a Session, so a context, with its rollover
	// counter, is kept for the whole Session (RFC 3711 section 3.3.1).
	srtp     *srtp.Context
	srtpHdr  rtp.Header
	srtpCtxs []sendContext
	// srtpFailed is set when SRTP is negotiated but no context could be
	// created: nothing is sent rather than plain RTP.
	srtpFailed bool
}

// sendContext is an SRTP send context for one suite.
type sendContext struct {
	suite string
	ctx   *srtp.Context
}

// newSender returns a sender with a random SSRC, initial sequence number
// and timestamp (RFC 3550 section 5.1).
func newSender() *sender {
	r := randUint64()
	return &sender{
		hdr: rtp.Header{
			Version:        2,
			Marker:         true,
			SSRC:           uint32(r),
			SequenceNumber: uint16(r >> 32),
			Timestamp:      uint32(randUint64()),
		},
	}
}

// configure switches to payload codec pc, creating a new encoder. The
// RTP sequence and timestamp continue; the next packet gets the marker.
func (s *sender) configure(pc payloadCodec) error {
	s.enc = nil
	enc, err := pc.codec.NewEncoder()
	if err != nil {
		return fmt.Errorf("media: %s encoder: %w", pc.info.Name, err)
	}
	n := pc.info.FrameSamples() * max(pc.info.Channels, 1)
	if n <= 0 {
		return fmt.Errorf("media: %s: frame of %v holds no samples", pc.info.Name, pc.info.FrameDuration)
	}
	if cap(s.pcm) < n {
		s.pcm = make([]int16, n)
	}
	s.pcm = s.pcm[:n]
	// An encoded frame is at most as large as 16-bit PCM for the codecs
	// this package expects; leave room for the header and a margin.
	if size := 12 + 2*n + 64; cap(s.pkt) < size {
		s.pkt = make([]byte, size)
	}
	s.pkt = s.pkt[:cap(s.pkt)]
	s.pc, s.enc = pc, enc
	s.frameTS = pc.info.FrameTimestamp()
	s.hdr.PayloadType = pc.pt
	s.hdr.Marker = true
	return nil
}

// secure switches to the SRTP keys of sec (nil: plain RTP).
func (s *sender) secure(sec *srtpNeg) error {
	s.srtp, s.srtpFailed = nil, false
	if sec == nil {
		return nil
	}
	for _, c := range s.srtpCtxs {
		if c.suite == sec.suite.name {
			s.srtp = c.ctx
			return nil
		}
	}
	ctx, err := newSendContext(sec)
	if err != nil {
		s.srtpFailed = true
		return err
	}
	s.srtpCtxs = append(s.srtpCtxs, sendContext{suite: sec.suite.name, ctx: ctx})
	s.srtp = ctx
	return nil
}

// fill reads the next frame from the source in h into s.pcm, or fills it
// with silence when there is no source or it has ended. It returns a
// Source error other than io.EOF once, for logging.
func (s *sender) fill(h *sourceHolder) error {
	if h != s.holder {
		s.holder, s.srcDone = h, false
	}
	if h == nil || h.src == nil || s.srcDone {
		clear(s.pcm)
		return nil
	}
	s.frame.Samples = s.pcm
	s.frame.SampleRate = s.pc.info.SampleRate
	err := h.src.ReadFrame(&s.frame)
	if err == nil {
		return nil
	}
	s.srcDone = true
	clear(s.pcm)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// packetize encodes s.pcm and returns the RTP packet (valid until the
// next call), protected in place when SRTP is in use, and its payload
// length. It advances sequence number and timestamp.
func (s *sender) packetize() (pkt []byte, payloadLen int, err error) {
	const hlen = 12 // no CSRC, no extension
	n, err := s.enc.Encode(s.pkt[hlen:], s.pcm)
	if err != nil {
		return nil, 0, err
	}
	if _, err := s.hdr.MarshalTo(s.pkt[:hlen]); err != nil {
		return nil, 0, err
	}
	s.hdr.Marker = false
	s.hdr.SequenceNumber++
	s.hdr.Timestamp += s.frameTS
	pkt = s.pkt[:hlen+n]
	if s.srtp != nil {
		// The sequence number stays used even if this fails: it must
		// never be protected twice with the same key.
		if pkt, err = s.srtp.EncryptRTP(s.pkt, pkt, &s.srtpHdr); err != nil {
			s.hdr.Timestamp -= s.frameTS // the caller's idle(1) adds it back
			return nil, 0, fmt.Errorf("media: SRTP protect: %w", err)
		}
	}
	return pkt, n, nil
}

// idle accounts for k frames that are not sent: the timestamp keeps
// pace with time and the next packet starts a talkspurt.
func (s *sender) idle(k int64) {
	s.hdr.Timestamp += uint32(k) * s.frameTS
	s.hdr.Marker = true
}

// sendClock paces the send path: one packet per packetization interval
// on a monotonic schedule (start + n·ptime), so timing errors do not
// accumulate. It is owned by the media loop (media_loop.go).
type sendClock struct {
	s        *Session
	snd      *sender
	neg      *negotiated
	start    time.Time
	n        int64
	ptime    time.Duration
	warnedTx bool
}

func newSendClock(s *Session) *sendClock {
	snd := newSender()
	snd.hdr.SSRC = s.rtcp.ssrc // RTCP reports name it
	return &sendClock{s: s, snd: snd}
}

// due follows a new negotiation and returns when the next packet is due.
// A sender that has fallen more than maxSendLag frames behind (because
// its goroutine was not scheduled, or the Source blocked) skips ahead.
func (c *sendClock) due(now time.Time) time.Time {
	s, snd := c.s, c.snd
	if cur := s.neg.Load(); cur != c.neg {
		if c.neg == nil || cur.send.info != c.neg.send.info {
			if err := snd.configure(cur.send); err != nil {
				s.log.Error("media: cannot send", "err", err)
			}
		}
		if err := snd.secure(cur.sec); err != nil {
			s.log.Error("media: cannot send", "err", err)
		}
		c.neg = cur
		if c.ptime != cur.send.info.FrameDuration {
			c.ptime = cur.send.info.FrameDuration
			c.start, c.n = now, 0
		}
	}
	at := c.start.Add(time.Duration(c.n) * c.ptime)
	if lag := now.Sub(at); lag > maxSendLag*c.ptime {
		k := int64(lag / c.ptime)
		c.n += k
		snd.idle(k)
		s.ctr.sendSkipped.Add(uint64(k))
		at = c.start.Add(time.Duration(c.n) * c.ptime)
	}
	return at
}

// send sends the packet that is due.
func (c *sendClock) send() {
	s, snd, neg := c.s, c.snd, c.neg
	c.n++
	if !neg.sendOK || snd.enc == nil || snd.srtpFailed {
		s.dropDTMF(snd)
		snd.idle(1)
		return
	}
	if err := snd.fill(s.source.Load()); err != nil {
		s.log.Warn("media: audio source failed; sending silence", "err", err)
	}
	pkt, plen, err := s.nextPacket(snd, neg) // audio, or DTMF (dtmf_send.go)
	if err != nil {
		s.log.Error("media: encode", "err", err)
		snd.idle(1)
		return
	}
	dest := s.rtpDest.Load()
	if err := s.writeRTP(pkt, *dest); err != nil {
		if !c.warnedTx {
			c.warnedTx = true
			s.log.Warn("media: send RTP", "to", dest.String(), "err", err)
		}
		return
	}
	c.warnedTx = false
	s.ctr.packetsSent.Add(1)
	s.ctr.bytesSent.Add(uint64(plen))
	s.rtcp.noteSent(snd.hdr.Timestamp-snd.frameTS, neg.send.info.ClockRate, s.rtcp.since()) // for sender reports
}

// writeRTP sends one datagram from the RTP port: at once, or with a Hub
// in the pacing goroutine's next batch.
func (s *Session) writeRTP(pkt []byte, to netip.AddrPort) error {
	if s.hub != nil {
		return s.hub.queue(pkt, to)
	}
	_, err := s.rtpConn.WriteToUDPAddrPort(pkt, to)
	return err
}
