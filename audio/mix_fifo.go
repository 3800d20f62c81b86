package audio

import (
	"fmt"
	"sync"
	"time"
)

// FIFO is a Sink and Source joining a producer and a consumer that run on
// separate clocks, such as a call's media session and a Mixer: WriteFrame
// appends audio and ReadFrame takes it out, oldest first.
//
// It keeps a small reserve against scheduling jitter: at the start, and
// again after running dry, ReadFrame returns silence until the FIFO holds
// the reserve plus one frame. Running dry mid-frame pads the frame with
// silence; audio beyond the capacity (the producer running faster than the
// consumer, or a burst) is dropped oldest first, back down to the reserve.
// Both are counted (Padded, Dropped).
//
// Frames written at another rate than the FIFO's are resampled; ReadFrame
// only produces the FIFO's rate (other rates give ErrSampleRate).
//
// A FIFO is safe for concurrent use.
type FIFO struct {
	mu      sync.Mutex
	rate    int
	reserve int
	cap     int
	buf     []int16
	head    int // buf[head:] is queued
	filling bool
	padded  int64
	dropped int64
	adapt   sinkAdapter
}

// NewFIFO returns an empty FIFO at sampleRate Hz that keeps reserve of
// audio against jitter and holds at most capacity (at least the reserve
// plus two MixPeriods). A rate outside [MinSampleRate, MaxSampleRate]
// makes WriteFrame and ReadFrame fail with ErrSampleRate.
func NewFIFO(sampleRate int, reserve, capacity time.Duration) *FIFO {
	f := &FIFO{rate: sampleRate, filling: true, adapt: sinkAdapter{rate: sampleRate}}
	if validRate(sampleRate) {
		f.reserve = int(max(reserve, 0).Seconds() * float64(sampleRate))
		per := sampleRate / 50
		f.cap = max(int(capacity.Seconds()*float64(sampleRate)), f.reserve+2*per)
	}
	return f
}

// SampleRate reports the FIFO's rate in Hz.
func (f *FIFO) SampleRate() int { return f.rate }

// WriteFrame appends fr, resampled to the FIFO's rate if necessary.
func (f *FIFO) WriteFrame(fr *Frame) error {
	if err := checkFrame(fr); err != nil {
		return err
	}
	if !validRate(f.rate) {
		return rateError(f.rate)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	tail, main := f.adapt.adapt(fr)
	f.push(tail)
	f.push(main)
	return nil
}

func (f *FIFO) push(s []int16) {
	if len(s) == 0 {
		return
	}
	if f.head > 0 && len(f.buf)+len(s) > cap(f.buf) {
		n := copy(f.buf, f.buf[f.head:])
		f.buf, f.head = f.buf[:n], 0
	}
	f.buf = append(f.buf, s...)
	if q := len(f.buf) - f.head; q > f.cap {
		keep := min(f.reserve+len(s), q)
		f.dropped += int64(q - keep)
		f.head = len(f.buf) - keep
	}
}

// ReadFrame fills fr with the oldest queued audio; see FIFO for when it
// pads with silence. fr.SampleRate must be the FIFO's rate.
func (f *FIFO) ReadFrame(fr *Frame) error {
	if err := checkFrame(fr); err != nil {
		return err
	}
	if fr.SampleRate != f.rate || !validRate(f.rate) {
		return fmt.Errorf("%w: FIFO at %d Hz read at %d Hz", ErrSampleRate, f.rate, fr.SampleRate)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := fr.Samples
	q := len(f.buf) - f.head
	if f.filling {
		if q < f.reserve+len(out) {
			clear(out)
			return nil // still building the reserve; not counted as a gap
		}
		f.filling = false
	}
	n := copy(out, f.buf[f.head:])
	f.head += n
	if n < len(out) {
		clear(out[n:])
		f.padded += int64(len(out) - n)
		f.filling = true
	}
	if f.head == len(f.buf) {
		f.buf, f.head = f.buf[:0], 0
	}
	return nil
}

// Len reports how many samples are queued.
func (f *FIFO) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.buf) - f.head
}

// Padded reports how many samples of silence ReadFrame inserted because
// the FIFO ran dry (the consumer running faster than the producer).
func (f *FIFO) Padded() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.padded
}

// Dropped reports how many samples were discarded because the FIFO was
// full (the producer running faster than the consumer).
func (f *FIFO) Dropped() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dropped
}
