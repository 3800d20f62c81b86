package audio

import (
	"math"
	"testing"
	"time"
)

func TestLevelMeterSine(t *testing.T) {
	for _, tc := range []struct{ amp, rms, peak float64 }{
		{1, -3.01, 0},
		{0.5, -9.03, -6.02},
		{0.1, -23.01, -20},
	} {
		var m LevelMeter
		src := NewTone(tc.amp, 1000)
		f := Frame{Samples: make([]int16, 160), SampleRate: 8000}
		for range 50 {
			_ = src.ReadFrame(&f)
			_ = m.WriteFrame(&f)
		}
		rms, peak := m.Level()
		if math.Abs(rms-tc.rms) > 0.5 || math.Abs(peak-tc.peak) > 0.5 {
			t.Errorf("amplitude %v: rms %.2f peak %.2f dBFS, want %.2f %.2f", tc.amp, rms, peak, tc.rms, tc.peak)
		}
		if m.Duration() != time.Second {
			t.Errorf("duration %v", m.Duration())
		}
		m.Reset()
		if rms, _ := m.Level(); rms != MinDBFS {
			t.Errorf("after reset %v", rms)
		}
	}
	if DBFS(0) != MinDBFS || DBFS(math.NaN()) != MinDBFS || DBFS(1) != 0 {
		t.Fatal("DBFS edge cases")
	}
}

func TestVADTransitions(t *testing.T) {
	v := VAD{Threshold: -30, Hangover: 200 * time.Millisecond}
	f := Frame{Samples: make([]int16, 160), SampleRate: 8000}
	tone := NewTone(0.3, 500)
	type step struct {
		at       int
		speaking bool
	}
	var got []step
	// 0-0.5 s silence, 0.5-1.5 s tone, 1.5-1.6 s silence (a pause shorter
	// than the hangover), 1.6-2 s tone, then 1 s silence.
	for i := range 150 {
		ms := i * 20
		loud := ms >= 500 && ms < 1500 || ms >= 1600 && ms < 2000
		if loud {
			_ = tone.ReadFrame(&f)
		} else {
			clear(f.Samples)
		}
		if sp, changed, _ := v.Process(&f); changed {
			got = append(got, step{ms, sp})
		}
	}
	want := []step{{500, true}, {2180, false}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	// A quiet tone below the threshold is silence.
	v.Reset()
	quiet := NewTone(0.01, 500)
	for range 20 {
		_ = quiet.ReadFrame(&f)
		if sp, _, lvl := v.Process(&f); sp || lvl > -30 {
			t.Fatalf("quiet tone detected as speech (%.1f dBFS)", lvl)
		}
	}
}

func TestAGCQuietToneToTarget(t *testing.T) {
	src := NewAGCSource(NewTone(0.02, 700), AGCConfig{Target: -18})
	s := render(t, src, 8000, 3*time.Second)
	if lvl := DBFS(RMS(s[len(s)-8000:])); math.Abs(lvl-(-18)) > 1.5 {
		t.Fatalf("quiet tone after AGC at %.1f dBFS, want about -18 (gain %.1f dB)", lvl, src.AGC().Gain())
	}
	if in := DBFS(0.02 / math.Sqrt2); DBFS(RMS(s[:160])) > in+3 {
		t.Fatalf("gain jumped at once")
	}
}

func TestAGCLoudToneNotClipped(t *testing.T) {
	// A target louder than a sine can reach without clipping: the gain is
	// capped at full scale.
	src := NewAGCSource(NewTone(0.5, 700), AGCConfig{Target: -1, MaxGain: 20})
	s := render(t, src, 8000, 3*time.Second)
	var clipped int
	for _, x := range s {
		if x == math.MaxInt16 || x == math.MinInt16 {
			clipped++
		}
	}
	if clipped > 0 {
		t.Fatalf("%d clipped samples", clipped)
	}
	if p := Peak(s[len(s)-8000:]); p < 0.9 {
		t.Fatalf("peak %.2f: the loud tone was not brought up to full scale", p)
	}
	// A tone louder than the target is brought down.
	loud := NewAGCSource(NewTone(0.9, 700), AGCConfig{Target: -18})
	s = render(t, loud, 8000, 3*time.Second)
	if lvl := DBFS(RMS(s[len(s)-8000:])); math.Abs(lvl-(-18)) > 1.5 {
		t.Fatalf("loud tone after AGC at %.1f dBFS", lvl)
	}
	// Silence is not pumped up.
	sil := NewAGCSource(Silence{}, AGCConfig{})
	_ = render(t, sil, 8000, time.Second)
	if g := sil.AGC().Gain(); g != 0 {
		t.Fatalf("gain %.1f dB on silence", g)
	}
}
