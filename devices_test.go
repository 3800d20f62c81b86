//go:build cgo

package voipkit

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/audio/device"
)

// openNullDevice opens a duplex device on miniaudio's null backend.
func openNullDevice(t *testing.T) *device.Device {
	t.Helper()
	ctx, err := device.Open(device.Config{Backends: []device.Backend{device.BackendNull}})
	if err != nil {
		t.Skipf("null audio backend unavailable: %v", err)
	}
	d, err := ctx.OpenDuplex(device.DuplexConfig{})
	if err != nil {
		_ = ctx.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.Close()
		_ = ctx.Close()
	})
	return d
}

// waitFor polls cond every 20 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// answerWithTone answers the next incoming call on b, sending a 440 Hz
// tone and recording what arrives.
func answerWithTone(t *testing.T, ctx context.Context, b *testPhone, cursor *int) (*Call, *audio.Capture) {
	t.Helper()
	in := waitEvent(t, b, cursor, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	heard := audio.NewCapture(8000, 30*time.Second)
	in.Call.SetSource(audio.NewToneFor(30*time.Second, 0.3, 440))
	in.Call.SetSink(heard)
	if err := in.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	return in.Call, heard
}

func TestDevicesCallAudioAndSwitch(t *testing.T) {
	leakCheck(t)
	dev1, dev2 := openNullDevice(t), openNullDevice(t)
	a := newTestPhone(t, Config{Microphone: dev1, Speaker: dev1})
	b := newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ca, cb := 0, 0
	c := dialPeer(t, ctx, a, b)
	if c.Source() != audio.Source(dev1) || c.Sink() != audio.Sink(dev1) {
		t.Fatalf("call source/sink = %v/%v, want the device", c.Source(), c.Sink())
	}

	bc, heard := answerWithTone(t, ctx, b, &cb)
	waitEvent(t, a, &ca, 5*time.Second, callState(c, CallConnected))
	waitCaptured(t, heard, 500*time.Millisecond, 5*time.Second)
	if bc.Stats().PacketsReceived == 0 {
		t.Fatal("B received no RTP from A's microphone")
	}
	start := dev1.Stats().FramesWritten
	waitFor(t, 5*time.Second, "A's audio at the first device", func() bool { return dev1.Stats().FramesWritten >= start+25 })

	a.SetAudioDevices(dev2, dev2, nil)
	if c.Source() != audio.Source(dev2) || c.Sink() != audio.Sink(dev2) {
		t.Fatal("the call did not move to the new device")
	}
	start2 := dev2.Stats().FramesWritten
	waitFor(t, 5*time.Second, "A's audio at the second device", func() bool { return dev2.Stats().FramesWritten >= start2+25 })
	old := dev1.Stats().FramesWritten
	time.Sleep(300 * time.Millisecond)
	if n := dev1.Stats().FramesWritten; n > old+1 {
		t.Fatalf("first device still written after the switch: %d -> %d frames", old, n)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, a, &ca, 5*time.Second, callState(c, CallTerminated))

	own := audio.NewCapture(8000, time.Second)
	c2 := dialPeer(t, ctx, a, b, WithSink(own))
	if c2.Sink() != audio.Sink(own) || c2.Source() != audio.Source(dev2) {
		t.Fatal("the application's sink was replaced or the microphone not set")
	}
	waitEvent(t, b, &cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	_ = c2.Hangup(ctx)
	waitEvent(t, a, &ca, 5*time.Second, callState(c2, CallTerminated))
}

func TestRingerPlaysRingtone(t *testing.T) {
	leakCheck(t)
	ringer := audio.NewCapture(8000, 30*time.Second)
	a := newTestPhone(t, Config{})
	b := newTestPhone(t, Config{Ringer: ringer})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cb := 0
	c := dialPeer(t, ctx, a, b)
	in := waitEvent(t, b, &cb, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	waitCaptured(t, ringer, 600*time.Millisecond, 5*time.Second)
	s := ringer.Samples()
	best := 0.0
	for i := 0; i+800 <= len(s); i += 400 {
		best = max(best, math.Sqrt(audio.Goertzel(s[i:i+800], 8000, 523.25)))
	}
	if best < 0.05 {
		t.Fatalf("no ringtone on the ringer: 523 Hz level %.3f", best)
	}
	if err := in.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, b, &cb, 5*time.Second, callState(in.Call, CallConnected))
	time.Sleep(100 * time.Millisecond)
	n := ringer.Len()
	time.Sleep(300 * time.Millisecond)
	if m := ringer.Len(); m > n+160 {
		t.Fatalf("ringer still written after the answer: %d -> %d samples", n, m)
	}
	_ = c.Hangup(ctx)
}

// fakeDevice is a microphone and speaker that can be made to fail.
type fakeDevice struct {
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	err     error
	written atomic.Int64
}

func (f *fakeDevice) ReadFrame(fr *audio.Frame) error {
	clear(fr.Samples)
	return nil
}

func (f *fakeDevice) WriteFrame(*audio.Frame) error {
	f.written.Add(1)
	return nil
}

func (f *fakeDevice) Done() <-chan struct{} { return f.done }

func (f *fakeDevice) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *fakeDevice) fail(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
	f.once.Do(func() { close(f.done) })
}

func TestDeviceErrorEvent(t *testing.T) {
	leakCheck(t)
	fd := &fakeDevice{done: make(chan struct{})}
	a := newTestPhone(t, Config{Microphone: fd, Speaker: fd})
	b := newTestPhone(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ca, cb := 0, 0
	c := dialPeer(t, ctx, a, b)
	_, heard := answerWithTone(t, ctx, b, &cb)
	waitEvent(t, a, &ca, 5*time.Second, callState(c, CallConnected))
	waitFor(t, 5*time.Second, "audio at the fake speaker", func() bool { return fd.written.Load() > 10 })

	errUnplugged := errors.New("unplugged")
	fd.fail(errUnplugged)
	seen := map[string]bool{}
	for range 2 {
		e := waitEvent(t, a, &ca, 5*time.Second, (func(*DeviceErrorEvent) bool)(nil))
		if !errors.Is(e.Err, errUnplugged) {
			t.Fatalf("DeviceErrorEvent.Err = %v", e.Err)
		}
		seen[e.Device] = true
	}
	if !seen["microphone"] || !seen["speaker"] {
		t.Fatalf("device error events for %v, want microphone and speaker", seen)
	}
	if c.Source() != nil || c.Sink() != nil {
		t.Fatal("the call still uses the failed device")
	}
	// The call goes on: A still sends RTP and stays connected.
	got := heard.Duration()
	waitCaptured(t, heard, got+500*time.Millisecond, 5*time.Second)
	if s := c.State(); s != CallConnected {
		t.Fatalf("call state after device error: %v", s)
	}
	_ = c.Hangup(ctx)
	waitEvent(t, a, &ca, 5*time.Second, callState(c, CallTerminated))
}
