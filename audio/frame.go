package audio

import (
	"fmt"
	"math"
)

// Sample-rate limits shared by every source, sink and resampler in this
// package. Frames and files at rates outside [MinSampleRate, MaxSampleRate]
// are rejected with an error wrapping ErrSampleRate (frames) or ErrFormat
// (files).
const (
	MinSampleRate = 4000
	MaxSampleRate = 384000
)

// errNilFrame is returned when a nil *Frame is passed to a source or sink.
var errNilFrame = fmt.Errorf("%w: nil frame", ErrFormat)

// validRate reports whether rate is within the supported range.
func validRate(rate int) bool {
	return rate >= MinSampleRate && rate <= MaxSampleRate
}

// rateError describes an unsupported requested sample rate.
func rateError(rate int) error {
	return fmt.Errorf("%w: %d Hz (supported %d to %d Hz)", ErrSampleRate, rate, MinSampleRate, MaxSampleRate)
}

// checkFrame validates a frame passed to ReadFrame or WriteFrame.
func checkFrame(f *Frame) error {
	if f == nil {
		return errNilFrame
	}
	if !validRate(f.SampleRate) {
		return rateError(f.SampleRate)
	}
	return nil
}

// clip16 rounds v to the nearest int16, saturating at the int16 range.
func clip16(v float64) int16 {
	switch {
	case v >= math.MaxInt16:
		return math.MaxInt16
	case v <= math.MinInt16:
		return math.MinInt16
	case v != v: // NaN
		return 0
	}
	return int16(math.Round(v))
}
