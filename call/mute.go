package call

// Mute mutes or unmutes the call without signalling (no re-INVITE): with
// mic set the peer hears silence while RTP keeps flowing, with speaker
// set the peer's audio is discarded instead of reaching the call's Sink
// (in-band DTMF is still detected). The Source and Sink stay attached,
// so unmuting restores them, as does any source or sink set meanwhile.
func (c *Call) Mute(mic, speaker bool) {
	if c.media != nil {
		c.media.SetMute(mic, speaker)
	}
}

// Muted reports the mute state set by Mute.
func (c *Call) Muted() (mic, speaker bool) {
	if c.media == nil {
		return false, false
	}
	return c.media.Muted()
}
