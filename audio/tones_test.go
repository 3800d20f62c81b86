package audio

import (
	"errors"
	"io"
	"math"
	"testing"
	"time"
)

// render reads d of src at rate in 20 ms frames.
func render(t *testing.T, src Source, rate int, d time.Duration) []int16 {
	t.Helper()
	var out []int16
	f := Frame{Samples: make([]int16, rate/50), SampleRate: rate}
	for n := int(d / (20 * time.Millisecond)); n > 0; n-- {
		if err := src.ReadFrame(&f); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		out = append(out, f.Samples...)
	}
	return out
}

// runs returns the lengths of the alternating on/off stretches of s
// (measured in 5 ms blocks), starting with on.
func runs(s []int16, rate int) []time.Duration {
	block := rate / 200
	var out []time.Duration
	on, n := true, 0
	for i := 0; i+block <= len(s); i += block {
		loud := RMS(s[i:i+block]) > 0.01
		if loud != on {
			out = append(out, time.Duration(n)*5*time.Millisecond)
			on, n = loud, 0
		}
		n++
	}
	return append(out, time.Duration(n)*5*time.Millisecond)
}

func TestTonesPlans(t *testing.T) {
	for _, tc := range []struct {
		plan    TonePlan
		kind    ToneKind
		freqs   []float64
		cadence []time.Duration
	}{
		{PlanUS(), ToneRingback, []float64{440, 480}, []time.Duration{2 * time.Second, 4 * time.Second}},
		{PlanUS(), ToneBusy, []float64{480, 620}, []time.Duration{500 * time.Millisecond, 500 * time.Millisecond}},
		{PlanUS(), ToneCongestion, []float64{480, 620}, []time.Duration{250 * time.Millisecond, 250 * time.Millisecond}},
		{PlanUS(), ToneCallWaiting, []float64{440}, []time.Duration{300 * time.Millisecond, 9700 * time.Millisecond}},
		{PlanEurope(), ToneRingback, []float64{425}, []time.Duration{time.Second, 4 * time.Second}},
		{PlanEurope(), ToneBusy, []float64{425}, []time.Duration{500 * time.Millisecond, 500 * time.Millisecond}},
		{PlanEurope(), ToneCongestion, []float64{425}, []time.Duration{250 * time.Millisecond, 250 * time.Millisecond}},
	} {
		t.Run(tc.plan.Name+"/"+tc.kind.String(), func(t *testing.T) {
			for _, rate := range []int{8000, 16000} {
				var cycle time.Duration
				for _, d := range tc.cadence {
					cycle += d
				}
				s := render(t, tc.plan.Source(tc.kind, 0.5), rate, 2*cycle)
				got := runs(s, rate)
				want := append(append([]time.Duration{}, tc.cadence...), tc.cadence...)
				if len(got) != len(want) {
					t.Fatalf("%d Hz: cadence %v, want %v", rate, got, want)
				}
				for i := range want {
					if d := got[i] - want[i]; d < -10*time.Millisecond || d > 10*time.Millisecond {
						t.Fatalf("%d Hz: cadence %v, want %v", rate, got, want)
					}
				}
				on := s[:int(tc.cadence[0])*rate/int(time.Second)]
				amp := 0.5 / float64(len(tc.freqs))
				for _, f := range tc.freqs {
					if p := math.Sqrt(Goertzel(on, rate, f)); math.Abs(p-amp) > 0.05*amp {
						t.Errorf("%d Hz: %v Hz at %.3f, want %.3f", rate, f, p, amp)
					}
				}
				if p := math.Sqrt(Goertzel(on, rate, 1000)); p > 0.01 {
					t.Errorf("%d Hz: 1000 Hz at %.3f", rate, p)
				}
			}
		})
	}
}

func TestTonesCountAndContinuous(t *testing.T) {
	src := PlanEurope().SourceN(ToneBusy, 0.3, 2)
	s := render(t, src, 8000, 5*time.Second)
	if d := time.Duration(len(s)) * time.Second / 8000; d != 2*time.Second {
		t.Fatalf("2 busy cycles lasted %v", d)
	}
	f := Frame{Samples: make([]int16, 160), SampleRate: 8000}
	if err := src.ReadFrame(&f); !errors.Is(err, io.EOF) {
		t.Fatalf("after the count: %v", err)
	}
	dial := render(t, PlanUS().Source(ToneDial, 0.5), 8000, 3*time.Second)
	if r := runs(dial, 8000); len(r) != 1 {
		t.Fatalf("dial tone is not continuous: %v", r)
	}
	if p := math.Sqrt(Goertzel(dial, 8000, 350)); math.Abs(p-0.25) > 0.02 {
		t.Fatalf("dial 350 Hz at %.3f", p)
	}
	if !(TonePlan{}).IsZero() || PlanUS().IsZero() {
		t.Fatal("IsZero")
	}
	if s := (TonePlan{}).Spec(ToneKind(99)); len(s.Freqs) != 0 {
		t.Fatal("unknown kind has a tone")
	}
}

func TestTonesRingtone(t *testing.T) {
	s := render(t, NewRingtone(0.4), 16000, 6*time.Second)
	got := runs(s, 16000)
	want := []time.Duration{400, 200, 400, 2000, 400, 200, 400, 2000}
	if len(got) != len(want) {
		t.Fatalf("ringtone cadence %v", got)
	}
	for i := range want {
		if d := got[i] - want[i]*time.Millisecond; d < -10*time.Millisecond || d > 10*time.Millisecond {
			t.Fatalf("ringtone cadence %v", got)
		}
	}
	if p := math.Sqrt(Goertzel(s[:6400], 16000, 659.25)); math.Abs(p-0.2) > 0.02 {
		t.Fatalf("ringtone 659.25 Hz at %.3f", p)
	}
}

func TestTonesBadFrame(t *testing.T) {
	if err := PlanUS().Source(ToneBusy, 1).ReadFrame(&Frame{Samples: make([]int16, 10), SampleRate: 1}); !errors.Is(err, ErrSampleRate) {
		t.Fatalf("bad rate: %v", err)
	}
}
