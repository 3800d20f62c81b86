//go:build cgo

package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/voipkit/voipkit/audio/device"
)

// deviceRate is the sample rate the sound card is opened at.
const deviceRate = 16000

// backends maps the -backend values to audio backends.
var backends = map[string]device.Backend{
	"auto":  device.BackendAuto,
	"null":  device.BackendNull,
	"alsa":  device.BackendALSA,
	"pulse": device.BackendPulseAudio,
}

// cgoDevice is the duplex sound card device and the context it came from.
type cgoDevice struct {
	*device.Device
	ctx *device.Context
}

func (d *cgoDevice) Close() error {
	err := d.Device.Close()
	if cerr := d.ctx.Close(); err == nil {
		err = cerr
	}
	return err
}

func openContext(backend string, logger *slog.Logger) (*device.Context, error) {
	b, ok := backends[backend]
	if !ok {
		return nil, fmt.Errorf("unknown -backend %q", backend)
	}
	return device.Open(device.Config{Backends: []device.Backend{b}, Logger: logger})
}

// listDevices prints the capture and playback devices of the backend.
func listDevices(w io.Writer, backend string, logger *slog.Logger) error {
	ctx, err := openContext(backend, logger)
	if err != nil {
		return err
	}
	defer ctx.Close()
	for _, k := range []struct {
		kind device.Kind
		flag string
	}{{device.Capture, "-mic"}, {device.Playback, "-speaker"}} {
		list, err := ctx.Devices(k.kind)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s devices (%s ID):\n", k.kind, k.flag)
		if len(list) == 0 {
			fmt.Fprintln(w, "  none")
		}
		for _, d := range list {
			def := ""
			if d.Default {
				def = " (default)"
			}
			fmt.Fprintf(w, "  %s  %s%s\n", d.ID, d.Name, def)
		}
	}
	return nil
}

// openSoundCard opens the microphone and speaker as one duplex device.
// Empty IDs select the backend's default devices.
func openSoundCard(backend, mic, speaker string, logger *slog.Logger) (soundCard, error) {
	ctx, err := openContext(backend, logger)
	if err != nil {
		return nil, err
	}
	d, err := ctx.OpenDuplex(device.DuplexConfig{CaptureID: mic, PlaybackID: speaker, SampleRate: deviceRate})
	if err != nil {
		_ = ctx.Close()
		return nil, err
	}
	return &cgoDevice{Device: d, ctx: ctx}, nil
}
