package voipkit

import "github.com/voipkit/voipkit/audio"

// AudioSource produces audio for a call (see package audio).
type AudioSource = audio.Source

// AudioSink consumes a call's received audio (see package audio).
type AudioSink = audio.Sink
