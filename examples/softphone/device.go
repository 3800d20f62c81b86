package main

import "github.com/voipkit/voipkit/audio"

// soundCard is the microphone and speaker shared by all calls with
// -audio device: an audio.Source and an audio.Sink with volume controls.
type soundCard interface {
	audio.Source
	audio.Sink
	SetVolume(in, out float64)
	Volume() (in, out float64)
	Close() error
}
