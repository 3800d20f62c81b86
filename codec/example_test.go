package codec_test

import (
	"fmt"

	"github.com/voipkit/voipkit/codec"
)

func ExampleLookup() {
	c, err := codec.Lookup("pcmu")
	if err != nil {
		fmt.Println(err)
		return
	}
	info := c.Info()
	fmt.Printf("%s/%d PT %d, %d samples per %v frame\n",
		info.Name, info.ClockRate, info.PayloadType, info.FrameSamples(), info.FrameDuration)

	enc, _ := c.NewEncoder()
	payload := make([]byte, 4)
	n, _ := enc.Encode(payload, []int16{0, 1000, -1000, 32767})
	fmt.Printf("% x\n", payload[:n])

	_, err = codec.Lookup("G729")
	fmt.Println(err)
	// Output:
	// PCMU/8000 PT 0, 160 samples per 20ms frame
	// ff ce 4e 80
	// codec: unknown codec: "G729"
}
