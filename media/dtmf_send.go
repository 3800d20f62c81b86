package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/voipkit/voipkit/audio"
)

// dtmfSend is the media loop's DTMF state: the digit being sent and
// the pause after it.
type dtmfSend struct {
	active bool
	req    dtmfRequest
	// RFC 4733: the event's timestamp, total duration in clock units,
	// packets sent and end packets sent.
	ts    uint32
	total uint32
	sent  int
	ends  int
	// In-band: the tone being played.
	tone *audio.Tone
	// gap is how many more frames pass before the next digit starts;
	// silent makes them silence (after an in-band tone).
	gap    int
	silent bool
}

// framesIn returns how many frames of ptime d covers, rounded up.
func framesIn(d, ptime time.Duration) int {
	if ptime <= 0 {
		return 0
	}
	return int((d + ptime - 1) / ptime)
}

// nextPacket builds the packet for this send tick after snd.pcm has been
// filled from the Source: an RFC 4733 event packet while a digit plays,
// otherwise audio (a DTMF tone while an in-band digit plays, silence when
// the microphone is muted or in the pause after an in-band digit).
func (s *Session) nextPacket(snd *sender, neg *negotiated) ([]byte, int, error) {
	d := &snd.dtmf
	if !d.active {
		if d.gap > 0 {
			d.gap--
			if d.silent {
				clear(snd.pcm)
			}
			if d.gap == 0 {
				s.dtmf.finish()
			}
		} else if req, ok := s.dtmf.pop(); ok {
			s.startDTMF(snd, neg, req)
		}
	}
	if s.micMuted.Load() {
		clear(snd.pcm)
	}
	if !d.active {
		return snd.packetize()
	}
	if d.req.inband {
		s.inbandFrame(snd)
		return snd.packetize()
	}
	return s.eventPacket(snd, neg)
}

// startDTMF begins sending req, or discards it when it cannot be sent.
func (s *Session) startDTMF(snd *sender, neg *negotiated, req dtmfRequest) {
	d := &snd.dtmf
	if req.inband {
		t, err := audio.NewDTMFTone(req.digit, req.duration, inbandAmplitude)
		if err != nil { // validated by SendInbandDTMF
			s.dtmf.finish()
			return
		}
		*d = dtmfSend{active: true, req: req, tone: t}
		return
	}
	if neg.dtmfPT < 0 {
		s.log.Warn("media: DTMF digit discarded: telephone-event not negotiated", "digit", string(req.digit))
		s.dtmf.finish()
		return
	}
	total := int64(snd.pc.info.ClockRate) * int64(req.duration) / int64(time.Second)
	total = min(total, 0xffff) // the duration field has 16 bits
	*d = dtmfSend{active: true, req: req, ts: snd.hdr.Timestamp, total: uint32(total)}
}

// eventPacket returns the next RFC 4733 packet of the digit being sent
// (RFC 4733 section 2.5.1): the duration grows by one frame per packet
// up to the total, whose packet is sent dtmfEndPackets times with the
// end bit.
func (s *Session) eventPacket(snd *sender, neg *negotiated) ([]byte, int, error) {
	d := &snd.dtmf
	dur := min(uint32(d.sent+1)*snd.frameTS, d.total)
	end := dur >= d.total
	var payload [4]byte
	payload[0] = byte(d.req.code)
	payload[1] = DefaultDTMFVolume
	if end {
		payload[1] |= 0x80
		d.ends++
	}
	binary.BigEndian.PutUint16(payload[2:], uint16(dur))
	pkt, n, err := snd.packetizeEvent(uint8(neg.dtmfPT), d.ts, d.sent == 0, payload[:])
	d.sent++
	if d.ends >= dtmfEndPackets {
		s.endDTMF(snd, false)
		snd.hdr.Marker = true // audio resumes with a new talkspurt
	}
	return pkt, n, err
}

// inbandFrame replaces snd.pcm with the next frame of the tone being
// played; at its end the digit is over and the pause begins.
func (s *Session) inbandFrame(snd *sender) {
	d := &snd.dtmf
	snd.frame.Samples = snd.pcm
	snd.frame.SampleRate = snd.pc.info.SampleRate
	err := d.tone.ReadFrame(&snd.frame)
	if err == nil {
		return
	}
	clear(snd.pcm)
	if !errors.Is(err, io.EOF) {
		s.log.Warn("media: DTMF tone", "err", err)
	}
	s.endDTMF(snd, true)
}

// endDTMF finishes the digit being sent and starts the pause after it.
func (s *Session) endDTMF(snd *sender, inband bool) {
	d := &snd.dtmf
	gap := dtmfGap
	if inband {
		gap = inbandGap
	}
	*d = dtmfSend{gap: framesIn(gap, snd.pc.info.FrameDuration), silent: inband}
	s.dtmf.sent.Add(1)
	if d.gap == 0 {
		s.dtmf.finish()
	}
}

// dropDTMF discards the digit being sent (or its pause) and those
// queued, when the stream cannot send (on hold).
func (s *Session) dropDTMF(snd *sender) {
	d := &snd.dtmf
	if d.active || d.gap > 0 {
		*d = dtmfSend{}
		s.dtmf.finish()
	}
	for {
		if _, ok := s.dtmf.pop(); !ok {
			return
		}
		s.dtmf.finish()
	}
}

// packetizeEvent builds a telephone-event packet with payload type pt,
// timestamp ts and marker, sharing the audio stream's SSRC and sequence
// numbers. Like packetize it advances the sequence number and the audio
// timestamp by one frame, and protects the packet with SRTP in use.
func (s *sender) packetizeEvent(pt uint8, ts uint32, marker bool, payload []byte) ([]byte, int, error) {
	const hlen = 12
	h := s.hdr
	h.PayloadType, h.Timestamp, h.Marker = pt, ts, marker
	if _, err := h.MarshalTo(s.pkt[:hlen]); err != nil {
		return nil, 0, err
	}
	n := copy(s.pkt[hlen:], payload)
	s.hdr.SequenceNumber++
	s.hdr.Timestamp += s.frameTS
	pkt := s.pkt[:hlen+n]
	if s.srtp != nil {
		var err error
		if pkt, err = s.srtp.EncryptRTP(s.pkt, pkt, &s.srtpHdr); err != nil {
			s.hdr.Timestamp -= s.frameTS // the caller's idle(1) adds it back
			return nil, 0, fmt.Errorf("media: SRTP protect: %w", err)
		}
	}
	return pkt, n, nil
}
