package audio

import (
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// readStereoWAV returns the channels of a 16-bit PCM WAV file written by
// WAVRecorder, checking its header sizes.
func readStereoWAV(t *testing.T, path string) (rate, channels int, ch [2][]int16) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 || string(b[:4]) != "RIFF" || string(b[36:40]) != "data" {
		t.Fatalf("not a WAV file: % x", b[:min(len(b), 44)])
	}
	if riff := binary.LittleEndian.Uint32(b[4:]); int(riff) != len(b)-8 {
		t.Fatalf("RIFF size %d, file %d bytes", riff, len(b))
	}
	data := int(binary.LittleEndian.Uint32(b[40:]))
	if data != len(b)-44 {
		t.Fatalf("data size %d, file %d bytes", data, len(b))
	}
	channels = int(binary.LittleEndian.Uint16(b[22:]))
	rate = int(binary.LittleEndian.Uint32(b[24:]))
	for i := 44; i+2*channels <= len(b); i += 2 * channels {
		for c := range channels {
			ch[c] = append(ch[c], int16(binary.LittleEndian.Uint16(b[i+2*c:])))
		}
	}
	return rate, channels, ch
}

func TestRecordStereoAndMono(t *testing.T) {
	dir := t.TempDir()
	for _, stereo := range []bool{true, false} {
		path := filepath.Join(dir, "rec.wav")
		r, err := CreateWAVRecorder(path, 8000, stereo)
		if err != nil {
			t.Fatal(err)
		}
		left, right := NewTone(0.4, 697), NewTone(0.4, 1209)
		fl := &Frame{Samples: make([]int16, 160), SampleRate: 8000}
		fr := &Frame{Samples: make([]int16, 320), SampleRate: 16000} // resampled on the way in
		for range 50 {
			_ = left.ReadFrame(fl)
			_ = right.ReadFrame(fr)
			if err := r.Local().WriteFrame(fl); err != nil {
				t.Fatal(err)
			}
			if err := r.Remote().WriteFrame(fr); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Local().WriteFrame(fl); err == nil {
			t.Fatal("write after Close succeeded")
		}
		rate, channels, ch := readStereoWAV(t, path)
		if rate != 8000 || len(ch[0]) < 8000 || len(ch[0]) > 8100 {
			t.Fatalf("rate %d, %d samples", rate, len(ch[0]))
		}
		lvl := func(s []int16, f float64) float64 { return math.Sqrt(Goertzel(s[800:], 8000, f)) }
		if stereo {
			if channels != 2 {
				t.Fatalf("%d channels", channels)
			}
			if l, x := lvl(ch[0], 697), lvl(ch[0], 1209); l < 0.38 || x > 0.005 {
				t.Errorf("left: 697 Hz %.3f, 1209 Hz %.3f", l, x)
			}
			if l, x := lvl(ch[1], 1209), lvl(ch[1], 697); l < 0.38 || x > 0.005 {
				t.Errorf("right: 1209 Hz %.3f, 697 Hz %.3f", l, x)
			}
		} else {
			if channels != 1 {
				t.Fatalf("%d channels", channels)
			}
			if a, b := lvl(ch[0], 697), lvl(ch[0], 1209); a < 0.38 || b < 0.38 {
				t.Errorf("mono: 697 Hz %.3f, 1209 Hz %.3f", a, b)
			}
		}
		// The standard reader accepts the file too.
		w, err := OpenWAV(path)
		if err != nil {
			t.Fatal(err)
		}
		if w.Channels() != channels || w.Len() != int64(len(ch[0])) {
			t.Errorf("WAVReader: %d channels, %d samples", w.Channels(), w.Len())
		}
		w.Close()
	}
}

func TestRecordPadsASilentSide(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	r, err := CreateWAVRecorder(path, 8000, true)
	if err != nil {
		t.Fatal(err)
	}
	f := &Frame{Samples: make([]int16, 160), SampleRate: 8000}
	for i := range f.Samples {
		f.Samples[i] = 1000
	}
	for range 50 { // one second of local audio, nothing from the remote side
		_ = r.Local().WriteFrame(f)
	}
	if r.Len() < 8000-10*160 {
		t.Fatalf("only %d samples written while one side was silent", r.Len())
	}
	if _, pr := r.Padded(); pr == 0 {
		t.Fatal("remote side not padded")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, ch := readStereoWAV(t, path)
	if len(ch[0]) != 8000 || ch[0][7999] != 1000 || ch[1][7999] != 0 {
		t.Fatalf("%d samples, last %d/%d", len(ch[0]), ch[0][7999], ch[1][7999])
	}
}

func TestPlaybackPlaylistAndLoop(t *testing.T) {
	f := &Frame{Samples: make([]int16, 160), SampleRate: 8000}
	a := &patternSource{seed: 1, limit: 240} // a frame and a half
	b := &constSource{v: 7}
	pl := NewPlaylist(a)
	if err := pl.ReadFrame(f); err != nil || f.Samples[0] != pattern(1, 0) {
		t.Fatalf("first frame: %v %d", err, f.Samples[0])
	}
	pl.Append(NewToneFor(0, 0.5, 440), nil) // empty item: skipped without a gap
	if pl.Len() != 2 {
		t.Fatalf("Len %d", pl.Len())
	}
	if err := pl.ReadFrame(f); err != nil || f.Samples[0] != pattern(1, 160) {
		t.Fatalf("second frame: %v", err)
	}
	if err := pl.ReadFrame(f); err != io.EOF {
		t.Fatalf("after the end: %v", err)
	}
	pl.Append(b)
	if err := pl.ReadFrame(f); err != nil || f.Samples[0] != 7 {
		t.Fatalf("after Append: %v %d", err, f.Samples[0])
	}
	pl.Clear()
	if err := pl.ReadFrame(f); err != io.EOF || pl.Played() != 3 {
		t.Fatalf("after Clear: %v, played %d", err, pl.Played())
	}

	l := NewLoop(&patternSource{seed: 2, limit: 400}, MixPeriod*10)
	var got []int16
	for range 6 {
		if err := l.ReadFrame(f); err != nil {
			t.Fatal(err)
		}
		got = append(got, f.Samples...)
	}
	// The source gives 3 frames (the last padded): 480 samples, repeated.
	for k, s := range got {
		want := int16(0)
		if k%480 < 400 {
			want = pattern(2, k%480)
		}
		if s != want {
			t.Fatalf("loop sample %d: %d, want %d", k, s, want)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.ReadFrame(f); err != io.EOF {
		t.Fatalf("after Close: %v", err)
	}
}
