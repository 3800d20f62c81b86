package voipkit

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/voipkit/voipkit/audio"
)

// connectPeers has from dial to, which answers with its own source and
// sink, and waits until both sides are connected.
func connectPeers(t *testing.T, ctx context.Context, from, to *testPhone, fromSrc audio.Source, fromSink audio.Sink, toSrc audio.Source, toSink audio.Sink) (out, in *Call) {
	t.Helper()
	cf, ct := len(from.log.snapshot()), len(to.log.snapshot())
	out = dialPeer(t, ctx, from, to, WithSource(fromSrc), WithSink(fromSink))
	ev := waitEvent(t, to, &ct, 5*time.Second, (func(*IncomingCallEvent) bool)(nil))
	in = ev.Call
	in.SetSource(toSrc)
	in.SetSink(toSink)
	if err := in.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, from, &cf, 5*time.Second, callState(out, CallConnected))
	waitEvent(t, to, &ct, 5*time.Second, callState(in, CallConnected))
	return out, in
}

func (l *eventLog) snapshot() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

func TestConferenceMergeThreePhones(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hub := newTestPhone(t, Config{Codecs: []string{"G722", "PCMU"}})
	narrow := newTestPhone(t, Config{Codecs: []string{"PCMU"}})
	wide := newTestPhone(t, Config{Codecs: []string{"G722"}})

	const hubTone, narrowTone, wideTone = 1000.0, 697.0, 1477.0
	hubHears := audio.NewCapture(16000, 10*time.Second)
	narrowHears := audio.NewCapture(8000, 10*time.Second)
	wideHears := audio.NewCapture(16000, 10*time.Second)

	toNarrow, _ := connectPeers(t, ctx, hub, narrow, audio.NewTone(0.4, hubTone), hubHears,
		audio.NewTone(0.4, narrowTone), narrowHears)
	toWide, _ := connectPeers(t, ctx, hub, wide, nil, nil, audio.NewTone(0.4, wideTone), wideHears)
	if toNarrow.Codec() != "PCMU" || toWide.Codec() != "G722" {
		t.Fatalf("codecs %q and %q, want PCMU and G722", toNarrow.Codec(), toWide.Codec())
	}
	if err := toNarrow.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	conf, err := hub.Merge(ctx, toNarrow, toWide)
	if err != nil {
		t.Fatal(err)
	}
	defer conf.Close()
	if local, _ := toNarrow.OnHold(); local {
		t.Fatal("Merge left a call on hold")
	}
	mix := audio.NewCapture(16000, 10*time.Second)
	conf.Record(mix)
	for _, c := range []*audio.Capture{hubHears, narrowHears, wideHears} {
		c.Reset()
	}
	waitCaptured(t, narrowHears, 1500*time.Millisecond, 10*time.Second)
	waitCaptured(t, wideHears, 1500*time.Millisecond, 10*time.Second)
	waitCaptured(t, hubHears, 1500*time.Millisecond, 10*time.Second)
	conf.Record(nil)

	type want struct {
		name  string
		c     *audio.Capture
		hears []float64
		not   float64
	}
	for _, w := range []want{
		{"narrow (PCMU)", narrowHears, []float64{hubTone, wideTone}, narrowTone},
		{"wide (G722)", wideHears, []float64{hubTone, narrowTone}, wideTone},
		{"hub local", hubHears, []float64{narrowTone, wideTone}, hubTone},
	} {
		for _, f := range w.hears {
			if l := toneLevel(w.c, f); l < 0.25 {
				t.Errorf("%s hears %v Hz at %.3f, want about 0.4", w.name, f, l)
			}
		}
		if l := toneLevel(w.c, w.not); l > 0.02 {
			t.Errorf("%s hears itself (%v Hz) at %.3f", w.name, w.not, l)
		}
	}
	for _, f := range []float64{hubTone, narrowTone, wideTone} {
		if l := toneLevel(mix, f); l < 0.25 {
			t.Errorf("conference recording: %v Hz at %.3f", f, l)
		}
	}
	if st, err := conf.LegStats(toWide); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("wide leg: %d samples padded, %d dropped; mixing at %d Hz", st.Padded, st.Dropped, conf.Rate())
	}

	// Muting the narrow leg takes it out of the others' mix.
	if err := conf.Mute(toNarrow); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	wideHears.Reset()
	waitCaptured(t, wideHears, time.Second, 10*time.Second)
	if l := toneLevel(wideHears, narrowTone); l > 0.02 {
		t.Errorf("muted leg still heard at %.3f", l)
	}
	if l := toneLevel(wideHears, hubTone); l < 0.25 {
		t.Errorf("hub no longer heard after muting another leg: %.3f", l)
	}

	// Split: each call sends its own source again (the wide leg had none:
	// silence) and the hub's audio no longer reaches the wide leaf.
	conf.Split()
	if conf.Len() != 0 {
		t.Fatalf("%d calls left after Split", conf.Len())
	}
	time.Sleep(100 * time.Millisecond)
	narrowHears.Reset()
	wideHears.Reset()
	waitCaptured(t, narrowHears, time.Second, 10*time.Second)
	waitCaptured(t, wideHears, time.Second, 10*time.Second)
	if l := toneLevel(narrowHears, hubTone); l < 0.25 {
		t.Errorf("after Split the narrow leaf hears its own call's source at %.3f", l)
	}
	if l := toneLevel(narrowHears, wideTone); l > 0.02 {
		t.Errorf("after Split the narrow leaf still hears the wide leaf at %.3f", l)
	}
	if l := toneLevel(wideHears, hubTone); l > 0.02 {
		t.Errorf("after Split the wide leaf still hears the hub at %.3f", l)
	}
	if err := conf.Close(); err != nil {
		t.Fatal(err)
	}
	if err := conf.Add(toNarrow); err == nil {
		t.Fatal("Add to a closed conference succeeded")
	}
}

// readWAVChannels reads a 16-bit PCM WAV file, checking that its header
// was completed.
func readWAVChannels(t *testing.T, path string) (rate int, ch [][]int16) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 || int(binary.LittleEndian.Uint32(b[40:])) != len(b)-44 || int(binary.LittleEndian.Uint32(b[4:])) != len(b)-8 {
		t.Fatalf("WAV header not finalized (%d bytes)", len(b))
	}
	n := int(binary.LittleEndian.Uint16(b[22:]))
	rate = int(binary.LittleEndian.Uint32(b[24:]))
	ch = make([][]int16, n)
	for i := 44; i+2*n <= len(b); i += 2 * n {
		for c := range n {
			ch[c] = append(ch[c], int16(binary.LittleEndian.Uint16(b[i+2*c:])))
		}
	}
	return rate, ch
}

func levelIn(s []int16, rate int, f float64) float64 {
	skip := rate * 3 / 10
	if len(s) <= skip+800 {
		return 0
	}
	return math.Sqrt(audio.Goertzel(s[skip:], rate, f))
}

func TestRecordCallStereoMonoAndOnHangup(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := newTestPhone(t, Config{}), newTestPhone(t, Config{})
	const ours, theirs = 697.0, 1209.0
	c, _ := connectPeers(t, ctx, a, b, audio.NewTone(0.4, ours), nil, audio.NewTone(0.4, theirs), nil)
	dir := t.TempDir()
	stereo, mono, last := filepath.Join(dir, "stereo.wav"), filepath.Join(dir, "mono.wav"), filepath.Join(dir, "last.wav")

	if err := c.Record(stereo, true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	if err := c.Record(mono, false); err != nil { // finishes the stereo file
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	if err := c.StopRecording(); err != nil {
		t.Fatal(err)
	}
	if c.Recording() {
		t.Fatal("still recording after StopRecording")
	}
	rate, ch := readWAVChannels(t, stereo)
	if rate != 8000 || len(ch) != 2 || len(ch[0]) < 8000 {
		t.Fatalf("stereo: %d Hz, %d channels, %d samples", rate, len(ch), len(ch[0]))
	}
	if l, x := levelIn(ch[0], rate, ours), levelIn(ch[0], rate, theirs); l < 0.3 || x > 0.02 {
		t.Errorf("left: our tone %.3f, theirs %.3f", l, x)
	}
	if l, x := levelIn(ch[1], rate, theirs), levelIn(ch[1], rate, ours); l < 0.3 || x > 0.02 {
		t.Errorf("right: their tone %.3f, ours %.3f", l, x)
	}
	rate, ch = readWAVChannels(t, mono)
	if len(ch) != 1 || levelIn(ch[0], rate, ours) < 0.3 || levelIn(ch[0], rate, theirs) < 0.3 {
		t.Errorf("mono: %d channels, %.3f and %.3f", len(ch), levelIn(ch[0], rate, ours), levelIn(ch[0], rate, theirs))
	}

	// A recording still running when the call ends is finalized.
	if err := c.Record(last, true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
	if _, ch := readWAVChannels(t, last); len(ch[0]) < 4000 {
		t.Errorf("recording ended by hangup holds %d samples", len(ch[0]))
	}
	if err := c.Record(last, true); err == nil {
		t.Fatal("Record on an ended call succeeded")
	}
}

func TestPlaybackToRemoteThenSourceResumes(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := newTestPhone(t, Config{}), newTestPhone(t, Config{})
	heard := audio.NewCapture(8000, 10*time.Second)
	const base, first, second = 697.0, 1209.0, 1477.0
	c, _ := connectPeers(t, ctx, a, b, audio.NewTone(0.4, base), nil, nil, heard)

	// A WAV file queued after a tone: both play, then the source resumes.
	path := filepath.Join(t.TempDir(), "prompt.wav")
	w, err := audio.CreateWAV(path, 8000)
	if err != nil {
		t.Fatal(err)
	}
	tone := audio.NewToneFor(time.Second, 0.4, second)
	f := &audio.Frame{Samples: make([]int16, 160), SampleRate: 8000}
	for tone.ReadFrame(f) == nil {
		_ = w.WriteFrame(f)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Play(audio.NewToneFor(time.Second, 0.4, first), false); err != nil {
		t.Fatal(err)
	}
	heard.Reset()
	if err := c.EnqueueFiles(path); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.Playing() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.Playing() {
		t.Fatal("playback never ended")
	}
	time.Sleep(time.Second)
	s := heard.Samples()
	seg := func(from, to time.Duration) []int16 {
		i, j := int(from.Seconds()*8000), min(int(to.Seconds()*8000), len(s))
		if i >= j {
			t.Fatalf("captured %d samples, need %v", len(s), to)
		}
		return s[i:j]
	}
	lvl := func(x []int16, f float64) float64 { return math.Sqrt(audio.Goertzel(x, 8000, f)) }
	if p1 := seg(200*time.Millisecond, 800*time.Millisecond); lvl(p1, first) < 0.3 || lvl(p1, base) > 0.02 {
		t.Errorf("first prompt: %.3f, source %.3f", lvl(p1, first), lvl(p1, base))
	}
	if p2 := seg(1300*time.Millisecond, 1800*time.Millisecond); lvl(p2, second) < 0.3 || lvl(p2, first) > 0.02 {
		t.Errorf("queued file: %.3f, first prompt %.3f", lvl(p2, second), lvl(p2, first))
	}
	tail := s[len(s)-4000:]
	if lvl(tail, base) < 0.3 || lvl(tail, second) > 0.02 {
		t.Errorf("after playback: source %.3f, prompt %.3f", lvl(tail, base), lvl(tail, second))
	}

	// A looping prompt plays until stopped.
	if err := c.Play(audio.NewToneFor(300*time.Millisecond, 0.4, first), true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if !c.Playing() {
		t.Fatal("looping playback ended by itself")
	}
	c.StopPlayback()
	if c.Playing() {
		t.Fatal("Playing after StopPlayback")
	}
}
