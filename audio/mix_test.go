package audio

import (
	"errors"
	"io"
	"math"
	"testing"
	"time"
)

// patternSource produces a distinct, deterministic waveform per seed:
// sample k of the stream is pattern(seed, k). It ends after limit samples
// when limit > 0.
type patternSource struct {
	seed, k, limit int
}

func pattern(seed, k int) int16 {
	// A sawtooth-ish pattern with large amplitudes so that sums saturate.
	v := (seed*7919 + k*(seed+3)*613) % 40000
	return int16(v - 20000)
}

func (p *patternSource) ReadFrame(f *Frame) error {
	if p.limit > 0 && p.k >= p.limit {
		return io.EOF
	}
	for i := range f.Samples {
		f.Samples[i] = 0
		if p.limit == 0 || p.k < p.limit {
			f.Samples[i] = pattern(p.seed, p.k)
		}
		p.k++
	}
	return nil
}

func sat16(v int64) int16 {
	return int16(max(min(v, math.MaxInt16), math.MinInt16))
}

// frameLog is a Sink that keeps each frame written to it separately.
type frameLog struct {
	frames [][]int16
	rate   int
}

func (l *frameLog) WriteFrame(f *Frame) error {
	l.frames = append(l.frames, append([]int16(nil), f.Samples...))
	l.rate = f.SampleRate
	return nil
}

func (l *frameLog) all() []int16 {
	var s []int16
	for _, f := range l.frames {
		s = append(s, f...)
	}
	return s
}

func newTestMixer(t *testing.T, cfg MixerConfig) *Mixer {
	t.Helper()
	m, err := NewMixer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func TestMixConferenceMixMinusIsSaturatingSum(t *testing.T) {
	m := newTestMixer(t, MixerConfig{})
	const n, frames = 5, 7
	logs := make([]*frameLog, n)
	for i := range n {
		logs[i] = &frameLog{}
		if _, err := m.Add(&patternSource{seed: i + 1}, logs[i], 16000); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Mix(frames); err != nil {
		t.Fatal(err)
	}
	saturated := 0
	for i, l := range logs {
		got := l.all()
		if len(l.frames) != frames || len(got) != frames*320 || l.rate != 16000 {
			t.Fatalf("participant %d: %d frames, %d samples at %d Hz", i, len(l.frames), len(got), l.rate)
		}
		for k, g := range got {
			var sum int64
			for j := range n {
				if j != i {
					sum += int64(pattern(j+1, k))
				}
			}
			want := sat16(sum)
			if sum != int64(want) {
				saturated++
			}
			if g != want {
				t.Fatalf("participant %d sample %d: %d, want %d (sum of the others %d)", i, k, g, want, sum)
			}
		}
	}
	if saturated == 0 {
		t.Fatal("the test signals never saturated; pick louder ones")
	}
	if m.Rate() != 16000 || m.Steps() != frames {
		t.Fatalf("rate %d, steps %d", m.Rate(), m.Steps())
	}
}

func TestMixConferenceRecordGetsFullMix(t *testing.T) {
	m := newTestMixer(t, MixerConfig{})
	for i := range 3 {
		if _, err := m.Add(&patternSource{seed: i + 1}, Discard{}, 8000); err != nil {
			t.Fatal(err)
		}
	}
	rec := &frameLog{}
	m.Record(rec)
	if err := m.Mix(2); err != nil {
		t.Fatal(err)
	}
	m.Record(nil)
	if err := m.Mix(1); err != nil {
		t.Fatal(err)
	}
	got := rec.all()
	if len(got) != 320 {
		t.Fatalf("recorded %d samples, want 2 frames", len(got))
	}
	for k, g := range got {
		want := sat16(int64(pattern(1, k)) + int64(pattern(2, k)) + int64(pattern(3, k)))
		if g != want {
			t.Fatalf("sample %d: %d, want %d", k, g, want)
		}
	}
}

func TestMixConferenceGainAndMute(t *testing.T) {
	m := newTestMixer(t, MixerConfig{})
	const n = 3
	logs := make([]*frameLog, n)
	parts := make([]*Participant, n)
	for i := range n {
		logs[i] = &frameLog{}
		p, err := m.Add(&patternSource{seed: i + 1}, logs[i], 8000)
		if err != nil {
			t.Fatal(err)
		}
		parts[i] = p
	}
	in := []float64{0.5, 2, 1}
	out := []float64{1, 0.25, 3}
	for i, p := range parts {
		if err := p.SetGain(in[i], out[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Mix(1); err != nil {
		t.Fatal(err)
	}
	parts[1].SetMute(true)
	if !parts[1].Muted() {
		t.Fatal("Muted false after SetMute(true)")
	}
	if err := m.Mix(1); err != nil {
		t.Fatal(err)
	}
	for f := range 2 {
		for i := range n {
			for s, g := range logs[i].frames[f] {
				k := f*160 + s
				var sum int64
				for j := range n {
					if j == i || (f == 1 && j == 1) {
						continue
					}
					sum += int64(math.RoundToEven(float64(pattern(j+1, k)) * in[j]))
				}
				want := sat16(int64(math.Round(math.RoundToEven(float64(sum) * out[i]))))
				if g != want {
					t.Fatalf("frame %d participant %d sample %d: %d, want %d", f, i, s, g, want)
				}
			}
		}
	}
	for _, g := range []float64{-1, 17, math.NaN()} {
		if err := parts[0].SetGain(g, 1); !errors.Is(err, ErrGain) {
			t.Fatalf("SetGain(%v): %v, want ErrGain", g, err)
		}
	}
}

func TestMixConferenceAddRemoveAtFrameBoundary(t *testing.T) {
	m := newTestMixer(t, MixerConfig{})
	a, b, c := &frameLog{}, &frameLog{}, &frameLog{}
	const dc = 1000
	pa, err := m.Add(&constSource{v: dc}, a, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Add(&constSource{v: 2 * dc}, b, 8000); err != nil {
		t.Fatal(err)
	}
	if err := m.Mix(2); err != nil {
		t.Fatal(err)
	}
	pc, err := m.Add(&constSource{v: 4 * dc}, c, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Mix(2); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(pa); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(pa); !errors.Is(err, ErrNotParticipant) {
		t.Fatalf("second Remove: %v", err)
	}
	if err := m.Mix(2); err != nil {
		t.Fatal(err)
	}
	if m.Len() != 2 {
		t.Fatalf("Len %d", m.Len())
	}
	// Every frame is uniform: membership never changes inside a frame.
	wantB := []int16{dc, dc, 5 * dc, 5 * dc, 4 * dc, 4 * dc}
	checkFrames(t, "b", b, wantB)
	checkFrames(t, "a", a, []int16{2 * dc, 2 * dc, 6 * dc, 6 * dc})
	checkFrames(t, "c", c, []int16{3 * dc, 3 * dc, 2 * dc, 2 * dc})
	_ = pc
}

type constSource struct{ v int16 }

func (c *constSource) ReadFrame(f *Frame) error {
	for i := range f.Samples {
		f.Samples[i] = c.v
	}
	return nil
}

func checkFrames(t *testing.T, name string, l *frameLog, want []int16) {
	t.Helper()
	if len(l.frames) != len(want) {
		t.Fatalf("%s: %d frames, want %d", name, len(l.frames), len(want))
	}
	for i, f := range l.frames {
		for _, s := range f {
			if s != want[i] {
				t.Fatalf("%s frame %d: sample %d, want %d throughout", name, i, s, want[i])
			}
		}
	}
}

func TestMixConferenceSourceEndAndErrors(t *testing.T) {
	m := newTestMixer(t, MixerConfig{})
	l := &frameLog{}
	bad := errSource{}
	pb, _ := m.Add(bad, nil, 8000)
	if _, err := m.Add(&patternSource{seed: 1, limit: 160}, nil, 8000); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Add(nil, l, 8000); err != nil {
		t.Fatal(err)
	}
	if err := m.Mix(3); err != nil {
		t.Fatal(err)
	}
	if pb.SourceErrors() != 1 {
		t.Fatalf("source errors %d", pb.SourceErrors())
	}
	for k, s := range l.frames[0] {
		if s != pattern(1, k) {
			t.Fatalf("frame 0 sample %d: %d", k, s)
		}
	}
	checkFrames(t, "after EOF", &frameLog{frames: l.frames[1:]}, []int16{0, 0})
	if _, err := m.Add(nil, nil, 8001); !errors.Is(err, ErrSampleRate) {
		t.Fatalf("Add at 8001 Hz: %v", err)
	}
	if _, err := NewMixer(MixerConfig{Rate: 1000}); !errors.Is(err, ErrSampleRate) {
		t.Fatalf("NewMixer at 1000 Hz: %v", err)
	}
}

type errSource struct{}

func (errSource) ReadFrame(*Frame) error { return errors.New("broken") }

func TestMixConferenceMixedSampleRates(t *testing.T) {
	m := newTestMixer(t, MixerConfig{})
	narrow := NewCapture(8000, time.Second)
	wide := NewCapture(16000, time.Second)
	full := NewCapture(48000, time.Second)
	if _, err := m.Add(NewTone(0.2, 440), narrow, 8000); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Add(NewTone(0.6, 1000, 5000), wide, 16000); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Add(NewTone(0.1, 15000), full, 48000); err != nil {
		t.Fatal(err)
	}
	if err := m.Mix(50); err != nil {
		t.Fatal(err)
	}
	if m.Rate() != 48000 {
		t.Fatalf("mixing rate %d, want the highest participant rate", m.Rate())
	}
	level := func(c *Capture, f float64) float64 {
		s := c.Samples()[c.SampleRate()/10:]
		return math.Sqrt(Goertzel(s, c.SampleRate(), f))
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 0.01 {
			t.Errorf("%s: level %.4f, want %.2f", name, got, want)
		}
	}
	quiet := func(name string, got float64) {
		t.Helper()
		if got > 0.002 {
			t.Errorf("%s: level %.4f, want silence", name, got)
		}
	}
	// The 8 kHz participant hears the 1 kHz tone at its level, nothing of
	// the 5 kHz tone (above its Nyquist frequency) nor of 15 kHz, and not
	// itself.
	near("1 kHz at 8 kHz", level(narrow, 1000), 0.3)
	quiet("own 440 Hz at 8 kHz", level(narrow, 440))
	if r := RMS(narrow.Samples()[800:]); math.Abs(r-0.3/math.Sqrt2) > 0.01 {
		t.Errorf("8 kHz participant RMS %.4f, want only the 1 kHz tone (%.4f)", r, 0.3/math.Sqrt2)
	}
	// 16 kHz hears 440 Hz, not 15 kHz nor itself.
	near("440 Hz at 16 kHz", level(wide, 440), 0.2)
	quiet("own 1 kHz at 16 kHz", level(wide, 1000))
	quiet("own 5 kHz at 16 kHz", level(wide, 5000))
	// 48 kHz hears everyone else.
	near("440 Hz at 48 kHz", level(full, 440), 0.2)
	near("1 kHz at 48 kHz", level(full, 1000), 0.3)
	near("5 kHz at 48 kHz", level(full, 5000), 0.3)
	quiet("own 15 kHz at 48 kHz", level(full, 15000))
}

func TestMixConferenceFixedRateAndSoftClip(t *testing.T) {
	m := newTestMixer(t, MixerConfig{Rate: 16000, SoftClip: true})
	l := &frameLog{}
	for _, v := range []int16{30000, 30000} {
		if _, err := m.Add(&constSource{v: v}, nil, 8000); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Add(nil, l, 8000); err != nil {
		t.Fatal(err)
	}
	if err := m.Mix(10); err != nil {
		t.Fatal(err)
	}
	if m.Rate() != 16000 {
		t.Fatalf("rate %d", m.Rate())
	}
	last := l.frames[len(l.frames)-1]
	for _, s := range last {
		if s < 32000 {
			t.Fatalf("soft-clipped 60000 came out as %d", s)
		}
	}
	for _, c := range []struct{ in, lo, hi float64 }{{0, 0, 0}, {20000, 20000, 20000}, {30000, 27000, 30000}, {-30000, -30000, -27000}, {1e6, 32767, 32767}} {
		if g := float64(clipMix(c.in, true)); g < c.lo || g > c.hi {
			t.Errorf("clipMix(%v) = %v, want %v..%v", c.in, g, c.lo, c.hi)
		}
	}
	prev := clipMix(0, true)
	for v := 0.0; v < 70000; v += 50 {
		if g := clipMix(v, true); g < prev {
			t.Fatalf("soft clip not monotonic at %v", v)
		} else {
			prev = g
		}
	}
}

func TestMixConferenceRealTime(t *testing.T) {
	m := newTestMixer(t, MixerConfig{})
	c := NewCapture(8000, time.Second)
	if _, err := m.Add(nil, c, 8000); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for m.Steps() < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	steps := m.Steps()
	if steps < 5 {
		t.Fatalf("only %d steps in real time", steps)
	}
	time.Sleep(50 * time.Millisecond)
	if m.Steps() != steps || c.Len() != int(steps)*160 {
		t.Fatalf("steps %d -> %d after Close, %d samples", steps, m.Steps(), c.Len())
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Mix(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Mix after Close: %v", err)
	}
	if _, err := m.Add(nil, nil, 8000); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
	if err := m.Start(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
}

func TestMixConferenceFIFO(t *testing.T) {
	f := NewFIFO(8000, 20*time.Millisecond, 100*time.Millisecond)
	frame := func(v int16) *Frame {
		s := make([]int16, 160)
		for i := range s {
			s[i] = v
		}
		return &Frame{Samples: s, SampleRate: 8000}
	}
	out := &Frame{Samples: make([]int16, 160), SampleRate: 8000}
	read := func() int16 {
		t.Helper()
		if err := f.ReadFrame(out); err != nil {
			t.Fatal(err)
		}
		return out.Samples[0]
	}
	if err := f.WriteFrame(frame(1)); err != nil {
		t.Fatal(err)
	}
	if v := read(); v != 0 {
		t.Fatalf("read %d before the reserve filled", v)
	}
	_ = f.WriteFrame(frame(2))
	if v := read(); v != 1 {
		t.Fatalf("read %d, want the oldest frame", v)
	}
	if v := read(); v != 2 {
		t.Fatalf("read %d", v)
	}
	if v := read(); v != 0 || f.Padded() != 160 {
		t.Fatalf("dry read %d, padded %d", v, f.Padded())
	}
	for i := range 10 {
		_ = f.WriteFrame(frame(int16(10 + i)))
	}
	if f.Dropped() == 0 || f.Len() > 800 {
		t.Fatalf("dropped %d, len %d after overfilling", f.Dropped(), f.Len())
	}
	if v := read(); v < 15 {
		t.Fatalf("read %d after overflow; the oldest audio should have gone", v)
	}
	// Frames at another rate are resampled on the way in.
	if err := f.WriteFrame(&Frame{Samples: make([]int16, 320), SampleRate: 16000}); err != nil {
		t.Fatal(err)
	}
	if err := f.ReadFrame(&Frame{Samples: make([]int16, 320), SampleRate: 16000}); !errors.Is(err, ErrSampleRate) {
		t.Fatalf("read at another rate: %v", err)
	}
}
