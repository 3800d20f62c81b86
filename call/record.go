package call

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/voipkit/voipkit/audio"
)

// MaxLoop is the most audio Play keeps in memory to repeat a looping
// Source; a longer Source plays once.
const MaxLoop = 5 * time.Minute

// route decides what a call's media session sends and where its received
// audio goes: the application's Source and Sink (SetSource, SetSink),
// replaced by a conference's endpoints while the call is in one, the
// source overridden by playback while Play runs, and both tapped by a
// recording. Every change recomputes the chain and installs it in the
// media session.
type route struct {
	mu    sync.Mutex // guards the fields below
	src   audio.Source
	sink  audio.Sink
	conf  *confLeg
	play  *playback
	rec   *audio.WAVRecorder
	ended bool
	// overlay mixes a local-only sound (PlayLocal) into the sink.
	overlay *overlaySink
}

// apply installs the current chain. Called with r.mu held.
func (r *route) apply(c *Call) {
	if c.media == nil {
		return
	}
	src, sink := r.below(), r.sink
	if r.conf != nil {
		sink = r.conf.fromCall
	}
	if r.play != nil {
		src = r.play
	}
	if r.overlay != nil {
		r.overlay.mu.Lock()
		r.overlay.sink = sink
		done := r.overlay.done
		r.overlay.mu.Unlock()
		if done {
			r.overlay = nil
		} else {
			sink = r.overlay
		}
	}
	if r.rec != nil {
		src = &teeSource{src: src, rec: r.rec.Local()}
		sink = &teeSink{sink: sink, rec: r.rec.Remote()}
	}
	src, sink = c.tapLevels(src, sink) // level.go
	c.media.SetSource(src)
	c.media.SetSink(sink)
}

// below returns the source playback interrupts: the conference mix or the
// application's source. Called with r.mu held.
func (r *route) below() audio.Source {
	if r.conf != nil {
		return r.conf.toCall
	}
	return r.src
}

func (r *route) setBase(c *Call, src audio.Source, sink audio.Sink, setSrc, setSink bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if setSrc {
		r.src = src
	}
	if setSink {
		r.sink = sink
	}
	r.apply(c)
}

// end finalizes a recording and releases playback when the call ends.
func (r *route) end() {
	r.mu.Lock()
	r.ended = true
	rec, play := r.rec, r.play
	r.rec, r.play = nil, nil
	r.mu.Unlock()
	if play != nil {
		play.list.Clear()
	}
	if rec != nil {
		_ = rec.Close()
	}
}

// Source returns the audio source set with SetSource (or DialOptions),
// which the call sends when it is neither in a conference nor playing.
func (c *Call) Source() audio.Source {
	c.route.mu.Lock()
	defer c.route.mu.Unlock()
	return c.route.src
}

// Sink returns the sink set with SetSink (or DialOptions), which receives
// the peer's audio when the call is not in a conference.
func (c *Call) Sink() audio.Sink {
	c.route.mu.Lock()
	defer c.route.mu.Unlock()
	return c.route.sink
}

// teeSource passes the frames of src on and copies them to rec. A missing
// or ended src gives silence, so the recording keeps time.
type teeSource struct {
	src  audio.Source
	rec  audio.Sink
	done bool
}

func (t *teeSource) ReadFrame(f *audio.Frame) error {
	if t.src == nil || t.done {
		clear(f.Samples)
	} else if err := t.src.ReadFrame(f); err != nil {
		if !errors.Is(err, audio.ErrSampleRate) {
			t.done = true
		}
		clear(f.Samples)
	}
	_ = t.rec.WriteFrame(f) // a failed recording must not silence the call
	return nil
}

// teeSink copies frames to rec and passes them on to sink.
type teeSink struct {
	sink audio.Sink
	rec  audio.Sink
}

func (t *teeSink) WriteFrame(f *audio.Frame) error {
	_ = t.rec.WriteFrame(f)
	if t.sink == nil {
		return nil
	}
	return t.sink.WriteFrame(f)
}

// Record starts recording the call to a 16-bit PCM WAV file at path, at
// the negotiated codec's sample rate: stereo puts what we send (our side)
// on the left channel and what we receive (the peer) on the right; mono
// mixes both. A recording already running is finished first. The file's
// header is completed by StopRecording, when the call ends, and so when
// the Phone closes. It fails with ErrInvalidState once the call has ended.
func (c *Call) Record(path string, stereo bool) error {
	rate := 8000
	if c.media != nil {
		if r := c.media.Codec().SampleRate; r > 0 {
			rate = r
		}
	}
	r := &c.route
	r.mu.Lock()
	if r.ended || c.media == nil {
		r.mu.Unlock()
		return fmt.Errorf("%w: call has ended", ErrInvalidState)
	}
	r.mu.Unlock()
	w, err := audio.CreateWAVRecorder(path, rate, stereo)
	if err != nil {
		return fmt.Errorf("call: record: %w", err)
	}
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		_ = w.Close()
		return fmt.Errorf("%w: call has ended", ErrInvalidState)
	}
	old := r.rec
	r.rec = w
	r.apply(c)
	r.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	return nil
}

// Recording reports whether a recording is running.
func (c *Call) Recording() bool {
	c.route.mu.Lock()
	defer c.route.mu.Unlock()
	return c.route.rec != nil
}

// StopRecording finishes the running recording, completing its header,
// and returns any error writing it. Without a recording it does nothing.
func (c *Call) StopRecording() error {
	r := &c.route
	r.mu.Lock()
	w := r.rec
	r.rec = nil
	if w != nil {
		r.apply(c)
	}
	r.mu.Unlock()
	if w == nil {
		return nil
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("call: record: %w", err)
	}
	return nil
}

// playback is the Source the call sends while Play runs: the playlist,
// then, when it runs out, whatever was playing before.
type playback struct {
	c    *Call
	list *audio.Playlist
}

func (p *playback) ReadFrame(f *audio.Frame) error {
	if err := p.list.ReadFrame(f); err == nil {
		return nil
	}
	// The playlist is over: hand back to the source below it, and read
	// this frame from it already so no gap is heard.
	r := &p.c.route
	r.mu.Lock()
	if r.play == p {
		r.play = nil
		r.apply(p.c)
	}
	below := r.below()
	r.mu.Unlock()
	if below == nil {
		clear(f.Samples)
		return nil
	}
	return below.ReadFrame(f)
}

// Play sends src to the peer instead of the call's source, replacing any
// playback in progress; with loop it repeats (the first MaxLoop of it)
// until StopPlayback. When playback ends the previous source (the
// application's, or the conference mix) resumes. Sources that are
// io.Closers are closed when they finish or are dropped. It fails with
// ErrInvalidState once the call has ended.
func (c *Call) Play(src audio.Source, loop bool) error {
	if src == nil {
		return fmt.Errorf("call: play: nil source")
	}
	if loop {
		src = audio.NewLoop(src, MaxLoop)
	}
	return c.startPlay(true, src)
}

// Enqueue queues srcs to play after the current playback, or starts
// playing them now if none is running.
func (c *Call) Enqueue(srcs ...audio.Source) error { return c.startPlay(false, srcs...) }

// EnqueueFiles opens the WAV files at paths and queues them like Enqueue;
// each is closed when it has played. If one cannot be opened, none is
// queued.
func (c *Call) EnqueueFiles(paths ...string) error {
	srcs := make([]audio.Source, 0, len(paths))
	for _, p := range paths {
		f, err := audio.OpenWAV(p)
		if err != nil {
			for _, s := range srcs {
				_ = s.(*audio.WAVFile).Close()
			}
			return fmt.Errorf("call: play: %w", err)
		}
		srcs = append(srcs, f)
	}
	return c.startPlay(false, srcs...)
}

func (c *Call) startPlay(replace bool, srcs ...audio.Source) error {
	r := &c.route
	r.mu.Lock()
	if r.ended || c.media == nil {
		r.mu.Unlock()
		audio.NewPlaylist(srcs...).Clear() // close what we were given
		return fmt.Errorf("%w: call has ended", ErrInvalidState)
	}
	var old *playback
	if r.play != nil && !replace {
		r.play.list.Append(srcs...)
		r.mu.Unlock()
		return nil
	}
	old = r.play
	r.play = &playback{c: c, list: audio.NewPlaylist(srcs...)}
	r.apply(c)
	r.mu.Unlock()
	if old != nil {
		old.list.Clear()
	}
	return nil
}

// Playing reports whether playback is running.
func (c *Call) Playing() bool {
	c.route.mu.Lock()
	defer c.route.mu.Unlock()
	return c.route.play != nil
}

// StopPlayback ends playback at once (dropping anything queued); the
// previous source resumes.
func (c *Call) StopPlayback() {
	r := &c.route
	r.mu.Lock()
	p := r.play
	r.play = nil
	if p != nil {
		r.apply(c)
	}
	r.mu.Unlock()
	if p != nil {
		p.list.Clear()
	}
}
