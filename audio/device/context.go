//go:build cgo

package device

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/gen2brain/malgo"

	"github.com/voipkit/voipkit/audio"
)

// Errors reported by this package. Errors from miniaudio are wrapped in
// them, so errors.Is works with these sentinels.
var (
	// ErrUnavailable is returned when no audio backend or device could be
	// initialised: no sound card, a device that is busy, or a backend
	// library that is missing.
	ErrUnavailable = errors.New("device: audio unavailable")
	// ErrNoDevice is returned when a device ID given in a DuplexConfig is
	// not among the devices the backend lists.
	ErrNoDevice = errors.New("device: no such device")
	// ErrStopped is reported by Device.Err, ReadFrame and WriteFrame when
	// the device stopped on its own, for example because it was unplugged.
	ErrStopped = errors.New("device: stopped unexpectedly")
	// ErrClosed is audio.ErrClosed, returned by operations on a closed
	// Context or Device.
	ErrClosed = audio.ErrClosed
)

// Backend selects a miniaudio backend.
type Backend int

// Backends. The zero value, BackendAuto, lets miniaudio try the backends it
// supports on this platform in its own order of preference.
const (
	BackendAuto Backend = iota
	// BackendNull is miniaudio's null backend: one capture and one playback
	// device that capture silence, discard what they play and run at
	// real-time pace. It works without a sound card.
	BackendNull
	BackendALSA
	BackendPulseAudio
	BackendJACK
	BackendOSS
	BackendCoreAudio
	BackendWASAPI
	BackendDirectSound
	BackendAAudio
	BackendOpenSL
)

// malgoBackends maps each Backend to miniaudio's ma_backend value.
var malgoBackends = map[Backend]malgo.Backend{
	// malgo's own BackendNull constant (13) is off by one: malgo's
	// enumeration lacks miniaudio's ma_backend_custom, so 13 selects the
	// custom backend and context initialisation fails with "No backend".
	// miniaudio's null backend is 14.
	BackendNull:        malgo.Backend(14),
	BackendALSA:        malgo.BackendAlsa,
	BackendPulseAudio:  malgo.BackendPulseaudio,
	BackendJACK:        malgo.BackendJack,
	BackendOSS:         malgo.BackendOss,
	BackendCoreAudio:   malgo.BackendCoreaudio,
	BackendWASAPI:      malgo.BackendWasapi,
	BackendDirectSound: malgo.BackendDsound,
	BackendAAudio:      malgo.BackendAaudio,
	BackendOpenSL:      malgo.BackendOpensl,
}

var backendNames = map[Backend]string{
	BackendAuto:        "auto",
	BackendNull:        "null",
	BackendALSA:        "alsa",
	BackendPulseAudio:  "pulseaudio",
	BackendJACK:        "jack",
	BackendOSS:         "oss",
	BackendCoreAudio:   "coreaudio",
	BackendWASAPI:      "wasapi",
	BackendDirectSound: "directsound",
	BackendAAudio:      "aaudio",
	BackendOpenSL:      "opensl",
}

// String returns the backend's lower-case name.
func (b Backend) String() string {
	if s, ok := backendNames[b]; ok {
		return s
	}
	return fmt.Sprintf("Backend(%d)", int(b))
}

// Kind is the direction of a device.
type Kind int

// Device kinds.
const (
	Capture Kind = iota + 1
	Playback
)

// String returns "capture" or "playback".
func (k Kind) String() string {
	switch k {
	case Capture:
		return "capture"
	case Playback:
		return "playback"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Info describes one device.
type Info struct {
	// ID identifies the device within its backend; pass it to
	// DuplexConfig. It is a hexadecimal string.
	ID string
	// Name is the human-readable name.
	Name string
	// Default is set for the backend's default device of its kind.
	Default bool
}

// Config configures a Context.
type Config struct {
	// Backends lists the backends to try, in order. Empty, or a list
	// holding BackendAuto, lets miniaudio choose.
	Backends []Backend
	// Logger receives miniaudio's log messages at debug level and the
	// package's own events. Nil discards them.
	Logger *slog.Logger
}

// Context is an initialised miniaudio context: a chosen backend from which
// devices are listed and opened.
//
// A Context is safe for concurrent use.
type Context struct {
	log *slog.Logger
	ctx *malgo.AllocatedContext

	mu      sync.Mutex
	closed  bool
	devices map[*Device]struct{}
}

// Open initialises a Context with the first backend in cfg.Backends that
// works. The error wraps ErrUnavailable if none does.
func Open(cfg Config) (*Context, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var backends []malgo.Backend
	for _, b := range cfg.Backends {
		if b == BackendAuto {
			backends = nil
			break
		}
		mb, ok := malgoBackends[b]
		if !ok {
			return nil, fmt.Errorf("%w: unknown backend %v", ErrUnavailable, b)
		}
		backends = append(backends, mb)
	}
	logProc := func(msg string) {
		log.Debug("miniaudio", "msg", strings.TrimSpace(msg))
	}
	mctx, err := malgo.InitContext(backends, malgo.ContextConfig{}, logProc)
	if err != nil {
		return nil, fmt.Errorf("%w: initialising backends %v: %w", ErrUnavailable, cfg.Backends, err)
	}
	return &Context{log: log, ctx: mctx, devices: make(map[*Device]struct{})}, nil
}

// Devices lists the devices of the given kind. The list may be empty.
func (c *Context) Devices(kind Kind) ([]Info, error) {
	var mk malgo.DeviceType
	switch kind {
	case Capture:
		mk = malgo.Capture
	case Playback:
		mk = malgo.Playback
	default:
		return nil, fmt.Errorf("device: invalid kind %v", kind)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	list, err := c.ctx.Devices(mk)
	if err != nil {
		return nil, fmt.Errorf("%w: listing %v devices: %w", ErrUnavailable, kind, err)
	}
	out := make([]Info, 0, len(list))
	for _, d := range list {
		out = append(out, Info{ID: d.ID.String(), Name: d.Name(), Default: d.IsDefault != 0})
	}
	return out, nil
}

// findID returns the malgo ID of the device of kind mk whose ID string is
// id. The caller holds c.mu.
func (c *Context) findID(mk malgo.DeviceType, kind Kind, id string) (*malgo.DeviceID, error) {
	list, err := c.ctx.Devices(mk)
	if err != nil {
		return nil, fmt.Errorf("%w: listing %v devices: %w", ErrUnavailable, kind, err)
	}
	for _, d := range list {
		if d.ID.String() == id {
			mid := d.ID
			return &mid, nil
		}
	}
	return nil, fmt.Errorf("%w: %v device %q", ErrNoDevice, kind, id)
}

// Close closes every Device opened from the Context, then releases the
// Context. Close is idempotent: calls after the first return nil.
func (c *Context) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	devs := make([]*Device, 0, len(c.devices))
	for d := range c.devices {
		devs = append(devs, d)
	}
	c.mu.Unlock()
	var errs []error
	for _, d := range devs {
		errs = append(errs, d.Close())
	}
	if err := c.ctx.Uninit(); err != nil {
		errs = append(errs, fmt.Errorf("device: releasing context: %w", err))
	}
	c.ctx.Free()
	return errors.Join(errs...)
}

func (c *Context) forget(d *Device) {
	c.mu.Lock()
	delete(c.devices, d)
	c.mu.Unlock()
}

// keep interfaces honest.
var (
	_ audio.Source = (*Device)(nil)
	_ audio.Sink   = (*Device)(nil)
)
