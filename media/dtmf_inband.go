package media

import (
	"math"

	"github.com/voipkit/voipkit/audio"
)

// fullScaleDBm0 is the level of a full-scale sine in G.711 (ITU-T
// G.711: +3.14 dBm0), to turn a level in dB of full scale into dBm0.
const fullScaleDBm0 = 3.14

// tapSink stands between the playout path and the application's Sink:
// it feeds the in-band DTMF detector and discards the audio while the
// speaker is muted. A Sink that fails is not written again until SetSink
// is called. It is only called from the media loop.
type tapSink struct {
	s      *Session
	app    audio.Sink
	failed bool
}

// WriteFrame implements audio.Sink.
func (t *tapSink) WriteFrame(f *audio.Frame) error {
	t.s.detectInband(f)
	if t.app == nil || t.failed || t.s.speakerMuted.Load() {
		return nil
	}
	if err := t.app.WriteFrame(f); err != nil {
		t.failed = true
		t.s.log.Warn("media: audio sink failed; discarding audio", "err", err)
	}
	return nil
}

// detectInband runs the received audio through the DTMF detector while
// in-band detection is on. It runs on the media loop.
func (s *Session) detectInband(f *audio.Frame) {
	d := &s.dtmf
	if !d.inband.Load() {
		if d.det != nil {
			d.det.Reset()
		}
		return
	}
	if d.det == nil {
		d.det = audio.NewDTMFDetector(audio.DTMFDetectorConfig{})
		d.found = make([]audio.DTMFDetection, 0, 4)
	}
	var err error
	d.found, err = d.det.Detect(f, d.found[:0])
	if err != nil {
		return
	}
	for _, x := range d.found {
		vol := int(math.Round(-(x.Level + fullScaleDBm0)))
		d.report(DTMFEvent{Digit: x.Digit, Duration: x.Duration, Volume: min(max(vol, 0), 63), End: true, Inband: true})
	}
}
