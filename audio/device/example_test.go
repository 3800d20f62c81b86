//go:build cgo

package device_test

import (
	"fmt"
	"log"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/audio/device"
)

// Open the null backend's devices, play a tone and record 20 ms. With
// BackendAuto the same code uses the machine's microphone and speaker.
func Example() {
	ctx, err := device.Open(device.Config{Backends: []device.Backend{device.BackendNull}})
	if err != nil {
		log.Fatal(err)
	}
	defer ctx.Close()

	dev, err := ctx.OpenDuplex(device.DuplexConfig{SampleRate: 16000})
	if err != nil {
		log.Fatal(err) // a phone would carry on without local audio
	}
	defer dev.Close()

	tone := audio.NewTone(0.3, 440)
	out := &audio.Frame{Samples: make([]int16, 160), SampleRate: 8000}
	if err := tone.ReadFrame(out); err != nil {
		log.Fatal(err)
	}
	if err := dev.WriteFrame(out); err != nil {
		log.Fatal(err)
	}

	in := &audio.Frame{Samples: make([]int16, dev.FrameSamples()), SampleRate: dev.SampleRate()}
	if err := dev.ReadFrame(in); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(in.Samples), "samples at", in.SampleRate, "Hz")
	// Output: 320 samples at 16000 Hz
}
