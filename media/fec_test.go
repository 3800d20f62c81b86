package media

import (
	"errors"
	"testing"
	"time"

	"github.com/voipkit/voipkit/codec"
)

// fecCodec is a test codec whose decoder rebuilds a lost frame from the
// next packet, as Opus in-band FEC does: the recovered frame is 160
// samples of 4242 plus the next packet's first byte.
type fecCodec struct{ fec, conceals *int }

func (c fecCodec) Info() codec.Info {
	return codec.Info{Name: "X-FEC", PayloadType: 97, ClockRate: 8000, SampleRate: 8000, Channels: 1, FrameDuration: 20 * time.Millisecond}
}
func (c fecCodec) NewEncoder() (codec.Encoder, error) { return nil, errors.New("decode only") }
func (c fecCodec) NewDecoder() (codec.Decoder, error) { return fecDecoderImpl(c), nil }

type fecDecoderImpl struct{ fec, conceals *int }

func (d fecDecoderImpl) Decode(dst []int16, payload []byte) (int, error) {
	for i, b := range payload {
		dst[i] = 100 * int16(b)
	}
	return len(payload), nil
}

func (d fecDecoderImpl) Conceal(dst []int16) (int, error) {
	*d.conceals++
	for i := range 160 {
		dst[i] = 7777
	}
	return 160, nil
}

func (d fecDecoderImpl) DecodeFEC(dst []int16, next []byte) (int, error) {
	*d.fec++
	for i := range 160 {
		dst[i] = 4242 + int16(next[0])
	}
	return 160, nil
}

// TestPlayerUsesInbandFEC: a lost packet is rebuilt from the FEC in the
// packet after it instead of being concealed.
func TestPlayerUsesInbandFEC(t *testing.T) {
	fec, conceals := 0, 0
	s, sink := playWithPacket10Lost(t, fecCodec{&fec, &conceals}, 97)
	if fec != 1 || conceals != 0 || s.Stats().FECRecovered != 1 {
		t.Fatalf("FEC used %d times, concealment %d, stats FECRecovered %d; want 1, 0, 1", fec, conceals, s.Stats().FECRecovered)
	}
	counts := map[int16]int{}
	for _, v := range sink.samples {
		counts[v]++
	}
	if counts[4243] != 160 || counts[100] != 29*160 {
		t.Errorf("sample values: %v", counts)
	}
}
