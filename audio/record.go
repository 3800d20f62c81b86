package audio

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync"
)

// recordMaxSkew is how far, in MixPeriods, one side of a WAVRecorder may
// run ahead of the other before the silent side is padded with silence.
const recordMaxSkew = 10

// WAVRecorder records two streams, such as the two directions of a call,
// into a 16-bit PCM WAV file: as the left and right channels of a stereo
// file, or summed (saturating) into a mono file. Local and Remote return
// the Sinks that feed the two sides; frames at another rate than the
// file's are resampled.
//
// The sides are written as they pair up. When one side gets more than
// 200 ms ahead of the other (a side that stopped, as on hold), the other
// is padded with silence so that the file keeps time.
//
// As with WAVWriter, the header carries unknown sizes until Close (or
// UpdateHeader) fills them in. A WAVRecorder is safe for concurrent use.
type WAVRecorder struct {
	mu       sync.Mutex
	ws       io.WriteSeeker
	file     *os.File // closed by Close when the recorder opened it
	bw       *bufio.Writer
	rate     int
	stereo   bool
	side     [2]recorderSide
	frames   int64 // sample frames (per channel) written
	buf      []byte
	closed   bool
	err      error
	maxSkew  int
	sinkL    recorderSink
	sinkR    recorderSink
	paddedLR [2]int64
}

type recorderSide struct {
	adapt   sinkAdapter
	pending []int16
}

type recorderSink struct {
	r    *WAVRecorder
	side int
}

func (s *recorderSink) WriteFrame(f *Frame) error { return s.r.write(s.side, f) }

// NewWAVRecorder writes the header of a WAV file at sampleRate Hz with two
// channels (stereo) or one to w and returns the recorder.
func NewWAVRecorder(w io.WriteSeeker, sampleRate int, stereo bool) (*WAVRecorder, error) {
	if w == nil {
		return nil, fmt.Errorf("%w: nil WAV writer", ErrFormat)
	}
	if !validRate(sampleRate) {
		return nil, fmt.Errorf("%w: WAV sample rate %d Hz (supported %d to %d Hz)", ErrFormat, sampleRate, MinSampleRate, MaxSampleRate)
	}
	r := &WAVRecorder{ws: w, rate: sampleRate, stereo: stereo, maxSkew: recordMaxSkew * sampleRate / 50}
	r.side[0].adapt.rate, r.side[1].adapt.rate = sampleRate, sampleRate
	r.sinkL, r.sinkR = recorderSink{r, 0}, recorderSink{r, 1}
	if err := r.writeHeader(wavUnknownSize, wavUnknownSize); err != nil {
		return nil, err
	}
	r.bw = bufio.NewWriterSize(w, wavBufLen)
	return r, nil
}

// CreateWAVRecorder creates (or truncates) the file at path and returns a
// recorder writing to it; Close closes the file.
func CreateWAVRecorder(path string, sampleRate int, stereo bool) (*WAVRecorder, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	r, err := NewWAVRecorder(f, sampleRate, stereo)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	r.file = f
	return r, nil
}

func (r *WAVRecorder) channels() int {
	if r.stereo {
		return 2
	}
	return 1
}

func (r *WAVRecorder) writeHeader(riff, data uint32) error {
	ch := r.channels()
	var h [wavHeaderLen]byte
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], riff)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], wavFormatPCM)
	binary.LittleEndian.PutUint16(h[22:], uint16(ch))
	binary.LittleEndian.PutUint32(h[24:], uint32(r.rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(r.rate*2*ch))
	binary.LittleEndian.PutUint16(h[32:], uint16(2*ch))
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], data)
	if _, err := r.ws.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := r.ws.Write(h[:])
	return err
}

// Local returns the Sink of the left channel (our side of a call).
func (r *WAVRecorder) Local() Sink { return &r.sinkL }

// Remote returns the Sink of the right channel (the peer's side).
func (r *WAVRecorder) Remote() Sink { return &r.sinkR }

// SampleRate reports the file's sample rate in Hz.
func (r *WAVRecorder) SampleRate() int { return r.rate }

// Stereo reports whether the file has two channels.
func (r *WAVRecorder) Stereo() bool { return r.stereo }

// Len reports how many sample frames (samples per channel) were written.
func (r *WAVRecorder) Len() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frames
}

// Padded reports how many samples of silence were inserted into the local
// and remote sides to keep them aligned.
func (r *WAVRecorder) Padded() (local, remote int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.paddedLR[0], r.paddedLR[1]
}

func (r *WAVRecorder) write(side int, f *Frame) error {
	if err := checkFrame(f); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if r.err != nil {
		return r.err
	}
	s := &r.side[side]
	tail, main := s.adapt.adapt(f)
	s.pending = append(s.pending, tail...)
	s.pending = append(s.pending, main...)
	if ahead := len(s.pending) - len(r.side[1-side].pending); ahead > r.maxSkew {
		o := &r.side[1-side]
		pad := ahead - r.maxSkew/2
		o.pending = append(o.pending, make([]int16, pad)...)
		r.paddedLR[1-side] += int64(pad)
	}
	r.err = r.emit(min(len(r.side[0].pending), len(r.side[1].pending)))
	return r.err
}

// emit writes n sample frames from both sides' pending audio.
func (r *WAVRecorder) emit(n int) error {
	if n == 0 {
		return nil
	}
	if room := int64(wavMaxData)/int64(2*r.channels()) - r.frames; int64(n) > room {
		return fmt.Errorf("%w: WAV file full", ErrFormat)
	}
	l, rt := r.side[0].pending[:n], r.side[1].pending[:n]
	r.buf = r.buf[:0]
	for i := range n {
		if r.stereo {
			r.buf = binary.LittleEndian.AppendUint16(r.buf, uint16(l[i]))
			r.buf = binary.LittleEndian.AppendUint16(r.buf, uint16(rt[i]))
		} else {
			r.buf = binary.LittleEndian.AppendUint16(r.buf, uint16(sat32(int32(l[i])+int32(rt[i]))))
		}
	}
	if _, err := r.bw.Write(r.buf); err != nil {
		return err
	}
	r.frames += int64(n)
	for i := range r.side {
		p := &r.side[i]
		k := copy(p.pending, p.pending[n:])
		p.pending = p.pending[:k]
	}
	return nil
}

func sat32(v int32) int16 {
	return int16(max(min(v, 32767), -32768))
}

// UpdateHeader writes the current sizes into the header, so that the file
// is valid up to here even if Close is never called.
func (r *WAVRecorder) UpdateHeader() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	return r.finishHeader()
}

func (r *WAVRecorder) finishHeader() error {
	if err := r.bw.Flush(); err != nil {
		return err
	}
	data := uint32(r.frames * int64(2*r.channels()))
	if err := r.writeHeader(data+wavHeaderLen-8, data); err != nil {
		return err
	}
	_, err := r.ws.Seek(0, io.SeekEnd)
	return err
}

// Close writes what either side still holds (the other padded with
// silence), completes the header and, for CreateWAVRecorder, closes the
// file. Later writes fail with ErrClosed. Close is idempotent.
func (r *WAVRecorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	for i := range r.side {
		s := &r.side[i]
		s.pending = append(s.pending, s.adapt.flush()...)
	}
	n := max(len(r.side[0].pending), len(r.side[1].pending))
	for i := range r.side {
		s := &r.side[i]
		s.pending = append(s.pending, make([]int16, n-len(s.pending))...)
	}
	err := r.err
	if err == nil {
		err = r.emit(n)
	}
	if herr := r.finishHeader(); err == nil {
		err = herr
	}
	if r.file != nil {
		if cerr := r.file.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
