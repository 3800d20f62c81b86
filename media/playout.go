package media

import (
	"errors"
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/codec"
)

// maxDecodedSamples bounds the PCM one packet may decode to: 120 ms of
// 48 kHz audio. Decoders produce mono (stereo codecs such as Opus are
// decoded to one channel).
const maxDecodedSamples = 5760

// minDecodeUnit is the smallest room the player keeps for one decoded
// packet: 40 ms of 8 kHz audio.
const minDecodeUnit = 320

// maxPlayoutLag is how far (in frames) playout may fall behind its
// schedule, for example because the Sink blocked, before it starts a new
// schedule instead of writing a burst.
const maxPlayoutLag = 5

// quietLevel is the mean absolute sample value below which a frame counts
// as quiet (about -50 dBFS): delay is shed faster there.
const quietLevel = 100

// decoderEntry is a decoder for one negotiated payload type.
type decoderEntry struct {
	pt      uint8
	info    codec.Info
	dec     codec.Decoder
	conceal concealer // the decoder's own concealment, or nil
}

// player is the state of the playout path. Each tick it asks the jitter
// buffer what to play at the current time (now), decodes it, conceals
// what is missing (with the decoder's own concealment, or else by
// waveform repetition), shortens or lengthens frames when the buffer
// adjusts its delay, and writes the result to the Sink, so that the
// Sink's timeline stays continuous. The duration of what it wrote is the
// time to the next tick. It is owned by the media loop (or a
// test or benchmark driving it with simulated time).
type player struct {
	s        *Session
	neg      *negotiated
	decoders []decoderEntry
	payload  []byte
	payload2 []byte
	// unit is the room, in samples, for one decoded packet; pcm, work and
	// outbuf hold two units each. It starts from the negotiated codecs'
	// frames (two of them) and doubles, up to maxDecodedSamples, when a
	// decoder needs more, so a G.711 call does not carry buffers sized
	// for 120 ms of 48 kHz audio.
	unit   int
	pcm    []int16 // decoded audio: room for two packets
	work   []int16 // shortened or lengthened audio
	outbuf []int16 // what is written
	frame  audio.Frame
	plc    plc

	// now is the playout clock, on the reference of the receive path's
	// arrival times. playOne advances it by what it wrote; the playout
	// loop sets it from the monotonic clock before each tick.
	now time.Duration
	// out is the jitter buffer's decision for the last tick.
	out popOut

	started  bool          // audio has been written
	lastDec  int           // index of the decoder last used, or -1
	lastN    int           // samples in the last decoded frame
	lastRate int           // its sample rate
	lastCh   int           // its channels
	frameDur time.Duration // its duration
	quiet    bool          // it was quiet

	holder     *sinkHolder // the Sink last written
	sinkFailed bool        // it returned an error
}

func newPlayer(s *Session) *player {
	return &player{
		s:        s,
		lastDec:  -1,
		frameDur: defaultPTime,
	}
}

// reserve makes room for decoded packets of up to unit samples.
func (p *player) reserve(unit int) {
	unit = min(max(unit, minDecodeUnit), maxDecodedSamples)
	if unit <= p.unit {
		return
	}
	p.unit = unit
	p.pcm = make([]int16, 2*unit)
	p.work = make([]int16, 2*unit)
	out := make([]int16, 2*unit)
	copy(out, p.outbuf) // the last frame, which concealment may repeat
	p.outbuf = out
}

// fitPayloads makes the payload buffers as large as the largest payload
// the jitter buffer has stored, so that they are not sized for the
// largest one it accepts (maxPayload). s.jbMu must be held.
func (p *player) fitPayloads() {
	if n := p.s.jb.largest; n > len(p.payload) {
		n = min(max(n, 256), maxPayload)
		p.payload, p.payload2 = make([]byte, n), make([]byte, n)
	}
}

// unitFor returns the room reserved for the codecs of n: two frames of
// the largest.
func unitFor(n *negotiated) int {
	u := 0
	for _, pc := range n.recv {
		u = max(u, 2*pc.info.FrameSamples()*max(pc.info.Channels, 1))
	}
	return u
}

// decode decodes payload with d into p.pcm at offset off, doubling the
// buffers while the decoder needs more room than reserved.
func (p *player) decode(d *decoderEntry, off int, payload []byte) (int, error) {
	for {
		n, err := d.dec.Decode(p.pcm[off:off+p.unit], payload)
		if !errors.Is(err, codec.ErrShortBuffer) || p.unit >= maxDecodedSamples {
			return n, err
		}
		keep := append([]int16(nil), p.pcm[:off]...)
		p.reserve(2 * p.unit)
		copy(p.pcm, keep)
	}
}

// decoder returns the decoder for payload type pt, creating it on first
// use.
func (p *player) decoder(pt uint8) int {
	for i := range p.decoders {
		if p.decoders[i].pt == pt {
			return i
		}
	}
	pc, ok := p.neg.recvCodec(pt)
	if !ok {
		return -1
	}
	dec, err := pc.codec.NewDecoder()
	if err != nil {
		p.s.log.Error("media: decoder", "codec", pc.info.Name, "err", err)
		return -1
	}
	c, _ := dec.(concealer)
	p.decoders = append(p.decoders, decoderEntry{pt: pt, info: pc.info, dec: dec, conceal: c})
	return len(p.decoders) - 1
}

// playOne plays one tick at p.now, advances p.now by its duration and
// returns it.
func (p *player) playOne() time.Duration {
	d := p.tick()
	p.now += d
	return d
}

// tick plays one tick and returns its duration.
func (p *player) tick() time.Duration {
	s := p.s
	if cur := s.neg.Load(); cur != p.neg {
		resume := p.neg != nil && !p.neg.recvOK && cur.recvOK
		p.neg, p.decoders, p.lastDec = cur, p.decoders[:0], -1
		p.reserve(unitFor(cur))
		if resume {
			s.jbMu.Lock()
			s.jb.Clear()
			s.jbMu.Unlock()
			p.started = false
		}
		if !p.started {
			p.frameDur = codecPTime(cur.send.info)
		}
	}
	if !p.neg.recvOK {
		return p.frameDur
	}
	s.jbMu.Lock()
	p.fitPayloads()
	p.out = s.jb.Pop(p.now, p.quiet, p.payload, p.payload2)
	s.jbMu.Unlock()
	switch p.out.kind {
	case popPacket:
		if d := p.playPacket(); d > 0 {
			return d
		}
		// Undecodable: conceal it.
		s.ctr.concealed.Add(1)
		return p.conceal()
	case popConceal:
		return p.conceal()
	}
	return p.silence(p.out.wait)
}

// samplesIn returns how many sample frames of rate Hz d holds.
func samplesIn(d time.Duration, rate int) int {
	return int(int64(d) * int64(rate) / int64(time.Second))
}

// durationOf returns the duration of n sample frames at rate Hz.
func durationOf(n, rate int) time.Duration {
	return time.Duration(int64(n) * int64(time.Second) / int64(rate))
}

// playPacket decodes the packet(s) in p.out, adjusts their length as
// asked and writes them. It returns their duration, or 0 when the packet
// could not be decoded.
func (p *player) playPacket() time.Duration {
	o := &p.out
	di := p.decoder(o.pt)
	if di < 0 {
		return 0
	}
	d := &p.decoders[di]
	n, err := p.decode(d, 0, p.payload[:o.n])
	rate, ch := d.info.SampleRate, max(d.info.Channels, 1)
	if err != nil || n <= 0 || rate <= 0 {
		return 0
	}
	pcm := p.pcm[:n]
	if o.merge && o.pt2 == o.pt {
		n2, err := p.decode(d, n, p.payload2[:o.n2])
		if err == nil && n2 > 0 {
			pcm = p.pcm[:n+n2]
			if want := samplesIn(-o.adjust, rate); want > 0 {
				x := shorten(p.work, pcm, ch, want/2, want, rate)
				pcm = p.work[:len(pcm)-x*ch]
			}
		}
	} else if want := samplesIn(o.adjust, rate); want > 0 {
		y := lengthen(p.work, pcm, ch, want/2, want, rate)
		pcm = p.work[:n+y*ch]
	}
	if rate != p.lastRate || ch != p.lastCh {
		p.plc.reset(rate)
	}
	p.started = true
	p.lastDec, p.lastN, p.lastRate, p.lastCh = di, n, rate, ch
	p.frameDur = durationOf(n/ch, rate)
	p.quiet = meanAbs(pcm) < quietLevel
	if d.conceal == nil && ch == 1 {
		out := p.outbuf[:len(pcm)]
		p.plc.good(pcm, out)
		pcm = out
	}
	p.write(pcm, rate)
	return durationOf(len(pcm)/ch, rate)
}

// meanAbs returns the mean absolute value of pcm.
func meanAbs(pcm []int16) int {
	if len(pcm) == 0 {
		return 0
	}
	var sum int
	for _, v := range pcm {
		sum += max(int(v), -int(v))
	}
	return sum / len(pcm)
}

// conceal writes one frame in place of missing audio and returns its
// duration.
func (p *player) conceal() time.Duration {
	if !p.started {
		// Nothing is written before the first audio.
		return p.frameDur
	}
	p.quiet = false
	if p.lastDec >= 0 {
		d := &p.decoders[p.lastDec]
		if f, ok := d.dec.(fecDecoder); ok {
			// In-band FEC: the next packet may carry this frame.
			p.s.jbMu.Lock()
			p.fitPayloads()
			n, pt, ok := p.s.jb.PeekNext(p.payload2)
			p.s.jbMu.Unlock()
			if ok && pt == d.pt && n > 0 {
				if m, err := f.DecodeFEC(p.outbuf[:p.unit], p.payload2[:n]); err == nil && m > 0 {
					p.s.ctr.fecRecovered.Add(1)
					p.write(p.outbuf[:m], p.lastRate)
					return durationOf(m/p.lastCh, p.lastRate)
				}
			}
		}
		if c := d.conceal; c != nil {
			if n, err := c.Conceal(p.outbuf[:p.unit]); err == nil && n > 0 {
				p.write(p.outbuf[:n], p.lastRate)
				return durationOf(n/p.lastCh, p.lastRate)
			}
		}
	}
	out := p.outbuf[:p.lastN]
	if p.lastCh == 1 {
		p.plc.conceal(out)
	} else {
		clear(out)
	}
	p.write(out, p.lastRate)
	return p.frameDur
}

// silence writes wait of silence (after audio, a quick fade-out of it)
// and returns its duration. Before the first audio it only waits.
func (p *player) silence(wait time.Duration) time.Duration {
	if wait <= 0 {
		wait = p.frameDur
	}
	if !p.started {
		return wait
	}
	p.quiet = true
	n := max(samplesIn(wait, p.lastRate), 1) * p.lastCh
	n = min(n, len(p.outbuf))
	out := p.outbuf[:n]
	if p.lastCh == 1 && (p.lastDec < 0 || p.decoders[p.lastDec].conceal == nil) {
		p.plc.silence(out)
	} else {
		clear(out)
	}
	p.write(out, p.lastRate)
	return durationOf(n/p.lastCh, p.lastRate)
}

// write hands a frame to the current Sink. A Sink that fails is not
// written again until SetSink is called.
func (p *player) write(pcm []int16, rate int) {
	h := p.s.sink.Load()
	if h != p.holder {
		p.holder, p.sinkFailed = h, false
	}
	if h == nil || h.sink == nil || p.sinkFailed {
		return
	}
	p.frame.Samples, p.frame.SampleRate = pcm, rate
	if err := h.sink.WriteFrame(&p.frame); err != nil {
		p.sinkFailed = true
		p.s.log.Warn("media: audio sink failed; discarding audio", "err", err)
	}
}

// playClock runs the player on a monotonic schedule advanced by the
// duration of each tick; the jitter buffer sees the scheduled times on
// the Session's clock, which the receive loop's arrival times use too.
// It is owned by the media loop (media_loop.go).
type playClock struct {
	s       *Session
	p       *player
	start   time.Time
	elapsed time.Duration
}

func newPlayClock(s *Session) *playClock {
	return &playClock{s: s, p: newPlayer(s), start: time.Now()}
}

// due returns when the next tick is due. After a stall of more than
// maxPlayoutLag frames (a Sink that blocked) it starts a new schedule
// rather than writing a burst.
func (c *playClock) due(now time.Time) time.Time {
	at := c.start.Add(c.elapsed)
	if now.Sub(at) > maxPlayoutLag*c.p.frameDur {
		c.start, c.elapsed = now, 0
		at = c.start
	}
	return at
}

// play plays the tick that is due.
func (c *playClock) play() {
	c.p.now = c.start.Sub(c.s.rtcp.epoch) + c.elapsed
	c.elapsed += c.p.playOne()
}
