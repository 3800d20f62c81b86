package audio

import (
	"bytes"
	"errors"
	"io"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

func TestPCMReader(t *testing.T) {
	samples := testSamples(333, 11)
	raw := samplesBytes(samples)
	tests := []struct {
		name string
		r    io.Reader
	}{
		{"plain", bytes.NewReader(raw)},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(raw))},
		{"half reads", iotest.HalfReader(bytes.NewReader(raw))},
		{"data with EOF", iotest.DataErrReader(bytes.NewReader(raw))},
		{"dangling odd byte", bytes.NewReader(append(slices.Clip(raw), 0x55))},
		{"odd bytes one at a time", iotest.OneByteReader(bytes.NewReader(append(slices.Clip(raw), 0x55)))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewPCMReader(tc.r, 8000)
			if r.SampleRate() != 8000 {
				t.Fatalf("SampleRate() = %d", r.SampleRate())
			}
			got, err := readAll(t, r, 8000, 160, 100)
			if err != io.EOF {
				t.Fatalf("read ended with %v", err)
			}
			if len(got) != 480 || !slices.Equal(got[:333], samples) {
				t.Fatalf("read %d samples, want the 333 written padded to 480", len(got))
			}
			for _, v := range got[333:] {
				if v != 0 {
					t.Fatal("padding is not silence")
				}
			}
			if err := r.ReadFrame(&Frame{Samples: make([]int16, 1), SampleRate: 8000}); err != io.EOF {
				t.Fatalf("ReadFrame after the end = %v", err)
			}
		})
	}
}

func TestPCMReaderExactFrames(t *testing.T) {
	samples := testSamples(320, 12)
	got, err := readAll(t, NewPCMReader(bytes.NewReader(samplesBytes(samples)), 16000), 16000, 160, 10)
	if err != io.EOF || !slices.Equal(got, samples) {
		t.Fatalf("read %d samples (%v), want exactly the 320 written", len(got), err)
	}
}

func TestPCMReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	r := NewPCMReader(io.MultiReader(bytes.NewReader(make([]byte, 100)), iotest.ErrReader(boom)), 8000)
	f := &Frame{Samples: make([]int16, 160), SampleRate: 8000}
	if err := r.ReadFrame(f); !errors.Is(err, boom) {
		t.Fatalf("ReadFrame = %v, want the reader's error", err)
	}
	if err := r.ReadFrame(f); !errors.Is(err, boom) {
		t.Fatalf("error is not sticky: %v", err)
	}
	if err := NewPCMReader(bytes.NewReader(nil), 100).ReadFrame(f); !errors.Is(err, ErrSampleRate) {
		t.Errorf("PCM stream at 100 Hz: %v, want ErrSampleRate", err)
	}
	if err := NewPCMReader(nil, 8000).ReadFrame(f); err == nil {
		t.Error("nil reader: no error")
	}
	if err := NewPCMReader(stuckReader{}, 8000).ReadFrame(f); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("reader that never returns data: %v, want io.ErrNoProgress", err)
	}
	if err := NewPCMReader(stuckReader{}, 8000).ReadFrame(&Frame{Samples: f.Samples, SampleRate: 16000}); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("resampling a reader that never returns data: %v, want io.ErrNoProgress", err)
	}
}

type stuckReader struct{}

func (stuckReader) Read([]byte) (int, error) { return 0, nil }

func TestPCMReaderResamples(t *testing.T) {
	raw := samplesBytes(sine(4000, 8000, 1000, 0.5))
	got, err := readAll(t, NewPCMReader(bytes.NewReader(raw), 8000), 48000, 960, 100)
	if err != io.EOF {
		t.Fatal(err)
	}
	if len(got) < 24000 || len(got) > 24000+960 {
		t.Fatalf("0.5 s at 8 kHz became %d samples at 48 kHz", len(got))
	}
	if f := DominantFrequency(got[:24000], 48000); math.Abs(f-1000) > 0.1 {
		t.Errorf("dominant frequency %.2f", f)
	}
	// The converted stream is aligned with the original: the tone starts
	// at once and its phase matches a 1 kHz sine from time zero.
	snr, amp := sineSNR(got[2400:21600], 48000, 1000)
	if snr < 60 || math.Abs(amp-0.5) > 0.005 {
		t.Errorf("SNR %.1f dB, amplitude %.4f", snr, amp)
	}
	want := 0.5 * 32767 * math.Sin(2*math.Pi*1000*0.05)
	if d := float64(got[2400]) - want; math.Abs(d) > 300 {
		t.Errorf("sample at 50 ms = %d, a time-aligned sine has %.0f", got[2400], want)
	}
}

func TestPCMWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewPCMWriter(&buf, 8000)
	samples := testSamples(500, 13)
	for i := 0; i < len(samples); i += 160 {
		if err := w.WriteFrame(&Frame{Samples: samples[i:min(i+160, len(samples))], SampleRate: 8000}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if !bytes.Equal(buf.Bytes(), samplesBytes(samples)) {
		t.Fatal("written bytes differ from the s16le samples")
	}
	if err := w.WriteFrame(&Frame{Samples: samples, SampleRate: 8000}); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteFrame after Close = %v, want ErrClosed", err)
	}
	if err := NewPCMWriter(&buf, 1).WriteFrame(&Frame{Samples: samples, SampleRate: 8000}); !errors.Is(err, ErrSampleRate) {
		t.Errorf("writer at 1 Hz: %v, want ErrSampleRate", err)
	}
	if err := NewPCMWriter(nil, 8000).WriteFrame(&Frame{Samples: samples, SampleRate: 8000}); err == nil {
		t.Error("nil writer: no error")
	}
}

func TestPCMWriterResamplesAndFlushes(t *testing.T) {
	var buf bytes.Buffer
	w := NewPCMWriter(&buf, 8000)
	tone := NewTone(0.5, 1000)
	f := &Frame{Samples: make([]int16, 960), SampleRate: 48000}
	for range 25 { // 0.5 s
		if err := tone.ReadFrame(f); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	before := buf.Len() / 2
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, NewPCMReader(&buf, 8000), 8000, 4000, 10)
	if err != io.EOF {
		t.Fatal(err)
	}
	if before >= 4000 || len(got) != 4000 {
		t.Fatalf("%d samples before Close, %d after; want fewer, then 4000", before, len(got))
	}
	if snr, amp := sineSNR(got[100:3900], 8000, 1000); snr < 60 || math.Abs(amp-0.5) > 0.005 {
		t.Errorf("SNR %.1f dB amplitude %.4f", snr, amp)
	}
	// The tail held back by the resampler is the end of the tone, not
	// silence.
	if RMS(got[3950:]) < 0.3 {
		t.Errorf("flushed tail has RMS %.3f, want the tone's 0.35", RMS(got[3950:]))
	}
}

func TestSinkRateSwitch(t *testing.T) {
	// Alternating rates keep the timeline: each 10 ms frame adds 80
	// samples at 8 kHz, give or take one at each switch.
	c := NewCapture(8000, time.Second)
	tone := NewTone(0.5, 400)
	for i := range 30 {
		rate := []int{8000, 16000, 48000}[i%3]
		f := &Frame{Samples: make([]int16, rate/100), SampleRate: rate}
		if err := tone.ReadFrame(f); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Len(); n < 2400-30 || n > 2400+30 {
		t.Fatalf("captured %d samples, want about 2400", n)
	}
	if fr := DominantFrequency(c.Samples(), 8000); math.Abs(fr-400) > 2 {
		t.Errorf("dominant frequency %.2f, want 400", fr)
	}
}

func TestDiscard(t *testing.T) {
	var s Sink = Discard{}
	if err := s.WriteFrame(&Frame{Samples: make([]int16, 10), SampleRate: 8000}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteFrame(nil); !errors.Is(err, ErrFormat) {
		t.Errorf("WriteFrame(nil) = %v", err)
	}
}

func TestSinksRejectBadFrames(t *testing.T) {
	sinks := map[string]Sink{
		"discard": Discard{},
		"capture": NewCapture(8000, time.Second),
		"pcm":     NewPCMWriter(io.Discard, 8000),
		"wav": func() Sink {
			w, err := NewWAVWriter(&memFile{}, 8000)
			if err != nil {
				t.Fatal(err)
			}
			return w
		}(),
	}
	for name, s := range sinks {
		if err := s.WriteFrame(nil); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: WriteFrame(nil) = %v, want ErrFormat", name, err)
		}
		if err := s.WriteFrame(&Frame{Samples: make([]int16, 10), SampleRate: 10}); !errors.Is(err, ErrSampleRate) {
			t.Errorf("%s at 10 Hz: %v, want ErrSampleRate", name, err)
		}
	}
}

func TestCapture(t *testing.T) {
	c := NewCapture(8000, 50*time.Millisecond)
	samples := testSamples(800, 14)
	for i := 0; i < 800; i += 160 {
		if err := c.WriteFrame(&Frame{Samples: samples[i : i+160], SampleRate: 8000}); err != nil {
			t.Fatal(err)
		}
	}
	got := c.Samples()
	if len(got) != 400 || c.Len() != 400 || c.Dropped() != 400 || !slices.Equal(got, samples[:400]) {
		t.Fatalf("kept %d samples, dropped %d; want the first 400 kept and 400 dropped", len(got), c.Dropped())
	}
	if c.Duration() != 50*time.Millisecond || c.SampleRate() != 8000 {
		t.Errorf("Duration %v SampleRate %d", c.Duration(), c.SampleRate())
	}
	got[0]++
	if c.Samples()[0] != samples[0] {
		t.Error("Samples does not return a copy")
	}
	c.Reset()
	if c.Len() != 0 || c.Dropped() != 0 {
		t.Error("Reset kept data")
	}
	none := NewCapture(8000, 0)
	if err := none.WriteFrame(&Frame{Samples: samples, SampleRate: 8000}); err != nil {
		t.Fatal(err)
	}
	if none.Len() != 0 || none.Dropped() != 800 {
		t.Errorf("zero-length capture kept %d, dropped %d", none.Len(), none.Dropped())
	}
	if NewCapture(0, time.Second).Duration() != 0 {
		t.Error("capture at 0 Hz reports a duration")
	}
}

func TestCaptureResamplesAndConcurrentUse(t *testing.T) {
	c := NewCapture(8000, 10*time.Second)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := &Frame{Samples: make([]int16, 320), SampleRate: 16000}
			for range 50 {
				if err := c.WriteFrame(f); err != nil {
					t.Error(err)
					return
				}
				if g == 0 {
					_ = c.Samples()
				}
			}
		}()
	}
	wg.Wait()
	if n := c.Len(); n < 4*50*160-200 || n > 4*50*160 {
		t.Fatalf("captured %d samples, want about %d", n, 4*50*160)
	}
}

func BenchmarkPCMWriterWriteFrame(b *testing.B) {
	w := NewPCMWriter(io.Discard, 8000)
	f := &Frame{Samples: sine(160, 8000, 1000, 0.5), SampleRate: 8000}
	if err := w.WriteFrame(f); err != nil { // allocates the byte buffer
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteFrame(f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCaptureResample16to8(b *testing.B) {
	c := NewCapture(8000, time.Second)
	f := &Frame{Samples: sine(320, 16000, 1000, 0.5), SampleRate: 16000}
	for c.Len() < 7000 { // let the buffer reach its working size
		if err := c.WriteFrame(f); err != nil {
			b.Fatal(err)
		}
	}
	c.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.WriteFrame(f); err != nil {
			b.Fatal(err)
		}
		if c.Len() >= 7000 {
			b.StopTimer()
			c.Reset()
			b.StartTimer()
		}
	}
}
