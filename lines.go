package voipkit

import "sort"

// Lines returns the calls in progress ordered by line number (1, 2, ...),
// the way a desk phone or the Mizu-style line model shows them.
func (p *Phone) Lines() []*Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*Call, 0, len(p.lines))
	for _, c := range p.lines {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return p.lineOf[out[i]] < p.lineOf[out[j]] })
	return out
}

// Line returns the call on line n, or nil.
func (p *Phone) Line(n int) *Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lines[n]
}

// LineOf returns the line number of c, 0 when c is not in progress.
func (p *Phone) LineOf(c *Call) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lineOf[c]
}

// Current returns the current call: the one last dialled, answered or
// chosen with SetCurrent that is still in progress; nil when none.
func (p *Phone) Current() *Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current != nil && p.lineOf[p.current] != 0 {
		return p.current
	}
	return nil
}

// SetCurrent makes c the current call.
func (p *Phone) SetCurrent(c *Call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lineOf[c] != 0 {
		p.current = c
	}
}

// addLine gives c the lowest free line number. Callers hold p.mu.
func (p *Phone) addLine(c *Call) {
	n := 1
	for p.lines[n] != nil {
		n++
	}
	p.lines[n] = c
	p.lineOf[c] = n
}

// dropLine frees c's line. Callers hold p.mu.
func (p *Phone) dropLine(c *Call) {
	if n := p.lineOf[c]; n != 0 {
		delete(p.lines, n)
		delete(p.lineOf, c)
	}
	if p.current == c {
		p.current = nil
	}
}
