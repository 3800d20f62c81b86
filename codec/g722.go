package codec

import (
	"errors"
	"fmt"
	"time"
)

// G.722 (ITU-T Recommendation G.722): 7 kHz wideband audio coded at
// 64 kbit/s with sub-band ADPCM (SB-ADPCM).
//
// The 16 kHz input is split by a 24-tap quadrature mirror filter (QMF) into
// a lower (0-4 kHz) and an upper (4-8 kHz) sub-band, each at 8 kHz. The
// lower band is coded with 6 bits per sample by an adaptive quantizer with
// 60 levels, the upper band with 2 bits; the 8-bit codeword of each pair
// of input samples is IH (2 bits) followed by IL (6 bits). Each band has
// an adaptive predictor with two poles and six zeros and a backward-adapted
// logarithmic scale factor, so that the decoder tracks the encoder's state
// from the codewords alone. The lower band's predictor is driven by only
// the 4 most significant bits of IL (the "embedded" property), which lets
// a decoder run at 56 or 48 kbit/s by ignoring one or two low bits.
//
// The arithmetic below follows the recommendation's fixed-point
// description: 16-bit words that saturate, right shifts that round towards
// minus infinity, and its tables. The recommendation's sub-band signals are
// 15-bit (twice its 14-bit PCM); with 16-bit PCM in and out the QMF scale
// shifts absorb that difference.

// Errors of the G.722 encoder and decoder.
var (
	// ErrFrameSize is returned when a PCM block does not have a length the
	// codec can encode (for G.722, an odd number of samples).
	ErrFrameSize = errors.New("codec: PCM frame size not supported")
	// ErrBitRate is returned for a bit rate the codec does not support.
	ErrBitRate = errors.New("codec: bit rate not supported")
)

// G.722 bit rates (the recommendation's modes 1, 2 and 3).
const (
	G722Rate64k = 64000 // mode 1: 6 bits of IL decoded
	G722Rate56k = 56000 // mode 2: 5 bits of IL decoded, 1 bit of auxiliary data
	G722Rate48k = 48000 // mode 3: 4 bits of IL decoded, 2 bits of auxiliary data
)

// g722QMF are the QMF coefficients h0..h23 of the recommendation, scaled
// by 2^13 (they sum to 8192). The filter is symmetric.
var g722QMF = [24]int32{
	3, -11, -11, 53, 12, -156, 32, 362, -210, -805, 951, 3876,
	3876, 951, -805, -210, 362, 32, -156, 12, 53, -11, -11, 3,
}

// Lower sub-band quantizer (QUANTL): normalized decision levels scaled by
// 2^12, compared with |el| after multiplication by DETL. The interval
// number selects the 6-bit code for a positive or a negative difference.
var (
	g722Q6 = [30]int32{
		0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650,
		714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919,
	}
	g722ILN = [31]uint8{
		0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19,
		18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4,
	}
	g722ILP = [31]uint8{
		0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47,
		46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32,
	}
)

// Lower sub-band inverse quantizers (INVQAL, INVQBL): output levels scaled
// by 2^15 (times DETL), indexed by the 4, 5 or 6 most significant bits
// of IL.
var (
	g722QM4 = [16]int32{
		0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
		20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
	}
	g722QM5 = [32]int32{
		-280, -280, -23352, -17560, -14120, -11664, -9752, -8184,
		-6864, -5712, -4696, -3784, -2960, -2208, -1520, -880,
		23352, 17560, 14120, 11664, 9752, 8184, 6864, 5712,
		4696, 3784, 2960, 2208, 1520, 880, 280, -280,
	}
	g722QM6 = [64]int32{
		-136, -136, -136, -136, -24808, -21904, -19008, -16704,
		-14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
		-7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
		-3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
		24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
		10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
		4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
		1688, 1360, 1040, 728, 432, 136, -432, -136,
	}
)

// Scale factor adaptation: the log-domain multipliers of the lower band
// (LOGSCL, indexed through the magnitude class of the 4-bit code) and of
// the upper band (LOGSCH), and the table of 2048·2^(i/32) used by
// SCALEL/SCALEH to leave the log domain.
var (
	g722WL   = [8]int32{-60, -30, 58, 172, 334, 538, 1198, 3042}
	g722RL42 = [16]uint8{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
	g722WH   = [3]int32{0, -214, 798}
	g722RH2  = [4]uint8{2, 1, 2, 1}
	g722ILB  = [32]int32{
		2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
		2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
	}
)

// Upper sub-band quantizer (QUANTH) decision level, 2^12 scale, and
// inverse quantizer (INVQAH) levels, 2^15 scale, indexed by IH.
const g722Q2 = 564

var g722QM2 = [4]int32{-7408, -1616, 7408, 1616}

// Limits of the log scale factors (NBL, NBH) and of the pole
// coefficients.
const (
	g722NBLMax = 18432
	g722NBHMax = 22528
	g722A2Max  = 12288 // |a2| ≤ 0.75
	g722A1Sum  = 15360 // |a1| ≤ 1 - 2^-4 - a2
)

// sat16 saturates v to the range of a 16-bit word.
func sat16(v int32) int32 {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return v
}

// limit15 limits a reconstructed sub-band signal to 15 bits (the
// recommendation's LIMIT block).
func limit15(v int32) int32 {
	if v > 16383 {
		return 16383
	}
	if v < -16384 {
		return -16384
	}
	return v
}

// g722Band is the adaptive state of one sub-band: the predictor and the
// scale factor. The recommendation's block names are given with each step.
type g722Band struct {
	s   int32    // signal estimate SL/SH (pole part + zero part)
	sz  int32    // zero-section part of the estimate SZL/SZH
	r1  int32    // reconstructed signal, delayed by one sample
	r2  int32    // ... and by two
	p1  int32    // partially reconstructed signal, delayed by one
	p2  int32    // ... and by two
	a1  int32    // pole coefficients (2^14 scale)
	a2  int32    //
	b   [6]int32 // zero coefficients (2^14 scale)
	d   [6]int32 // quantized difference signal, delayed by 1..6
	nb  int32    // log scale factor NBL/NBH
	det int32    // scale factor DETL/DETH
}

// reset returns the band to the recommendation's initial state.
func (b *g722Band) reset(minDet int32) {
	*b = g722Band{det: minDet}
}

// scale converts the log scale factor to the linear one (SCALEL with
// shift 8, SCALEH with shift 10).
func (b *g722Band) scale(shift int32) {
	wd1 := (b.nb >> 6) & 31
	wd2 := shift - b.nb>>11
	wd3 := g722ILB[wd1]
	if wd2 < 0 {
		wd3 <<= uint(-wd2)
	} else {
		wd3 >>= uint(wd2)
	}
	b.det = wd3 << 2
}

// adaptLow updates the lower band's scale factor for 4-bit code ril
// (LOGSCL, SCALEL).
func (b *g722Band) adaptLow(ril int32) {
	nb := (b.nb*32512)>>15 + g722WL[g722RL42[ril]]
	b.nb = min(max(nb, 0), g722NBLMax)
	b.scale(8)
}

// adaptHigh updates the upper band's scale factor for code ih (LOGSCH,
// SCALEH).
func (b *g722Band) adaptHigh(ih int32) {
	nb := (b.nb*32512)>>15 + g722WH[g722RH2[ih]]
	b.nb = min(max(nb, 0), g722NBHMax)
	b.scale(10)
}

// predict runs the predictor for one sample whose quantized difference
// signal is d: it adapts the pole and zero coefficients, shifts the delay
// lines and computes the next signal estimate b.s.
func (b *g722Band) predict(d int32) {
	p := sat16(d + b.sz) // ADDC: partially reconstructed signal
	r := sat16(b.s + d)  // RECONS: reconstructed signal

	// Signs as the recommendation takes them: the word's top bit, so that
	// zero counts as positive.
	sg0, sg1, sg2 := p>>15, b.p1>>15, b.p2>>15

	// UPPOL2: second pole.
	wd1 := sat16(b.a1 << 2)
	wd2 := wd1
	if sg0 == sg1 {
		wd2 = -wd1
	}
	wd2 >>= 7
	wd3 := int32(-128)
	if sg0 == sg2 {
		wd3 = 128
	}
	a2 := wd2 + wd3 + (b.a2*32512)>>15
	a2 = min(max(a2, -g722A2Max), g722A2Max)

	// UPPOL1: first pole, limited with respect to the new second pole.
	wd := int32(-192)
	if sg0 == sg1 {
		wd = 192
	}
	a1 := wd + (b.a1*32640)>>15
	lim := g722A1Sum - a2
	a1 = min(max(a1, -lim), lim)

	// UPZERO: zeros, driven by the signs of the difference signal; a zero
	// difference only lets the coefficients leak.
	step := int32(128)
	if d == 0 {
		step = 0
	}
	sgd := d >> 15
	for i := range b.b {
		w := -step
		if b.d[i]>>15 == sgd {
			w = step
		}
		b.b[i] = w + (b.b[i]*32640)>>15
	}

	// DELAYA / DELAYL: shift the delay lines.
	copy(b.d[1:], b.d[:5])
	b.d[0] = d
	b.p2, b.p1 = b.p1, p
	b.r2, b.r1 = b.r1, r
	b.a1, b.a2 = a1, a2

	// FILTEP: pole section; FILTEZ: zero section; PREDIC: their sum.
	sp := sat16((b.a1*sat16(b.r1+b.r1))>>15 + (b.a2*sat16(b.r2+b.r2))>>15)
	var sz int32
	for i := range b.b {
		sz = sat16(sz + (b.b[i]*sat16(b.d[i]+b.d[i]))>>15)
	}
	b.sz = sz
	b.s = sat16(sp + sz)
}

// G722Encoder encodes 16 kHz 16-bit PCM into G.722 at 64 kbit/s: one byte
// per two samples, 160 bytes per 20 ms. The encoder is the same for all
// three G.722 modes; at 56 and 48 kbit/s a multiplexer would replace the
// low bits with data. A G722Encoder keeps state between calls and is not
// safe for concurrent use. Its zero value is not ready: use
// NewG722Encoder.
type G722Encoder struct {
	x    [24]int32 // QMF input delay line, newest first
	low  g722Band
	high g722Band
}

// NewG722Encoder returns an encoder in the initial state.
func NewG722Encoder() *G722Encoder {
	e := new(G722Encoder)
	e.Reset()
	return e
}

// Reset returns the encoder to its initial state, as for a new stream.
func (e *G722Encoder) Reset() {
	e.x = [24]int32{}
	e.low.reset(32)
	e.high.reset(8)
}

// Encode encodes pcm (an even number of 16 kHz samples) into len(pcm)/2
// bytes of dst and returns the number of bytes written. It fails with
// ErrFrameSize for an odd number of samples and ErrShortBuffer when dst
// is too small; nothing is encoded then.
func (e *G722Encoder) Encode(dst []byte, pcm []int16) (int, error) {
	if len(pcm)%2 != 0 {
		return 0, fmt.Errorf("%w: G722 needs an even number of samples, have %d", ErrFrameSize, len(pcm))
	}
	n := len(pcm) / 2
	if len(dst) < n {
		return 0, shortEncode("G722", len(dst), n)
	}
	dst = dst[:n]
	for i := range dst {
		dst[i] = e.encodePair(int32(pcm[2*i]), int32(pcm[2*i+1]))
	}
	return n, nil
}

// encodePair codes the input samples x(j-1), x(j) into one codeword.
func (e *G722Encoder) encodePair(x0, x1 int32) byte {
	// Transmit QMF: xA sums the even taps, xB the odd ones, over the 24
	// newest samples; the sub-band signals are their sum and difference.
	copy(e.x[2:], e.x[:22])
	e.x[0], e.x[1] = x1, x0
	var xa, xb int32
	for i := 0; i < 24; i += 2 {
		xa += g722QMF[i] * e.x[i]
		xb += g722QMF[i+1] * e.x[i+1]
	}
	xl := sat16((xa + xb) >> 14)
	xh := sat16((xa - xb) >> 14)

	// Lower band. SUBTRA, QUANTL.
	l := &e.low
	el := sat16(xl - l.s)
	wd := el
	if el < 0 {
		wd = ^el // one's complement magnitude, as in the recommendation
	}
	mil := 1
	for ; mil < len(g722Q6); mil++ {
		if wd < (g722Q6[mil]*l.det)>>12 {
			break
		}
	}
	var il int32
	if el < 0 {
		il = int32(g722ILN[mil])
	} else {
		il = int32(g722ILP[mil])
	}
	// INVQAL: the predictor sees the 4-bit difference only.
	ril := il >> 2
	dlt := (l.det * g722QM4[ril]) >> 15
	l.adaptLow(ril)
	l.predict(dlt)

	// Upper band. SUBTRA, QUANTH, INVQAH.
	h := &e.high
	eh := sat16(xh - h.s)
	wd = eh
	if eh < 0 {
		wd = ^eh
	}
	var ih int32
	large := wd >= (g722Q2*h.det)>>12
	switch {
	case eh >= 0 && large:
		ih = 2
	case eh >= 0:
		ih = 3
	case large:
		ih = 0
	default:
		ih = 1
	}
	dh := (h.det * g722QM2[ih]) >> 15
	h.adaptHigh(ih)
	h.predict(dh)

	return byte(ih<<6 | il)
}

// G722Decoder decodes G.722 into 16 kHz 16-bit PCM: two samples per byte,
// at 64, 56 or 48 kbit/s (modes 1 to 3). Every byte value is a valid
// codeword, so any payload decodes. A G722Decoder keeps state between
// calls and is not safe for concurrent use. Its zero value is not ready:
// use NewG722Decoder.
type G722Decoder struct {
	bits int       // IL bits decoded: 6, 5 or 4
	xd   [12]int32 // receive QMF delay lines (difference and sum of the bands), newest first
	xs   [12]int32
	low  g722Band
	high g722Band
}

// NewG722Decoder returns a decoder for the given bit rate: G722Rate64k,
// G722Rate56k or G722Rate48k. Other values fail with ErrBitRate.
func NewG722Decoder(bitRate int) (*G722Decoder, error) {
	var bits int
	switch bitRate {
	case G722Rate64k:
		bits = 6
	case G722Rate56k:
		bits = 5
	case G722Rate48k:
		bits = 4
	default:
		return nil, fmt.Errorf("%w: G722 at %d bit/s (want 64000, 56000 or 48000)", ErrBitRate, bitRate)
	}
	d := &G722Decoder{bits: bits}
	d.Reset()
	return d, nil
}

// Reset returns the decoder to its initial state, as for a new stream.
func (d *G722Decoder) Reset() {
	d.xd, d.xs = [12]int32{}, [12]int32{}
	d.low.reset(32)
	d.high.reset(8)
}

// Decode decodes payload into 2·len(payload) samples of dst and returns
// their number. It fails with ErrShortBuffer when dst is too small;
// nothing is decoded then.
func (d *G722Decoder) Decode(dst []int16, payload []byte) (int, error) {
	n := 2 * len(payload)
	if len(dst) < n {
		return 0, shortDecode("G722", len(dst), n)
	}
	for i, c := range payload {
		dst[2*i], dst[2*i+1] = d.decodeByte(c)
	}
	return n, nil
}

// decodeByte decodes one codeword into two output samples.
func (d *G722Decoder) decodeByte(c byte) (int16, int16) {
	il := int32(c & 0x3f)
	ih := int32(c >> 6)

	// Lower band: INVQBL for the output at the decoder's rate, INVQAL
	// (4 bits) for the predictor.
	l := &d.low
	ril := il >> 2
	var q int32
	switch d.bits {
	case 6:
		q = g722QM6[il]
	case 5:
		q = g722QM5[il>>1]
	default:
		q = g722QM4[ril]
	}
	rl := limit15(l.s + (l.det*q)>>15)
	dlt := (l.det * g722QM4[ril]) >> 15
	l.adaptLow(ril)
	l.predict(dlt)

	// Upper band.
	h := &d.high
	dh := (h.det * g722QM2[ih]) >> 15
	rh := limit15(h.s + dh)
	h.adaptHigh(ih)
	h.predict(dh)

	// Receive QMF: the two output samples are the even-tap filter of the
	// bands' difference and the odd-tap filter of their sum.
	copy(d.xd[1:], d.xd[:11])
	copy(d.xs[1:], d.xs[:11])
	d.xd[0], d.xs[0] = rl-rh, rl+rh
	var y0, y1 int32
	for i := range 12 {
		y0 += g722QMF[2*i] * d.xd[i]
		y1 += g722QMF[2*i+1] * d.xs[i]
	}
	return int16(sat16(y0 >> 11)), int16(sat16(y1 >> 11))
}

// g722Codec is the registered G722 codec. It holds no mutable state and is
// safe for concurrent use.
type g722Codec struct{}

func (g722Codec) Info() Info {
	return Info{
		Name:          "G722",
		PayloadType:   9,
		ClockRate:     8000, // RFC 3551: G.722's RTP clock runs at 8000 Hz for historical reasons
		SampleRate:    16000,
		Channels:      1,
		FrameDuration: 20 * time.Millisecond,
	}
}

func (g722Codec) NewEncoder() (Encoder, error) { return NewG722Encoder(), nil }

func (g722Codec) NewDecoder() (Decoder, error) { return NewG722Decoder(G722Rate64k) }

func init() {
	Register(g722Codec{})
}
