//go:build !cgo

package main

import (
	"errors"
	"io"
	"log/slog"
)

// errNoCgo is reported for every sound-card operation in this build.
var errNoCgo = errors.New("built without cgo: no sound-card audio (use -audio files)")

func listDevices(io.Writer, string, *slog.Logger) error { return errNoCgo }

func openSoundCard(_, _, _ string, _ *slog.Logger) (soundCard, error) { return nil, errNoCgo }
