package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// wavSpec describes a WAV stream built by hand for tests, independently of
// WAVWriter.
type wavSpec struct {
	format     uint16
	channels   uint16
	rate       uint32
	bits       uint16
	blockAlign uint16 // 0: channels*bits/8
	extensible bool   // write a WAVE_FORMAT_EXTENSIBLE fmt chunk with sub-format `format`
	before     []chunk
	after      []chunk // chunks between fmt and data
	data       []byte
	dataSize   int64 // declared data size; -1: len(data)
	noData     bool
	dataFirst  bool
}

type chunk struct {
	id   string
	body []byte
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func appendChunk(b []byte, id string, body []byte, size uint32) []byte {
	b = append(b, id...)
	b = binary.LittleEndian.AppendUint32(b, size)
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func monoSpec(rate uint32, data []byte) wavSpec {
	return wavSpec{format: 1, channels: 1, rate: rate, bits: 16, data: data, dataSize: -1}
}

func (s wavSpec) bytes() []byte {
	ba := s.blockAlign
	if ba == 0 {
		ba = s.channels * s.bits / 8
	}
	var fmtBody []byte
	tag := s.format
	if s.extensible {
		tag = 0xFFFE
	}
	fmtBody = append(fmtBody, le16(tag)...)
	fmtBody = append(fmtBody, le16(s.channels)...)
	fmtBody = append(fmtBody, le32(s.rate)...)
	fmtBody = append(fmtBody, le32(s.rate*uint32(ba))...)
	fmtBody = append(fmtBody, le16(ba)...)
	fmtBody = append(fmtBody, le16(s.bits)...)
	if s.extensible {
		fmtBody = append(fmtBody, le16(22)...)
		fmtBody = append(fmtBody, le16(s.bits)...)
		fmtBody = append(fmtBody, le32(0)...)
		fmtBody = append(fmtBody, le16(s.format)...)
		fmtBody = append(fmtBody, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71)
	}
	var body []byte
	for _, c := range s.before {
		body = appendChunk(body, c.id, c.body, uint32(len(c.body)))
	}
	size := uint32(len(s.data))
	if s.dataSize >= 0 {
		size = uint32(s.dataSize)
	}
	if s.dataFirst {
		body = appendChunk(body, "data", s.data, size)
	}
	body = appendChunk(body, "fmt ", fmtBody, uint32(len(fmtBody)))
	for _, c := range s.after {
		body = appendChunk(body, c.id, c.body, uint32(len(c.body)))
	}
	if !s.noData && !s.dataFirst {
		body = append(body, "data"...)
		body = binary.LittleEndian.AppendUint32(body, size)
		body = append(body, s.data...)
	}
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(4+len(body)))
	out = append(out, "WAVE"...)
	return append(out, body...)
}

func samplesBytes(s []int16) []byte {
	var b []byte
	for _, v := range s {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}

func testSamples(n int, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 9))
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(rng.Uint32())
	}
	if n > 2 {
		s[0], s[1] = -32768, 32767
	}
	return s
}

// memFile is an in-memory io.WriteSeeker.
type memFile struct {
	buf []byte
	off int64
}

func (m *memFile) Write(p []byte) (int, error) {
	if need := int(m.off) + len(p); need > len(m.buf) {
		m.buf = append(m.buf, make([]byte, need-len(m.buf))...)
	}
	copy(m.buf[m.off:], p)
	m.off += int64(len(p))
	return len(p), nil
}

func (m *memFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += m.off
	case io.SeekEnd:
		offset += int64(len(m.buf))
	}
	if offset < 0 {
		return 0, errors.New("negative offset")
	}
	m.off = offset
	return offset, nil
}

func readWAVSamples(t *testing.T, data []byte, rate int) ([]int16, error) {
	t.Helper()
	r, err := NewWAVReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if rate == 0 {
		rate = r.SampleRate()
	}
	return readAll(t, r, rate, 160, 100000)
}

func TestWAVRoundTripFile(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		path := filepath.Join(t.TempDir(), "rt.wav")
		w, err := CreateWAV(path, rate)
		if err != nil {
			t.Fatal(err)
		}
		frameLen := rate / 50
		want := testSamples(10*frameLen+7, uint64(rate))
		for i := 0; i < len(want); i += frameLen {
			f := &Frame{Samples: want[i:min(i+frameLen, len(want))], SampleRate: rate}
			if err := w.WriteFrame(f); err != nil {
				t.Fatal(err)
			}
		}
		if w.Len() != int64(len(want)) {
			t.Errorf("Len() = %d, want %d", w.Len(), len(want))
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("second Close = %v, want nil", err)
		}
		if err := w.WriteFrame(&Frame{Samples: want[:10], SampleRate: rate}); !errors.Is(err, ErrClosed) {
			t.Errorf("WriteFrame after Close = %v, want ErrClosed", err)
		}

		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := binary.LittleEndian.Uint32(raw[4:]); int(got) != len(raw)-8 {
			t.Errorf("RIFF size %d, want %d", got, len(raw)-8)
		}
		if got := binary.LittleEndian.Uint32(raw[40:]); int(got) != 2*len(want) {
			t.Errorf("data size %d, want %d", got, 2*len(want))
		}
		if !bytes.Equal(raw[44:], samplesBytes(want)) {
			t.Error("sample bytes differ from the samples written")
		}

		r, err := OpenWAV(path)
		if err != nil {
			t.Fatal(err)
		}
		if r.SampleRate() != rate || r.Channels() != 1 || r.Len() != int64(len(want)) {
			t.Errorf("reader: rate %d channels %d len %d", r.SampleRate(), r.Channels(), r.Len())
		}
		if d := samplesDuration(int64(len(want)), rate); r.Duration() != d {
			t.Errorf("Duration() = %v, want %v", r.Duration(), d)
		}
		got, err := readAll(t, r, rate, frameLen, 1000)
		if err != io.EOF {
			t.Fatalf("read ended with %v, want io.EOF", err)
		}
		// The last frame is padded with silence.
		if len(got) != 11*frameLen || !slices.Equal(got[:len(want)], want) {
			t.Fatalf("read %d samples; the first %d should equal the written ones", len(got), len(want))
		}
		for _, v := range got[len(want):] {
			if v != 0 {
				t.Fatal("padding of the last frame is not silence")
			}
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Errorf("second Close = %v", err)
		}
		if err := r.ReadFrame(&Frame{Samples: make([]int16, 10), SampleRate: rate}); !errors.Is(err, ErrClosed) {
			t.Errorf("ReadFrame after Close = %v, want ErrClosed", err)
		}
	}
}

func TestWAVWriterHeaderWithoutClose(t *testing.T) {
	m := &memFile{}
	w, err := NewWAVWriter(m, 8000)
	if err != nil {
		t.Fatal(err)
	}
	first := testSamples(480, 1)
	if err := w.WriteFrame(&Frame{Samples: first, SampleRate: 8000}); err != nil {
		t.Fatal(err)
	}
	// Before any header update the sizes are "unknown" and a reader reads
	// to the end of the stream.
	got, err := readWAVSamples(t, m.buf, 0)
	if err != io.EOF || !slices.Equal(got, first) {
		t.Fatalf("unfinished file: read %d samples (%v), want the %d written", len(got), err, len(first))
	}
	if err := w.UpdateHeader(); err != nil {
		t.Fatal(err)
	}
	// Writing continues at the end after the header update.
	more := testSamples(160, 2)
	if err := w.WriteFrame(&Frame{Samples: more, SampleRate: 8000}); err != nil {
		t.Fatal(err)
	}
	// A crash now leaves a file whose header covers the first 480 samples.
	got, err = readWAVSamples(t, m.buf, 0)
	if err != io.EOF || !slices.Equal(got, first) {
		t.Fatalf("after UpdateHeader: read %d samples (%v), want the first %d", len(got), err, len(first))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err = readWAVSamples(t, m.buf, 0)
	if err != io.EOF || !slices.Equal(got, append(first, more...)) {
		t.Fatalf("after Close: read %d samples (%v), want %d", len(got), err, len(first)+len(more))
	}
	if err := w.UpdateHeader(); !errors.Is(err, ErrClosed) {
		t.Errorf("UpdateHeader after Close = %v, want ErrClosed", err)
	}
}

func TestWAVWriterAtOffset(t *testing.T) {
	m := &memFile{}
	prefix := []byte("0123456789")
	m.Write(prefix)
	w, err := NewWAVWriter(m, 16000)
	if err != nil {
		t.Fatal(err)
	}
	want := testSamples(333, 3)
	if err := w.WriteFrame(&Frame{Samples: want, SampleRate: 16000}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.buf[:10], prefix) {
		t.Fatal("writer overwrote data before its start offset")
	}
	got, err := readWAVSamples(t, m.buf[10:], 0)
	if err != io.EOF || !slices.Equal(got[:len(want)], want) {
		t.Fatalf("read back %d samples (%v)", len(got), err)
	}
}

func TestWAVWriterResamples(t *testing.T) {
	m := &memFile{}
	w, err := NewWAVWriter(m, 8000)
	if err != nil {
		t.Fatal(err)
	}
	tone := NewTone(0.5, 1000)
	f := &Frame{Samples: make([]int16, 320), SampleRate: 16000}
	for range 50 { // one second at 16 kHz
		if err := tone.ReadFrame(f); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := readWAVSamples(t, m.buf, 0)
	if err != io.EOF {
		t.Fatal(err)
	}
	if n := w.Len(); n < 7999 || n > 8001 {
		t.Errorf("one second at 16 kHz became %d samples at 8 kHz", n)
	}
	if fr := DominantFrequency(got, 8000); fr < 999.9 || fr > 1000.1 {
		t.Errorf("dominant frequency %.2f, want 1000", fr)
	}
	if snr, amp := sineSNR(got[100:7900], 8000, 1000); snr < 60 || amp < 0.49 || amp > 0.51 {
		t.Errorf("resampled tone: SNR %.1f dB, amplitude %.3f", snr, amp)
	}
}

func TestWAVReaderResamples(t *testing.T) {
	data := monoSpec(8000, samplesBytes(sine(8000, 8000, 1000, 0.5))).bytes()
	for _, rate := range []int{16000, 44100, 48000} {
		got, err := readWAVSamples(t, data, rate)
		if err != io.EOF {
			t.Fatalf("%d Hz: %v", rate, err)
		}
		frameLen := 160
		if len(got) < rate || len(got) > rate+frameLen {
			t.Errorf("%d Hz: read %d samples for one second", rate, len(got))
		}
		if fr := DominantFrequency(got[:rate], rate); fr < 999.9 || fr > 1000.1 {
			t.Errorf("%d Hz: dominant frequency %.2f", rate, fr)
		}
		trim := rate / 20
		if snr, _ := sineSNR(got[trim:rate-trim], rate, 1000); snr < 60 {
			t.Errorf("%d Hz: SNR %.1f dB", rate, snr)
		}
	}
}

func TestWAVReaderSwitchesRate(t *testing.T) {
	data := monoSpec(8000, samplesBytes(sine(800, 8000, 500, 0.5))).bytes()
	r, err := NewWAVReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0 // seconds read
	for i := 0; ; i++ {
		rate := []int{8000, 16000, 48000}[i%3]
		f := &Frame{Samples: make([]int16, rate/100), SampleRate: rate}
		err := r.ReadFrame(f)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i > 100 {
			t.Fatal("reader did not end")
		}
		total += 0.01
	}
	// 100 ms of audio; switching rates may lose a few samples of resampler
	// state but not whole frames.
	if total < 0.09 || total > 0.12 {
		t.Errorf("read %.2f s from a 0.1 s file", total)
	}
}

func TestWAVStereoDownmix(t *testing.T) {
	pairs := [][2]int16{{1000, 3000}, {-32768, -32768}, {32767, 32767}, {32767, -32768}, {-3, 0}, {100, -100}}
	var data []byte
	var want []int16
	for _, p := range pairs {
		data = append(data, le16(uint16(p[0]))...)
		data = append(data, le16(uint16(p[1]))...)
		want = append(want, int16((int32(p[0])+int32(p[1]))>>1))
	}
	spec := wavSpec{format: 1, channels: 2, rate: 44100, bits: 16, data: data, dataSize: -1}
	r, err := NewWAVReader(bytes.NewReader(spec.bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if r.Channels() != 2 || r.Len() != int64(len(pairs)) {
		t.Fatalf("channels %d len %d", r.Channels(), r.Len())
	}
	got, err := readAll(t, r, 44100, len(pairs), 10)
	if err != io.EOF || !slices.Equal(got, want) {
		t.Fatalf("downmix = %v (%v), want %v", got, err, want)
	}
	if want[0] != 2000 || want[1] != -32768 || want[2] != 32767 {
		t.Fatal("expected values are wrong")
	}
}

func TestWAVExtensibleAndChunks(t *testing.T) {
	samples := testSamples(100, 4)
	tests := []struct {
		name string
		spec wavSpec
	}{
		{"extensible PCM", func() wavSpec {
			s := monoSpec(16000, samplesBytes(samples))
			s.extensible = true
			return s
		}()},
		{"odd chunk before fmt", func() wavSpec {
			s := monoSpec(16000, samplesBytes(samples))
			s.before = []chunk{{"JUNK", []byte("abc")}}
			return s
		}()},
		{"odd LIST chunks after fmt", func() wavSpec {
			s := monoSpec(16000, samplesBytes(samples))
			s.after = []chunk{{"LIST", []byte("INFOISFT\x05\x00\x00\x00test\x00")}, {"fact", []byte{1}}, {"cue ", nil}}
			return s
		}()},
		{"streamed size", func() wavSpec {
			s := monoSpec(16000, samplesBytes(samples))
			s.dataSize = 0xFFFFFFFF
			return s
		}()},
		{"trailing half sample", func() wavSpec {
			s := monoSpec(16000, append(samplesBytes(samples), 0x7F))
			return s
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readWAVSamples(t, tc.spec.bytes(), 0)
			if err != io.EOF {
				t.Fatalf("read: %v", err)
			}
			if len(got) != 160 || !slices.Equal(got[:100], samples) {
				t.Fatalf("read %d samples, want the 100 written and padding", len(got))
			}
		})
	}
}

func TestWAVReaderRejects(t *testing.T) {
	good := monoSpec(8000, samplesBytes(testSamples(10, 5)))
	mod := func(f func(*wavSpec)) []byte {
		s := good
		f(&s)
		return s.bytes()
	}
	tests := []struct {
		name      string
		data      []byte
		msg       string
		truncated bool
	}{
		{"empty", nil, "RIFF header", true},
		{"not RIFF", []byte("RIFX\x00\x00\x00\x00WAVEfmt "), "not a RIFF/WAVE", false},
		{"not WAVE", []byte("RIFF\x00\x00\x00\x00AVI fmt "), "not a RIFF/WAVE", false},
		{"RF64", []byte("RF64\xff\xff\xff\xffWAVEds64"), "RF64", false},
		{"8-bit", mod(func(s *wavSpec) { s.bits = 8 }), "WAV is 8-bit, want 16-bit PCM", false},
		{"24-bit", mod(func(s *wavSpec) { s.bits = 24 }), "WAV is 24-bit", false},
		{"float", mod(func(s *wavSpec) { s.format, s.bits = 3, 32 }), "IEEE float", false},
		{"µ-law", mod(func(s *wavSpec) { s.format, s.bits = 7, 8 }), "µ-law", false},
		{"extensible float", mod(func(s *wavSpec) { s.format, s.bits, s.extensible = 3, 32, true }), "IEEE float", false},
		{"3 channels", mod(func(s *wavSpec) { s.channels = 3 }), "3 channels", false},
		{"0 channels", mod(func(s *wavSpec) { s.channels = 0; s.blockAlign = 2 }), "0 channels", false},
		{"rate 0", mod(func(s *wavSpec) { s.rate = 0 }), "sample rate 0 Hz", false},
		{"rate too high", mod(func(s *wavSpec) { s.rate = 1 << 30 }), "sample rate", false},
		{"block align", mod(func(s *wavSpec) { s.blockAlign = 3 }), "block align", false},
		{"no data", mod(func(s *wavSpec) { s.noData = true }), "no data chunk", false},
		{"data before fmt", mod(func(s *wavSpec) { s.dataFirst = true }), "before the fmt", false},
		{"two fmt", mod(func(s *wavSpec) { s.after = []chunk{{"fmt ", make([]byte, 16)}} }), "two fmt", false},
		{"short fmt", []byte("RIFF\x00\x00\x00\x00WAVEfmt \x0e\x00\x00\x00" + strings.Repeat("\x01", 14)), "at least 16", false},
		{"short extensible", []byte("RIFF\x00\x00\x00\x00WAVEfmt \x12\x00\x00\x00\xfe\xff\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00\x00\x00"), "too short", false},
	}
	// A chunk claiming 4 GB in a short stream.
	huge := append(append([]byte(nil), mod(func(s *wavSpec) { s.noData = true })...), "LIST\xff\xff\xff\x7fxyz"...)
	tests = append(tests, struct {
		name      string
		data      []byte
		msg       string
		truncated bool
	}{"chunk beyond end", huge, `"LIST" chunk`, true})
	// Every proper prefix of a valid header is truncated.
	full := good.bytes()
	for n := 1; n < 44; n++ {
		tests = append(tests, struct {
			name      string
			data      []byte
			msg       string
			truncated bool
		}{"prefix", full[:n], "", n != 12 && n != 36 && n < 44})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewWAVReader(bytes.NewReader(tc.data))
			if err == nil {
				t.Fatalf("NewWAVReader accepted %d bytes: rate %d", len(tc.data), r.SampleRate())
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("err = %v, want ErrFormat", err)
			}
			if tc.truncated != errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("err = %v, want io.ErrUnexpectedEOF: %v", err, tc.truncated)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "audio: ") {
				t.Errorf("err = %q, want it to start with \"audio: \" and mention %q", err, tc.msg)
			}
		})
	}
}

func TestWAVTruncatedData(t *testing.T) {
	samples := testSamples(300, 6)
	spec := monoSpec(8000, samplesBytes(samples))
	spec.dataSize = int64(len(spec.data) + 100)
	got, err := readWAVSamples(t, spec.bytes(), 0)
	if !errors.Is(err, ErrFormat) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want ErrFormat and io.ErrUnexpectedEOF", err)
	}
	if len(got) != 160 || !slices.Equal(got, samples[:160]) {
		t.Fatalf("read %d samples before the error, want the first 160", len(got))
	}
}

func TestWAVOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenWAV(filepath.Join(dir, "missing.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenWAV(missing) = %v, want os.ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad.wav")
	if err := os.WriteFile(bad, monoSpec(8000, nil).bytes()[:30], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenWAV(bad); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), bad) {
		t.Errorf("OpenWAV(truncated) = %v, want ErrFormat naming the file", err)
	}
	if _, err := CreateWAV(filepath.Join(dir, "x.wav"), 100); !errors.Is(err, ErrSampleRate) {
		t.Errorf("CreateWAV at 100 Hz = %v, want ErrSampleRate", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Error("CreateWAV with a bad rate left a file behind")
	}
	if _, err := CreateWAV(filepath.Join(dir, "no", "such", "dir.wav"), 8000); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CreateWAV in a missing directory = %v", err)
	}
	if _, err := NewWAVWriter(&memFile{}, 0); !errors.Is(err, ErrSampleRate) {
		t.Errorf("NewWAVWriter at 0 Hz = %v, want ErrSampleRate", err)
	}
	if _, err := NewWAVReader(nil); !errors.Is(err, ErrFormat) {
		t.Errorf("NewWAVReader(nil) = %v", err)
	}
}

type failWriter struct {
	memFile
	failAfter int
}

func (f *failWriter) Write(p []byte) (int, error) {
	if len(f.buf)+len(p) > f.failAfter {
		return 0, errors.New("disk full")
	}
	return f.memFile.Write(p)
}

func TestWAVWriterWriteError(t *testing.T) {
	fw := &failWriter{failAfter: 44 + 1000}
	w, err := NewWAVWriter(fw, 8000)
	if err != nil {
		t.Fatal(err)
	}
	f := &Frame{Samples: make([]int16, 320), SampleRate: 8000}
	if err := w.WriteFrame(f); err != nil {
		t.Fatal(err)
	}
	err = w.WriteFrame(f)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("WriteFrame on a full disk = %v", err)
	}
	if err2 := w.WriteFrame(f); err2 == nil {
		t.Fatal("error is not sticky")
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after a write error returned nil")
	}
}

func TestWAVWriterConcurrentClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	w, err := CreateWAV(path, 8000)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	written := make(chan int, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tone := NewTone(0.3, 440)
		f := &Frame{Samples: make([]int16, 160), SampleRate: 8000}
		n := 0
		for range 100000 {
			if err := tone.ReadFrame(f); err != nil {
				break
			}
			if err := w.WriteFrame(f); err != nil {
				if !errors.Is(err, ErrClosed) {
					t.Errorf("WriteFrame: %v", err)
				}
				break
			}
			n += len(f.Samples)
		}
		written <- n
	}()
	time.Sleep(5 * time.Millisecond)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	n := <-written
	r, err := OpenWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Len() != int64(n) {
		t.Fatalf("file holds %d samples, writer wrote %d", r.Len(), n)
	}
}

// nullSeeker is an io.WriteSeeker that keeps only its size.
type nullSeeker struct{ off, size int64 }

func (n *nullSeeker) Write(p []byte) (int, error) {
	n.off += int64(len(p))
	n.size = max(n.size, n.off)
	return len(p), nil
}

func (n *nullSeeker) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += n.off
	case io.SeekEnd:
		offset += n.size
	}
	n.off = offset
	return offset, nil
}

func BenchmarkWAVWriterWriteFrame(b *testing.B) {
	w, err := NewWAVWriter(&nullSeeker{}, 8000)
	if err != nil {
		b.Fatal(err)
	}
	f := &Frame{Samples: sine(160, 8000, 1000, 0.5), SampleRate: 8000}
	b.ReportAllocs()
	b.SetBytes(320)
	for b.Loop() {
		if err := w.WriteFrame(f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWAVReaderReadFrame(b *testing.B) {
	data := monoSpec(8000, samplesBytes(sine(80000, 8000, 1000, 0.5))).bytes()
	f := &Frame{Samples: make([]int16, 160), SampleRate: 8000}
	br := bytes.NewReader(data)
	r, err := NewWAVReader(br)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(320)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := r.ReadFrame(f); err != nil {
			b.StopTimer()
			br.Reset(data)
			if r, err = NewWAVReader(br); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
}
