package peertest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// WAVTone writes a 16-bit PCM WAV file holding a sine tone of freqHz at
// half of full scale, the same on every channel, and returns its path. An
// empty path means a new file in a temporary directory of the test.
func WAVTone(t TB, path string, freqHz, seconds float64, sampleRate, channels int) string {
	t.Helper()
	if sampleRate <= 0 || channels <= 0 || channels > 8 || seconds <= 0 || seconds > 3600 || freqHz < 0 {
		t.Fatalf("peertest: WAVTone: bad parameters %v Hz, %v s, %d Hz rate, %d channels", freqHz, seconds, sampleRate, channels)
	}
	if path == "" {
		path = filepath.Join(t.TempDir(), fmt.Sprintf("tone-%g-%d-%d.wav", freqHz, sampleRate, channels))
	}
	frames := int(seconds * float64(sampleRate))
	samples := make([]int16, frames*channels)
	step := 2 * math.Pi * freqHz / float64(sampleRate)
	for i := range frames {
		v := int16(math.Round(0.5 * 32767 * math.Sin(step*float64(i))))
		for c := range channels {
			samples[i*channels+c] = v
		}
	}
	if err := WriteWAV(path, WAV{SampleRate: sampleRate, Channels: channels, Samples: samples}); err != nil {
		t.Fatalf("peertest: %v", err)
	}
	return path
}

// WAV is 16-bit PCM audio; Samples are interleaved by channel.
type WAV struct {
	SampleRate int
	Channels   int
	Samples    []int16
}

// Duration returns the audio's length in seconds.
func (w WAV) Duration() float64 {
	if w.SampleRate <= 0 || w.Channels <= 0 {
		return 0
	}
	return float64(len(w.Samples)/w.Channels) / float64(w.SampleRate)
}

// Channel returns the samples of channel ch (0-based).
func (w WAV) Channel(ch int) []int16 {
	if w.Channels <= 0 || ch < 0 || ch >= w.Channels {
		return nil
	}
	out := make([]int16, 0, len(w.Samples)/w.Channels)
	for i := ch; i < len(w.Samples); i += w.Channels {
		out = append(out, w.Samples[i])
	}
	return out
}

// WriteWAV writes w as a canonical 44-byte-header PCM WAV file.
func WriteWAV(path string, w WAV) error {
	var buf bytes.Buffer
	dataLen := 2 * len(w.Samples)
	buf.WriteString("RIFF")
	_ = binary.Write(&buf, binary.LittleEndian, uint32(36+dataLen))
	buf.WriteString("WAVEfmt ")
	_ = binary.Write(&buf, binary.LittleEndian, struct {
		Size       uint32
		Format     uint16
		Channels   uint16
		Rate       uint32
		ByteRate   uint32
		BlockAlign uint16
		Bits       uint16
	}{16, 1, uint16(w.Channels), uint32(w.SampleRate), uint32(w.SampleRate * w.Channels * 2), uint16(w.Channels * 2), 16})
	buf.WriteString("data")
	_ = binary.Write(&buf, binary.LittleEndian, uint32(dataLen))
	_ = binary.Write(&buf, binary.LittleEndian, w.Samples)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write wav: %w", err)
	}
	return nil
}

// ReadWAV reads a 16-bit PCM WAV file. A data chunk whose size field is
// zero or too large (a file still being written) is read to the end.
func ReadWAV(path string) (WAV, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return WAV{}, fmt.Errorf("read wav: %w", err)
	}
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return WAV{}, fmt.Errorf("read wav %s: not a RIFF/WAVE file", path)
	}
	var w WAV
	haveFmt := false
	for off := 12; off+8 <= len(data); {
		id := string(data[off : off+4])
		size := int(binary.LittleEndian.Uint32(data[off+4 : off+8]))
		body := off + 8
		switch id {
		case "fmt ":
			if size < 16 || body+16 > len(data) {
				return WAV{}, fmt.Errorf("read wav %s: short fmt chunk", path)
			}
			format := binary.LittleEndian.Uint16(data[body:])
			w.Channels = int(binary.LittleEndian.Uint16(data[body+2:]))
			w.SampleRate = int(binary.LittleEndian.Uint32(data[body+4:]))
			bits := binary.LittleEndian.Uint16(data[body+14:])
			if (format != 1 && format != 0xFFFE) || bits != 16 || w.Channels == 0 {
				return WAV{}, fmt.Errorf("read wav %s: format %d, %d bits, %d channels: want 16-bit PCM", path, format, bits, w.Channels)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return WAV{}, fmt.Errorf("read wav %s: data before fmt", path)
			}
			end := body + size
			if size == 0 || end > len(data) || end < body {
				end = len(data)
			}
			n := (end - body) / 2
			w.Samples = make([]int16, n)
			for i := range n {
				w.Samples[i] = int16(binary.LittleEndian.Uint16(data[body+2*i:]))
			}
			return w, nil
		}
		next := body + size + size%2
		if next <= off || size < 0 {
			break
		}
		off = next
	}
	if !haveFmt {
		return WAV{}, errors.New("read wav " + path + ": no fmt chunk")
	}
	return WAV{}, errors.New("read wav " + path + ": no data chunk")
}
