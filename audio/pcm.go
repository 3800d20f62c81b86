package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"
)

const pcmBufLen = 4096

// PCMReader is a Source reading raw signed 16-bit little-endian mono PCM
// (s16le) from an io.Reader. Frames requested at another rate than the
// stream's are resampled.
//
// A PCMReader is safe for concurrent use.
type PCMReader struct {
	mu   sync.Mutex
	r    io.Reader
	rate int
	buf  []byte
	odd  bool // buf[0] holds the first byte of a sample split across reads
	src  streamSource
	err  error // set when the sample rate is unusable
}

// NewPCMReader returns a Source reading s16le mono samples at sampleRate
// Hz from r. The final partial frame is padded with silence, then
// ReadFrame returns io.EOF; a dangling odd byte at the end is ignored. If
// sampleRate is outside [MinSampleRate, MaxSampleRate], every ReadFrame
// returns an error wrapping ErrSampleRate.
func NewPCMReader(r io.Reader, sampleRate int) *PCMReader {
	p := &PCMReader{r: r, rate: sampleRate}
	switch {
	case r == nil:
		p.err = errors.New("audio: nil PCM reader")
	case !validRate(sampleRate):
		p.err = rateError(sampleRate)
	}
	p.src = streamSource{rate: sampleRate, read: p.readSamples}
	return p
}

// SampleRate reports the stream's sample rate in Hz.
func (p *PCMReader) SampleRate() int { return p.rate }

// ReadFrame fills f.Samples with the next audio at f.SampleRate,
// resampling if that differs from the stream's rate. Changing the frame
// rate mid-stream restarts the resampler, which may skip a few
// milliseconds of audio.
func (p *PCMReader) ReadFrame(f *Frame) error {
	if err := checkFrame(f); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	return p.src.readFrame(f)
}

func (p *PCMReader) readSamples(dst []int16) (int, error) {
	if p.buf == nil {
		p.buf = make([]byte, pcmBufLen)
	}
	want := 2 * min(len(dst), len(p.buf)/2)
	if want == 0 {
		return 0, nil
	}
	have := 0
	if p.odd {
		have = 1
	}
	// One Read per call: the caller bounds how often a reader may return
	// nothing.
	m, err := p.r.Read(p.buf[have:want])
	have += min(max(m, 0), want-have) // ignore a reader's impossible counts
	n := have / 2
	for i := range n {
		dst[i] = int16(binary.LittleEndian.Uint16(p.buf[2*i:]))
	}
	p.odd = have%2 == 1
	if p.odd {
		p.buf[0] = p.buf[have-1]
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return n, io.EOF
	default:
		return n, fmt.Errorf("audio: reading PCM: %w", err)
	}
}

// PCMWriter is a Sink writing raw signed 16-bit little-endian mono PCM
// (s16le) to an io.Writer. Frames at another rate than the writer's are
// resampled.
//
// A PCMWriter is safe for concurrent use.
type PCMWriter struct {
	mu     sync.Mutex
	w      io.Writer
	rate   int
	buf    []byte
	adapt  sinkAdapter
	err    error // sticky
	closed bool
}

// NewPCMWriter returns a Sink writing s16le mono samples at sampleRate Hz
// to w. If sampleRate is outside [MinSampleRate, MaxSampleRate], every
// WriteFrame returns an error wrapping ErrSampleRate.
func NewPCMWriter(w io.Writer, sampleRate int) *PCMWriter {
	p := &PCMWriter{w: w, rate: sampleRate, adapt: sinkAdapter{rate: sampleRate}}
	switch {
	case w == nil:
		p.err = errors.New("audio: nil PCM writer")
	case !validRate(sampleRate):
		p.err = rateError(sampleRate)
	}
	return p
}

// SampleRate reports the stream's sample rate in Hz.
func (p *PCMWriter) SampleRate() int { return p.rate }

// WriteFrame writes f, resampled to the writer's rate if necessary.
func (p *PCMWriter) WriteFrame(f *Frame) error {
	if err := checkFrame(f); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.err != nil {
		return p.err
	}
	tail, main := p.adapt.adapt(f)
	if err := p.write(tail); err != nil {
		return err
	}
	return p.write(main)
}

func (p *PCMWriter) write(s []int16) error {
	if len(s) > 0 && p.buf == nil {
		p.buf = make([]byte, pcmBufLen)
	}
	for len(s) > 0 {
		n := min(len(s), len(p.buf)/2)
		b := p.buf[:2*n]
		for i, v := range s[:n] {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
		}
		if _, err := p.w.Write(b); err != nil {
			p.err = fmt.Errorf("audio: writing PCM: %w", err)
			return p.err
		}
		s = s[n:]
	}
	return nil
}

// Close writes any samples held back by resampling. It does not close the
// underlying writer. Later WriteFrame calls return ErrClosed. Close is
// idempotent: calls after the first return nil.
func (p *PCMWriter) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	if p.err != nil {
		if errors.Is(p.err, ErrSampleRate) || p.w == nil {
			return nil // nothing was ever written
		}
		return p.err
	}
	return p.write(p.adapt.flush())
}

// Discard is a Sink that accepts and drops every frame.
//
// Discard holds no state and is safe for concurrent use.
type Discard struct{}

// WriteFrame drops f. It fails only for an invalid frame.
func (Discard) WriteFrame(f *Frame) error {
	return checkFrame(f)
}

// Capture is a Sink that keeps audio in memory, up to a maximum duration,
// for tests and for checking what a call received. Frames at another rate
// than the Capture's are resampled; audio beyond the maximum is dropped
// and counted.
//
// A Capture is safe for concurrent use.
type Capture struct {
	mu      sync.Mutex
	rate    int
	max     int
	samples []int16
	dropped int64
	adapt   sinkAdapter
}

// NewCapture returns a Capture storing at most limit of audio at
// sampleRate Hz. A limit of zero or less keeps nothing. If sampleRate is outside
// [MinSampleRate, MaxSampleRate], WriteFrame returns an error wrapping
// ErrSampleRate.
func NewCapture(sampleRate int, limit time.Duration) *Capture {
	c := &Capture{rate: sampleRate, adapt: sinkAdapter{rate: sampleRate}}
	if validRate(sampleRate) && limit > 0 {
		c.max = int(min(limit.Seconds()*float64(sampleRate), math.MaxInt32))
	}
	return c
}

// SampleRate reports the rate in Hz the Capture stores audio at.
func (c *Capture) SampleRate() int { return c.rate }

// WriteFrame stores f, resampled to the Capture's rate if necessary.
func (c *Capture) WriteFrame(f *Frame) error {
	if err := checkFrame(f); err != nil {
		return err
	}
	if !validRate(c.rate) {
		return rateError(c.rate)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tail, main := c.adapt.adapt(f)
	c.store(tail)
	c.store(main)
	return nil
}

func (c *Capture) store(s []int16) {
	room := c.max - len(c.samples)
	if len(s) > room {
		c.dropped += int64(len(s) - room)
		s = s[:room]
	}
	c.samples = append(c.samples, s...)
}

// Samples returns a copy of the stored audio.
func (c *Capture) Samples() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.samples...)
}

// Len reports how many samples are stored.
func (c *Capture) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.samples)
}

// Duration reports how much audio is stored.
func (c *Capture) Duration() time.Duration {
	if !validRate(c.rate) {
		return 0
	}
	return samplesDuration(int64(c.Len()), c.rate)
}

// Dropped reports how many samples did not fit and were discarded.
func (c *Capture) Dropped() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// Reset discards the stored audio and the dropped count. Capturing
// continues seamlessly with the next frame.
func (c *Capture) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples = c.samples[:0]
	c.dropped = 0
}
