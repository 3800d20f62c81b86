package audio_test

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/voipkit/voipkit/audio"
)

func ExampleNewTone() {
	tone := audio.NewTone(0.5, 1000)
	f := &audio.Frame{Samples: make([]int16, 8000), SampleRate: 8000}
	if err := tone.ReadFrame(f); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.0f Hz at %.2f RMS\n", audio.DominantFrequency(f.Samples, f.SampleRate), audio.RMS(f.Samples))
	// Output: 1000 Hz at 0.35 RMS
}

func ExampleNewToneFor() {
	// A 50 ms beep read in 20 ms frames: two full frames, one padded frame,
	// then io.EOF.
	beep := audio.NewToneFor(50*time.Millisecond, 0.3, 440)
	f := &audio.Frame{Samples: make([]int16, 160), SampleRate: 8000}
	frames := 0
	for {
		err := beep.ReadFrame(f)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		frames++
	}
	fmt.Println(frames, "frames")
	// Output: 3 frames
}

func ExampleGoertzel() {
	// DTMF digit 5 is 770 Hz + 1336 Hz.
	digit := audio.NewTone(0.8, 770, 1336)
	f := &audio.Frame{Samples: make([]int16, 800), SampleRate: 8000} // 100 ms
	if err := digit.ReadFrame(f); err != nil {
		fmt.Println(err)
		return
	}
	for _, hz := range []float64{697, 770, 852, 941, 1209, 1336, 1477} {
		if audio.Goertzel(f.Samples, 8000, hz) > 0.05 {
			fmt.Println(hz, "Hz present")
		}
	}
	// Output:
	// 770 Hz present
	// 1336 Hz present
}

func ExampleCreateWAV() {
	dir, err := os.MkdirTemp("", "wav-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tone.wav")

	// Record one second of a 16 kHz tone into an 8 kHz file.
	w, err := audio.CreateWAV(path, 8000)
	if err != nil {
		fmt.Println(err)
		return
	}
	tone := audio.NewToneFor(time.Second, 0.5, 697)
	f := &audio.Frame{Samples: make([]int16, 320), SampleRate: 16000}
	for tone.ReadFrame(f) == nil {
		if err := w.WriteFrame(f); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}

	r, err := audio.OpenWAV(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	capture := audio.NewCapture(8000, 2*time.Second)
	in := &audio.Frame{Samples: make([]int16, 160), SampleRate: 8000}
	for r.ReadFrame(in) == nil {
		_ = capture.WriteFrame(in)
	}
	fmt.Printf("%d Hz, %v, %.0f Hz tone\n", r.SampleRate(), r.Duration(),
		audio.DominantFrequency(capture.Samples(), capture.SampleRate()))
	// Output: 8000 Hz, 1s, 697 Hz tone
}

func ExampleNewResampler() {
	r := audio.NewResampler(8000, 48000)
	in := make([]int16, 160) // 20 ms at 8 kHz
	out := make([]int16, r.OutputLen(len(in)))
	n := r.Resample(out, in)
	fmt.Println(n, "samples,", math.Round(float64(r.Delay())*1e6/8000), "µs delay")
	// Output: 960 samples, 3375 µs delay
}
