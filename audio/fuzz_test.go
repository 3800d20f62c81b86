package audio

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// fuzzSeeds are small valid and broken WAV streams.
func fuzzSeeds() [][]byte {
	mono := monoSpec(8000, samplesBytes(sine(40, 8000, 1000, 0.5)))
	stereo := wavSpec{format: 1, channels: 2, rate: 16000, bits: 16, data: samplesBytes(testSamples(20, 1)), dataSize: -1}
	ext := monoSpec(44100, samplesBytes(testSamples(9, 2)))
	ext.extensible = true
	list := monoSpec(8000, samplesBytes(testSamples(5, 3)))
	list.after = []chunk{{"LIST", []byte("INFOx")}}
	streamed := monoSpec(48000, samplesBytes(testSamples(30, 4)))
	streamed.dataSize = 0xFFFFFFFF
	eight := monoSpec(8000, []byte{1, 2, 3})
	eight.bits = 8
	truncData := monoSpec(8000, samplesBytes(testSamples(8, 5)))
	truncData.dataSize = 64
	return [][]byte{
		mono.bytes(),
		stereo.bytes(),
		ext.bytes(),
		list.bytes(),
		streamed.bytes(),
		eight.bytes(),
		truncData.bytes(),
		mono.bytes()[:30],
		[]byte("RIFF\x00\x00\x00\x00WAVE"),
		[]byte("not a wav file at all"),
	}
}

func FuzzWAVReader(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewWAVReader(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("header error %v does not wrap ErrFormat", err)
			}
			return
		}
		if r.SampleRate() < MinSampleRate || r.SampleRate() > MaxSampleRate {
			t.Fatalf("accepted sample rate %d", r.SampleRate())
		}
		if r.Channels() != 1 && r.Channels() != 2 {
			t.Fatalf("accepted %d channels", r.Channels())
		}
		// Read everything at 8 kHz, resampling as needed. The stream holds
		// at most len(data)/2 samples at no less than MinSampleRate, which
		// bounds the number of frames.
		maxFrames := (len(data)/2*8000/MinSampleRate+8000)/160 + 2
		frame := &Frame{Samples: make([]int16, 160), SampleRate: 8000}
		for i := 0; ; i++ {
			if i > maxFrames {
				t.Fatalf("more than %d frames from %d bytes", maxFrames, len(data))
			}
			err := r.ReadFrame(frame)
			if err == io.EOF {
				break
			}
			if err != nil {
				if !errors.Is(err, ErrFormat) {
					t.Fatalf("read error %v does not wrap ErrFormat", err)
				}
				break
			}
		}
		// At the file's own rate no more samples come out than the data
		// chunk declares.
		r, err = NewWAVReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("second parse failed: %v", err)
		}
		frame.SampleRate = r.SampleRate()
		read := 0
		for {
			if err := r.ReadFrame(frame); err != nil {
				break
			}
			read += len(frame.Samples)
		}
		if n := r.Len(); n >= 0 && int64(read) > n+int64(len(frame.Samples)) {
			t.Fatalf("read %d samples, header declares %d", read, n)
		}
	})
}

// TestFuzzSeedsParse checks that the valid seeds really are valid, so the
// fuzzer starts from interesting inputs.
func TestFuzzSeedsParse(t *testing.T) {
	for i, s := range fuzzSeeds()[:5] {
		if _, err := NewWAVReader(bytes.NewReader(s)); err != nil {
			t.Errorf("seed %d: %v", i, err)
		}
	}
}
