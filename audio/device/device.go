//go:build cgo

package device

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"

	"github.com/voipkit/voipkit/audio"
)

// Defaults for DuplexConfig.
const (
	DefaultSampleRate    = 16000
	DefaultFrameDuration = 20 * time.Millisecond
	DefaultPeriod        = 10 * time.Millisecond
	DefaultPeriods       = 3
	DefaultBuffer        = 200 * time.Millisecond
	// MaxGain is the largest volume gain SetVolume accepts; larger values
	// are clamped to it.
	MaxGain = 8.0
)

// DuplexConfig configures OpenDuplex. The zero value opens the default
// microphone and speaker at 16 kHz with low latency.
type DuplexConfig struct {
	// CaptureID and PlaybackID are Info.ID values; empty selects the
	// backend's default device.
	CaptureID  string
	PlaybackID string
	// SampleRate is the rate the device runs at, in Hz (default 16000).
	// miniaudio converts to the hardware's rate; frames at other rates are
	// resampled by this package.
	SampleRate int
	// FrameDuration is the frame length the caller is expected to use
	// (default 20 ms). It sizes FrameSamples and the minimum buffers.
	FrameDuration time.Duration
	// Period is the device callback period (default 10 ms) and Periods
	// the number of periods in the hardware buffer (default 3).
	Period  time.Duration
	Periods int
	// Buffer bounds both the captured audio waiting for ReadFrame and the
	// playback audio queued by WriteFrame (default 200 ms, at least four
	// frames). Beyond it the oldest audio is dropped.
	Buffer time.Duration
	// VolumeIn and VolumeOut are linear gains applied to captured and
	// played audio. Zero means 1 (unchanged); use SetVolume to mute.
	VolumeIn, VolumeOut float64
}

// Stats counts a Device's traffic. Sample counts are at the device rate.
type Stats struct {
	// Callbacks is the number of device data callbacks so far.
	Callbacks int64
	// CapturedSamples is the number of samples the microphone delivered.
	CapturedSamples int64
	// CaptureDropped is the number of captured samples discarded because
	// ReadFrame did not keep up.
	CaptureDropped int64
	// FramesRead and FramesWritten count successful ReadFrame and
	// WriteFrame calls.
	FramesRead, FramesWritten int64
	// PlayedSamples is the number of queued samples sent to the speaker.
	PlayedSamples int64
	// Underruns counts callbacks that found too little queued audio;
	// UnderrunSamples is the silence played in their place. PlayedSamples
	// plus UnderrunSamples is the total the speaker consumed.
	Underruns, UnderrunSamples int64
	// Overruns counts WriteFrame calls that overflowed the playback queue;
	// OverrunSamples is the oldest queued audio dropped to make room.
	Overruns, OverrunSamples int64
}

// Device is an open duplex audio device: an audio.Source delivering what
// the microphone captures and an audio.Sink queueing audio for the speaker.
//
// A Device is safe for concurrent use; one reader and one writer at a time
// is the expected pattern.
type Device struct {
	owner *Context
	dev   *malgo.Device
	rate  int
	frame int
	pin   runtime.Pinner

	gainIn, gainOut atomic.Uint64 // float64 bits

	mu      sync.Mutex
	cond    *sync.Cond
	closed  bool
	err     error // set when the device stopped on its own
	capture *ring
	play    *ring
	stats   Stats
	// reader side
	rRate int
	rConv *audio.Resampler
	rTmp  []int16
	rOut  []int16 // converted samples not yet returned
	// writer side
	wRate int
	wConv *audio.Resampler
	wTmp  []int16
	// callback scratch
	cbBuf []int16

	done      chan struct{}
	doneOnce  sync.Once
	closeOnce sync.Once
}

// OpenDuplex opens a capture and a playback device together. Errors wrap
// ErrNoDevice for an unknown ID and ErrUnavailable when miniaudio cannot
// open or start the devices; a call can then go on without local audio.
func (c *Context) OpenDuplex(cfg DuplexConfig) (*Device, error) {
	if cfg.SampleRate == 0 {
		cfg.SampleRate = DefaultSampleRate
	}
	if cfg.SampleRate < audio.MinSampleRate || cfg.SampleRate > audio.MaxSampleRate {
		return nil, fmt.Errorf("%w: device rate %d Hz", audio.ErrSampleRate, cfg.SampleRate)
	}
	if cfg.FrameDuration <= 0 {
		cfg.FrameDuration = DefaultFrameDuration
	}
	if cfg.Period <= 0 {
		cfg.Period = DefaultPeriod
	}
	if cfg.Periods <= 0 {
		cfg.Periods = DefaultPeriods
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	cfg.Buffer = max(cfg.Buffer, 4*cfg.FrameDuration, 2*cfg.Period)
	if cfg.VolumeIn == 0 {
		cfg.VolumeIn = 1
	}
	if cfg.VolumeOut == 0 {
		cfg.VolumeOut = 1
	}
	samples := func(d time.Duration) int {
		return max(1, int(int64(d)*int64(cfg.SampleRate)/int64(time.Second)))
	}
	bufLen := samples(cfg.Buffer)
	d := &Device{
		owner:   c,
		rate:    cfg.SampleRate,
		frame:   samples(cfg.FrameDuration),
		capture: newRing(bufLen),
		play:    newRing(bufLen),
		done:    make(chan struct{}),
	}
	d.cond = sync.NewCond(&d.mu)
	d.SetVolume(cfg.VolumeIn, cfg.VolumeOut)

	mc := malgo.DefaultDeviceConfig(malgo.Duplex)
	mc.SampleRate = uint32(cfg.SampleRate)
	mc.PeriodSizeInFrames = uint32(samples(cfg.Period))
	mc.Periods = uint32(cfg.Periods)
	mc.PerformanceProfile = malgo.LowLatency
	mc.Capture.Format = malgo.FormatS16
	mc.Capture.Channels = 1
	mc.Playback.Format = malgo.FormatS16
	mc.Playback.Channels = 1

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	// miniaudio reads the IDs during initialisation; they stay pinned until
	// the device is closed.
	for _, sel := range []struct {
		id   string
		mk   malgo.DeviceType
		kind Kind
		dst  *unsafe.Pointer
	}{
		{cfg.CaptureID, malgo.Capture, Capture, &mc.Capture.DeviceID},
		{cfg.PlaybackID, malgo.Playback, Playback, &mc.Playback.DeviceID},
	} {
		if sel.id == "" {
			continue
		}
		id, err := c.findID(sel.mk, sel.kind, sel.id)
		if err != nil {
			d.pin.Unpin()
			return nil, err
		}
		d.pin.Pin(id)
		*sel.dst = unsafe.Pointer(id)
	}
	dev, err := malgo.InitDevice(c.ctx.Context, mc, malgo.DeviceCallbacks{
		Data: d.onData,
		Stop: d.onStop,
	})
	if err != nil {
		d.pin.Unpin()
		return nil, fmt.Errorf("%w: opening duplex device: %w", ErrUnavailable, err)
	}
	d.dev = dev
	if got := int(dev.SampleRate()); got != cfg.SampleRate {
		// miniaudio converts to the requested rate, so this is not expected.
		dev.Uninit()
		d.pin.Unpin()
		return nil, fmt.Errorf("%w: device runs at %d Hz, not %d Hz", ErrUnavailable, got, cfg.SampleRate)
	}
	if err := dev.Start(); err != nil {
		dev.Uninit()
		d.pin.Unpin()
		return nil, fmt.Errorf("%w: starting duplex device: %w", ErrUnavailable, err)
	}
	c.devices[d] = struct{}{}
	c.log.Debug("audio device opened", "rate", cfg.SampleRate,
		"capture", cfg.CaptureID, "playback", cfg.PlaybackID)
	return d, nil
}

// SampleRate reports the rate the device runs at, in Hz.
func (d *Device) SampleRate() int { return d.rate }

// FrameSamples reports the number of samples in one DuplexConfig
// FrameDuration at the device rate.
func (d *Device) FrameSamples() int { return d.frame }

// SetVolume sets the linear gains applied to captured (in) and played
// (out) audio from the next device callback on: 0 mutes, 1 leaves the
// audio unchanged, larger values amplify with clipping. Values are clamped
// to [0, MaxGain]; NaN counts as 0.
func (d *Device) SetVolume(in, out float64) {
	d.gainIn.Store(math.Float64bits(clampGain(in)))
	d.gainOut.Store(math.Float64bits(clampGain(out)))
}

// Volume reports the gains set by SetVolume.
func (d *Device) Volume() (in, out float64) {
	return math.Float64frombits(d.gainIn.Load()), math.Float64frombits(d.gainOut.Load())
}

func clampGain(g float64) float64 {
	if !(g > 0) {
		return 0
	}
	return math.Min(g, MaxGain)
}

// Stats returns a snapshot of the device's counters.
func (d *Device) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Done returns a channel that is closed when the device stops, because of
// Close or because it failed.
func (d *Device) Done() <-chan struct{} { return d.done }

// Err reports why the device stopped on its own (wrapping ErrStopped), or
// nil while it runs and after a plain Close.
func (d *Device) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// ReadFrame fills f.Samples with captured audio at f.SampleRate, resampled
// from the device rate if they differ. It blocks until enough audio has
// been captured. After Close it returns io.EOF, discarding audio not yet
// returned; if the device failed it returns an error wrapping ErrStopped.
func (d *Device) ReadFrame(f *audio.Frame) error {
	if err := checkFrame(f); err != nil {
		return err
	}
	n := len(f.Samples)
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return io.EOF
	case d.err != nil:
		return d.err
	}
	if f.SampleRate != d.rRate {
		d.rRate, d.rOut = f.SampleRate, d.rOut[:0]
		d.rConv = nil
		if f.SampleRate != d.rate {
			d.rConv = audio.NewResampler(d.rate, f.SampleRate)
		}
	}
	for len(d.rOut) < n {
		switch {
		case d.closed:
			return io.EOF
		case d.err != nil:
			return d.err
		}
		avail := d.capture.len()
		if avail == 0 {
			d.cond.Wait()
			continue
		}
		d.rTmp = grow(d.rTmp, avail)
		d.capture.read(d.rTmp)
		if d.rConv == nil {
			d.rOut = append(d.rOut, d.rTmp...)
			continue
		}
		m := d.rConv.OutputLen(avail)
		start := len(d.rOut)
		d.rOut = append(d.rOut, make([]int16, m)...)
		got := d.rConv.Resample(d.rOut[start:], d.rTmp)
		d.rOut = d.rOut[:start+got]
	}
	copy(f.Samples, d.rOut[:n])
	rest := copy(d.rOut, d.rOut[n:])
	d.rOut = d.rOut[:rest]
	d.stats.FramesRead++
	return nil
}

// WriteFrame queues f for the speaker, resampled to the device rate if
// necessary. It never blocks on the device: when the queue is full the
// oldest queued audio is dropped and counted as an overrun. After Close it
// returns ErrClosed; if the device failed it returns an error wrapping
// ErrStopped.
func (d *Device) WriteFrame(f *audio.Frame) error {
	if err := checkFrame(f); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return ErrClosed
	case d.err != nil:
		return d.err
	}
	s := f.Samples
	if f.SampleRate != d.rate {
		if d.wConv == nil || d.wRate != f.SampleRate {
			d.wRate = f.SampleRate
			d.wConv = audio.NewResampler(f.SampleRate, d.rate)
		}
		d.wTmp = grow(d.wTmp, d.wConv.OutputLen(len(s)))
		s = d.wTmp[:d.wConv.Resample(d.wTmp, s)]
	} else {
		d.wConv, d.wRate = nil, 0
	}
	if dropped := d.play.write(s); dropped > 0 {
		d.stats.Overruns++
		d.stats.OverrunSamples += int64(dropped)
	}
	d.stats.FramesWritten++
	return nil
}

// Close stops the device, waits for its callbacks to finish and unblocks
// pending ReadFrame calls. Close is idempotent: calls after the first
// return nil, once the first has finished.
func (d *Device) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		d.cond.Broadcast()
		d.mu.Unlock()
		// Uninit joins miniaudio's thread, whose callbacks take d.mu, so
		// it must run without the lock.
		d.dev.Uninit()
		d.pin.Unpin()
		d.finish()
		d.owner.forget(d)
	})
	return nil
}

func (d *Device) finish() { d.doneOnce.Do(func() { close(d.done) }) }

// onStop runs on miniaudio's thread when the device stops without Close.
func (d *Device) onStop() {
	d.mu.Lock()
	if !d.closed && d.err == nil {
		d.err = ErrStopped
		d.owner.log.Warn("audio device stopped", "err", d.err)
	}
	d.cond.Broadcast()
	d.mu.Unlock()
	d.finish()
}

// onData runs on miniaudio's thread once per period.
func (d *Device) onData(out, in []byte, frames uint32) {
	n := int(frames)
	gin, gout := d.Volume()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stats.Callbacks++
	if len(in) >= 2*n && n > 0 {
		d.cbBuf = grow(d.cbBuf, n)
		for i := range d.cbBuf {
			d.cbBuf[i] = applyGain(int16(binary.LittleEndian.Uint16(in[2*i:])), gin)
		}
		d.stats.CapturedSamples += int64(n)
		if !d.closed {
			if dropped := d.capture.write(d.cbBuf); dropped > 0 {
				d.stats.CaptureDropped += int64(dropped)
			}
			d.cond.Broadcast()
		}
	}
	if len(out) >= 2*n && n > 0 {
		d.cbBuf = grow(d.cbBuf, n)
		got := 0
		if !d.closed {
			got = d.play.read(d.cbBuf)
		}
		for i, v := range d.cbBuf[:got] {
			binary.LittleEndian.PutUint16(out[2*i:], uint16(applyGain(v, gout)))
		}
		clear(out[2*got : 2*n])
		d.stats.PlayedSamples += int64(got)
		if got < n {
			d.stats.Underruns++
			d.stats.UnderrunSamples += int64(n - got)
		}
	}
}

func applyGain(v int16, g float64) int16 {
	if g == 1 {
		return v
	}
	x := math.Round(float64(v) * g)
	return int16(math.Max(math.MinInt16, math.Min(math.MaxInt16, x)))
}

func checkFrame(f *audio.Frame) error {
	switch {
	case f == nil:
		return fmt.Errorf("device: nil frame")
	case f.SampleRate < audio.MinSampleRate || f.SampleRate > audio.MaxSampleRate:
		return fmt.Errorf("%w: frame at %d Hz", audio.ErrSampleRate, f.SampleRate)
	}
	return nil
}

func grow(s []int16, n int) []int16 {
	if cap(s) < n {
		return make([]int16, n)
	}
	return s[:n]
}
