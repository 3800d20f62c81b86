//go:build cgo

package device

import (
	"errors"
	"io"
	"math"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/voipkit/voipkit/audio"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// openNull opens a Context on miniaudio's null backend, which needs no
// sound card. A failure here is a real failure, never a skip.
func openNull(t *testing.T) *Context {
	t.Helper()
	c, err := Open(Config{Backends: []Backend{BackendNull}})
	if err != nil {
		t.Fatalf("Open(null backend): %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Context.Close: %v", err)
		}
	})
	return c
}

func openDuplex(t *testing.T, c *Context, cfg DuplexConfig) *Device {
	t.Helper()
	d, err := c.OpenDuplex(cfg)
	if err != nil {
		t.Fatalf("OpenDuplex: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// waitStats polls the device's stats until cond holds or two seconds pass.
func waitStats(t *testing.T, d *Device, what string, cond func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		s := d.Stats()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; stats %+v", what, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDevicesNull(t *testing.T) {
	c := openNull(t)
	for _, tc := range []struct {
		kind Kind
		name string
	}{
		{Capture, "NULL Capture Device"},
		{Playback, "NULL Playback Device"},
	} {
		list, err := c.Devices(tc.kind)
		if err != nil {
			t.Fatalf("Devices(%v): %v", tc.kind, err)
		}
		if len(list) != 1 {
			t.Fatalf("Devices(%v) = %+v, want the null backend's single device", tc.kind, list)
		}
		if got := list[0]; got.Name != tc.name || !got.Default || got.ID == "" {
			t.Errorf("Devices(%v)[0] = %+v, want default device %q with an ID", tc.kind, got, tc.name)
		}
	}
	if _, err := c.Devices(Kind(0)); err == nil {
		t.Error("Devices(Kind(0)) succeeded")
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(Config{Backends: []Backend{Backend(99)}}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Open(unknown backend) = %v, want ErrUnavailable", err)
	}
	c := openNull(t)
	if _, err := c.OpenDuplex(DuplexConfig{CaptureID: "feedface"}); !errors.Is(err, ErrNoDevice) {
		t.Errorf("OpenDuplex(unknown capture ID) = %v, want ErrNoDevice", err)
	}
	if _, err := c.OpenDuplex(DuplexConfig{SampleRate: 100}); !errors.Is(err, audio.ErrSampleRate) {
		t.Errorf("OpenDuplex(100 Hz) = %v, want ErrSampleRate", err)
	}
	// Listed IDs are accepted.
	capt, err := c.Devices(Capture)
	if err != nil {
		t.Fatal(err)
	}
	play, err := c.Devices(Playback)
	if err != nil {
		t.Fatal(err)
	}
	d := openDuplex(t, c, DuplexConfig{CaptureID: capt[0].ID, PlaybackID: play[0].ID})
	if d.SampleRate() != DefaultSampleRate || d.FrameSamples() != 320 {
		t.Errorf("rate %d, frame %d samples; want 16000 Hz and 320", d.SampleRate(), d.FrameSamples())
	}
}

// TestDuplexDataFlow writes a 1 kHz tone at real-time pace while reading
// the microphone, and checks the pace and the counters. The null backend
// captures silence, so the audio content is not checked.
func TestDuplexDataFlow(t *testing.T) {
	c := openNull(t)
	d := openDuplex(t, c, DuplexConfig{SampleRate: 16000})

	stop := make(chan struct{})
	wrote := make(chan int64, 1)
	go func() {
		tone := audio.NewTone(0.5, 1000)
		f := &audio.Frame{Samples: make([]int16, 320), SampleRate: 16000}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var n int64
		defer func() { wrote <- n }()
		for range 100 { // bounded: at most 2 s
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if err := tone.ReadFrame(f); err != nil {
				t.Errorf("tone: %v", err)
				return
			}
			if err := d.WriteFrame(f); err != nil {
				t.Errorf("WriteFrame: %v", err)
				return
			}
			n++
		}
	}()

	f := &audio.Frame{Samples: make([]int16, 320), SampleRate: 16000}
	if err := d.ReadFrame(f); err != nil { // let the device settle
		t.Fatalf("first ReadFrame: %v", err)
	}
	before := d.Stats()
	start := time.Now()
	frames := 0
	for time.Since(start) < 600*time.Millisecond && frames < 1000 {
		f.Samples = f.Samples[:320]
		if err := d.ReadFrame(f); err != nil {
			t.Fatalf("ReadFrame: %v", err)
		}
		if len(f.Samples) != 320 || f.SampleRate != 16000 {
			t.Fatalf("frame %d samples at %d Hz", len(f.Samples), f.SampleRate)
		}
		frames++
	}
	elapsed := time.Since(start)
	close(stop)
	written := <-wrote
	after := d.Stats()

	perSec := float64(frames) / elapsed.Seconds()
	t.Logf("%d frames in %v = %.1f/s; stats %+v", frames, elapsed, perSec, after)
	if perSec < 35 || perSec > 65 {
		t.Errorf("read %.1f frames/s, want 50 ± 30%%", perSec)
	}
	captured := float64(after.CapturedSamples-before.CapturedSamples) / elapsed.Seconds()
	if captured < 16000*0.7 || captured > 16000*1.3 {
		t.Errorf("captured %.0f samples/s, want 16000 ± 30%%", captured)
	}
	if after.FramesRead != int64(frames)+1 {
		t.Errorf("FramesRead = %d, want %d", after.FramesRead, frames+1)
	}
	if after.FramesWritten != written || written == 0 {
		t.Errorf("FramesWritten = %d, writer wrote %d", after.FramesWritten, written)
	}
	// In a duplex device each callback captures and plays the same number
	// of samples; the speaker gets queued audio or silence.
	if after.PlayedSamples+after.UnderrunSamples != after.CapturedSamples {
		t.Errorf("played %d + underrun %d != captured %d",
			after.PlayedSamples, after.UnderrunSamples, after.CapturedSamples)
	}
	if after.PlayedSamples == 0 || after.PlayedSamples > written*320 {
		t.Errorf("PlayedSamples = %d, want 1..%d", after.PlayedSamples, written*320)
	}
	if after.Overruns != 0 || after.CaptureDropped != 0 {
		t.Errorf("overruns %d, capture dropped %d at real-time pace", after.Overruns, after.CaptureDropped)
	}
	if after.Callbacks == 0 || after.CapturedSamples < int64(frames*320) {
		t.Errorf("callbacks %d, captured %d, but read %d samples", after.Callbacks, after.CapturedSamples, frames*320)
	}
}

func TestUnderrunsWithoutWrites(t *testing.T) {
	c := openNull(t)
	d := openDuplex(t, c, DuplexConfig{})
	s := waitStats(t, d, "100 ms of callbacks", func(s Stats) bool { return s.CapturedSamples >= 1600 })
	if s.Underruns == 0 || s.PlayedSamples != 0 {
		t.Errorf("nothing written: underruns %d, played %d", s.Underruns, s.PlayedSamples)
	}
	if s.Underruns > s.Callbacks || s.UnderrunSamples != s.CapturedSamples {
		t.Errorf("underruns %d of %d callbacks, %d silent samples of %d",
			s.Underruns, s.Callbacks, s.UnderrunSamples, s.CapturedSamples)
	}
}

// TestWriteResampled queues 100 ms at 8 kHz and 100 ms at 48 kHz and checks
// that exactly 200 ms at 16 kHz reach the speaker.
func TestWriteResampled(t *testing.T) {
	c := openNull(t)
	d := openDuplex(t, c, DuplexConfig{})
	tone := audio.NewTone(0.5, 1000)
	for _, rate := range []int{8000, 48000} {
		f := &audio.Frame{Samples: make([]int16, rate/50), SampleRate: rate}
		for range 5 {
			if err := tone.ReadFrame(f); err != nil {
				t.Fatal(err)
			}
			if err := d.WriteFrame(f); err != nil {
				t.Fatalf("WriteFrame at %d Hz: %v", rate, err)
			}
		}
	}
	s := waitStats(t, d, "3200 samples played", func(s Stats) bool { return s.PlayedSamples >= 3200 })
	time.Sleep(50 * time.Millisecond)
	s = d.Stats()
	if s.PlayedSamples != 3200 || s.Overruns != 0 || s.FramesWritten != 10 {
		t.Errorf("played %d samples (want 3200), overruns %d, frames written %d", s.PlayedSamples, s.Overruns, s.FramesWritten)
	}
	// Reading at other rates works too.
	for _, rate := range []int{8000, 48000} {
		f := &audio.Frame{Samples: make([]int16, rate/50), SampleRate: rate}
		for range 3 {
			if err := d.ReadFrame(f); err != nil {
				t.Fatalf("ReadFrame at %d Hz: %v", rate, err)
			}
		}
	}
	if err := d.WriteFrame(&audio.Frame{Samples: make([]int16, 10), SampleRate: 1}); !errors.Is(err, audio.ErrSampleRate) {
		t.Errorf("WriteFrame(1 Hz) = %v, want ErrSampleRate", err)
	}
	if err := d.ReadFrame(nil); err == nil {
		t.Error("ReadFrame(nil) succeeded")
	}
}

// TestOverrun writes 400 ms at once into a 200 ms queue.
func TestOverrun(t *testing.T) {
	c := openNull(t)
	d := openDuplex(t, c, DuplexConfig{Buffer: 200 * time.Millisecond})
	f := &audio.Frame{Samples: make([]int16, 320), SampleRate: 16000}
	for range 20 {
		if err := d.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	s := d.Stats()
	if s.Overruns == 0 || s.OverrunSamples < 6400-3200-s.PlayedSamples {
		t.Fatalf("overruns %d, %d samples dropped, %d played", s.Overruns, s.OverrunSamples, s.PlayedSamples)
	}
	s = waitStats(t, d, "queue drained", func(s Stats) bool { return s.PlayedSamples+s.OverrunSamples >= 6400 })
	if s.PlayedSamples+s.OverrunSamples != 6400 {
		t.Errorf("played %d + dropped %d != 6400 written", s.PlayedSamples, s.OverrunSamples)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	c := openNull(t)
	d := openDuplex(t, c, DuplexConfig{})
	errc := make(chan error, 1)
	go func() {
		// Ten seconds of audio: only Close can end this read in time.
		errc <- d.ReadFrame(&audio.Frame{Samples: make([]int16, 160000), SampleRate: 16000})
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-errc:
		t.Fatalf("ReadFrame returned early: %v", err)
	default:
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-errc:
		if err != io.EOF {
			t.Errorf("pending ReadFrame = %v, want io.EOF", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock ReadFrame")
	}
	select {
	case <-d.Done():
	default:
		t.Error("Done not closed after Close")
	}
	if err := d.Err(); err != nil {
		t.Errorf("Err after Close = %v", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := d.WriteFrame(&audio.Frame{Samples: make([]int16, 320), SampleRate: 16000}); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteFrame after Close = %v, want ErrClosed", err)
	}
	if err := d.ReadFrame(&audio.Frame{Samples: make([]int16, 320), SampleRate: 16000}); err != io.EOF {
		t.Errorf("ReadFrame after Close = %v, want io.EOF", err)
	}
	s := d.Stats()
	time.Sleep(50 * time.Millisecond)
	if d.Stats() != s {
		t.Error("callbacks continue after Close")
	}
}

func TestContextCloseClosesDevices(t *testing.T) {
	c, err := Open(Config{Backends: []Backend{BackendNull}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.OpenDuplex(DuplexConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-d.Done():
	case <-time.After(time.Second):
		t.Fatal("device still open after Context.Close")
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.Devices(Capture); !errors.Is(err, ErrClosed) {
		t.Errorf("Devices after Close = %v, want ErrClosed", err)
	}
	if _, err := c.OpenDuplex(DuplexConfig{}); !errors.Is(err, ErrClosed) {
		t.Errorf("OpenDuplex after Close = %v, want ErrClosed", err)
	}
}

func TestVolume(t *testing.T) {
	c := openNull(t)
	d := openDuplex(t, c, DuplexConfig{VolumeIn: 0.5})
	if in, out := d.Volume(); in != 0.5 || out != 1 {
		t.Errorf("Volume() = %v, %v; want 0.5, 1", in, out)
	}
	d.SetVolume(math.NaN(), 100)
	if in, out := d.Volume(); in != 0 || out != MaxGain {
		t.Errorf("Volume() = %v, %v; want 0, %v", in, out, MaxGain)
	}
	for _, tc := range []struct {
		v    int16
		g    float64
		want int16
	}{
		{1000, 1, 1000}, {1000, 0.5, 500}, {1000, 0, 0}, {-1000, 2, -2000},
		{20000, 2, math.MaxInt16}, {-20000, 2, math.MinInt16},
	} {
		if got := applyGain(tc.v, tc.g); got != tc.want {
			t.Errorf("applyGain(%d, %v) = %d, want %d", tc.v, tc.g, got, tc.want)
		}
	}
}

func TestRing(t *testing.T) {
	r := newRing(4)
	if d := r.write([]int16{1, 2, 3}); d != 0 {
		t.Fatalf("dropped %d", d)
	}
	if d := r.write([]int16{4, 5, 6}); d != 2 {
		t.Fatalf("dropped %d, want 2", d)
	}
	got := make([]int16, 8)
	if n := r.read(got); n != 4 || got[0] != 3 || got[3] != 6 {
		t.Fatalf("read %d: %v", n, got[:n])
	}
	if d := r.write([]int16{7, 8, 9, 10, 11, 12}); d != 2 || r.len() != 4 {
		t.Fatalf("dropped %d, len %d", d, r.len())
	}
	if n := r.read(got[:3]); n != 3 || got[0] != 9 || got[2] != 11 {
		t.Fatalf("read %d: %v", n, got[:n])
	}
	r.write([]int16{13, 14})
	if n := r.read(got); n != 3 || got[0] != 12 || got[2] != 14 {
		t.Fatalf("read across wrap %d: %v", n, got[:n])
	}
}
