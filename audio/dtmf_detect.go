package audio

import (
	"math"
	"time"
)

// Defaults of DTMFDetectorConfig.
const (
	DefaultDTMFMinDuration  = 40 * time.Millisecond
	DefaultDTMFMinPause     = 40 * time.Millisecond
	DefaultDTMFForwardTwist = 8.0   // dB
	DefaultDTMFReverseTwist = 4.0   // dB
	DefaultDTMFMinLevel     = -36.0 // dB relative to a full-scale sine
)

// dtmfBlock is the analysis block: 12.75 ms (102 samples at 8 kHz) puts
// the neighbouring row and column frequencies of the keypad close to the
// nulls of a rectangular window while keeping the time resolution fine
// enough for 40 ms digits and pauses.
const dtmfBlock = 12750 * time.Microsecond

const (
	// dtmfOtherRatio is how far (as a power ratio) the second strongest
	// tone of a group must stay below the strongest: 10 dB.
	dtmfOtherRatio = 0.1
	// dtmfPurity is the share of a block's energy the two tones must hold;
	// speech, music, noise and chords of other frequencies fall short.
	dtmfPurity = 0.65
)

// DTMFDetectorConfig tunes a DTMFDetector. The zero value selects the
// defaults. It is a plain value, safe to copy.
type DTMFDetectorConfig struct {
	// MinDuration is the shortest tone reported as a digit. Tones shorter
	// than about two thirds of it are rejected. Zero:
	// DefaultDTMFMinDuration.
	MinDuration time.Duration
	// MinPause is the shortest interruption that ends a digit; shorter
	// drop-outs are bridged, so a digit pressed twice needs a pause of at
	// least this much between the tones. Zero: DefaultDTMFMinPause.
	MinPause time.Duration
	// ForwardTwist is how many dB louder than the low (row) tone the high
	// (column) tone may be; ReverseTwist how many dB louder the low tone
	// may be than the high one. Zero: DefaultDTMFForwardTwist and
	// DefaultDTMFReverseTwist.
	ForwardTwist, ReverseTwist float64
	// MinLevel is the weakest level, in dB relative to a full-scale sine,
	// each of the two tones must have. Zero: DefaultDTMFMinLevel.
	MinLevel float64
}

// DTMFDetection is a digit found by a DTMFDetector.
type DTMFDetection struct {
	// Digit is 0-9, *, #, or A-D.
	Digit rune
	// Duration is how long the tone lasted (to the analysis block).
	Duration time.Duration
	// Level is the power of the tone pair at its loudest, in dB relative
	// to a full-scale sine.
	Level float64
}

// DTMFDetector finds DTMF digits in PCM audio with the Goertzel
// algorithm. Audio is analysed in blocks of 12.75 ms; a block holds a
// digit when one row and one column tone are both present above
// MinLevel, their level difference is within the twist limits, the other
// tones of each group are at least 10 dB weaker, and the pair holds most
// of the block's energy. A digit is reported once, when it ends: after
// MinPause without it. Frames may have any supported sample rate; a
// change of rate starts the analysis over.
//
// A DTMFDetector is not safe for concurrent use.
type DTMFDetector struct {
	onBlocks, pauseBlocks int
	fwd, rev, minPow      float64

	rate  int
	n     int // samples per block
	pos   int // samples of the current block so far
	coeff [8]float64
	s1    [8]float64
	s2    [8]float64
	e     float64 // energy of the current block

	pow      float64 // pair power of the last block classified
	cand     rune    // digit of the latest blocks, or 0
	candN    int     // how many blocks in a row
	candPeak float64 // their loudest pair power
	on       rune    // digit being tracked, or 0
	onN      int     // its blocks
	onPeak   float64 // its loudest pair power
	gap      int     // blocks without it since
}

// NewDTMFDetector returns a detector configured by cfg.
func NewDTMFDetector(cfg DTMFDetectorConfig) *DTMFDetector {
	if cfg.MinDuration <= 0 {
		cfg.MinDuration = DefaultDTMFMinDuration
	}
	if cfg.MinPause <= 0 {
		cfg.MinPause = DefaultDTMFMinPause
	}
	if !(cfg.ForwardTwist > 0) {
		cfg.ForwardTwist = DefaultDTMFForwardTwist
	}
	if !(cfg.ReverseTwist > 0) {
		cfg.ReverseTwist = DefaultDTMFReverseTwist
	}
	if cfg.MinLevel == 0 || math.IsNaN(cfg.MinLevel) {
		cfg.MinLevel = DefaultDTMFMinLevel
	}
	// A tone of d covers at least floor(d/block) - 1 whole blocks
	// wherever it starts; so does a pause.
	return &DTMFDetector{
		onBlocks:    max(1, int(cfg.MinDuration/dtmfBlock)-1),
		pauseBlocks: max(1, int(cfg.MinPause/dtmfBlock)-1),
		fwd:         math.Pow(10, cfg.ForwardTwist/10),
		rev:         math.Pow(10, cfg.ReverseTwist/10),
		minPow:      0.5 * math.Pow(10, cfg.MinLevel/10),
	}
}

// Reset forgets the audio analysed so far, including a digit in
// progress.
func (d *DTMFDetector) Reset() {
	d.rate, d.pos = 0, 0
	d.cand, d.candN, d.on, d.onN, d.gap = 0, 0, 0, 0, 0
}

// setRate prepares the Goertzel filters for rate Hz.
func (d *DTMFDetector) setRate(rate int) {
	d.Reset()
	d.rate = rate
	d.n = int(math.Round(float64(rate) * dtmfBlock.Seconds()))
	for i := range 8 {
		f := dtmfRows[i%4]
		if i >= 4 {
			f = dtmfCols[i-4]
		}
		d.coeff[i] = 2 * math.Cos(2*math.Pi*f/float64(rate))
	}
	d.startBlock()
}

func (d *DTMFDetector) startBlock() {
	d.pos, d.e = 0, 0
	d.s1, d.s2 = [8]float64{}, [8]float64{}
}

// Detect analyses f and appends the digits that ended in it to dst,
// returning the extended slice. It fails (with dst unchanged) for a nil
// frame or an unsupported sample rate. It does not allocate unless dst
// must grow.
func (d *DTMFDetector) Detect(f *Frame, dst []DTMFDetection) ([]DTMFDetection, error) {
	if err := checkFrame(f); err != nil {
		return dst, err
	}
	if f.SampleRate != d.rate {
		d.setRate(f.SampleRate)
	}
	const scale = 1.0 / 32768
	for _, v := range f.Samples {
		x := float64(v) * scale
		d.e += x * x
		for i := range 8 {
			s := x + d.coeff[i]*d.s1[i] - d.s2[i]
			d.s2[i], d.s1[i] = d.s1[i], s
		}
		d.pos++
		if d.pos == d.n {
			dst = d.decide(d.classify(), dst)
			d.startBlock()
		}
	}
	return dst, nil
}

// classify returns the digit the finished block holds, or 0, and leaves
// the pair's power in d.pow.
func (d *DTMFDetector) classify() rune {
	var p [8]float64
	norm := 2 / (float64(d.n) * float64(d.n))
	for i := range 8 {
		p[i] = (d.s1[i]*d.s1[i] + d.s2[i]*d.s2[i] - d.coeff[i]*d.s1[i]*d.s2[i]) * norm
	}
	r, c := 0, 4
	for i := 1; i < 4; i++ {
		if p[i] > p[r] {
			r = i
		}
		if p[4+i] > p[c] {
			c = 4 + i
		}
	}
	pr, pc := p[r], p[c]
	if pr < d.minPow || pc < d.minPow || pc > pr*d.fwd || pr > pc*d.rev {
		return 0
	}
	for i := range 4 {
		if i != r && p[i] > pr*dtmfOtherRatio || 4+i != c && p[4+i] > pc*dtmfOtherRatio {
			return 0
		}
	}
	if pr+pc < dtmfPurity*d.e/float64(d.n) {
		return 0
	}
	d.pow = pr + pc
	return dtmfKeys[r][c-4]
}

// decide advances the digit state machine by one block holding k (0:
// none) and appends a digit that ended.
func (d *DTMFDetector) decide(k rune, dst []DTMFDetection) []DTMFDetection {
	switch {
	case k == 0:
		d.cand, d.candN = 0, 0
	case k == d.cand:
		d.candN++
		d.candPeak = max(d.candPeak, d.pow)
	default:
		d.cand, d.candN, d.candPeak = k, 1, d.pow
	}
	if d.on != 0 {
		if k == d.on {
			d.onN += 1 + d.gap // a short drop-out is bridged
			d.onPeak = max(d.onPeak, d.pow)
			d.gap = 0
			return dst
		}
		d.gap++
		if d.gap < d.pauseBlocks {
			return dst
		}
		dst = append(dst, DTMFDetection{
			Digit:    d.on,
			Duration: time.Duration(d.onN) * dtmfBlock,
			Level:    10 * math.Log10(d.onPeak/0.5),
		})
		d.on, d.onN, d.gap = 0, 0, 0
	}
	if d.cand != 0 && d.candN >= d.onBlocks {
		d.on, d.onN, d.onPeak, d.gap = d.cand, d.candN, d.candPeak, 0
	}
	return dst
}
