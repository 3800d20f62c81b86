package media

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/voipkit/voipkit/audio"
)

// answeredPeer returns a started Session that answered peer's offer
// (PCMU and telephone-event 101, unless offer is given).
func answeredPeer(t *testing.T, peer *udpPeer, offer []byte) *Session {
	t.Helper()
	s := newTestSession(t, "PCMU")
	if offer == nil {
		offer = peerOffer(peer.addr())
	}
	if _, err := s.AcceptOffer(offer); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDTMFSendPacketSequence(t *testing.T) {
	peer := newUDPPeer(t)
	s := answeredPeer(t, peer, nil)
	s.SetSource(audio.NewTone(0.5, 1000))
	var pkts []*rtp.Packet
	for len(pkts) < 5 {
		p, _, err := peer.readRTP(2 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p)
	}
	if err := s.SendDTMF('5', 0); err != nil { // 160 ms
		t.Fatal(err)
	}
	var events int
	for i := 0; i < 60 && (events == 0 || pkts[len(pkts)-1].PayloadType == 101 || len(pkts) < 5+events+5); i++ {
		p, _, err := peer.readRTP(2 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p)
		if p.PayloadType == 101 {
			events++
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.WaitDTMF(ctx); err != nil {
		t.Fatalf("WaitDTMF: %v", err)
	}
	first := -1
	for i, p := range pkts {
		if p.SSRC != pkts[0].SSRC {
			t.Fatalf("packet %d: SSRC %x, want %x", i, p.SSRC, pkts[0].SSRC)
		}
		if i > 0 && p.SequenceNumber != pkts[i-1].SequenceNumber+1 {
			t.Fatalf("packet %d: sequence %d after %d", i, p.SequenceNumber, pkts[i-1].SequenceNumber)
		}
		if p.PayloadType == 101 && first < 0 {
			first = i
		}
	}
	if first < 1 {
		t.Fatal("no event packets")
	}
	ev := pkts[first : first+10]
	wantTS := pkts[first-1].Timestamp + 160
	for i, p := range ev {
		if p.PayloadType != 101 {
			t.Fatalf("event packet %d has PT %d: audio not suppressed", i, p.PayloadType)
		}
		if p.Timestamp != wantTS {
			t.Errorf("event packet %d: timestamp %d, want %d (fixed at the start)", i, p.Timestamp, wantTS)
		}
		if p.Marker != (i == 0) {
			t.Errorf("event packet %d: marker %v", i, p.Marker)
		}
		if len(p.Payload) != 4 {
			t.Fatalf("event payload %x", p.Payload)
		}
		code, end, vol := p.Payload[0], p.Payload[1]&0x80 != 0, p.Payload[1]&0x3f
		dur := binary.BigEndian.Uint16(p.Payload[2:])
		wantDur := uint16(min(160*(i+1), 1280))
		if code != 5 || vol != DefaultDTMFVolume || dur != wantDur || end != (i >= 7) {
			t.Errorf("event packet %d: code %d volume %d duration %d end %v; want 5 10 %d %v", i, code, vol, dur, end, wantDur, i >= 7)
		}
	}
	after := pkts[first+10]
	if after.PayloadType != 0 || after.Timestamp != wantTS+10*160 {
		t.Errorf("after the event: PT %d timestamp %d, want audio at %d", after.PayloadType, after.Timestamp, wantTS+1600)
	}
	if events != 10 {
		t.Errorf("%d event packets, want 10", events)
	}
	if st := s.Stats(); st.DTMFSent != 1 {
		t.Errorf("DTMFSent %d", st.DTMFSent)
	}
}

func TestDTMFSendErrors(t *testing.T) {
	s := newTestSession(t, "PCMU")
	if err := s.SendDTMF('1', 0); !errors.Is(err, ErrNotNegotiated) {
		t.Fatalf("before negotiation: %v", err)
	}
	peer := newUDPPeer(t)
	noTE := strings.Replace(string(peerOffer(peer.addr())), " 0 101\r\n", " 0\r\n", 1)
	if _, err := s.AcceptOffer([]byte(noTE)); err != nil {
		t.Fatal(err)
	}
	if s.TelephoneEvent() {
		t.Fatal("telephone-event negotiated without the peer")
	}
	if err := s.SendDTMF('1', 0); !errors.Is(err, ErrNoTelephoneEvent) {
		t.Fatalf("without telephone-event: %v", err)
	}
	for _, c := range []struct {
		d   rune
		dur time.Duration
	}{{'E', 0}, {'x', 0}, {'1', 10 * time.Millisecond}, {'1', time.Minute}} {
		if err := s.SendInbandDTMF(c.d, c.dur); !errors.Is(err, ErrInvalidDTMF) {
			t.Errorf("SendInbandDTMF(%q, %v): %v", c.d, c.dur, err)
		}
	}
	if err := s.SendInbandDTMF('a', 0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.SendInbandDTMF('1', 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if err := s.WaitDTMF(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("WaitDTMF after Close: %v", err)
	}
	if _, ok := <-s.DTMF(); ok {
		t.Fatal("DTMF channel open after Close")
	}
}

// eventPayload builds a telephone-event payload.
func eventPayload(code byte, end bool, vol byte, dur uint16) []byte {
	b := []byte{code, vol, 0, 0}
	if end {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], dur)
	return b
}

func TestDTMFReceiveDedupe(t *testing.T) {
	peer := newUDPPeer(t)
	s := answeredPeer(t, peer, nil)
	const ssrc = 0x1234
	seq := uint16(100)
	send := func(pt uint8, ts uint32, payload []byte) {
		peer.send(s.LocalAddr(), rtpPacket(t, pt, seq, ts, ssrc, payload))
		seq++
		time.Sleep(time.Millisecond)
	}
	silence := make([]byte, 160)
	for i := range silence {
		silence[i] = 0xff
	}
	send(0, 1000, silence)
	// Digit 1 at 1160: updates, three end packets, a duplicate and a late
	// update.
	for d := uint16(160); d < 800; d += 160 {
		send(101, 1160, eventPayload(1, false, 12, d))
	}
	for range 3 {
		send(101, 1160, eventPayload(1, true, 12, 800))
	}
	send(101, 1160, eventPayload(1, true, 12, 800))
	send(101, 1160, eventPayload(1, false, 12, 480))
	// Digit # at 2400: its end packets are lost; digit D at 4000 follows.
	send(101, 2400, eventPayload(11, false, 20, 160))
	send(101, 2400, eventPayload(11, false, 20, 320))
	send(101, 4000, eventPayload(15, false, 8, 160))
	send(101, 4000, eventPayload(15, true, 8, 640))
	send(101, 4000, eventPayload(15, true, 8, 640))
	// A packet of the old digit # arrives late: ignored.
	send(101, 2400, eventPayload(11, true, 20, 480))
	// Digit 7 without end packets, then audio well after it.
	send(101, 6000, eventPayload(7, false, 10, 160))
	send(0, 6000+160+800, silence)
	send(0, 6000+320+800, silence)

	want := []DTMFEvent{
		{Digit: '1', Duration: 100 * time.Millisecond, Volume: 12, End: true},
		{Digit: '#', Duration: 40 * time.Millisecond, Volume: 20},
		{Digit: 'D', Duration: 80 * time.Millisecond, Volume: 8, End: true},
		{Digit: '7', Duration: 20 * time.Millisecond, Volume: 10},
	}
	for i, w := range want {
		select {
		case ev := <-s.DTMF():
			if ev != w {
				t.Errorf("event %d: %+v, want %+v", i, ev, w)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("event %d (%c) missing", i, w.Digit)
		}
	}
	select {
	case ev := <-s.DTMF():
		t.Fatalf("extra event %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}
	if st := s.Stats(); st.DTMFReceived != 4 || st.TelephoneEvents != 16 {
		t.Errorf("DTMFReceived %d TelephoneEvents %d", st.DTMFReceived, st.TelephoneEvents)
	}
}

// collectDTMF reads n events from s within d.
func collectDTMF(t *testing.T, s *Session, n int, d time.Duration) []DTMFEvent {
	t.Helper()
	var got []DTMFEvent
	timeout := time.After(d)
	for len(got) < n {
		select {
		case ev := <-s.DTMF():
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("got %d of %d digits: %+v", len(got), n, got)
		}
	}
	return got
}

func TestDTMFLoopback(t *testing.T) {
	a := newTestSession(t, "PCMU")
	b := newTestSession(t, "PCMU")
	a.SetSource(audio.NewTone(0.3, 440))
	connect(t, a, b)
	if !a.TelephoneEvent() || !b.TelephoneEvent() {
		t.Fatal("telephone-event not negotiated")
	}
	const digits = "0123456789*#ABCD"
	for _, d := range digits {
		if err := a.SendDTMF(d, 60*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	got := collectDTMF(t, b, len(digits), 10*time.Second)
	for i, ev := range got {
		if ev.Digit != rune(digits[i]) || !ev.End || ev.Inband || ev.Duration != 60*time.Millisecond || ev.Volume != DefaultDTMFVolume {
			t.Errorf("digit %d: %+v, want %c", i, ev, digits[i])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := a.WaitDTMF(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestDTMFInbandLoopback(t *testing.T) {
	for _, codec := range []string{"PCMU", "G722"} {
		t.Run(codec, func(t *testing.T) {
			a := newTestSession(t, codec)
			b := newTestSession(t, codec)
			connect(t, a, b)
			b.SetInbandDTMF(true)
			time.Sleep(100 * time.Millisecond) // let the jitter buffer settle
			const digits = "1159#D"
			for _, d := range digits {
				if err := a.SendInbandDTMF(d, 0); err != nil {
					t.Fatal(err)
				}
			}
			got := collectDTMF(t, b, len(digits), 10*time.Second)
			for i, ev := range got {
				if ev.Digit != rune(digits[i]) || !ev.Inband || !ev.End ||
					ev.Duration < 120*time.Millisecond || ev.Duration > 200*time.Millisecond || ev.Volume < 5 || ev.Volume > 15 {
					t.Errorf("digit %d: %+v, want %c", i, ev, digits[i])
				}
			}
			select {
			case ev := <-b.DTMF():
				t.Fatalf("extra digit %+v", ev)
			case <-time.After(300 * time.Millisecond):
			}
		})
	}
}

// TestMuteKeepsRTPFlowing: a muted microphone sends silence in RTP; a
// muted speaker writes nothing to the Sink; unmuting restores both.
func TestMuteKeepsRTPFlowing(t *testing.T) {
	a := newTestSession(t, "PCMU")
	b := newTestSession(t, "PCMU")
	a.SetSource(audio.NewTone(0.5, 1000))
	capB := &captureSink{}
	b.SetSink(capB)
	connect(t, a, b)
	if !waitFor(3*time.Second, func() bool { return capB.len() > 8000 }) {
		t.Fatal("no audio")
	}
	a.SetMute(true, false)
	if mic, spk := a.Muted(); !mic || spk {
		t.Fatalf("Muted %v %v", mic, spk)
	}
	time.Sleep(200 * time.Millisecond)
	n0, sent0 := capB.len(), a.Stats().PacketsSent
	time.Sleep(400 * time.Millisecond)
	s, rate := capB.snapshot()
	if p := goertzelPower(s[n0:], rate, 1000); p > 1e-4 {
		t.Errorf("tone heard while the mic is muted: power %g", p)
	}
	if a.Stats().PacketsSent < sent0+15 {
		t.Error("RTP stopped while muted")
	}
	a.SetMute(false, false)
	b.SetMute(false, true)
	time.Sleep(200 * time.Millisecond)
	n1 := capB.len()
	time.Sleep(300 * time.Millisecond)
	if n := capB.len(); n != n1 {
		t.Errorf("speaker muted but %d samples written", n-n1)
	}
	b.SetMute(false, false)
	if !waitFor(2*time.Second, func() bool { return capB.len() > n1+4000 }) {
		t.Fatal("no audio after unmute")
	}
	s, rate = capB.snapshot()
	checkTone(t, "after unmute", s[len(s)-2000:], rate, 1000)
}
