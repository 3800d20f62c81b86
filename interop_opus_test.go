//go:build cgo

package voipkit

import (
	"testing"

	_ "github.com/voipkit/voipkit/codec/opus" // registers "opus"
)

// opusCall: 48 kHz mono PCM on the Phone, opus/48000/2 in SDP; baresip's
// source must be 48 kHz stereo. The Phone sends 5000 Hz.
var opusCall = codecCall{codec: "opus", baresip: "opus/48000/2", rate: 48000, channels: 2, phoneTone: 5000}

// TestInteropBaresipOpusCallAudio: a Phone offering only Opus calls baresip
// through Kamailio, and baresip calls it; both hear the other's tone.
func TestInteropBaresipOpusCallAudio(t *testing.T) {
	t.Run("PhoneCalls", func(t *testing.T) { runCodecCall(t, opusCall, false) })
	t.Run("BaresipCalls", func(t *testing.T) { runCodecCall(t, opusCall, true) })
}
