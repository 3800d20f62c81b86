package media

import (
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/codec"
)

// maxDecodedSamples bounds the PCM one packet may decode to (120 ms of
// 48 kHz stereo audio).
const maxDecodedSamples = 11520

// maxPlayoutLag is how far (in frames) playout may fall behind its
// schedule, for example because the Sink blocked, before it starts a new
// schedule instead of writing a burst.
const maxPlayoutLag = 5

// decoderEntry is a decoder for one negotiated payload type.
type decoderEntry struct {
	pt   uint8
	info codec.Info
	dec  codec.Decoder
}

// player is the state of the playout path: it pulls one packet per frame
// from the jitter buffer, decodes it and writes it to the Sink, filling
// gaps so the Sink's timeline stays continuous. It is owned by the
// playout goroutine (or a benchmark).
type player struct {
	s        *Session
	neg      *negotiated
	decoders []decoderEntry
	payload  []byte
	pcm      []int16
	last     []int16 // the last decoded frame
	frame    audio.Frame

	started  bool          // audio has been written
	fade     bool          // the next concealed frame fades out the last one
	lastN    int           // samples in the last frame written
	lastRate int           // its sample rate
	frameDur time.Duration // its duration

	holder     *sinkHolder // the Sink last written
	sinkFailed bool        // it returned an error
}

func newPlayer(s *Session) *player {
	return &player{
		s:        s,
		payload:  make([]byte, maxPayload),
		pcm:      make([]int16, maxDecodedSamples),
		last:     make([]int16, maxDecodedSamples),
		frameDur: defaultPTime,
	}
}

// decoder returns the decoder for payload type pt, creating it on first
// use.
func (p *player) decoder(pt uint8) *decoderEntry {
	for i := range p.decoders {
		if p.decoders[i].pt == pt {
			return &p.decoders[i]
		}
	}
	pc, ok := p.neg.recvCodec(pt)
	if !ok {
		return nil
	}
	dec, err := pc.codec.NewDecoder()
	if err != nil {
		p.s.log.Error("media: decoder", "codec", pc.info.Name, "err", err)
		return nil
	}
	p.decoders = append(p.decoders, decoderEntry{pt: pt, info: pc.info, dec: dec})
	return &p.decoders[len(p.decoders)-1]
}

// playOne produces one frame of playout and returns its duration.
func (p *player) playOne() time.Duration {
	s := p.s
	if cur := s.neg.Load(); cur != p.neg {
		resume := p.neg != nil && !p.neg.recvOK && cur.recvOK
		p.neg, p.decoders = cur, p.decoders[:0]
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
	n, pt, res := s.jb.Pop(p.payload)
	s.jbMu.Unlock()
	if res == popPacket {
		if d := p.decode(pt, p.payload[:n]); d > 0 {
			return d
		}
	}
	if !p.started {
		// Nothing is written before the first audio.
		return p.frameDur
	}
	return p.conceal()
}

// decode decodes payload and writes it to the Sink. It returns the
// frame's duration, or 0 when the payload could not be decoded.
func (p *player) decode(pt uint8, payload []byte) time.Duration {
	d := p.decoder(pt)
	if d == nil {
		return 0
	}
	n, err := d.dec.Decode(p.pcm, payload)
	if err != nil || n <= 0 || d.info.SampleRate <= 0 {
		return 0
	}
	p.started, p.fade = true, true
	p.lastN, p.lastRate = n, d.info.SampleRate
	copy(p.last, p.pcm[:n])
	ch := max(d.info.Channels, 1)
	p.frameDur = time.Duration(n/ch) * time.Second / time.Duration(d.info.SampleRate)
	p.write(p.pcm[:n], d.info.SampleRate)
	return p.frameDur
}

// conceal writes one frame in place of a missing packet: the previous
// frame fading out after audio, silence after that.
func (p *player) conceal() time.Duration {
	p.s.ctr.concealed.Add(1)
	pcm := p.pcm[:p.lastN]
	if p.fade {
		p.fade = false
		// Repeat the last frame, ramped down to zero.
		for i, v := range p.last[:p.lastN] {
			pcm[i] = int16(int(v) * (len(pcm) - i) / len(pcm))
		}
	} else {
		clear(pcm)
	}
	p.write(pcm, p.lastRate)
	return p.frameDur
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

// playoutLoop runs the player on a monotonic schedule advanced by the
// duration of each frame written.
func (s *Session) playoutLoop() {
	defer s.wg.Done()
	p := newPlayer(s)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := time.Now()
	var elapsed time.Duration
	for {
		wait := time.Until(start.Add(elapsed))
		if wait < -maxPlayoutLag*p.frameDur {
			start, elapsed, wait = time.Now(), 0, 0
		}
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-s.done:
				return
			case <-timer.C:
			}
		} else {
			select {
			case <-s.done:
				return
			default:
			}
		}
		elapsed += p.playOne()
	}
}
