//go:build cgo

package opus

import (
	"errors"
	"fmt"
	"time"

	libopus "github.com/hraban/opus"

	"github.com/voipkit/voipkit/codec"
)

// Parameters of the registered codec and of the encoder.
const (
	// SampleRate is the PCM rate of Encoder and Decoder, in Hz.
	SampleRate = 48000
	// FrameSamples is the number of samples of one 20 ms frame.
	FrameSamples = SampleRate / 50
	// PayloadType is the dynamic RTP payload type offered by default.
	PayloadType = 111
	// Fmtp is the a=fmtp value offered: in-band FEC, full band, mono both
	// ways (RFC 7587 section 6.1).
	Fmtp = "useinbandfec=1;maxplaybackrate=48000;stereo=0;sprop-stereo=0"
	// DefaultBitrate is the encoder's target bit rate in bit/s.
	DefaultBitrate = 32000
	// DefaultPacketLoss is the packet loss, in percent, the encoder
	// expects; libopus adds in-band FEC only when it is above zero.
	DefaultPacketLoss = 10
	// MaxPacketSamples is the most PCM one Opus packet decodes to: 120 ms.
	MaxPacketSamples = SampleRate * 120 / 1000
)

// ErrInvalidPacket is returned when a payload is not a valid Opus packet.
var ErrInvalidPacket = errors.New("opus: invalid packet")

// errorOf turns a libopus error into one matching codec.ErrShortBuffer
// (output buffer too small) or, for decoding, ErrInvalidPacket.
func errorOf(op string, err error, decoding bool) error {
	var e libopus.Error
	if errors.As(err, &e) && e == libopus.ErrBufferTooSmall {
		return fmt.Errorf("%w: opus %s: %w", codec.ErrShortBuffer, op, err)
	}
	if decoding {
		return fmt.Errorf("%w: %s: %w", ErrInvalidPacket, op, err)
	}
	return fmt.Errorf("opus: %s: %w", op, err)
}

// validFrame reports whether n samples at 48 kHz make an Opus frame:
// 2.5, 5, 10, 20, 40 or 60 ms.
func validFrame(n int) bool {
	switch n {
	case 120, 240, 480, 960, 1920, 2880:
		return true
	}
	return false
}

// Encoder encodes 48 kHz mono PCM into Opus packets with libopus (VoIP
// application, in-band FEC, DefaultBitrate). An Encoder keeps state and is
// not safe for concurrent use.
type Encoder struct {
	enc *libopus.Encoder
}

// NewEncoder returns a mono 48 kHz VoIP encoder with in-band FEC enabled
// for DefaultPacketLoss and a bit rate of DefaultBitrate.
func NewEncoder() (*Encoder, error) {
	enc, err := libopus.NewEncoder(SampleRate, 1, libopus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("opus: new encoder: %w", err)
	}
	e := &Encoder{enc: enc}
	if err := e.configure(); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Encoder) configure() error {
	if err := e.enc.SetBitrate(DefaultBitrate); err != nil {
		return fmt.Errorf("opus: set bit rate: %w", err)
	}
	if err := e.enc.SetInBandFEC(true); err != nil {
		return fmt.Errorf("opus: enable in-band FEC: %w", err)
	}
	if err := e.enc.SetPacketLossPerc(DefaultPacketLoss); err != nil {
		return fmt.Errorf("opus: set packet loss: %w", err)
	}
	return nil
}

// SetBitrate sets the target bit rate in bit/s; libopus clamps it to
// 500-512000 and rejects zero and negative values.
func (e *Encoder) SetBitrate(bps int) error {
	if err := e.enc.SetBitrate(bps); err != nil {
		return fmt.Errorf("opus: set bit rate %d: %w", bps, err)
	}
	return nil
}

// Reset returns the encoder to the state of a new stream, keeping its
// settings.
func (e *Encoder) Reset() error {
	if err := e.enc.Reset(); err != nil {
		return fmt.Errorf("opus: reset encoder: %w", err)
	}
	return nil
}

// Encode encodes one frame of mono 48 kHz PCM (120, 240, 480, 960, 1920 or
// 2880 samples; 960 is 20 ms) into dst and returns the packet's length.
// Other lengths fail with codec.ErrFrameSize; a dst too small for the
// packet fails with codec.ErrShortBuffer (1275 bytes always suffice).
func (e *Encoder) Encode(dst []byte, pcm []int16) (int, error) {
	if !validFrame(len(pcm)) {
		return 0, fmt.Errorf("%w: opus needs 2.5 to 60 ms of 48 kHz audio, have %d samples", codec.ErrFrameSize, len(pcm))
	}
	if len(dst) == 0 {
		return 0, fmt.Errorf("%w: opus payload buffer is empty", codec.ErrShortBuffer)
	}
	// libopus may use the whole capacity of the slices it is given.
	n, err := e.enc.Encode(pcm, dst[:len(dst):len(dst)])
	if err != nil {
		return 0, errorOf("encode", err, false)
	}
	return n, nil
}

// Decoder decodes Opus packets, mono or stereo, into 48 kHz mono PCM with
// libopus. A Decoder keeps state and is not safe for concurrent use.
type Decoder struct {
	dec   *libopus.Decoder
	lastN int // samples of the last packet decoded or concealed
}

// NewDecoder returns a mono 48 kHz decoder.
func NewDecoder() (*Decoder, error) {
	dec, err := libopus.NewDecoder(SampleRate, 1)
	if err != nil {
		return nil, fmt.Errorf("opus: new decoder: %w", err)
	}
	return &Decoder{dec: dec, lastN: FrameSamples}, nil
}

// Reset returns the decoder to the state of a new stream.
func (d *Decoder) Reset() error {
	dec, err := libopus.NewDecoder(SampleRate, 1)
	if err != nil {
		return fmt.Errorf("opus: reset decoder: %w", err)
	}
	d.dec, d.lastN = dec, FrameSamples
	return nil
}

// Decode decodes one Opus packet into dst and returns the number of
// samples written (960 for a 20 ms packet; a packet holds at most
// MaxPacketSamples). An empty payload stands for a lost packet and is
// concealed, see Conceal. A payload that is not Opus fails with
// ErrInvalidPacket, a dst too small for the packet with
// codec.ErrShortBuffer.
func (d *Decoder) Decode(dst []int16, payload []byte) (int, error) {
	if len(payload) == 0 {
		return d.Conceal(dst)
	}
	if len(dst) == 0 {
		return 0, fmt.Errorf("%w: opus PCM buffer is empty", codec.ErrShortBuffer)
	}
	n, err := d.dec.Decode(payload, dst[:len(dst):len(dst)])
	if err != nil {
		return 0, errorOf("decode", err, true)
	}
	d.lastN = n
	return n, nil
}

// Conceal fills dst with one frame of packet loss concealment (the length
// of the last packet, 960 samples for 20 ms) extrapolated from the audio
// decoded so far, and returns its length.
func (d *Decoder) Conceal(dst []int16) (int, error) {
	n := d.lastN
	if len(dst) < n {
		return 0, fmt.Errorf("%w: opus concealment needs %d samples, have %d", codec.ErrShortBuffer, n, len(dst))
	}
	if err := d.dec.DecodePLC(dst[:n:n]); err != nil {
		return 0, errorOf("conceal", err, false)
	}
	return n, nil
}

// DecodeFEC recovers the frame lost just before the packet next from the
// in-band FEC data next carries (falling back to concealment when it has
// none), writes it to dst and returns its length (that of the last packet,
// 960 samples for 20 ms). Decode next itself afterwards.
func (d *Decoder) DecodeFEC(dst []int16, next []byte) (int, error) {
	if len(next) == 0 {
		return d.Conceal(dst)
	}
	n := d.lastN
	if len(dst) < n {
		return 0, fmt.Errorf("%w: opus FEC needs %d samples, have %d", codec.ErrShortBuffer, n, len(dst))
	}
	if err := d.dec.DecodeFEC(next, dst[:n:n]); err != nil {
		return 0, errorOf("decode FEC", err, true)
	}
	return n, nil
}

// opusCodec is the registered "opus" codec. It holds no mutable state and
// is safe for concurrent use.
type opusCodec struct{}

// Info describes Opus as SDP requires it: opus/48000/2 with a dynamic
// payload type. The PCM of its encoders and decoders is mono regardless.
func (opusCodec) Info() codec.Info {
	return codec.Info{
		Name:          "opus",
		PayloadType:   PayloadType,
		ClockRate:     SampleRate,
		SampleRate:    SampleRate,
		Channels:      2,
		FrameDuration: 20 * time.Millisecond,
		Fmtp:          Fmtp,
	}
}

// NewEncoder returns a new Encoder (never a typed nil on error).
func (opusCodec) NewEncoder() (codec.Encoder, error) {
	e, err := NewEncoder()
	if err != nil {
		return nil, err
	}
	return e, nil
}

// NewDecoder returns a new Decoder (never a typed nil on error).
func (opusCodec) NewDecoder() (codec.Decoder, error) {
	d, err := NewDecoder()
	if err != nil {
		return nil, err
	}
	return d, nil
}

func init() {
	codec.Register(opusCodec{})
}
