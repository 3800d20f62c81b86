package audio

// SourceFunc adapts a function to a Source: the basis for feeding a call
// from a bot, a speech synthesizer or any frame callback.
type SourceFunc func(f *Frame) error

// ReadFrame calls fn(f).
func (fn SourceFunc) ReadFrame(f *Frame) error { return fn(f) }

// SinkFunc adapts a function to a Sink: the basis for taking a call's
// audio out to speech-to-text or any frame callback. The function must not
// keep f.Samples after it returns.
type SinkFunc func(f *Frame) error

// WriteFrame calls fn(f).
func (fn SinkFunc) WriteFrame(f *Frame) error { return fn(f) }
