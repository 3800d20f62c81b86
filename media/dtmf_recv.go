package media

import (
	"encoding/binary"
	"time"
)

// dtmfRecv tracks the RFC 4733 event being received, to report each
// event once, at its end. It is owned by the receive goroutine.
type dtmfRecv struct {
	have     bool   // an event is tracked
	ts       uint32 // its RTP timestamp
	code     uint8
	dur      uint32 // its duration so far, in clock units
	base     uint32 // duration of earlier segments of a long event
	volume   int
	reported bool
}

// event handles a telephone-event payload with RTP timestamp ts at the
// given clock rate (RFC 4733 section 2.5.2): packets of a reported
// event, including its retransmitted end packets, are ignored; an event
// is reported when its first end packet arrives, or unfinished when a
// new event starts before its end was seen or it has lasted
// dtmfHeldReport.
func (d *dtmfRecv) event(st *dtmfState, ts uint32, payload []byte, rate int) {
	if len(payload) < 4 || rate <= 0 {
		return
	}
	code := payload[0]
	end := payload[1]&0x80 != 0
	volume := int(payload[1] & 0x3f)
	dur := uint32(binary.BigEndian.Uint16(payload[2:4]))
	if d.have {
		switch delta := int32(ts - d.ts); {
		case delta == 0:
			if d.reported {
				return
			}
			d.dur = max(d.dur, dur)
			d.volume = volume
			if end || d.held(rate) {
				d.report(st, rate, end)
			}
			return
		case delta < 0:
			return // a late packet of an earlier event
		}
		if !d.reported {
			if code == d.code && ts == d.ts+d.dur {
				// The next segment of a long event (section 2.5.1.3).
				d.base += d.dur
				d.ts, d.dur, d.volume = ts, dur, volume
				if end {
					d.report(st, rate, true)
				}
				return
			}
			d.report(st, rate, false)
		}
	}
	*d = dtmfRecv{have: true, ts: ts, code: code, dur: dur, volume: volume}
	if end {
		d.report(st, rate, true)
	}
}

// held reports whether the tracked event has lasted dtmfHeldReport: a
// key held down (or a peer that sends the end only when the next key is
// pressed) is reported then, unfinished, rather than when it ends.
func (d *dtmfRecv) held(rate int) bool {
	return int64(d.base)+int64(d.dur) >= int64(rate)*int64(dtmfHeldReport)/int64(time.Second)
}

// audio notes an audio packet with timestamp ts: an event that never
// ended is reported once the audio is well past it.
func (d *dtmfRecv) audio(st *dtmfState, ts uint32, rate int) {
	if !d.have || d.reported || rate <= 0 {
		return
	}
	grace := uint32(int64(rate) * int64(dtmfFlushGrace) / int64(time.Second))
	if int32(ts-(d.ts+d.dur+grace)) > 0 {
		d.report(st, rate, false)
	}
}

// report delivers the tracked event once.
func (d *dtmfRecv) report(st *dtmfState, rate int, end bool) {
	d.reported = true
	if int(d.code) >= len(dtmfDigits) {
		return // not a DTMF digit (flash, line events...)
	}
	total := int64(d.base) + int64(d.dur)
	st.report(DTMFEvent{
		Digit:    rune(dtmfDigits[d.code]),
		Duration: time.Duration(total * int64(time.Second) / int64(rate)),
		Volume:   d.volume,
		End:      end,
	})
}
