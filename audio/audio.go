// Package audio holds PCM frames and the sources and sinks a call can be
// attached to: WAV files, tone generators, silence and raw PCM streams.
//
// All PCM here is mono, signed 16-bit, at the sample rate carried by the
// frame.
package audio

import (
	"errors"
	"time"
)

// Errors shared by sources and sinks.
var (
	// ErrFormat is returned for audio in a format this package cannot read
	// or write (for example a WAV file that is not 16-bit PCM).
	ErrFormat = errors.New("audio: unsupported format")
	// ErrSampleRate is returned when a source or sink cannot work at the
	// requested sample rate.
	ErrSampleRate = errors.New("audio: unsupported sample rate")
	// ErrClosed is returned by operations on a closed source or sink.
	ErrClosed = errors.New("audio: closed")
)

// Frame is a block of mono signed 16-bit PCM samples at SampleRate Hz.
// It is plain data: not safe for concurrent use while being filled.
type Frame struct {
	Samples    []int16
	SampleRate int
}

// Duration reports how much time the frame covers.
func (f *Frame) Duration() time.Duration {
	if f.SampleRate <= 0 {
		return 0
	}
	return time.Duration(len(f.Samples)) * time.Second / time.Duration(f.SampleRate)
}

// Source produces audio. ReadFrame fills all of f.Samples with audio at
// f.SampleRate, both chosen by the caller. At the end of the audio it
// returns io.EOF; a partly filled final frame is padded with silence and
// returned without error first. A Source that cannot produce the requested
// rate returns an error wrapping ErrSampleRate.
type Source interface {
	ReadFrame(f *Frame) error
}

// Sink consumes audio. WriteFrame must not retain f.Samples after it
// returns.
type Sink interface {
	WriteFrame(f *Frame) error
}
