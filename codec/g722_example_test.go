package codec_test

import (
	"fmt"
	"math"

	"github.com/voipkit/voipkit/codec"
)

// G.722 codes 16 kHz audio into one byte per two samples; its RTP clock
// runs at 8000 Hz, so a 20 ms frame advances the timestamp by 160.
func ExampleNewG722Encoder() {
	pcm := make([]int16, 320) // 20 ms at 16 kHz
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/16000))
	}
	enc := codec.NewG722Encoder()
	payload := make([]byte, 160)
	n, err := enc.Encode(payload, pcm)
	fmt.Println(n, err)

	dec, err := codec.NewG722Decoder(codec.G722Rate64k)
	if err != nil {
		fmt.Println(err)
		return
	}
	out := make([]int16, 320)
	m, err := dec.Decode(out, payload[:n])
	fmt.Println(m, err)

	c, _ := codec.Lookup("G722")
	info := c.Info()
	fmt.Println(info.SampleRate, info.ClockRate, info.FrameSamples(), info.FrameTimestamp())
	// Output:
	// 160 <nil>
	// 320 <nil>
	// 16000 8000 320 160
}
