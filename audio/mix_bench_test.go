package audio

import (
	"testing"
)

// loopSource replays a precomputed buffer, so that benchmarks measure the
// mixer rather than signal generation.
type loopSource struct {
	buf []int16
	pos int
}

func (l *loopSource) ReadFrame(f *Frame) error {
	for n := 0; n < len(f.Samples); {
		c := copy(f.Samples[n:], l.buf[l.pos:])
		n += c
		l.pos = (l.pos + c) % len(l.buf)
	}
	return nil
}

// benchmarkMix measures one MixPeriod frame of a conference of n
// participants at rate Hz (each op is one frame) and reports the share of
// one core that real-time mixing takes.
func benchmarkMix(b *testing.B, n, rate int) {
	m, err := NewMixer(MixerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	for i := range n {
		src := &loopSource{buf: sine(rate, rate, 300+float64(i)*37, 0.3)}
		if _, err := m.Add(src, Discard{}, rate); err != nil {
			b.Fatal(err)
		}
	}
	if err := m.Mix(1); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := m.Mix(1); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	nsPerFrame := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(100*nsPerFrame/float64(MixPeriod.Nanoseconds()), "%core")
}

func BenchmarkMixConference3x16k(b *testing.B)   { benchmarkMix(b, 3, 16000) }
func BenchmarkMixConference16x16k(b *testing.B)  { benchmarkMix(b, 16, 16000) }
func BenchmarkMixConference100x16k(b *testing.B) { benchmarkMix(b, 100, 16000) }

// Mixed rates: half the parties at 8 kHz, half at 16 kHz, mixed at 16 kHz,
// so every 8 kHz party is resampled both ways.
func BenchmarkMixConference16xMixed8k16k(b *testing.B) {
	m, err := NewMixer(MixerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	for i := range 16 {
		rate := 8000 * (1 + i%2)
		src := &loopSource{buf: sine(rate, rate, 300+float64(i)*37, 0.3)}
		if _, err := m.Add(src, Discard{}, rate); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Mix(1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(100*float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(MixPeriod.Nanoseconds()), "%core")
}
