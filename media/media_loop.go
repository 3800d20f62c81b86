package media

import "time"

// mediaWindow is how long the media loop may hold back a packet, or a
// playout tick, that falls due shortly before the other one, so that one
// wake-up serves both. Each keeps its own schedule; a send that is a few
// milliseconds late by a slowly changing amount is well within what a
// jitter buffer absorbs, and nothing is ever played early.
const mediaWindow = 5 * time.Millisecond

// mediaLoop sends and plays out on one goroutine and one timer: the send
// path's schedule (sendClock) and the playout path's (playClock) share
// the wake-ups. The Source and the Sink are therefore both called from
// this goroutine.
func (s *Session) mediaLoop() {
	defer s.wg.Done()
	sc, pc := newSendClock(s), newPlayClock(s)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		sendAt, playAt := sc.due(now), pc.due(now)
		at := sendAt
		if playAt.Before(at) {
			at = playAt
		}
		if d := sendAt.Sub(playAt); d.Abs() <= min(mediaWindow, sc.ptime/4) {
			at = at.Add(d.Abs()) // the later of the two
		}
		if wait := time.Until(at); wait > 0 {
			timer.Reset(wait)
			select {
			case <-s.done:
				return
			case <-timer.C:
			}
		} else {
			select {
			case <-s.done:
				return
			default:
			}
		}
		now = time.Now()
		if !sendAt.After(now) {
			sc.send()
		}
		if !playAt.After(now) {
			pc.play()
		}
	}
}
