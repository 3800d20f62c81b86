package media

// maxPayload is the largest RTP payload the jitter buffer stores.
const maxPayload = 2048

// pushResult says what the jitter buffer did with a packet.
type pushResult int

const (
	pushStored    pushResult = iota // kept for playout
	pushDuplicate                   // already held or already played
	pushLate                        // behind the playout point, or outside the window
	pushReset                       // started a new sequence after a jump
	pushTooLarge                    // payload larger than maxPayload
)

// popResult says what the jitter buffer returned for one playout slot.
type popResult int

const (
	popBuffering popResult = iota // (re)filling to its depth: nothing to play
	popPacket                     // a packet was copied out
	popMissing                    // the packet due is missing; later ones are held
)

// jbSlot holds one packet.
type jbSlot struct {
	used bool
	done bool // played (or skipped); seq still identifies it
	skip bool // a non-audio packet (telephone-event): consumed silently
	seq  int64
	ts   uint32
	pt   uint8
	buf  []byte
}

// jitterBuffer is a fixed-depth playout buffer ordered by RTP sequence
// number. Sequence numbers are extended to 64 bits relative to the
// highest one seen, so the 65535→0 wrap is seamless. Playout starts (and
// restarts after an underrun) once depth packets are spanned; it then
// yields one packet per Pop. It is not safe for concurrent use.
type jitterBuffer struct {
	slots   []jbSlot
	mask    int64
	depth   int64 // packets spanned before playout (re)starts
	maxSpan int64 // more than this is trimmed back to depth

	init    bool  // a packet has been stored
	played  bool  // Pop has consumed at least one slot
	playing bool  // false while (re)buffering
	next    int64 // extended sequence number of the next packet to play
	highest int64 // highest extended sequence number stored

	// A packet far outside the window starts a new sequence only when the
	// packet after it confirms it (as RFC 3550 A.1 does).
	badSeq    uint16
	hasBadSeq bool

	// Counters, read by the owner.
	late, duplicates uint64
}

// newJitterBuffer returns a buffer that holds depth packets (at least one)
// before playout starts.
func newJitterBuffer(depth int) *jitterBuffer {
	if depth < 1 {
		depth = 1
	}
	size := 64
	for size < 4*depth {
		size <<= 1
	}
	return &jitterBuffer{
		slots:   make([]jbSlot, size),
		mask:    int64(size - 1),
		depth:   int64(depth),
		maxSpan: int64(2*depth + 2),
	}
}

// reset empties the buffer and restarts buffering at extended sequence
// number ext.
func (j *jitterBuffer) reset(ext int64) {
	for i := range j.slots {
		j.slots[i].used, j.slots[i].done = false, false
	}
	j.next, j.highest = ext, ext
	j.playing = false
	j.hasBadSeq = false
}

// Clear forgets all packets and sequence state (for a new source).
func (j *jitterBuffer) Clear() {
	j.reset(0)
	j.init, j.played = false, false
}

// store puts a packet at extended sequence number ext.
func (j *jitterBuffer) store(ext int64, ts uint32, pt uint8, payload []byte, skip bool) {
	s := &j.slots[ext&j.mask]
	if cap(s.buf) < len(payload) {
		s.buf = make([]byte, 0, max(len(payload), 512))
	}
	s.buf = append(s.buf[:0], payload...)
	s.used, s.done, s.skip, s.seq, s.ts, s.pt = true, false, skip, ext, ts, pt
	if ext > j.highest {
		j.highest = ext
	}
}

// Push offers a packet to the buffer. skip marks packets that occupy a
// sequence number but carry no audio (telephone-event); Pop passes over
// them.
func (j *jitterBuffer) Push(seq uint16, ts uint32, pt uint8, payload []byte, skip bool) pushResult {
	if len(payload) > maxPayload {
		return pushTooLarge
	}
	if !j.init {
		j.init = true
		j.reset(int64(seq))
		j.store(int64(seq), ts, pt, payload, skip)
		return pushStored
	}
	ext := j.highest + int64(int16(seq-uint16(j.highest)))
	size := int64(len(j.slots))
	d := ext - j.next
	switch {
	case d >= size || d < -size:
		// Far outside the window: a sender restart or a long outage.
		if j.hasBadSeq && seq == j.badSeq {
			j.reset(ext)
			j.store(ext, ts, pt, payload, skip)
			return pushReset
		}
		j.badSeq, j.hasBadSeq = seq+1, true
		j.late++
		return pushLate
	case d < 0:
		// Before the playout point. Until playout consumed anything the
		// start can still move back, as long as the window holds it.
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
	if s.used && s.seq == ext {
		j.duplicates++
		return pushDuplicate
	}
	j.store(ext, ts, pt, payload, skip)
	return pushStored
}

// Pop yields the next playout slot. For popPacket the payload is copied
// into dst (truncated to len(dst)) and its length and payload type are
// returned.
func (j *jitterBuffer) Pop(dst []byte) (n int, pt uint8, res popResult) {
	if !j.init {
		return 0, 0, popBuffering
	}
	if !j.playing {
		if j.highest-j.next+1 < j.depth {
			return 0, 0, popBuffering
		}
		j.playing = true
	}
	if j.highest-j.next+1 > j.maxSpan {
		// Too much delay has built up (the sender's clock is faster than
		// ours, or a burst arrived): drop the oldest back to the depth.
		for j.highest-j.next+1 > j.depth {
			if s := &j.slots[j.next&j.mask]; s.used && s.seq == j.next {
				s.used = false
				j.late++
			}
			j.next++
		}
	}
	for range len(j.slots) {
		if j.next > j.highest {
			// Underrun: play nothing until depth packets are spanned again.
			j.playing = false
			return 0, 0, popBuffering
		}
		s := &j.slots[j.next&j.mask]
		j.next++
		j.played = true
		if !s.used || s.seq != j.next-1 {
			return 0, 0, popMissing
		}
		s.used, s.done = false, true
		if s.skip {
			continue
		}
		return copy(dst, s.buf), s.pt, popPacket
	}
	return 0, 0, popMissing
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
