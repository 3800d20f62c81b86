package audio

import (
	"io"
)

// streamChunk is the most native samples a streamSource reads at once when
// it resamples.
const streamChunk = 2048

// maxNoProgress bounds how many times in a row a reader may return no
// samples and no error before a streamSource gives up.
const maxNoProgress = 100

// streamSource turns a reader of native-rate samples into frames at any
// rate: it resamples when the frame rate differs from the native rate,
// pads the final partial frame with silence and then reports io.EOF.
//
// A streamSource is not safe for concurrent use; its owners lock around it.
type streamSource struct {
	rate int
	// read reads up to len(dst) native samples. At the end of the stream it
	// returns io.EOF, possibly together with a final count of samples.
	read    func(dst []int16) (int, error)
	conv    *converter
	in      []int16
	inEOF   bool // read reported io.EOF
	flushed bool // conv has been flushed after inEOF
	done    bool // the last frame has been returned
	err     error
}

func (s *streamSource) readFrame(f *Frame) error {
	if s.done {
		return io.EOF
	}
	if s.err != nil {
		return s.err
	}
	out := f.Samples
	var n int
	var err error
	if f.SampleRate == s.rate {
		s.conv = nil // drop any state kept for another rate
		n, err = s.readNative(out)
	} else {
		n, err = s.readConverted(out, f.SampleRate)
	}
	if err != nil {
		s.err = err
		return err
	}
	if n == len(out) && (n > 0 || !s.exhausted()) {
		return nil
	}
	s.done = true
	if n == 0 {
		return io.EOF
	}
	clear(out[n:])
	return nil
}

// exhausted reports whether no more samples can come at any rate.
func (s *streamSource) exhausted() bool {
	return s.inEOF && (s.conv == nil || s.flushed && s.conv.rs.OutputLen(0) == 0)
}

func (s *streamSource) readNative(out []int16) (int, error) {
	n, idle := 0, 0
	for n < len(out) && !s.inEOF {
		m, err := s.read(out[n:])
		n += m
		switch {
		case err == io.EOF:
			s.inEOF = true
		case err != nil:
			return n, err
		case m == 0:
			if idle++; idle > maxNoProgress {
				return n, io.ErrNoProgress
			}
		default:
			idle = 0
		}
	}
	return n, nil
}

func (s *streamSource) readConverted(out []int16, to int) (int, error) {
	if s.conv == nil || s.conv.rs.to != to {
		s.conv = newConverter(s.rate, to)
		s.flushed = false
	}
	if s.in == nil {
		s.in = make([]int16, streamChunk)
	}
	c := s.conv
	n := c.process(out, nil)
	idle := 0
	for n < len(out) {
		if s.inEOF {
			if s.flushed {
				break
			}
			s.flushed = true
			n += c.flush(out[n:])
			continue
		}
		// Enough input for the missing output, give or take a sample.
		need := int64(len(out)-n)*int64(c.rs.down)/int64(c.rs.up) + 1
		k := int(min(need, int64(len(s.in))))
		m, err := s.read(s.in[:k])
		if m > 0 {
			n += c.process(out[n:], s.in[:m])
		}
		switch {
		case err == io.EOF:
			s.inEOF = true
		case err != nil:
			return n, err
		case m == 0:
			if idle++; idle > maxNoProgress {
				return n, io.ErrNoProgress
			}
		default:
			idle = 0
		}
	}
	return n, nil
}

// sinkAdapter converts frames at any rate to a sink's native rate.
//
// A sinkAdapter is not safe for concurrent use; its owners lock around it.
type sinkAdapter struct {
	rate int
	conv *converter
	tail []int16
	out  []int16
}

// adapt returns the native-rate samples for f: first tail, the held-back
// end of an earlier stretch at another rate, then main. Both are only valid
// until the next call.
func (a *sinkAdapter) adapt(f *Frame) (tail, main []int16) {
	if f.SampleRate == a.rate {
		return a.flush(), f.Samples
	}
	if a.conv == nil || a.conv.rs.from != f.SampleRate {
		tail = a.flush()
		a.conv = newConverter(f.SampleRate, a.rate)
	}
	a.out = grow16(a.out, a.conv.outputLen(len(f.Samples)))
	n := a.conv.process(a.out, f.Samples)
	return tail, a.out[:n]
}

// flush returns the held-back end of the current conversion, if any, and
// forgets the conversion.
func (a *sinkAdapter) flush() []int16 {
	if a.conv == nil {
		return nil
	}
	c := a.conv
	a.conv = nil
	a.tail = grow16(a.tail, c.outputLen(c.flushLen()))
	n := c.flush(a.tail)
	return a.tail[:n]
}

// grow16 returns s resliced or reallocated to length n. New buffers get
// some headroom because conversions vary by a sample from call to call.
func grow16(s []int16, n int) []int16 {
	if cap(s) < n {
		return make([]int16, n, n+n/8+16)
	}
	return s[:n]
}
