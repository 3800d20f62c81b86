package media

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// JitterMode says how a Session's jitter buffer chooses its playout delay.
// The zero value JitterUnknown means JitterAdaptive. A JitterMode is a
// plain value, safe for concurrent use.
type JitterMode int

const (
	// JitterUnknown is the zero value; it behaves as JitterAdaptive.
	JitterUnknown JitterMode = iota
	// JitterAdaptive follows the measured delay variation of the
	// received packets, between Config.JitterMin and Config.JitterMax:
	// the delay grows at once when packets come later than it allows and
	// shrinks slowly once the network has been calm for a few seconds.
	JitterAdaptive
	// JitterFixed aims for Config.JitterDelay whatever the network does.
	JitterFixed
)

// String returns "adaptive", "fixed" or "unknown".
func (m JitterMode) String() string {
	switch m {
	case JitterUnknown:
		return "unknown"
	case JitterAdaptive:
		return "adaptive"
	case JitterFixed:
		return "fixed"
	}
	return "JitterMode(" + strconv.Itoa(int(m)) + ")"
}

// DefaultJitterMax is the largest adaptive playout delay when
// Config.JitterMax is zero.
const DefaultJitterMax = 500 * time.Millisecond

// jitterConfigOf checks the jitter buffer settings of cfg; frame is the
// frame duration of its first codec.
func jitterConfigOf(cfg Config, frame time.Duration) (jitterConfig, error) {
	jc := jitterConfig{mode: cfg.JitterMode, delay: cfg.JitterDelay, minDelay: cfg.JitterMin, maxDelay: cfg.JitterMax, frame: frame}
	switch jc.mode {
	case JitterUnknown:
		jc.mode = JitterAdaptive
	case JitterAdaptive, JitterFixed:
	default:
		return jc, fmt.Errorf("%w: JitterMode %v", ErrConfig, jc.mode)
	}
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"JitterDelay", jc.delay}, {"JitterMin", jc.minDelay}, {"JitterMax", jc.maxDelay}} {
		if v.d < 0 || v.d > maxJitterDelay {
			return jc, fmt.Errorf("%w: %s %v out of range", ErrConfig, v.name, v.d)
		}
	}
	if jc.delay == 0 {
		jc.delay = DefaultJitterDelay
	}
	if jc.maxDelay == 0 {
		jc.maxDelay = max(DefaultJitterMax, jc.delay)
	}
	if jc.minDelay > jc.maxDelay {
		return jc, fmt.Errorf("%w: JitterMin %v above JitterMax %v", ErrConfig, jc.minDelay, jc.maxDelay)
	}
	if jc.mode == JitterFixed && jc.delay > jc.maxDelay {
		return jc, fmt.Errorf("%w: JitterDelay %v above JitterMax %v", ErrConfig, jc.delay, jc.maxDelay)
	}
	return jc, nil
}

const (
	// maxPayload is the largest RTP payload the jitter buffer stores.
	maxPayload = 2048

	// jbBin is the resolution of the delay histogram.
	jbBin = time.Millisecond
	// jbHalfLife is how long it takes for an observation to count half
	// as much in the delay histogram.
	jbHalfLife = time.Second
	// jbQuantile is the share of packets the histogram part of the target
	// delay lets arrive in time.
	jbQuantile = 0.97
	// jbBlock and jbBlocks make the window (of packet arrivals) over which
	// the fastest and the slowest packet are tracked: the fastest is the
	// reference all delays are measured from, the slowest sets a floor
	// for the target.
	jbBlock  = 500 * time.Millisecond
	jbBlocks = 4
	// jbMargin is added to the estimated delay.
	jbMargin = 2 * time.Millisecond
	// In speech, the delay is shortened once it exceeds the target by
	// more than jbShedSlack (pitch-synchronous cuts need room), at most
	// once per jbShedEvery, or per jbQuietShedEvery while the audio is
	// quiet; it is lengthened once it is more than jbGrowSlack short of
	// the target, at most once per jbGrowEvery. In silence it is set to
	// the target exactly.
	jbShedSlack      = 10 * time.Millisecond
	jbGrowSlack      = 2 * time.Millisecond
	jbShedEvery      = 200 * time.Millisecond
	jbQuietShedEvery = 40 * time.Millisecond
	jbGrowEvery      = 40 * time.Millisecond
	// jbMinSilence is the shortest silence worth writing: a talkspurt due
	// sooner starts at once.
	jbMinSilence = time.Millisecond
	// jbDiscontinuity, plus the maximum delay, is how far a packet's
	// transit time may stray from the reference before it is taken for a
	// new timeline (the sender reset its timestamps or stopped its clock)
	// rather than for jitter.
	jbDiscontinuity = 100 * time.Millisecond
	// jbLateRun is how many packets in a row may come too late to play
	// before the buffer starts a new timeline at them.
	jbLateRun = 3
)

// jbPacket is a received RTP packet offered to the jitter buffer.
type jbPacket struct {
	seq    uint16
	ts     uint32
	pt     uint8
	marker bool
	// skip marks packets that occupy a sequence number but carry no
	// audio (telephone-event, empty payloads): they are consumed
	// silently.
	skip bool
	// rate is the RTP clock rate of pt (0 when unknown, as for
	// telephone-event).
	rate    int
	payload []byte
}

// pushResult says what the jitter buffer did with a packet.
type pushResult int

const (
	pushStored    pushResult = iota // kept for playout
	pushDuplicate                   // already held or already played
	pushLate                        // behind the playout point, or outside the window
	pushReset                       // started a new sequence after a jump
	pushTooLarge                    // payload larger than maxPayload
)

// popKind says what to play for one playout tick.
type popKind int

const (
	// popNothing: playout has not started (or restarts after a new
	// source): write wait of silence, if anything was written before.
	popNothing popKind = iota
	// popPacket: decode the packet in the first buffer (and, with merge,
	// the next one in the second buffer and shorten the two by up to
	// -adjust); with adjust > 0 lengthen it by up to adjust.
	popPacket
	// popConceal: the audio due is missing (lost, late, or the talkspurt
	// ended): conceal one frame.
	popConceal
	// popSilence: a gap between talkspurts: write wait of silence.
	popSilence
)

// popOut describes one playout tick.
type popOut struct {
	kind     popKind
	n, n2    int // payload lengths
	pt, pt2  uint8
	seq      uint16 // sequence number of the (first) packet played
	seq2     uint16 // of the second packet with merge
	merge    bool
	adjust   time.Duration // change of delay asked for (see popPacket)
	wait     time.Duration // popNothing, popSilence: silence to write
	discard  int           // packets skipped to get back under the maximum delay
	restart  bool          // a new timeline started (the audio may jump)
	delay    time.Duration // the playout delay of this tick
	resolved int           // frames concealed for lost or late packets, counted now
}

// jbSlot holds one packet.
type jbSlot struct {
	seq     int64
	ts      int64 // extended timestamp (audio packets)
	arrival time.Duration
	rate    int
	buf     []byte
	pt      uint8
	used    bool
	done    bool // played (or skipped); seq still identifies it
	skip    bool
	marker  bool
	disc    bool // its transit time says it starts a new timeline
}

// jitterConfig configures a jitterBuffer.
type jitterConfig struct {
	mode     JitterMode
	delay    time.Duration // fixed: the delay; adaptive: the initial target
	minDelay time.Duration // adaptive: lower bound of the target (0: one frame)
	maxDelay time.Duration // upper bound of the delay
	frame    time.Duration // frame duration assumed until packets tell
}

// jitterBuffer is the receive side's playout buffer. It is a pure state
// machine: Push takes packets with their arrival time, and Pop, called by
// the media loop with the current time (both from the same monotonic
// reference), says what to play next. Packets are ordered by RTP
// sequence number, extended to 64 bits so that the 65535→0 wrap is
// seamless, and played at their RTP timestamp plus a playout delay:
// a timestamp jump without a sequence gap is silence (DTX), not loss.
//
// The delay is measured from the fastest recent packet (the one with the
// smallest arrival time minus timestamp): a packet that took that much
// longer than the fastest one still plays in time. In adaptive mode the
// target delay covers the slowest packet of the last couple of seconds
// and a high quantile of a histogram of delays with exponential
// forgetting; it is reached exactly at the start of a talkspurt (where
// silence can be shortened or lengthened), and in speech by asking the
// player to shorten or lengthen frames by pitch-synchronous cuts or
// repetitions. A missing frame is concealed tentatively: when the packet
// turns up before the next one is played, playout goes back to it and
// the delay grows by the frames concealed (so a delay spike costs no
// audio), otherwise it counts as lost. Slow clock drift between sender
// and receiver moves the reference, and with it the delay, which the
// same adjustments keep at the target.
//
// It is not safe for concurrent use.
type jitterBuffer struct {
	slots []jbSlot
	mask  int64
	cfg   jitterConfig
	free  [][]byte // payload buffers of slots that hold no packet
	// largest is the size of the largest payload stored so far.
	largest int

	init    bool  // a packet has been stored
	played  bool  // a packet of this sequence has been played
	playing bool  // the playout cursor runs
	next    int64 // extended sequence number of the next packet to play
	highest int64 // highest extended sequence number stored

	// A packet far outside the window starts a new sequence only when the
	// packet after it confirms it (as RFC 3550 A.1 does).
	badSeq    uint16
	hasBadSeq bool

	// Timeline: RTP clock, timestamp extension, frame size.
	timed      bool // rate and reference set by an audio packet
	rate       int
	haveTS     bool
	tsLast     int64 // extended timestamp of the newest audio packet
	tsLastSeq  int64
	frameTS    int64 // timestamp units per frame
	frameCand  int64 // a different frame size seen lately...
	frameCandN int   // ...this many times in a row

	cur     int64 // extended timestamp of the next audio to play
	lastEnd int64 // just after the last packet played
	pend    int   // tentatively concealed frames just before cur
	unres   int   // concealed frames not yet attributed to loss or silence
	lateRun int   // packets in a row dropped for being too late
	lateSeq int64
	lastAdj time.Duration
	adjSet  bool

	est    jbEstimator
	target time.Duration
	delay  time.Duration

	// Counters, read by the owner.
	late, duplicates, discarded, concealed uint64
}

// newJitterBuffer returns an empty buffer configured by cfg, whose values
// must be valid (NewSession checks them).
func newJitterBuffer(cfg jitterConfig) *jitterBuffer {
	if cfg.mode == JitterUnknown {
		cfg.mode = JitterAdaptive
	}
	if cfg.frame <= 0 {
		cfg.frame = defaultPTime
	}
	if cfg.maxDelay <= 0 {
		cfg.maxDelay = DefaultJitterMax
	}
	if cfg.delay <= 0 {
		cfg.delay = DefaultJitterDelay
	}
	cfg.delay = min(max(cfg.delay, cfg.minDelay), cfg.maxDelay)
	// Enough slots for the maximum delay at 10 ms packets, and a margin
	// for reordering.
	size := 64
	for size < int(cfg.maxDelay/(10*time.Millisecond))+8 {
		size <<= 1
	}
	j := &jitterBuffer{
		slots:  make([]jbSlot, size),
		mask:   int64(size - 1),
		cfg:    cfg,
		target: cfg.delay,
	}
	if cfg.mode == JitterAdaptive {
		j.est.bins = make([]float32, int((cfg.maxDelay+jbDiscontinuity+100*time.Millisecond)/jbBin))
	}
	return j
}

// resetSeq empties the buffer and restarts the sequence at extended
// sequence number ext, with a new timeline.
func (j *jitterBuffer) resetSeq(ext int64) {
	for i := range j.slots {
		j.slots[i].used, j.slots[i].done = false, false
		j.release(&j.slots[i])
	}
	j.next, j.highest = ext, ext
	j.hasBadSeq = false
	j.played = false
	j.haveTS = false
	j.timed = false
	j.stop()
}

// stop stops the playout cursor (until the next packet is due).
func (j *jitterBuffer) stop() {
	j.playing = false
	j.pend, j.unres, j.lateRun = 0, 0, 0
}

// Clear forgets all packets, the sequence and the timeline (for a new
// source). What was learnt about the network is kept.
func (j *jitterBuffer) Clear() {
	j.resetSeq(0)
	j.init = false
}

// Push offers a packet that arrived at `arrival`.
func (j *jitterBuffer) Push(p jbPacket, arrival time.Duration) pushResult {
	if len(p.payload) > maxPayload {
		return pushTooLarge
	}
	if !j.init {
		j.init = true
		j.resetSeq(int64(p.seq))
		j.store(int64(p.seq), &p, arrival)
		return pushStored
	}
	ext := j.highest + int64(int16(p.seq-uint16(j.highest)))
	size := int64(len(j.slots))
	d := ext - j.next
	switch {
	case d >= size || d < -size:
		// Far outside the window: a sender restart or a long outage.
		if j.hasBadSeq && p.seq == j.badSeq {
			j.resetSeq(ext)
			j.store(ext, &p, arrival)
			return pushReset
		}
		j.badSeq, j.hasBadSeq = p.seq+1, true
		j.late++
		return pushLate
	case d < 0:
		// Before the playout point. Until playout starts, the start can
		// still move back, as long as the window holds it.
		if j.played || j.highest-ext >= size {
			if s := &j.slots[ext&j.mask]; s.done && s.seq == ext {
				j.duplicates++
				return pushDuplicate
			}
			j.late++
			return pushLate
		}
		j.next = ext
	}
	j.hasBadSeq = false
	s := &j.slots[ext&j.mask]
	if s.seq == ext && (s.used || s.done) {
		j.duplicates++
		return pushDuplicate
	}
	j.store(ext, &p, arrival)
	return pushStored
}

// store puts a packet at extended sequence number ext.
func (j *jitterBuffer) store(ext int64, p *jbPacket, arrival time.Duration) {
	s := &j.slots[ext&j.mask]
	if s.buf == nil && len(j.free) > 0 {
		s.buf = j.free[len(j.free)-1]
		j.free = j.free[:len(j.free)-1]
	}
	if cap(s.buf) < len(p.payload) {
		s.buf = make([]byte, 0, max(len(p.payload), 192))
	}
	s.buf = append(s.buf[:0], p.payload...)
	j.largest = max(j.largest, len(p.payload))
	s.used, s.done, s.skip, s.marker, s.disc = true, false, p.skip || p.rate <= 0, p.marker, false
	s.seq, s.pt, s.rate, s.arrival = ext, p.pt, p.rate, arrival
	if ext > j.highest {
		j.highest = ext
	}
	if !s.skip {
		j.observe(s, p.ts)
	}
}

// release returns the payload buffer of a slot that no longer holds a
// packet to the free list, so the buffer keeps about as many payloads as
// it delays rather than one per slot.
func (j *jitterBuffer) release(s *jbSlot) {
	if s.buf != nil {
		j.free = append(j.free, s.buf[:0])
		s.buf = nil
	}
}

// observe extends an audio packet's timestamp and feeds its transit time
// to the delay estimate.
func (j *jitterBuffer) observe(s *jbSlot, ts uint32) {
	x := int64(ts)
	if j.haveTS {
		x = j.tsLast + int64(int32(ts-uint32(j.tsLast)))
		// Learn the frame size from neighbours; a different size must be
		// seen three times in a row (DTX gaps are seen once).
		if s.seq == j.tsLastSeq+1 && s.rate == j.rate {
			if delta := x - j.tsLast; delta > 0 && delta <= int64(s.rate)*120/1000 {
				switch {
				case delta == j.frameTS:
					j.frameCandN = 0
				case delta == j.frameCand:
					j.frameCandN++
					if j.frameCandN >= 3 {
						j.frameTS, j.frameCandN = delta, 0
					}
				default:
					j.frameCand, j.frameCandN = delta, 1
				}
			}
		}
	}
	s.ts = x
	if !j.haveTS || s.seq > j.tsLastSeq {
		j.haveTS, j.tsLast, j.tsLastSeq = true, x, s.seq
	}
	if !j.timed {
		j.startTimeline(s)
		return
	}
	if s.rate != j.rate {
		s.disc = true
		return
	}
	transit := s.arrival - j.tsTime(x)
	if dev := transit - j.est.base; dev > j.cfg.maxDelay+jbDiscontinuity || -dev > j.cfg.maxDelay+jbDiscontinuity {
		s.disc = true
		return
	}
	j.est.observe(transit, s.arrival, j.frameDur(), j.cfg.mode == JitterAdaptive)
	j.updateTarget()
}

// startTimeline makes the audio packet s the reference of a new timeline.
func (j *jitterBuffer) startTimeline(s *jbSlot) {
	if s.rate != j.rate || j.frameTS <= 0 {
		j.rate = s.rate
		j.frameTS = max(int64(toClock(j.cfg.frame, s.rate)), 1)
		j.frameCandN = 0
	}
	j.timed = true
	s.disc = false
	first := !j.est.based
	j.est.rebase(s.arrival-j.tsTime(s.ts), s.arrival)
	if first && j.cfg.mode == JitterAdaptive {
		// Until the network has shown itself, aim for the initial delay.
		j.est.prior(j.cfg.delay, j.frameDur())
	}
	j.updateTarget()
}

// restartAt starts a new timeline at the head packet s, whose transit time
// no longer fits the old one. Stored packets are measured against it
// again.
func (j *jitterBuffer) restartAt(s *jbSlot) {
	j.next = s.seq
	j.startTimeline(s)
	j.stop()
	for i := range j.slots {
		o := &j.slots[i]
		if !o.used || o.skip || o == s || o.seq < s.seq {
			continue
		}
		o.disc = o.rate != j.rate
		if !o.disc {
			dev := o.arrival - j.tsTime(o.ts) - j.est.base
			o.disc = dev > j.cfg.maxDelay+jbDiscontinuity || -dev > j.cfg.maxDelay+jbDiscontinuity
		}
	}
}

// updateTarget recomputes the target delay.
func (j *jitterBuffer) updateTarget() {
	if j.cfg.mode != JitterAdaptive {
		j.target = j.cfg.delay
		return
	}
	lo := j.cfg.minDelay
	if lo <= 0 {
		lo = j.frameDur()
	}
	t := max(j.est.quantile(jbQuantile), j.est.peak()) + jbMargin
	j.target = min(max(t, lo), j.cfg.maxDelay)
}

// tsTime converts an extended timestamp to time on the RTP clock.
func (j *jitterBuffer) tsTime(x int64) time.Duration {
	r := int64(j.rate)
	return time.Duration(x/r*int64(time.Second) + x%r*int64(time.Second)/r)
}

// tsUnits converts a duration to RTP clock units (rounded down).
func (j *jitterBuffer) tsUnits(d time.Duration) int64 {
	r := int64(j.rate)
	return int64(d)/int64(time.Second)*r + int64(d)%int64(time.Second)*r/int64(time.Second)
}

// frameDur is the duration of one frame.
func (j *jitterBuffer) frameDur() time.Duration {
	if !j.timed || j.rate <= 0 {
		return j.cfg.frame
	}
	return time.Duration(j.frameTS * int64(time.Second) / int64(j.rate))
}

// head returns the first stored audio packet at or after next, consuming
// the telephone events before it, and how many sequence numbers before it
// are missing.
func (j *jitterBuffer) head() (*jbSlot, int) {
	m := 0
	for e := j.next; e <= j.highest; e++ {
		s := &j.slots[e&j.mask]
		if !s.used || s.seq != e {
			m++
			continue
		}
		if s.skip {
			if m == 0 {
				s.used, s.done = false, true
				j.release(s)
				j.next = e + 1
			}
			continue
		}
		return s, m
	}
	return nil, m
}

// attribute counts concealed frames once it is known what they stood for:
// of the unres frames since the last packet played, as many as the m
// packets missing before the next one were concealment, the rest
// silence between talkspurts; extra frames stood in for late audio.
func (j *jitterBuffer) attribute(m, extra int, out *popOut) {
	n := extra + min(m, j.unres-extra)
	j.concealed += uint64(n)
	out.resolved += n
	j.unres, j.pend = 0, 0
}

// Pop says what to play at time now (on the reference Push's arrival
// times use). quiet says whether the audio played last was quiet, which
// makes shortening it less noticeable. Payloads are copied to dst (and,
// for a merge, dst2), truncated to their length.
func (j *jitterBuffer) Pop(now time.Duration, quiet bool, dst, dst2 []byte) popOut {
	var out popOut
	for range 4 { // a restart goes round once more; bounded anyway
		if !j.init || !j.timed {
			out.kind, out.wait = popNothing, j.frameDur()
			return out
		}
		frame := j.frameDur()
		if !j.playing {
			s, _ := j.head()
			if s == nil {
				out.kind, out.wait = popNothing, frame
				return out
			}
			if s.disc {
				j.restartAt(s)
				out.restart = true
				continue
			}
			j.next = s.seq
			due := j.tsTime(s.ts) + j.est.base + j.target
			if wait := due - now; wait >= jbMinSilence {
				out.kind, out.wait = popNothing, min(wait, frame)
				return out
			}
			j.playing = true
			j.cur, j.lastEnd = s.ts, s.ts
			j.pend, j.unres = 0, 0
		}
		if d := now - j.tsTime(j.cur) - j.est.base; d > j.cfg.maxDelay+frame {
			j.resync(now, &out)
		}
		if j.popPlaying(now, quiet, dst, dst2, &out) {
			return out
		}
		out.restart = true
	}
	out.kind, out.wait = popNothing, j.frameDur()
	return out
}

// popPlaying is Pop while the cursor runs. It returns false after starting
// a new timeline.
func (j *jitterBuffer) popPlaying(now time.Duration, quiet bool, dst, dst2 []byte, out *popOut) bool {
	frame := j.frameDur()
	half := j.frameTS / 2
	delay := now - j.tsTime(j.cur) - j.est.base
	j.delay, out.delay = delay, delay
	for range len(j.slots) + 1 {
		s, m := j.head()
		if s == nil {
			break
		}
		if s.disc {
			j.restartAt(s)
			return false
		}
		switch {
		case s.ts < j.cur-half:
			// Behind the cursor. If only concealment was played since,
			// go back to it: the delay grows by what was concealed.
			r := int((j.cur - s.ts + half) / j.frameTS)
			if r <= j.pend && delay+time.Duration(r)*frame <= j.cfg.maxDelay {
				j.attribute(m, r, out)
				j.cur = s.ts
				j.play(s, now, delay+time.Duration(r)*frame, false, quiet, dst, dst2, out)
				return true
			}
			// Too late to play.
			s.used, s.done = false, true
			j.next = s.seq + 1
			j.late++
			if s.seq == j.lateSeq+1 {
				j.lateRun++
			} else {
				j.lateRun = 1
			}
			j.lateSeq = s.seq
			if j.lateRun >= jbLateRun {
				// Everything comes too late: the sender's clock jumped.
				s.used, s.done = true, false
				j.late--
				j.restartAt(s)
				return false
			}
			j.release(s)
			// Its frame (and those of the packets missing before it)
			// was concealed.
			if j.unres > j.pend {
				n := min(m+1, j.unres-j.pend)
				j.concealed += uint64(n)
				out.resolved += n
				j.unres -= n
			}
			continue
		case s.ts < j.cur+half:
			// Due now.
			j.attribute(m, 0, out)
			j.play(s, now, delay, true, quiet, dst, dst2, out)
			return true
		}
		// A gap in the timestamps before s. With nothing missing before
		// it (or, at a marked talkspurt start, once the missing packets'
		// time has passed) it is silence.
		if m > 0 && (!s.marker || j.cur < j.lastEnd+int64(m)*j.frameTS) {
			break
		}
		j.attribute(m, 0, out)
		j.lateRun = 0
		// Set the talkspurt's delay to the target: shorten or lengthen
		// the silence so that s plays when its delay is just that.
		wait := j.tsTime(s.ts) + j.est.base + j.target - now
		if wait < jbMinSilence {
			j.cur = s.ts
			j.play(s, now, now-j.tsTime(s.ts)-j.est.base, false, quiet, dst, dst2, out)
			return true
		}
		l := frame
		if wait <= frame*3/2 {
			l = wait
		}
		// Keep the cursor where the reported delay is the target.
		j.cur = min(s.ts-j.tsUnits(wait-l), s.ts-j.frameTS)
		j.delay, out.delay = j.target, j.target
		out.kind, out.wait = popSilence, l
		return true
	}
	// Nothing to play: conceal, tentatively.
	if j.pend < len(j.slots)/2 {
		j.pend++
	}
	j.unres++
	j.cur += j.frameTS
	out.kind = popConceal
	return true
}

// play hands out packet s, which is due, and decides on adjusting the
// delay. delay is the delay it plays with.
func (j *jitterBuffer) play(s *jbSlot, now, delay time.Duration, adjust, quiet bool, dst, dst2 []byte, out *popOut) {
	out.kind = popPacket
	out.n, out.pt, out.seq = copy(dst, s.buf), s.pt, uint16(s.seq)
	j.delay, out.delay = delay, delay
	s.used, s.done = false, true
	j.release(s)
	j.next = s.seq + 1
	j.cur = s.ts + j.frameTS
	j.lastEnd = j.cur
	j.lateRun = 0
	j.played = true
	if !adjust {
		return
	}
	excess := delay - j.target
	since := now - j.lastAdj
	frame := j.frameDur()
	switch {
	case excess > jbShedSlack && (!j.adjSet || since >= jbShedEvery || quiet && since >= jbQuietShedEvery):
		// Too much delay: merge s with the packet after it and shorten
		// the two.
		n := &j.slots[(s.seq+1)&j.mask]
		if !n.used || n.seq != s.seq+1 || n.skip || n.disc || n.pt != s.pt || n.ts != s.ts+j.frameTS {
			return
		}
		out.merge = true
		out.n2, out.pt2, out.seq2 = copy(dst2, n.buf), n.pt, uint16(n.seq)
		out.adjust = -min(excess-jbMargin, frame)
		n.used, n.done = false, true
		j.release(n)
		j.next = n.seq + 1
		j.cur = n.ts + j.frameTS
		j.lastEnd = j.cur
		j.discarded++
		j.lastAdj, j.adjSet = now, true
	case excess < -jbGrowSlack && (!j.adjSet || since >= jbGrowEvery):
		// Too little delay: lengthen s.
		out.adjust = min(-excess, frame)
		j.lastAdj, j.adjSet = now, true
	}
}

// resync gets back under the maximum delay (after playout stalled, for
// example): packets that cannot play within it are discarded and the
// cursor jumps to the target delay.
func (j *jitterBuffer) resync(now time.Duration, out *popOut) {
	want := j.tsUnits(now - j.est.base - j.target)
	for range len(j.slots) {
		s, _ := j.head()
		if s == nil || s.ts >= want || s.disc {
			break
		}
		s.used, s.done = false, true
		j.release(s)
		j.next = s.seq + 1
		j.discarded++
		out.discard++
	}
	j.cur = max(j.cur, want)
	j.pend, j.unres = 0, 0
}

// Len reports how many packets the buffer holds.
func (j *jitterBuffer) Len() int {
	n := 0
	for i := range j.slots {
		if j.slots[i].used {
			n++
		}
	}
	return n
}

// jbEstimator tracks the transit times (arrival minus RTP timestamp) of
// audio packets: the fastest and slowest of the last few blocks of
// arrivals, and a histogram with exponential forgetting. Its values are
// absolute transit times; base, the fastest recent one, is the
// reference delays are measured from.
type jbEstimator struct {
	based  bool
	base   time.Duration
	maxT   time.Duration
	blocks [jbBlocks]struct {
		min, max time.Duration
		n        int
	}
	blk    int
	blkEnd time.Duration

	// Histogram of transit times: bins[i] counts [ref+i*jbBin, +jbBin).
	// Each observation weighs grow times the previous one; weights are
	// renormalised when they get large. Single precision is plenty for
	// a quantile and halves the largest part of a call's buffer state.
	bins   []float32
	ref    time.Duration
	weight float64
	total  float64
	top    int
	grow   float64
	growOf time.Duration
}

// rebase starts over from one transit time: the blocks restart, the
// histogram keeps its shape relative to the reference.
func (e *jbEstimator) rebase(transit, arrival time.Duration) {
	if e.based {
		e.ref += transit - e.base
	} else {
		e.ref = transit - 20*time.Millisecond
		e.weight = 1
	}
	e.based = true
	for i := range e.blocks {
		e.blocks[i].n = 0
	}
	e.blk = 0
	e.blocks[0].min, e.blocks[0].max, e.blocks[0].n = transit, transit, 1
	e.blkEnd = arrival + jbBlock
	e.base, e.maxT = transit, transit
}

// prior makes the histogram say d until real observations outweigh it
// (after a few half-lives).
func (e *jbEstimator) prior(d, frame time.Duration) {
	if len(e.bins) == 0 {
		return
	}
	e.setGrow(frame)
	w := e.weight / (1 - 1/e.grow) // the weight of a full history
	// The target is the quantile plus jbMargin: put the prior so that
	// the two make d.
	e.add(e.base+d-jbMargin-jbBin/2, w)
}

// setGrow sets the per-packet weight growth for packets of frame
// duration.
func (e *jbEstimator) setGrow(frame time.Duration) {
	if frame != e.growOf {
		e.growOf = frame
		e.grow = math.Exp2(float64(frame) / float64(jbHalfLife))
	}
}

// observe records a packet's transit time.
func (e *jbEstimator) observe(transit, arrival, frame time.Duration, hist bool) {
	if arrival >= e.blkEnd {
		e.blk = (e.blk + 1) % jbBlocks
		e.blocks[e.blk].min, e.blocks[e.blk].max, e.blocks[e.blk].n = transit, transit, 1
		if arrival >= e.blkEnd+jbBlock {
			e.blkEnd = arrival + jbBlock
		} else {
			e.blkEnd += jbBlock
		}
	} else {
		b := &e.blocks[e.blk]
		b.min, b.max = min(b.min, transit), max(b.max, transit)
		b.n++
	}
	first := true
	for i := range e.blocks {
		b := &e.blocks[i]
		if b.n == 0 {
			continue
		}
		if first {
			e.base, e.maxT, first = b.min, b.max, false
			continue
		}
		e.base, e.maxT = min(e.base, b.min), max(e.maxT, b.max)
	}
	if !hist || len(e.bins) == 0 {
		return
	}
	// Keep the reference 10-60 ms below the base.
	if off := e.base - e.ref; off < 10*time.Millisecond || off > 60*time.Millisecond {
		e.shift(int((off - 20*time.Millisecond) / jbBin))
	}
	e.setGrow(frame)
	e.weight *= e.grow
	e.add(transit, e.weight)
	if e.weight > 1e9 {
		e.renormalise()
	}
}

// add puts weight w on transit time t.
func (e *jbEstimator) add(t time.Duration, w float64) {
	i := int((t - e.ref) / jbBin)
	i = min(max(i, 0), len(e.bins)-1)
	e.bins[i] += float32(w)
	e.total += w
	e.top = max(e.top, i)
}

// shift moves the histogram's reference up by k bins (down for k < 0).
func (e *jbEstimator) shift(k int) {
	n := len(e.bins)
	switch {
	case k == 0:
	case k > 0:
		var low float32
		for i := 0; i < min(k+1, n); i++ {
			low += e.bins[i]
		}
		if k < n {
			copy(e.bins, e.bins[k:])
		}
		clear(e.bins[max(n-k, 1):])
		e.bins[0] = low
		e.top = max(e.top-k, 0)
	default:
		d := -k
		var high float32
		for i := max(n-1-d, 0); i < n; i++ {
			high += e.bins[i]
		}
		if d < n {
			copy(e.bins[d:], e.bins[:n-d])
		}
		clear(e.bins[:min(d, n-1)])
		e.bins[n-1] = high
		e.top = min(e.top+d, n-1)
	}
	e.ref += time.Duration(k) * jbBin
}

// renormalise scales the weights back to 1 and forgets negligible bins.
func (e *jbEstimator) renormalise() {
	s := 1 / e.weight
	e.total = 0
	top := 0
	for i := range e.bins {
		v := float64(e.bins[i]) * s
		if v < 1e-6 {
			v = 0
		} else {
			top = i
		}
		e.bins[i] = float32(v)
		e.total += v
	}
	e.weight, e.top = 1, top
}

// quantile returns the delay (above base) that share q of the histogram's
// weight does not exceed.
func (e *jbEstimator) quantile(q float64) time.Duration {
	if len(e.bins) == 0 || e.total <= 0 {
		return 0
	}
	lim := (1 - q) * e.total
	acc := 0.0
	i := e.top
	for ; i > 0; i-- {
		acc += float64(e.bins[i])
		if acc > lim {
			break
		}
	}
	return e.ref + time.Duration(i+1)*jbBin - e.base
}

// peak returns the delay (above base) of the slowest recent packet.
func (e *jbEstimator) peak() time.Duration { return e.maxT - e.base }

// PeekNext copies the payload of the first stored audio packet still to
// play into dst and returns its length and payload type, without changing
// any state; ok is false when none is stored. Concealment uses it for
// in-band FEC.
func (j *jitterBuffer) PeekNext(dst []byte) (n int, pt uint8, ok bool) {
	for e := j.next; e <= j.highest; e++ {
		s := &j.slots[e&j.mask]
		if !s.used || s.seq != e || s.skip {
			continue
		}
		return copy(dst, s.buf), s.pt, true
	}
	return 0, 0, false
}
