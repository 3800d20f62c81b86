package media

import "math"

// concealer is implemented by decoders that conceal lost packets
// themselves, such as the Opus decoder of codec/opus: Conceal writes one
// frame of concealment to dst and returns its length. The player uses it
// instead of its own waveform concealment.
type concealer interface {
	Conceal(dst []int16) (int, error)
}

// fecDecoder is a decoder that can rebuild a lost frame from the in-band
// forward error correction carried by the packet after it (Opus).
type fecDecoder interface {
	DecodeFEC(dst []int16, next []byte) (int, error)
}

// Waveform concealment parameters, in the spirit of ITU-T G.711
// Appendix I. Durations are in milliseconds, scaled to the sample rate.
const (
	plcPitchMinMS = 5  // shortest pitch period searched (200 Hz)
	plcPitchMaxMS = 15 // longest (66.7 Hz)
	plcCorrMS     = 20 // length of the signal matched against its past
	plcAttenMS    = 10 // full level for this long, then...
	plcStepMS     = 10 // ...20% less per this long
	plcSilenceMS  = 60 // silence from here on
	plcFadeMS     = 5  // fade-out before silence between talkspurts
	plcMaxOLAMS   = 10 // longest overlap-add when audio resumes
	plcOLAStepMS  = 4  // overlap-add grows by this per 10 ms concealed
	plcChunkMS    = 20 // samples handled per step of the history buffer
	// plcSlackChunks is how many chunks fit after the history.
	plcSlackChunks = 4
)

// plc conceals lost frames of mono 16-bit PCM by repeating the last pitch
// period(s) of the signal, after ITU-T G.711 Appendix I: the pitch period
// is found by normalised cross-correlation of the last 20 ms with the
// history; the first quarter period of the repetition is overlap-added
// with the real signal; after 10 ms two periods are cycled, after 20 ms
// three (to avoid a buzzy sound); from 10 ms on the level drops by 20% per
// 10 ms, reaching silence at 60 ms; when audio resumes the concealment is
// overlap-added with it over a quarter period plus 4 ms per 10 ms lost.
//
// To overlap-add at the start of a loss, output is delayed by a quarter
// of the longest pitch period (3.75 ms): good(), conceal() and silence()
// all produce as many samples as they are given or asked for, delayed.
// It is not safe for concurrent use and does not allocate after reset.
type plc struct {
	rate       int
	pMin, pMax int
	corr       int // samples correlated
	step       int // decimation of the coarse pitch search
	delay      int // output delay, also the longest overlap
	histLen    int // samples of history kept
	chunk      int

	buf []int16 // history; buf[end-histLen:end] is the signal so far
	end int

	pbuf []int16 // three pitch periods taken at the start of a loss

	erasing bool
	erased  int // samples synthesised since the loss started
	period  int
	ov      int // overlap: a quarter period
	periods int // periods cycled
	pos     int // position in the cycle
	// Cross-fade from the previous cycle after a change of periods.
	xfLeft, xfPos, xfPeriods int
	// fadeAt >= 0: fading out quickly (silence) from erased == fadeAt.
	fadeAt int
}

// ms converts milliseconds to samples at the plc's rate.
func (p *plc) ms(n int) int { return p.rate * n / 1000 }

// reset prepares the plc for mono audio at rate Hz, with an empty
// (silent) history.
func (p *plc) reset(rate int) {
	if rate != p.rate {
		p.rate = rate
		p.pMin, p.pMax = max(p.ms(plcPitchMinMS), 2), max(p.ms(plcPitchMaxMS), 4)
		p.corr = max(p.ms(plcCorrMS), 8)
		p.step = max(2*rate/8000, 1)
		p.delay = max(p.pMax/4, 1)
		p.histLen = max(3*p.pMax+p.delay, p.corr+p.pMax) + 1
		p.chunk = max(p.ms(plcChunkMS), 64)
		// Room for several chunks: the history moves to the front of
		// buf once per plcSlackChunks chunks, not on every frame.
		p.buf = make([]int16, p.histLen+plcSlackChunks*p.chunk)
		p.pbuf = make([]int16, 3*p.pMax)
	}
	clear(p.buf)
	p.end = p.histLen
	p.erasing = false
}

// history returns the signal so far (the last delay samples are not yet
// output).
func (p *plc) history() []int16 { return p.buf[p.end-p.histLen : p.end] }

// room makes space for n (<= chunk) more samples and returns it.
func (p *plc) room(n int) []int16 {
	if p.end+n > len(p.buf) {
		copy(p.buf, p.buf[p.end-p.histLen:p.end])
		p.end = p.histLen
	}
	return p.buf[p.end : p.end+n]
}

// commit appends the n samples written to room and writes n delayed
// samples to out.
func (p *plc) commit(n int, out []int16) {
	p.end += n
	copy(out[:n], p.buf[p.end-n-p.delay:p.end-p.delay])
}

// good passes a frame of received audio, len(in) samples, writing as many
// (delayed) to out. After a loss the concealment is overlap-added with
// the start of in.
func (p *plc) good(in, out []int16) {
	for len(in) > 0 {
		n := min(len(in), p.chunk)
		dst := p.room(n)
		copy(dst, in[:n])
		if p.erasing {
			p.erasing = false
			// Overlap-add the continued concealment with the audio.
			olen := p.ov + p.ms(plcOLAStepMS)*((p.erased+p.ms(plcStepMS)-1)/p.ms(plcStepMS)-1)
			olen = min(max(olen, 1), p.ms(plcMaxOLAMS), n)
			for i := range olen {
				w := float64(i+1) / float64(olen+1)
				dst[i] = clip16f(p.synth()*(1-w) + float64(dst[i])*w)
			}
		}
		p.commit(n, out)
		in, out = in[n:], out[n:]
	}
}

// conceal writes len(out) samples of concealment.
func (p *plc) conceal(out []int16) {
	if !p.erasing {
		p.startErasure()
	}
	p.fill(out)
}

// silence writes len(out) samples of silence between talkspurts: the
// signal fades out quickly, then nothing.
func (p *plc) silence(out []int16) {
	if !p.erasing {
		p.startErasure()
	}
	if p.fadeAt < 0 {
		p.fadeAt = p.erased
	}
	p.fill(out)
}

// fill synthesises len(out) samples of the ongoing erasure.
func (p *plc) fill(out []int16) {
	for len(out) > 0 {
		n := min(len(out), p.chunk)
		dst := p.room(n)
		for i := range dst {
			dst[i] = clip16f(p.synth())
		}
		p.commit(n, out)
		out = out[n:]
	}
}

// startErasure begins concealment: it finds the pitch period, takes the
// last three periods and smooths the end of the history into the
// signal one period earlier, so that repeating that period joins on.
func (p *plc) startErasure() {
	p.erasing, p.erased, p.fadeAt = true, 0, -1
	h := p.history()
	n := len(h)
	per := p.pitch(h)
	p.period, p.ov = per, max(per/4, 1)
	copy(p.pbuf, h[n-3*per:])
	for i := range p.ov {
		w := float64(i+1) / float64(p.ov+1)
		v := clip16f(float64(h[n-p.ov+i])*(1-w) + float64(h[n-per-p.ov+i])*w)
		h[n-p.ov+i] = v // not yet output: ov <= delay
		p.pbuf[3*per-p.ov+i] = v
	}
	p.periods, p.pos, p.xfLeft = 1, 0, 0
}

// synth returns the next concealment sample, attenuated, and advances.
func (p *plc) synth() float64 {
	e := p.erased
	p.erased++
	g := p.gain(e)
	if g <= 0 {
		return 0
	}
	// Cycle through more periods after 10 and 20 ms.
	if (e == p.ms(plcAttenMS) || e == 2*p.ms(plcAttenMS)) && p.periods < 3 {
		p.xfLeft, p.xfPos, p.xfPeriods = p.ov, p.pos, p.periods
		p.periods++
		// The same position one period further back: in phase.
	}
	per := p.period
	v := float64(p.pbuf[(3-p.periods)*per+p.pos])
	if p.pos++; p.pos == p.periods*per {
		p.pos = 0
	}
	if p.xfLeft > 0 {
		old := float64(p.pbuf[(3-p.xfPeriods)*per+p.xfPos])
		if p.xfPos++; p.xfPos == p.xfPeriods*per {
			p.xfPos = 0
		}
		w := float64(p.ov-p.xfLeft+1) / float64(p.ov+1)
		v = old*(1-w) + v*w
		p.xfLeft--
	}
	return v * g
}

// gain is the level of concealment sample e of a loss.
func (p *plc) gain(e int) float64 {
	g := 1.0
	if a := p.ms(plcAttenMS); e >= a {
		g = 1 - 0.2*float64(e-a)/float64(p.ms(plcStepMS))
	}
	if p.fadeAt >= 0 {
		f := p.ms(plcFadeMS)
		g *= 1 - float64(e-p.fadeAt)/float64(f)
	}
	return max(g, 0)
}

// pitch estimates the pitch period of the end of h: the lag whose past
// segment has the largest normalised cross-correlation with the last
// corr samples, searched coarsely on decimated samples, then refined.
func (p *plc) pitch(h []int16) int {
	n := len(h)
	x := h[n-p.corr:]
	score := func(lag, step int) float64 {
		y := h[n-p.corr-lag : n-lag]
		var xy, yy float64
		for i := 0; i < p.corr; i += step {
			a, b := float64(x[i]), float64(y[i])
			xy += a * b
			yy += b * b
		}
		if yy <= 0 {
			return 0
		}
		return xy / math.Sqrt(yy)
	}
	best, bestLag := math.Inf(-1), p.pMin
	for lag := p.pMin; lag <= p.pMax; lag += p.step {
		if r := score(lag, p.step); r > best {
			best, bestLag = r, lag
		}
	}
	lo, hi := max(p.pMin, bestLag-p.step+1), min(p.pMax, bestLag+p.step-1)
	best = math.Inf(-1)
	for lag := lo; lag <= hi; lag++ {
		if r := score(lag, 1); r > best {
			best, bestLag = r, lag
		}
	}
	return bestLag
}

// clip16f rounds v to the nearest int16, saturating.
func clip16f(v float64) int16 {
	switch {
	case v >= math.MaxInt16:
		return math.MaxInt16
	case v <= math.MinInt16:
		return math.MinInt16
	}
	return int16(math.Round(v))
}

// Time-scale changes for delay adjustment in speech. Both look, within a
// range of lengths, for the one at which the signal best matches itself
// (a multiple of the pitch period in voiced speech; anything in silence)
// and cross-fade over xfadeLen there, so the change is hard to hear.

// xfadeLen is the cross-fade length for n samples per channel at rate.
func xfadeLen(rate, n int) int {
	return max(min(rate*5/1000, n/4), 1)
}

// bestLag returns the lag in [lo, hi] at which s (ch channels
// interleaved) at position a best matches itself at a+lag (or a-lag for
// back), over l sample frames.
func bestLag(s []int16, ch, a, lo, hi, l, rate int, back bool) int {
	if lo >= hi {
		return hi
	}
	corr := func(lag int) (float64, float64) {
		b := a + lag
		if back {
			b = a - lag
		}
		var xy, xx, yy float64
		for i := 0; i < l*ch; i++ {
			x, y := float64(s[a*ch+i]), float64(s[b*ch+i])
			xy += x * y
			xx += x * x
			yy += y * y
		}
		return xy, xx * yy
	}
	// Quiet (below about -50 dBFS): any length will do; take the longest.
	var xx float64
	for _, v := range s[a*ch : (a+l)*ch] {
		xx += float64(v) * float64(v)
	}
	if xx < float64(l*ch)*100*100 {
		return hi
	}
	step := max(rate/8000, 1)
	best, bestL := math.Inf(-1), hi
	search := func(from, to, by int) {
		for lag := from; lag <= to; lag += by {
			xy, e := corr(lag)
			r := 0.0
			if e > 0 {
				r = xy / math.Sqrt(e)
			}
			// Prefer longer lags a little: they change the delay more.
			if r += 1e-3 * float64(lag-lo) / float64(hi-lo+1); r > best {
				best, bestL = r, lag
			}
		}
	}
	search(lo, hi, step)
	if step > 1 {
		c := bestL
		search(max(lo, c-step+1), min(hi, c+step-1), 1)
	}
	return bestL
}

// shorten writes s (n sample frames of ch channels) to dst without
// between lo and hi (<= n/2) sample frames, cut out where the signal
// repeats best, and returns the number of sample frames removed.
func shorten(dst, s []int16, ch, lo, hi, rate int) int {
	n := len(s) / ch
	l := xfadeLen(rate, n/2)
	hi = min(hi, n-l-1)
	lo = min(max(lo, 1), hi)
	if hi < 1 {
		copy(dst, s)
		return 0
	}
	a := (n - hi - l) / 2
	x := bestLag(s, ch, a, lo, hi, l, rate, false)
	copy(dst, s[:a*ch])
	for i := range l {
		w := float64(i+1) / float64(l+1)
		for c := range ch {
			dst[(a+i)*ch+c] = clip16f(float64(s[(a+i)*ch+c])*(1-w) + float64(s[(a+x+i)*ch+c])*w)
		}
	}
	copy(dst[(a+l)*ch:], s[(a+x+l)*ch:])
	return x
}

// lengthen writes s (n sample frames of ch channels) to dst with between
// lo and hi more sample frames, repeating the end of s from where it
// matches best, and returns the number of sample frames added. dst must
// hold len(s) + hi*ch samples.
func lengthen(dst, s []int16, ch, lo, hi, rate int) int {
	n := len(s) / ch
	l := xfadeLen(rate, n)
	q := n - l // jump back from here
	hi = min(hi, q)
	lo = min(max(lo, 1), hi)
	if hi < 1 {
		copy(dst, s)
		return 0
	}
	y := bestLag(s, ch, q, lo, hi, l, rate, true)
	copy(dst, s[:q*ch])
	for i := range l {
		w := float64(i+1) / float64(l+1)
		for c := range ch {
			dst[(q+i)*ch+c] = clip16f(float64(s[(q+i)*ch+c])*(1-w) + float64(s[(q-y+i)*ch+c])*w)
		}
	}
	copy(dst[(q+l)*ch:], s[(q-y+l)*ch:])
	return y
}
