package audio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"time"
)

// WAV layout constants (RIFF/WAVE, Microsoft multimedia format).
const (
	wavFormatPCM        = 0x0001
	wavFormatExtensible = 0xFFFE
	wavHeaderLen        = 44         // RIFF header + 16-byte fmt chunk + data chunk header
	wavUnknownSize      = 0xFFFFFFFF // chunk size of a stream whose length was not known
	wavMaxData          = 0xFFFFFFFE - (wavHeaderLen - 8)
	wavMaxChunks        = 1024 // chunks allowed before the data chunk
	wavMaxFmt           = 40   // bytes of a fmt chunk that are parsed
	wavBufLen           = 4096
)

// wavPCMGUIDTail is the KSDATAFORMAT_SUBTYPE GUID of WAVE_FORMAT_EXTENSIBLE
// after its first two bytes, which hold the format tag.
var wavPCMGUIDTail = [14]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// WAVReader reads 16-bit PCM WAV audio as a Source. It accepts mono and
// stereo files (stereo is mixed down to mono) in the PCM and
// WAVE_FORMAT_EXTENSIBLE/PCM formats at any sample rate from MinSampleRate
// to MaxSampleRate, and skips chunks other than fmt and data. Frames
// requested at another rate than the file's are resampled on the fly.
//
// A data chunk whose size is 0xFFFFFFFF, as written by streaming writers
// (and by WAVWriter until its header is updated), is read to the end of
// the stream.
//
// A WAVReader is safe for concurrent use.
type WAVReader struct {
	mu         sync.Mutex
	r          *bufio.Reader
	rate       int
	channels   int
	blockAlign int
	dataLen    int64 // bytes in the data chunk, -1 if unknown
	left       int64 // bytes of the data chunk not yet read, -1 if unknown
	buf        []byte
	src        streamSource
	closed     bool
}

// NewWAVReader parses the WAV header from r and returns a reader
// positioned at the first sample. Input that is not a WAV stream, or not in
// a format the reader supports, gives an error wrapping ErrFormat; a stream
// that ends inside the header also wraps io.ErrUnexpectedEOF.
func NewWAVReader(r io.Reader) (*WAVReader, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: nil WAV reader", ErrFormat)
	}
	w := &WAVReader{r: bufio.NewReaderSize(r, wavBufLen)}
	if err := w.parseHeader(); err != nil {
		return nil, err
	}
	w.buf = make([]byte, wavBufLen)
	w.src = streamSource{rate: w.rate, read: w.readSamples}
	return w, nil
}

func wavTruncated(where string) error {
	return fmt.Errorf("%w: WAV stream ends inside the %s: %w", ErrFormat, where, io.ErrUnexpectedEOF)
}

func (w *WAVReader) readFull(p []byte, where string) error {
	_, err := io.ReadFull(w.r, p)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return wavTruncated(where)
	case err != nil:
		return fmt.Errorf("audio: reading WAV %s: %w", where, err)
	}
	return nil
}

// skip discards n bytes of chunk payload.
func (w *WAVReader) skip(n int64, where string) error {
	for n > 0 {
		k := int(min(n, 1<<20))
		d, err := w.r.Discard(k)
		n -= int64(d)
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return wavTruncated(where)
		case err != nil:
			return fmt.Errorf("audio: reading WAV %s: %w", where, err)
		}
	}
	return nil
}

func (w *WAVReader) parseHeader() error {
	var hdr [12]byte
	if err := w.readFull(hdr[:], "RIFF header"); err != nil {
		return err
	}
	switch {
	case string(hdr[0:4]) == "RF64" || string(hdr[0:4]) == "BW64":
		return fmt.Errorf("%w: %s (64-bit WAV) is not supported", ErrFormat, hdr[0:4])
	case string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE":
		return fmt.Errorf("%w: not a RIFF/WAVE stream", ErrFormat)
	}
	haveFmt := false
	for i := 0; ; i++ {
		if i == wavMaxChunks {
			return fmt.Errorf("%w: WAV has more than %d chunks before its data", ErrFormat, wavMaxChunks)
		}
		var ch [8]byte
		if _, err := io.ReadFull(w.r, ch[:]); err != nil {
			if err == io.EOF {
				return fmt.Errorf("%w: WAV has no data chunk", ErrFormat)
			}
			if err == io.ErrUnexpectedEOF {
				return wavTruncated("chunk header")
			}
			return fmt.Errorf("audio: reading WAV chunk header: %w", err)
		}
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if haveFmt {
				return fmt.Errorf("%w: WAV has two fmt chunks", ErrFormat)
			}
			if size < 16 {
				return fmt.Errorf("%w: WAV fmt chunk is %d bytes, want at least 16", ErrFormat, size)
			}
			var b [wavMaxFmt]byte
			n := min(size, wavMaxFmt)
			if err := w.readFull(b[:n], "fmt chunk"); err != nil {
				return err
			}
			if err := w.skip(size-n+size&1, "fmt chunk"); err != nil {
				return err
			}
			if err := w.parseFmt(b[:n]); err != nil {
				return err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return fmt.Errorf("%w: WAV data chunk comes before the fmt chunk", ErrFormat)
			}
			w.dataLen, w.left = size, size
			if size == wavUnknownSize {
				w.dataLen, w.left = -1, -1
			}
			return nil
		default:
			if err := w.skip(size+size&1, fmt.Sprintf("%q chunk", id)); err != nil {
				return err
			}
		}
	}
}

func (w *WAVReader) parseFmt(b []byte) error {
	format := binary.LittleEndian.Uint16(b[0:])
	channels := int(binary.LittleEndian.Uint16(b[2:]))
	rate := binary.LittleEndian.Uint32(b[4:])
	blockAlign := int(binary.LittleEndian.Uint16(b[12:]))
	bits := int(binary.LittleEndian.Uint16(b[14:]))
	if format == wavFormatExtensible {
		if len(b) < 40 || binary.LittleEndian.Uint16(b[16:]) < 22 {
			return fmt.Errorf("%w: WAV extensible fmt chunk is too short", ErrFormat)
		}
		if !bytes.Equal(b[26:40], wavPCMGUIDTail[:]) {
			return fmt.Errorf("%w: WAV extensible sub-format is not a standard format GUID", ErrFormat)
		}
		format = binary.LittleEndian.Uint16(b[24:])
	}
	if format != wavFormatPCM {
		return fmt.Errorf("%w: WAV format tag %#04x (%s), want 16-bit PCM", ErrFormat, format, wavFormatName(format))
	}
	if bits != 16 {
		return fmt.Errorf("%w: WAV is %d-bit, want 16-bit PCM", ErrFormat, bits)
	}
	if channels != 1 && channels != 2 {
		return fmt.Errorf("%w: WAV has %d channels, want mono or stereo", ErrFormat, channels)
	}
	if rate < MinSampleRate || rate > MaxSampleRate {
		return fmt.Errorf("%w: WAV sample rate %d Hz is outside %d to %d Hz", ErrFormat, rate, MinSampleRate, MaxSampleRate)
	}
	if blockAlign != 2*channels {
		return fmt.Errorf("%w: WAV block align is %d, want %d for %d channels", ErrFormat, blockAlign, 2*channels, channels)
	}
	w.rate, w.channels, w.blockAlign = int(rate), channels, blockAlign
	return nil
}

func wavFormatName(tag uint16) string {
	switch tag {
	case 0x0002:
		return "MS ADPCM"
	case 0x0003:
		return "IEEE float"
	case 0x0006:
		return "A-law"
	case 0x0007:
		return "µ-law"
	case 0x0011:
		return "IMA ADPCM"
	case 0x0055:
		return "MPEG layer 3"
	}
	return "unknown"
}

// readSamples reads up to len(dst) native-rate mono samples.
func (w *WAVReader) readSamples(dst []int16) (int, error) {
	want := min(len(dst), len(w.buf)/w.blockAlign)
	if w.left >= 0 {
		want = int(min(int64(want), w.left/int64(w.blockAlign)))
	}
	if want == 0 {
		if len(dst) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	m, err := io.ReadFull(w.r, w.buf[:want*w.blockAlign])
	if w.left >= 0 {
		w.left -= int64(m)
	}
	n := m / w.blockAlign
	b := w.buf[:n*w.blockAlign]
	if w.channels == 1 {
		for i := range n {
			dst[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
	} else {
		for i := range n {
			l := int32(int16(binary.LittleEndian.Uint16(b[4*i:])))
			r := int32(int16(binary.LittleEndian.Uint16(b[4*i+2:])))
			dst[i] = int16((l + r) >> 1)
		}
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		if w.left >= 0 {
			return n, fmt.Errorf("%w: WAV data chunk ends %d bytes early: %w", ErrFormat, w.left, io.ErrUnexpectedEOF)
		}
		return n, io.EOF
	default:
		return n, fmt.Errorf("audio: reading WAV data: %w", err)
	}
}

// SampleRate reports the file's sample rate in Hz.
func (w *WAVReader) SampleRate() int { return w.rate }

// Channels reports the file's channel count (1 or 2); samples are mono
// either way.
func (w *WAVReader) Channels() int { return w.channels }

// Len reports the number of samples (per channel) the data chunk declares,
// or -1 if the file does not declare its length.
func (w *WAVReader) Len() int64 {
	if w.dataLen < 0 {
		return -1
	}
	return w.dataLen / int64(w.blockAlign)
}

// Duration reports how long the audio lasts according to the header, or 0
// if the file does not declare its length.
func (w *WAVReader) Duration() time.Duration {
	n := w.Len()
	if n <= 0 {
		return 0
	}
	return samplesDuration(n, w.rate)
}

// ReadFrame fills f.Samples with the next audio at f.SampleRate,
// resampling if that differs from the file's rate. The last, partial frame
// is padded with silence; after it ReadFrame returns io.EOF. Changing the
// frame rate mid-stream restarts the resampler, which may skip a few
// milliseconds of audio. A data chunk
// that ends before its declared size gives an error wrapping ErrFormat and
// io.ErrUnexpectedEOF.
func (w *WAVReader) ReadFrame(f *Frame) error {
	if err := checkFrame(f); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	return w.src.readFrame(f)
}

func (w *WAVReader) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// WAVFile is a WAVReader reading from a file it owns.
//
// A WAVFile is safe for concurrent use; Close waits for a ReadFrame in
// progress.
type WAVFile struct {
	*WAVReader
	f    *os.File
	once sync.Once
	err  error
}

// OpenWAV opens the WAV file at path for reading.
func OpenWAV(path string) (*WAVFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	r, err := NewWAVReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s", err, path)
	}
	return &WAVFile{WAVReader: r, f: f}, nil
}

// Close closes the file. Later ReadFrame calls return ErrClosed. Close is
// idempotent.
func (w *WAVFile) Close() error {
	w.once.Do(func() {
		w.WAVReader.close()
		if err := w.f.Close(); err != nil {
			w.err = fmt.Errorf("audio: %w", err)
		}
	})
	return w.err
}

// WAVWriter writes mono 16-bit PCM WAV audio as a Sink. Frames at another
// rate than the writer's are resampled.
//
// The header is written first with the sizes marked unknown (0xFFFFFFFF),
// which WAVReader and most players read to the end of the file, and is
// completed by Close. UpdateHeader writes the current sizes earlier, so
// that a recording cut short by a crash stays exact up to that point.
//
// A WAVWriter is safe for concurrent use: a recorder may be closed from one
// goroutine while another writes to it.
type WAVWriter struct {
	mu     sync.Mutex
	w      io.WriteSeeker
	file   *os.File // set by CreateWAV; closed by Close
	start  int64    // offset of the RIFF header in w
	rate   int
	data   int64 // bytes of samples written
	buf    []byte
	adapt  sinkAdapter
	err    error // first write or seek error; sticky
	closed bool
}

// NewWAVWriter writes a WAV header for mono 16-bit PCM at sampleRate Hz to
// w at its current offset and returns a writer for the samples. Close
// completes the header but does not close w.
func NewWAVWriter(w io.WriteSeeker, sampleRate int) (*WAVWriter, error) {
	if !validRate(sampleRate) {
		return nil, rateError(sampleRate)
	}
	if w == nil {
		return nil, errors.New("audio: nil WAV writer")
	}
	start, err := w.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("audio: WAV writer cannot seek: %w", err)
	}
	ww := &WAVWriter{
		w:     w,
		start: start,
		rate:  sampleRate,
		buf:   make([]byte, wavBufLen),
		adapt: sinkAdapter{rate: sampleRate},
	}
	h := ww.buf[:wavHeaderLen]
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], wavUnknownSize)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], wavFormatPCM)
	binary.LittleEndian.PutUint16(h[22:], 1) // channels
	binary.LittleEndian.PutUint32(h[24:], uint32(sampleRate))
	binary.LittleEndian.PutUint32(h[28:], uint32(sampleRate*2)) // byte rate
	binary.LittleEndian.PutUint16(h[32:], 2)                    // block align
	binary.LittleEndian.PutUint16(h[34:], 16)                   // bits per sample
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], wavUnknownSize)
	if _, err := w.Write(h); err != nil {
		return nil, fmt.Errorf("audio: writing WAV header: %w", err)
	}
	return ww, nil
}

// CreateWAV creates (or truncates) the file at path and returns a writer
// for mono 16-bit PCM at sampleRate Hz. Close completes the header and
// closes the file.
func CreateWAV(path string, sampleRate int) (*WAVWriter, error) {
	if !validRate(sampleRate) {
		return nil, rateError(sampleRate)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	w, err := NewWAVWriter(f, sampleRate)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	w.file = f
	return w, nil
}

// SampleRate reports the file's sample rate in Hz.
func (w *WAVWriter) SampleRate() int { return w.rate }

// Len reports how many samples have been written to the file.
func (w *WAVWriter) Len() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.data / 2
}

// Duration reports how much audio has been written to the file.
func (w *WAVWriter) Duration() time.Duration {
	return samplesDuration(w.Len(), w.rate)
}

// WriteFrame appends f to the file, resampling it if f.SampleRate differs
// from the writer's rate. It returns ErrClosed after Close, and an error
// wrapping ErrFormat once the file would outgrow the 4 GiB limit of WAV.
func (w *WAVWriter) WriteFrame(f *Frame) error {
	if err := checkFrame(f); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	tail, main := w.adapt.adapt(f)
	if err := w.writeSamples(tail); err != nil {
		return err
	}
	return w.writeSamples(main)
}

func (w *WAVWriter) writeSamples(s []int16) error {
	if w.data+2*int64(len(s)) > wavMaxData {
		return fmt.Errorf("%w: WAV data would exceed %d bytes", ErrFormat, int64(wavMaxData))
	}
	for len(s) > 0 {
		n := min(len(s), len(w.buf)/2)
		b := w.buf[:2*n]
		for i, v := range s[:n] {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
		}
		m, err := w.w.Write(b)
		w.data += int64(m &^ 1)
		if err != nil {
			w.err = fmt.Errorf("audio: writing WAV data: %w", err)
			return w.err
		}
		s = s[n:]
	}
	return nil
}

// UpdateHeader writes the current RIFF and data sizes into the header, so
// that the file is complete up to the samples written so far even if Close
// is never called. The write position is restored afterwards.
func (w *WAVWriter) UpdateHeader() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	return w.updateHeader()
}

func (w *WAVWriter) updateHeader() error {
	if w.err != nil {
		return w.err
	}
	var b [4]byte
	put := func(off int64, v uint32) error {
		if _, err := w.w.Seek(w.start+off, io.SeekStart); err != nil {
			return err
		}
		binary.LittleEndian.PutUint32(b[:], v)
		_, err := w.w.Write(b[:])
		return err
	}
	end := w.start + wavHeaderLen + w.data
	err := put(4, uint32(min(w.data+wavHeaderLen-8, math.MaxUint32)))
	if err == nil {
		err = put(40, uint32(w.data))
	}
	if err == nil {
		_, err = w.w.Seek(end, io.SeekStart)
	}
	if err != nil {
		w.err = fmt.Errorf("audio: updating WAV header: %w", err)
		return w.err
	}
	return nil
}

// Close writes any samples held back by resampling, completes the header
// and, for a writer made by CreateWAV, closes the file. Later WriteFrame
// calls return ErrClosed. Close is idempotent: calls after the first
// return nil.
func (w *WAVWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	var err error
	if w.err == nil {
		err = w.writeSamples(w.adapt.flush())
	}
	if herr := w.updateHeader(); err == nil {
		err = herr
	}
	if w.file != nil {
		if cerr := w.file.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("audio: %w", cerr)
		}
	}
	return err
}
