package audio

import (
	"errors"
	"io"
	"sync"
	"time"
)

// Playlist is a Source that plays Sources one after another. A Source
// that ends (io.EOF) or fails is dropped, closed if it is an io.Closer,
// and the next one continues the same frame, so items join without gaps.
// While the list is empty ReadFrame returns io.EOF; Append starts it again.
//
// A Playlist is safe for concurrent use.
type Playlist struct {
	mu     sync.Mutex
	items  []Source
	played int
	errs   []error
}

// NewPlaylist returns a Playlist of srcs (nil ones are skipped).
func NewPlaylist(srcs ...Source) *Playlist {
	p := &Playlist{}
	p.Append(srcs...)
	return p
}

// Append queues srcs after the current items (nil ones are skipped).
func (p *Playlist) Append(srcs ...Source) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range srcs {
		if s != nil {
			p.items = append(p.items, s)
		}
	}
}

// Len reports how many items are queued, the playing one included.
func (p *Playlist) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.items)
}

// Played reports how many items have finished (ended, failed or skipped).
func (p *Playlist) Played() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.played
}

// Err returns the errors of the items that failed, other than io.EOF,
// joined.
func (p *Playlist) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(p.errs...)
}

// Skip drops the item playing now.
func (p *Playlist) Skip() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.items) > 0 {
		p.drop(nil)
	}
}

// Clear drops every queued item, closing those that are io.Closers.
func (p *Playlist) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.items) > 0 {
		p.drop(nil)
	}
}

// drop finishes the first item. Called with p.mu held.
func (p *Playlist) drop(err error) {
	s := p.items[0]
	p.items[0] = nil
	p.items = p.items[1:]
	p.played++
	if err != nil && !errors.Is(err, io.EOF) {
		p.errs = append(p.errs, err)
	}
	if c, ok := s.(io.Closer); ok {
		_ = c.Close()
	}
}

// ReadFrame fills f from the current item, moving on to the next when it
// ends, and returns io.EOF when nothing is left.
func (p *Playlist) ReadFrame(f *Frame) error {
	if err := checkFrame(f); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.items) > 0 {
		err := p.items[0].ReadFrame(f)
		if err == nil {
			return nil
		}
		p.drop(err)
	}
	return io.EOF
}

// Loop is a Source that repeats another Source endlessly. The first pass
// is read from the Source and kept in memory, up to a limit; later passes
// replay that copy. A Source longer than the limit is played once, and a
// change of frame rate restarts the copy from the Source's current point.
// A Source that fails or ends without producing audio ends the Loop.
//
// A Loop is safe for concurrent use.
type Loop struct {
	mu      sync.Mutex
	src     Source
	max     int64 // limit in nanoseconds of audio
	rate    int
	cache   []int16
	caching bool
	pos     int
	done    bool
}

// NewLoop returns a Loop over src keeping at most limit of audio.
func NewLoop(src Source, limit time.Duration) *Loop {
	return &Loop{src: src, max: int64(limit), caching: true}
}

// ReadFrame fills f with the next audio of the loop.
func (l *Loop) ReadFrame(f *Frame) error {
	if err := checkFrame(f); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done || l.src == nil {
		return io.EOF
	}
	if l.rate != f.SampleRate {
		if !l.caching && l.rate != 0 {
			l.caching = true // replaying an old copy at another rate: copy afresh
		}
		l.rate, l.cache, l.pos = f.SampleRate, l.cache[:0], 0
	}
	if l.caching {
		err := l.src.ReadFrame(f)
		if err == nil {
			if int64(samplesDuration(int64(len(l.cache)+len(f.Samples)), l.rate)) <= l.max {
				l.cache = append(l.cache, f.Samples...)
			} else {
				l.cache, l.max = nil, 0 // too long: play once
			}
			return nil
		}
		if !errors.Is(err, io.EOF) || len(l.cache) == 0 {
			l.done = true
			return err
		}
		l.caching = false
	}
	for n := 0; n < len(f.Samples); {
		c := copy(f.Samples[n:], l.cache[l.pos:])
		n += c
		l.pos = (l.pos + c) % len(l.cache)
	}
	return nil
}

// Close closes the underlying Source if it is an io.Closer.
func (l *Loop) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	if c, ok := l.src.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
