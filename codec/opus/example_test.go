//go:build cgo

package opus_test

import (
	"fmt"
	"math"

	"github.com/voipkit/voipkit/codec"
	_ "github.com/voipkit/voipkit/codec/opus" // registers "opus"
)

// A blank import registers Opus; a Phone or media session then offers it
// when "opus" is in its codec list. The codec is used here directly.
func Example() {
	c, err := codec.Lookup("opus")
	if err != nil {
		fmt.Println(err)
		return
	}
	info := c.Info()
	fmt.Printf("%s/%d/%d pt %d, %d mono samples per %v\n",
		info.Name, info.ClockRate, info.Channels, info.PayloadType, info.FrameSamples(), info.FrameDuration)

	enc, _ := c.NewEncoder()
	dec, _ := c.NewDecoder()
	pcm := make([]int16, info.FrameSamples())
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/48000))
	}
	payload := make([]byte, 1500)
	n, err := enc.Encode(payload, pcm)
	if err != nil {
		fmt.Println(err)
		return
	}
	out := make([]int16, 5760)
	m, err := dec.Decode(out, payload[:n])
	fmt.Println(m, err)
	// Output:
	// opus/48000/2 pt 111, 960 mono samples per 20ms
	// 960 <nil>
}
