package audio

import (
	"io"
	"math"
	"sync"
	"time"
)

// ToneKind names a call-progress tone of a TonePlan.
type ToneKind int

// Call-progress tones.
const (
	// ToneRingback tells a caller that the callee is being alerted.
	ToneRingback ToneKind = iota + 1
	// ToneBusy tells a caller that the callee is busy.
	ToneBusy
	// ToneCongestion (reorder, fast busy) tells a caller that the network
	// could not complete the call.
	ToneCongestion
	// ToneCallWaiting tells a user in a call that another call is waiting.
	ToneCallWaiting
	// ToneDial invites the user to dial.
	ToneDial
)

func (k ToneKind) String() string {
	switch k {
	case ToneRingback:
		return "ringback"
	case ToneBusy:
		return "busy"
	case ToneCongestion:
		return "congestion"
	case ToneCallWaiting:
		return "call waiting"
	case ToneDial:
		return "dial"
	}
	return "unknown"
}

// ToneSpec describes one cadenced tone: the sum of sines at Freqs Hz,
// switched on and off by Cadence. Cadence alternates on and off
// durations, starting with on: {2 s, 4 s} is two seconds of tone and
// four of silence. An empty Cadence, or one whose durations are all zero,
// is a continuous tone. One cycle is one pass through Cadence.
//
// A ToneSpec is plain data.
type ToneSpec struct {
	Freqs   []float64
	Cadence []time.Duration
}

// Source returns a Source playing the tone at peak amplitude amplitude
// (a fraction of full scale, as for NewTone) for cycles passes through its
// cadence, then io.EOF; cycles of zero or less plays it forever. A
// continuous tone with a positive cycles count plays one second per
// cycle.
func (s ToneSpec) Source(amplitude float64, cycles int) *CadenceSource {
	c := &CadenceSource{tone: NewTone(amplitude, s.Freqs...), cycles: max(cycles, 0)}
	var total time.Duration
	for _, d := range s.Cadence {
		c.cadence = append(c.cadence, max(d, 0))
		total += max(d, 0)
	}
	if total <= 0 {
		c.cadence = []time.Duration{time.Second} // continuous: one second "on" cycles
	}
	if len(c.cadence)%2 == 1 && total > 0 && len(s.Cadence) > 1 {
		c.cadence = append(c.cadence, 0)
	}
	return c
}

// TonePlan is a national set of call-progress tones (ITU-T E.180 and its
// supplement list the plans in use). PlanUS and PlanEurope return the
// common ones; any field may be changed to suit another country.
//
// A TonePlan is plain data.
type TonePlan struct {
	// Name identifies the plan, e.g. "US".
	Name string
	// The tones of the plan.
	Ringback, Busy, Congestion, CallWaiting, Dial ToneSpec
}

// PlanUS returns the North American tone plan (ANSI T1.401 "precise
// tone plan"): dial tone 350+440 Hz continuous; ringback 440+480 Hz, 2 s
// on, 4 s off; busy 480+620 Hz, 0.5 s on, 0.5 s off; congestion (reorder)
// 480+620 Hz, 0.25 s on, 0.25 s off; call waiting 440 Hz, 0.3 s on, then
// 9.7 s off.
func PlanUS() TonePlan {
	return TonePlan{
		Name:        "US",
		Dial:        ToneSpec{Freqs: []float64{350, 440}},
		Ringback:    ToneSpec{Freqs: []float64{440, 480}, Cadence: []time.Duration{2 * time.Second, 4 * time.Second}},
		Busy:        ToneSpec{Freqs: []float64{480, 620}, Cadence: []time.Duration{500 * time.Millisecond, 500 * time.Millisecond}},
		Congestion:  ToneSpec{Freqs: []float64{480, 620}, Cadence: []time.Duration{250 * time.Millisecond, 250 * time.Millisecond}},
		CallWaiting: ToneSpec{Freqs: []float64{440}, Cadence: []time.Duration{300 * time.Millisecond, 9700 * time.Millisecond}},
	}
}

// PlanEurope returns the CEPT tone plan used across most of Europe
// (ETSI TR 101 041): dial tone 425 Hz continuous; ringback 425 Hz, 1 s
// on, 4 s off; busy 425 Hz, 0.5 s on, 0.5 s off; congestion 425 Hz,
// 0.25 s on, 0.25 s off; call waiting 425 Hz, two 0.2 s beeps 0.2 s
// apart, then 5 s off.
func PlanEurope() TonePlan {
	return TonePlan{
		Name:        "Europe",
		Dial:        ToneSpec{Freqs: []float64{425}},
		Ringback:    ToneSpec{Freqs: []float64{425}, Cadence: []time.Duration{time.Second, 4 * time.Second}},
		Busy:        ToneSpec{Freqs: []float64{425}, Cadence: []time.Duration{500 * time.Millisecond, 500 * time.Millisecond}},
		Congestion:  ToneSpec{Freqs: []float64{425}, Cadence: []time.Duration{250 * time.Millisecond, 250 * time.Millisecond}},
		CallWaiting: ToneSpec{Freqs: []float64{425}, Cadence: []time.Duration{200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 5 * time.Second}},
	}
}

// IsZero reports whether the plan defines no tone at all (the zero
// TonePlan), which users of a plan treat as PlanUS.
func (p TonePlan) IsZero() bool {
	return len(p.Ringback.Freqs)+len(p.Busy.Freqs)+len(p.Congestion.Freqs)+len(p.CallWaiting.Freqs)+len(p.Dial.Freqs) == 0
}

// Spec returns the plan's tone of kind k; an unknown kind gives the zero
// ToneSpec (silence).
func (p TonePlan) Spec(k ToneKind) ToneSpec {
	switch k {
	case ToneRingback:
		return p.Ringback
	case ToneBusy:
		return p.Busy
	case ToneCongestion:
		return p.Congestion
	case ToneCallWaiting:
		return p.CallWaiting
	case ToneDial:
		return p.Dial
	}
	return ToneSpec{}
}

// Source returns an endless Source of the plan's tone of kind k at peak
// amplitude amplitude (a fraction of full scale).
func (p TonePlan) Source(k ToneKind, amplitude float64) *CadenceSource {
	return p.Spec(k).Source(amplitude, 0)
}

// SourceN is like Source but ends (io.EOF) after count cycles of the
// cadence.
func (p TonePlan) SourceN(k ToneKind, amplitude float64, count int) *CadenceSource {
	return p.Spec(k).Source(amplitude, max(count, 1))
}

// RingtoneSpec is the ring of NewRingtone: a C major third (523.25 Hz and
// 659.25 Hz) in two 0.4 s bursts 0.2 s apart, then 2 s of quiet.
func RingtoneSpec() ToneSpec {
	return ToneSpec{
		Freqs:   []float64{523.25, 659.25},
		Cadence: []time.Duration{400 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 2 * time.Second},
	}
}

// NewRingtone returns an endless ringtone Source for announcing incoming
// calls on the user's speaker (RingtoneSpec). To ring with a sound of the
// user's own instead, open it with OpenWAV and loop it:
//
//	f, err := audio.OpenWAV("ring.wav")
//	if err != nil { ... }
//	defer f.Close()
//	ring := audio.NewLoop(f, time.Minute)
func NewRingtone(amplitude float64) *CadenceSource {
	return RingtoneSpec().Source(amplitude, 0)
}

// CadenceSource plays a ToneSpec: see ToneSpec.Source. The cadence is kept
// in time across frames and across changes of the frame sample rate.
//
// A CadenceSource is safe for concurrent use.
type CadenceSource struct {
	mu      sync.Mutex
	tone    *Tone
	cadence []time.Duration // on, off, on, off...
	cycles  int             // 0: forever
	pos     time.Duration   // position within the current cycle
	done    int             // completed cycles
	ended   bool
}

// ReadFrame fills f.Samples with the next stretch of the cadenced tone.
func (c *CadenceSource) ReadFrame(f *Frame) error {
	if err := checkFrame(f); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return io.EOF
	}
	rate := f.SampleRate
	i := 0
	for i < len(f.Samples) {
		seg, segEnd := c.segment()
		left := segEnd - c.pos
		need := int(math.Ceil(float64(left) * float64(rate) / float64(time.Second)))
		n := max(min(need, len(f.Samples)-i), 0)
		if n == 0 { // zero-length segment: move on
			c.advance(left)
			if c.ended {
				break
			}
			continue
		}
		part := f.Samples[i : i+n]
		if seg%2 == 0 {
			_ = c.tone.ReadFrame(&Frame{Samples: part, SampleRate: rate})
		} else {
			clear(part)
		}
		i += n
		if n == need {
			c.advance(left)
		} else {
			c.advance(min(time.Duration(n)*time.Second/time.Duration(rate), left))
		}
		if c.ended {
			break
		}
	}
	clear(f.Samples[i:])
	return nil
}

// segment returns the index of the cadence segment at c.pos and the
// position where it ends.
func (c *CadenceSource) segment() (int, time.Duration) {
	var end time.Duration
	for i, d := range c.cadence {
		end += d
		if c.pos < end {
			return i, end
		}
	}
	return len(c.cadence) - 1, end
}

// advance moves the position on by d, wrapping and counting cycles.
func (c *CadenceSource) advance(d time.Duration) {
	var total time.Duration
	for _, x := range c.cadence {
		total += x
	}
	c.pos += d
	if c.pos >= total {
		c.pos = 0
		c.done++
		if c.cycles > 0 && c.done >= c.cycles {
			c.ended = true
		}
	}
}
