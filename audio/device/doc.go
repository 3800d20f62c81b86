// Package device connects calls to the machine's microphone and speaker
// through miniaudio (github.com/gen2brain/malgo).
//
// A Context selects the audio backends and lists devices; OpenDuplex opens
// a capture and a playback device together as one *Device, which is both an
// audio.Source (what the microphone hears) and an audio.Sink (what the
// speaker plays), at whatever sample rate the caller's frames use.
//
// The package needs cgo: miniaudio is compiled from the C source bundled
// with malgo, with no system development packages. Built with
// CGO_ENABLED=0 the package is empty apart from this documentation.
//
// Machines without a sound card can use BackendNull, a real miniaudio
// backend whose devices capture silence, discard playback and call back at
// real-time pace.
package device
