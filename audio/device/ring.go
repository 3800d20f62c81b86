//go:build cgo

package device

// ring is a bounded FIFO of samples. Writing more than fits drops the
// oldest samples.
//
// A ring is not safe for concurrent use.
type ring struct {
	buf   []int16
	start int
	n     int
}

func newRing(size int) *ring { return &ring{buf: make([]int16, max(size, 1))} }

func (r *ring) len() int { return r.n }

// write appends s and returns how many of the oldest samples were dropped
// to make room.
func (r *ring) write(s []int16) (dropped int) {
	c := len(r.buf)
	if len(s) >= c {
		dropped = r.n + len(s) - c
		copy(r.buf, s[len(s)-c:])
		r.start, r.n = 0, c
		return dropped
	}
	if over := r.n + len(s) - c; over > 0 {
		r.discard(over)
		dropped = over
	}
	end := (r.start + r.n) % c
	k := copy(r.buf[end:], s)
	copy(r.buf, s[k:])
	r.n += len(s)
	return dropped
}

// read moves up to len(dst) of the oldest samples into dst.
func (r *ring) read(dst []int16) int {
	n := min(len(dst), r.n)
	c := len(r.buf)
	k := copy(dst[:n], r.buf[r.start:min(r.start+n, c)])
	copy(dst[k:n], r.buf)
	r.discard(n)
	return n
}

func (r *ring) discard(n int) {
	r.start = (r.start + n) % len(r.buf)
	r.n -= n
	if r.n == 0 {
		r.start = 0
	}
}
