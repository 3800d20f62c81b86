package voipkit

import (
	"reflect"
	"sync"
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/call"
)

// DeviceErrorEvent reports that a local audio device failed: Device is
// "microphone", "speaker" or "ringer". Calls that used it go on without
// local audio (silence is sent, received audio is discarded) until
// SetAudioDevices gives them a working device.
type DeviceErrorEvent struct {
	eventBase
	Device string
	Err    error
}

// ringtoneLevel is the peak amplitude of the generated ringtone.
const ringtoneLevel = 0.3

// Device roles, indexes into devices.cur.
const (
	roleMic = iota
	roleSpeaker
	roleRinger
	numRoles
)

var roleNames = [numRoles]string{"microphone", "speaker", "ringer"}

// failingDevice is a device that can stop on its own, like a
// *device.Device.
type failingDevice interface {
	Done() <-chan struct{}
	Err() error
}

// devices is the Phone's local audio devices (Config.Microphone, Speaker,
// Ringer, replaced by SetAudioDevices). Guarded by mu.
type devices struct {
	mu      sync.Mutex
	cur     [numRoles]any
	stop    [numRoles]chan struct{} // closed when the role's device is replaced
	quit    chan struct{}           // closed when the Phone closes
	ringing map[*Call]bool          // incoming calls announced by the ringer
	ringOn  bool                    // the ringer goroutine runs
}

// sameDevice reports whether a and b are the same non-nil device value.
func sameDevice(a, b any) bool {
	if a == nil || b == nil || !reflect.TypeOf(a).Comparable() || !reflect.TypeOf(b).Comparable() {
		return false
	}
	return a == b
}

// startDevices takes the devices of Config; NewPhone calls it.
func (p *Phone) startDevices() {
	d := &p.dev
	d.mu.Lock()
	d.quit = make(chan struct{})
	d.ringing = map[*Call]bool{}
	d.mu.Unlock()
	p.SetAudioDevices(p.cfg.Microphone, p.cfg.Speaker, p.cfg.Ringer)
}

// stopDevices ends the device goroutines; Close calls it.
func (p *Phone) stopDevices() {
	d := &p.dev
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.quit != nil {
		select {
		case <-d.quit:
		default:
			close(d.quit)
		}
	}
}

// SetAudioDevices sets the local microphone, speaker and ringer (nil:
// none), replacing Config.Microphone, Speaker and Ringer. Calls in
// progress that use the previous microphone or speaker move to the new
// ones; calls with a source or sink of the application's own keep it.
// Devices with Done and Err methods are watched: when one fails a
// DeviceErrorEvent is emitted.
func (p *Phone) SetAudioDevices(mic audio.Source, speaker audio.Sink, ringer audio.Sink) {
	next := [numRoles]any{nilIfNil(mic), nilIfNil(speaker), nilIfNil(ringer)}
	d := &p.dev
	d.mu.Lock()
	old := d.cur
	d.cur = next
	for r := range numRoles {
		if sameDevice(old[r], next[r]) {
			continue
		}
		if d.stop[r] != nil {
			close(d.stop[r])
			d.stop[r] = nil
		}
		if fd, ok := next[r].(failingDevice); ok && d.quit != nil {
			stop := make(chan struct{})
			d.stop[r] = stop
			quit := d.quit
			r, dev := r, next[r]
			p.goTracked(func() { p.watchDevice(r, dev, fd, stop, quit) })
		}
	}
	d.mu.Unlock()
	for _, c := range p.Calls() {
		p.moveCall(c, old[roleMic], next[roleMic], old[roleSpeaker], next[roleSpeaker])
	}
}

// nilIfNil turns a typed nil pointer into a nil interface.
func nilIfNil(v any) any {
	if v == nil {
		return nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil
	}
	return v
}

// moveCall replaces c's source oldMic by mic and its sink oldSpk by spk.
func (p *Phone) moveCall(c *Call, oldMic, mic, oldSpk, spk any) {
	if sameDevice(c.Source(), oldMic) {
		src, _ := mic.(audio.Source)
		c.SetSource(src)
	}
	if sameDevice(c.Sink(), oldSpk) {
		sink, _ := spk.(audio.Sink)
		c.SetSink(sink)
	}
}

// attachDevices gives a new call the microphone and speaker where the
// application set no source or sink of its own.
func (p *Phone) attachDevices(c *Call) {
	p.dev.mu.Lock()
	mic, spk := p.dev.cur[roleMic], p.dev.cur[roleSpeaker]
	p.dev.mu.Unlock()
	if src, ok := mic.(audio.Source); ok && c.Source() == nil {
		c.SetSource(src)
	}
	if sink, ok := spk.(audio.Sink); ok && c.Sink() == nil {
		c.SetSink(sink)
	}
}

// incomingDevices attaches the devices to a new incoming call and rings
// the ringer until it is answered or ends.
func (p *Phone) incomingDevices(c *Call) {
	p.attachDevices(c)
	d := &p.dev
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.quit == nil {
		return
	}
	d.ringing[c] = true
	if d.ringOn {
		return
	}
	quit := d.quit
	d.ringOn = p.goTracked(func() { p.ring(quit) })
}

// watchDevice waits for dev (in role r) to fail, unless it is replaced
// (stop) or the Phone closes (quit).
func (p *Phone) watchDevice(r int, dev any, fd failingDevice, stop, quit <-chan struct{}) {
	select {
	case <-fd.Done():
	case <-stop:
		return
	case <-quit:
		return
	}
	err := fd.Err()
	d := &p.dev
	d.mu.Lock()
	if !sameDevice(d.cur[r], dev) {
		d.mu.Unlock()
		return
	}
	d.cur[r] = nil
	d.stop[r] = nil
	d.mu.Unlock()
	if err == nil {
		err = audio.ErrClosed
	}
	// Calls leave the device before the event, so an application that
	// reacts to it finds them without it.
	for _, c := range p.Calls() {
		switch r {
		case roleMic:
			p.moveCall(c, dev, nil, nil, nil)
		case roleSpeaker:
			p.moveCall(c, nil, nil, dev, nil)
		}
	}
	p.emit(&DeviceErrorEvent{eventBase: eventBase{time.Now()}, Device: roleNames[r], Err: err})
}

// ring writes the ringtone into the ringer every 20 ms while an incoming
// call rings, and returns when none does or the Phone closes.
func (p *Phone) ring(quit <-chan struct{}) {
	src := p.cfg.Ringtone
	if src == nil {
		src = audio.NewRingtone(ringtoneLevel)
	}
	tick := time.NewTicker(ringbackFrame)
	defer tick.Stop()
	d := &p.dev
	var f audio.Frame
	for {
		select {
		case <-quit:
			d.mu.Lock()
			d.ringOn = false
			d.mu.Unlock()
			return
		case <-tick.C:
		}
		d.mu.Lock()
		for c := range d.ringing {
			if s := c.State(); s != call.StateIncoming && s != call.StateRinging {
				delete(d.ringing, c)
			}
		}
		if len(d.ringing) == 0 {
			d.ringOn = false
			d.mu.Unlock()
			return
		}
		sink, _ := d.cur[roleRinger].(audio.Sink)
		d.mu.Unlock()
		if sink == nil || src == nil {
			continue
		}
		sizeToneFrame(sink, &f) // tones.go
		if err := src.ReadFrame(&f); err != nil {
			src = nil // the ringtone ended: ring silently
			continue
		}
		_ = sink.WriteFrame(&f)
	}
}
