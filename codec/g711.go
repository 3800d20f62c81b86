package codec

import (
	"fmt"
	"math/bits"
	"time"
)

// G.711 (ITU-T Recommendation G.711) companding, µ-law and A-law.
//
// Both laws map a linear sample to an 8-bit code made of a sign bit, a
// 3-bit segment (chord) number and a 4-bit step within the segment. The
// functions below work on the 16-bit linear range; µ-law uses the 14-bit
// resolution of the recommendation (with the customary bias of 0x84 and
// clipping at 32635) and A-law the 13-bit resolution, so the low bits of a
// 16-bit sample only matter as far as G.711 defines them.

const (
	ulawBias = 0x84  // 132: bias added to the magnitude before segmenting
	ulawClip = 32635 // largest magnitude that can be biased without overflow
	alawMask = 0x55  // even-bit inversion applied to A-law codes
)

// Lookup tables. They are computed once at package initialisation and never
// written afterwards.
var (
	// ulawEncodeTable maps every 16-bit sample (as uint16) to its µ-law code.
	ulawEncodeTable = buildULawEncodeTable()
	// alawEncodeTable maps the top 13 bits of a sample (uint16(x) >> 3) to
	// its A-law code; A-law does not depend on the three lowest bits.
	alawEncodeTable = buildALawEncodeTable()
	// ulawDecodeTable and alawDecodeTable map a code to a linear sample.
	ulawDecodeTable = buildDecodeTable(ulawDecode)
	alawDecodeTable = buildDecodeTable(alawDecode)
)

// ulawEncode is the arithmetic µ-law encoder used to build the table.
func ulawEncode(sample int16) byte {
	x := int32(sample)
	var sign int32
	if x < 0 {
		x = -x
		sign = 0x80
	}
	if x > ulawClip {
		x = ulawClip
	}
	x += ulawBias // now in [132, 32767]
	// The segment is the position of the leading one above bit 7.
	exp := int32(bits.Len32(uint32(x>>7))) - 1
	mant := (x >> (exp + 3)) & 0x0F
	return ^byte(sign | exp<<4 | mant)
}

// ulawDecode is the arithmetic µ-law decoder used to build the table.
func ulawDecode(code byte) int16 {
	u := ^code
	exp := int32(u>>4) & 0x07
	mant := int32(u) & 0x0F
	mag := ((mant<<3)+ulawBias)<<exp - ulawBias
	if u&0x80 != 0 {
		return int16(-mag)
	}
	return int16(mag)
}

// alawEncode is the arithmetic A-law encoder used to build the table.
func alawEncode(sample int16) byte {
	var sign int32
	var m int32 // 12-bit magnitude, 0..4095
	if sample >= 0 {
		sign = 0x80
		m = int32(sample) >> 3
	} else {
		// One's complement keeps the negative range symmetric with the
		// positive one at 13-bit resolution (-1 maps next to +0).
		m = int32(^sample) >> 3
	}
	var code int32
	if m < 32 {
		code = m >> 1
	} else {
		seg := int32(bits.Len32(uint32(m))) - 5 // 1..7
		code = seg<<4 | (m>>seg)&0x0F
	}
	return byte(sign|code) ^ alawMask
}

// alawDecode is the arithmetic A-law decoder used to build the table.
func alawDecode(code byte) int16 {
	a := int32(code ^ alawMask)
	seg := (a >> 4) & 0x07
	mant := a & 0x0F
	var mag int32
	if seg == 0 {
		mag = mant<<4 + 8
	} else {
		mag = (mant<<4 + 0x108) << (seg - 1)
	}
	if a&0x80 != 0 {
		return int16(mag)
	}
	return int16(-mag)
}

func buildULawEncodeTable() *[1 << 16]byte {
	t := new([1 << 16]byte)
	for i := range t {
		t[i] = ulawEncode(int16(uint16(i)))
	}
	return t
}

func buildALawEncodeTable() *[1 << 13]byte {
	t := new([1 << 13]byte)
	for i := range t {
		t[i] = alawEncode(int16(uint16(i) << 3))
	}
	return t
}

func buildDecodeTable(dec func(byte) int16) *[256]int16 {
	t := new([256]int16)
	for i := range t {
		t[i] = dec(byte(i))
	}
	return t
}

// ULawFromLinear returns the G.711 µ-law code of a 16-bit linear sample.
func ULawFromLinear(sample int16) byte {
	return ulawEncodeTable[uint16(sample)]
}

// LinearFromULaw returns the 16-bit linear sample of a G.711 µ-law code.
func LinearFromULaw(code byte) int16 {
	return ulawDecodeTable[code]
}

// ALawFromLinear returns the G.711 A-law code of a 16-bit linear sample.
func ALawFromLinear(sample int16) byte {
	return alawEncodeTable[uint16(sample)>>3]
}

// LinearFromALaw returns the 16-bit linear sample of a G.711 A-law code.
func LinearFromALaw(code byte) int16 {
	return alawDecodeTable[code]
}

// EncodeULaw encodes pcm into µ-law codes in dst and returns the number of
// bytes written, which is min(len(dst), len(pcm)); dst should be at least
// as long as pcm.
func EncodeULaw(dst []byte, pcm []int16) int {
	n := min(len(dst), len(pcm))
	dst, pcm = dst[:n], pcm[:n]
	t := ulawEncodeTable
	for i, s := range pcm {
		dst[i] = t[uint16(s)]
	}
	return n
}

// DecodeULaw decodes µ-law codes from src into dst and returns the number
// of samples written, which is min(len(dst), len(src)); dst should be at
// least as long as src.
func DecodeULaw(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	t := ulawDecodeTable
	for i, c := range src {
		dst[i] = t[c]
	}
	return n
}

// EncodeALaw encodes pcm into A-law codes in dst and returns the number of
// bytes written, which is min(len(dst), len(pcm)); dst should be at least
// as long as pcm.
func EncodeALaw(dst []byte, pcm []int16) int {
	n := min(len(dst), len(pcm))
	dst, pcm = dst[:n], pcm[:n]
	t := alawEncodeTable
	for i, s := range pcm {
		dst[i] = t[uint16(s)>>3]
	}
	return n
}

// DecodeALaw decodes A-law codes from src into dst and returns the number
// of samples written, which is min(len(dst), len(src)); dst should be at
// least as long as src.
func DecodeALaw(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	t := alawDecodeTable
	for i, c := range src {
		dst[i] = t[c]
	}
	return n
}

// g711Codec is the registered PCMU or PCMA codec. It holds no mutable state
// and is safe for concurrent use.
type g711Codec struct {
	info Info
	alaw bool
}

func (c *g711Codec) Info() Info { return c.info }

func (c *g711Codec) NewEncoder() (Encoder, error) {
	if c.alaw {
		return alawEncoder{}, nil
	}
	return ulawEncoder{}, nil
}

func (c *g711Codec) NewDecoder() (Decoder, error) {
	if c.alaw {
		return alawDecoder{}, nil
	}
	return ulawDecoder{}, nil
}

// The G.711 encoders and decoders are stateless, so their zero-size values
// are shared freely.
type (
	ulawEncoder struct{}
	ulawDecoder struct{}
	alawEncoder struct{}
	alawDecoder struct{}
)

func shortEncode(law string, have, need int) error {
	return fmt.Errorf("%w: %s payload needs %d bytes, have %d", ErrShortBuffer, law, need, have)
}

func shortDecode(law string, have, need int) error {
	return fmt.Errorf("%w: %s PCM needs %d samples, have %d", ErrShortBuffer, law, need, have)
}

func (ulawEncoder) Encode(dst []byte, pcm []int16) (int, error) {
	if len(dst) < len(pcm) {
		return 0, shortEncode("PCMU", len(dst), len(pcm))
	}
	return EncodeULaw(dst, pcm), nil
}

func (ulawDecoder) Decode(dst []int16, payload []byte) (int, error) {
	if len(dst) < len(payload) {
		return 0, shortDecode("PCMU", len(dst), len(payload))
	}
	return DecodeULaw(dst, payload), nil
}

func (alawEncoder) Encode(dst []byte, pcm []int16) (int, error) {
	if len(dst) < len(pcm) {
		return 0, shortEncode("PCMA", len(dst), len(pcm))
	}
	return EncodeALaw(dst, pcm), nil
}

func (alawDecoder) Decode(dst []int16, payload []byte) (int, error) {
	if len(dst) < len(payload) {
		return 0, shortDecode("PCMA", len(dst), len(payload))
	}
	return DecodeALaw(dst, payload), nil
}

func init() {
	Register(&g711Codec{info: Info{
		Name:          "PCMU",
		PayloadType:   0,
		ClockRate:     8000,
		SampleRate:    8000,
		Channels:      1,
		FrameDuration: 20 * time.Millisecond,
	}})
	Register(&g711Codec{alaw: true, info: Info{
		Name:          "PCMA",
		PayloadType:   8,
		ClockRate:     8000,
		SampleRate:    8000,
		Channels:      1,
		FrameDuration: 20 * time.Millisecond,
	}})
}
