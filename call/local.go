package call

import (
	"errors"
	"io"
	"sync"

	"github.com/voipkit/voipkit/audio"
)

// PlayLocal mixes src into what the local user hears on this call (its
// sink) until src ends: a call-waiting beep, a prompt only we should hear.
// The peer hears nothing of it.
func (c *Call) PlayLocal(src audio.Source) {
	r := &c.route
	r.mu.Lock()
	defer r.mu.Unlock()
	r.overlay = &overlaySink{src: src}
	r.apply(c)
}

// overlaySink adds a source's samples to the frames passing to a sink.
type overlaySink struct {
	mu   sync.Mutex
	src  audio.Source
	sink audio.Sink
	buf  audio.Frame
	done bool
}

func (o *overlaySink) WriteFrame(f *audio.Frame) error {
	o.mu.Lock()
	if !o.done {
		if cap(o.buf.Samples) < len(f.Samples) {
			o.buf.Samples = make([]int16, len(f.Samples))
		}
		o.buf.Samples = o.buf.Samples[:len(f.Samples)]
		o.buf.SampleRate = f.SampleRate
		err := o.src.ReadFrame(&o.buf)
		if err != nil && !errors.Is(err, io.EOF) {
			o.done = true
		} else {
			for i, v := range o.buf.Samples {
				s := int32(f.Samples[i]) + int32(v)
				f.Samples[i] = int16(max(min(s, 32767), -32768))
			}
			if errors.Is(err, io.EOF) {
				o.done = true
			}
		}
	}
	sink := o.sink
	o.mu.Unlock()
	if sink == nil {
		return nil
	}
	return sink.WriteFrame(f)
}
