package media

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"
)

const ms = time.Millisecond

// jbEv is a packet arriving at a jitter buffer: 20 ms PCMU-like frames at
// 8 kHz whose two-byte payload is their sequence number.
type jbEv struct {
	at     time.Duration
	seq    uint16
	ts     uint32
	marker bool
	skip   bool
}

// stream returns n packets from seq, 20 ms apart in time and 160 apart
// in timestamp, arriving at start + 20 ms * i.
func stream(seq uint16, ts uint32, start time.Duration, n int) []jbEv {
	evs := make([]jbEv, n)
	for i := range evs {
		evs[i] = jbEv{at: start + time.Duration(i)*20*ms, seq: seq + uint16(i), ts: ts + uint32(160*i)}
	}
	return evs
}

// jbSim drives a jitterBuffer with a virtual clock, playing the part of
// the player: each tick lasts a frame, the silence asked for, or the
// frame lengthened or shortened as asked.
type jbSim struct {
	j         *jitterBuffer
	now       time.Duration
	buf, buf2 []byte
	results   []pushResult
	delays    []time.Duration // delay at each packet played
}

func newJBSim(cfg jitterConfig) *jbSim {
	if cfg.frame == 0 {
		cfg.frame = 20 * ms
	}
	return &jbSim{j: newJitterBuffer(cfg), buf: make([]byte, maxPayload), buf2: make([]byte, maxPayload)}
}

func fixedJB(d time.Duration) jitterConfig {
	return jitterConfig{mode: JitterFixed, delay: d, maxDelay: 500 * ms}
}

// run delivers evs (sorted by arrival) and ticks until `until`. The trace
// lists what each tick played: a sequence number, a+b for two packets
// merged (a delay cut), "-" for concealment, "s" for silence; ticks
// before playout starts are left out.
func (h *jbSim) run(evs []jbEv, until time.Duration) string {
	var out []string
	i := 0
	for h.now < until {
		for i < len(evs) && evs[i].at <= h.now {
			e := evs[i]
			i++
			h.results = append(h.results, h.j.Push(jbPacket{
				seq: e.seq, ts: e.ts, marker: e.marker, skip: e.skip, rate: 8000,
				payload: []byte{byte(e.seq), byte(e.seq >> 8)},
			}, e.at))
		}
		o := h.j.Pop(h.now, false, h.buf, h.buf2)
		frame := 20 * ms
		switch o.kind {
		case popPacket:
			s := fmt.Sprint(uint16(h.buf[0]) | uint16(h.buf[1])<<8)
			h.delays = append(h.delays, o.delay)
			switch {
			case o.merge:
				s += fmt.Sprintf("+%d", uint16(h.buf2[0])|uint16(h.buf2[1])<<8)
				h.now += 2*frame + o.adjust
			default:
				h.now += frame + o.adjust
			}
			out = append(out, s)
		case popConceal:
			out = append(out, "-")
			h.now += frame
		case popSilence:
			out = append(out, "s")
			h.now += o.wait
		case popNothing:
			h.now += o.wait
		}
	}
	return strings.Join(out, " ")
}

func TestJitterInOrder(t *testing.T) {
	h := newJBSim(fixedJB(60 * ms))
	got := h.run(stream(100, 1000, 0, 5), 5*20*ms+60*ms)
	if got != "100 101 102 103 104" {
		t.Errorf("got %q", got)
	}
	// The first packet plays 60 ms after it arrived.
	if h.delays[0] != 60*ms || h.delays[4] != 60*ms {
		t.Errorf("delays %v", h.delays)
	}
	if j := h.j; j.late != 0 || j.duplicates != 0 || j.concealed != 0 || j.Len() != 0 {
		t.Errorf("late %d dup %d concealed %d len %d", j.late, j.duplicates, j.concealed, j.Len())
	}
}

func TestJitterReordered(t *testing.T) {
	h := newJBSim(fixedJB(60 * ms))
	evs := stream(10, 0, 0, 7)
	// 11 and 10 swap, 13 and 12, 16 and 15: each 20 ms late.
	for _, k := range []int{0, 2, 5} {
		evs[k].seq, evs[k+1].seq = evs[k+1].seq, evs[k].seq
		evs[k].ts, evs[k+1].ts = evs[k+1].ts, evs[k].ts
	}
	if got := h.run(evs, 300*ms); got != "10 11 12 13 14 15 16 - - - - - -" {
		t.Errorf("got %q", got)
	}
	for _, r := range h.results {
		if r != pushStored {
			t.Errorf("push results %v", h.results)
			break
		}
	}
	// What is concealed after the last packet stands for nothing known.
	if h.j.concealed != 0 || h.j.late != 0 {
		t.Errorf("concealed %d late %d", h.j.concealed, h.j.late)
	}
}

func TestJitterDuplicates(t *testing.T) {
	h := newJBSim(fixedJB(40 * ms))
	evs := stream(1, 160, 0, 3)
	evs = append(evs[:2], append([]jbEv{evs[1]}, evs[2:]...)...)
	// A copy of a packet already played is a duplicate too.
	evs = append(evs, jbEv{at: 200 * ms, seq: 1, ts: 160})
	if got := h.run(evs, 220*ms); !strings.HasPrefix(got, "1 2 3 ") {
		t.Errorf("got %q", got)
	}
	if h.j.duplicates != 2 || h.j.late != 0 {
		t.Errorf("duplicates %d late %d, want 2 0", h.j.duplicates, h.j.late)
	}
}

func TestJitterLossAndLate(t *testing.T) {
	h := newJBSim(fixedJB(40 * ms))
	evs := stream(50, 0, 0, 8)
	late := evs[1]
	late.at = 150 * ms // long after 52 played
	evs = append(evs[:1], evs[2:]...)
	evs = append(evs[:5], append([]jbEv{late}, evs[5:]...)...)
	evs = append(evs[:3], evs[4:]...) // 54 is lost
	got := h.run(evs, 9*20*ms+40*ms)
	if !strings.HasPrefix(got, "50 - 52 53 - 55 56 57") {
		t.Errorf("got %q", got)
	}
	if h.j.late != 1 || h.j.concealed != 2 {
		t.Errorf("late %d concealed %d, want 1 2", h.j.late, h.j.concealed)
	}
}

func TestJitterWaitsForDelayedPackets(t *testing.T) {
	// A delay spike: packets 3-7 are held up 100 ms and then arrive
	// together. Playout conceals while waiting, then plays all of them:
	// the delay has grown by the wait, nothing is lost.
	h := newJBSim(fixedJB(40 * ms))
	evs := stream(0, 0, 0, 50)
	for k := 3; k <= 7; k++ {
		evs[k].at = 7*20*ms + 20*ms
	}
	got := h.run(evs, 50*20*ms+100*ms)
	if want := "0 1 2 - - - 3 "; !strings.HasPrefix(got, want) {
		t.Errorf("got %q, want it to start %q", got, want)
	}
	if played := strings.NewReplacer("+", " ", "-", "").Replace(got); strings.Join(strings.Fields(played), " ") != seqList(0, 50) {
		t.Errorf("played %q", played)
	}
	if h.j.late != 0 || h.j.concealed != 3 {
		t.Errorf("late %d concealed %d, want 0 3", h.j.late, h.j.concealed)
	}
	// Fixed mode: the delay shrinks back to 40 ms with merges.
	if !strings.Contains(got, "+") || h.delays[len(h.delays)-1] > 40*ms+jbShedSlack {
		t.Errorf("delay not shed: %q, delays %v", got, h.delays)
	}
}

// seqList returns "from from+1 ... to-1".
func seqList(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		if i > from {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, i)
	}
	return b.String()
}

func TestJitterSequenceWrap(t *testing.T) {
	h := newJBSim(fixedJB(60 * ms))
	evs := stream(65533, 4294967000, 0, 6) // the timestamp wraps too
	evs[2], evs[3] = evs[3], evs[2]
	evs[2].at, evs[3].at = evs[3].at, evs[2].at
	got := h.run(evs, 8*20*ms)
	if !strings.HasPrefix(got, "65533 65534 65535 0 1 2") {
		t.Errorf("got %q", got)
	}
	// Packets from before the wrap are now late (or played), after it not.
	if r := h.j.Push(jbPacket{seq: 65530, ts: 4294966000, rate: 8000, payload: []byte{0, 0}}, h.now); r != pushLate {
		t.Errorf("old packet across the wrap = %v", r)
	}
	if r := h.j.Push(jbPacket{seq: 3, ts: 4294967000 + 6*160 - 1<<32, rate: 8000, payload: []byte{3, 0}}, h.now); r != pushStored {
		t.Errorf("next packet = %v", r)
	}
}

func TestJitterSkipsTelephoneEvents(t *testing.T) {
	h := newJBSim(fixedJB(40 * ms))
	evs := stream(1, 160, 0, 4)
	evs[1].skip, evs[2].skip = true, true
	evs[2].ts = evs[1].ts
	evs[3].ts = evs[1].ts // audio resumes where the events began
	if got := h.run(evs, 140*ms); !strings.HasPrefix(got, "1 4") {
		t.Errorf("got %q", got)
	}
	if h.j.concealed != 0 {
		t.Errorf("concealed %d", h.j.concealed)
	}
}

func TestJitterDTXIsSilenceNotLoss(t *testing.T) {
	// Two talkspurts: the second starts 200 ms of timestamps later with
	// the next sequence number and the marker bit.
	h := newJBSim(fixedJB(40 * ms))
	evs := stream(10, 0, 0, 5)
	more := stream(15, 5*160+1600, 5*20*ms+200*ms, 5)
	more[0].marker = true
	got := h.run(append(evs, more...), 600*ms)
	tokens := strings.Fields(got)
	if tokens[0] != "10" || tokens[4] != "14" || !strings.Contains(got, "15 16 17 18 19") {
		t.Fatalf("got %q", got)
	}
	if h.j.concealed != 0 || h.j.late != 0 {
		t.Errorf("concealed %d late %d", h.j.concealed, h.j.late)
	}
	// The second talkspurt plays at the target delay exactly.
	if d := h.delays[5]; d != 40*ms {
		t.Errorf("second talkspurt delay %v", d)
	}
}

func TestJitterTalkspurtResync(t *testing.T) {
	// The delay grew during a spike; the silence before the next
	// talkspurt gives it back at once.
	h := newJBSim(fixedJB(40 * ms))
	evs := stream(0, 0, 0, 10)
	for k := 3; k < 10; k++ {
		evs[k].at += 80 * ms
	}
	more := stream(10, 10*160+8000, 10*20*ms+time.Second, 3)
	more[0].marker = true
	h.run(append(evs, more...), 2*time.Second)
	if n := len(h.delays); n != 13 || h.delays[9] != 80*ms || h.delays[10] != 40*ms {
		t.Errorf("delays %v", h.delays)
	}
}

func TestJitterJumpResyncs(t *testing.T) {
	h := newJBSim(fixedJB(40 * ms))
	evs := stream(10, 0, 0, 2)
	// A sender restart far away: the first packet is dropped, the second
	// confirms the new sequence (and a new timeline).
	restart := stream(30000, 99999, 100*ms, 3)
	got := h.run(append(evs, restart...), 300*ms)
	if !strings.HasPrefix(got, "10 11") || !strings.Contains(got, "30001 30002") || strings.Contains(got, "30000") {
		t.Errorf("got %q", got)
	}
	if h.results[2] != pushLate || h.results[3] != pushReset {
		t.Errorf("results %v", h.results)
	}
}

func TestJitterTimestampJumps(t *testing.T) {
	// The sender's timestamps jump an hour ahead mid-stream (same
	// sequence, no marker), later they stop for two seconds: both are
	// taken as new timelines, not as an hour of silence or late packets.
	h := newJBSim(fixedJB(40 * ms))
	evs := stream(0, 0, 0, 10)
	evs = append(evs, stream(10, 8000*3600, 10*20*ms, 10)...)
	evs = append(evs, stream(20, 8000*3600+10*160, 20*20*ms+2*time.Second, 10)...)
	got := h.run(evs, 3*time.Second)
	for _, want := range []string{"0 1 2", "9 10 11", "18 19", "21 22 23 24 25 26 27 28 29"} {
		if !strings.Contains(got, want) {
			t.Errorf("got %q, missing %q", got, want)
		}
	}
}

func TestJitterRejectsOversizedPayload(t *testing.T) {
	j := newJitterBuffer(fixedJB(20 * ms))
	if r := j.Push(jbPacket{seq: 1, rate: 8000, payload: make([]byte, maxPayload+1)}, 0); r != pushTooLarge {
		t.Errorf("oversized payload = %v", r)
	}
	if j.Len() != 0 {
		t.Error("oversized payload stored")
	}
}

func TestJitterAdaptiveFollowsJitter(t *testing.T) {
	// Arrivals alternate between on time and 30 ms late: the target
	// settles a little above 30 ms, from the initial 60 ms.
	h := newJBSim(jitterConfig{maxDelay: 500 * ms})
	evs := stream(0, 0, 0, 1000)
	for i := range evs {
		if i%2 == 1 {
			evs[i].at += 30 * ms
		}
	}
	h.run(evs, 1000*20*ms)
	if tgt := h.j.target; tgt < 30*ms || tgt > 36*ms {
		t.Errorf("target %v, want 30-36 ms", tgt)
	}
	if d := h.delays[len(h.delays)-1]; d < 30*ms || d > h.j.target+jbShedSlack {
		t.Errorf("delay %v with target %v", d, h.j.target)
	}
	if h.j.late != 0 || h.j.concealed != 0 {
		t.Errorf("late %d concealed %d", h.j.late, h.j.concealed)
	}
}

func TestJitterConfig(t *testing.T) {
	bad := []Config{
		{JitterMode: 7},
		{JitterDelay: -ms},
		{JitterMin: 3 * time.Second},
		{JitterMax: -1},
		{JitterMin: 300 * ms, JitterMax: 200 * ms},
		{JitterMode: JitterFixed, JitterDelay: 600 * ms, JitterMax: 500 * ms},
	}
	for _, c := range bad {
		c.LocalIP = netip.MustParseAddr("127.0.0.1")
		if s, err := NewSession(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", c, err)
			if err == nil {
				s.Close()
			}
		}
	}
	jc, err := jitterConfigOf(Config{}, 20*ms)
	if err != nil || jc.mode != JitterAdaptive || jc.delay != DefaultJitterDelay || jc.maxDelay != DefaultJitterMax || jc.minDelay != 0 {
		t.Errorf("defaults: %+v %v", jc, err)
	}
	jc, err = jitterConfigOf(Config{JitterMode: JitterFixed, JitterDelay: 800 * ms}, 20*ms)
	if err != nil || jc.maxDelay != 800*ms {
		t.Errorf("fixed 800 ms: %+v %v", jc, err)
	}
	for m, s := range map[JitterMode]string{JitterUnknown: "unknown", JitterAdaptive: "adaptive", JitterFixed: "fixed", 9: "JitterMode(9)"} {
		if m.String() != s {
			t.Errorf("%d: %q", int(m), m.String())
		}
	}
}

// FuzzJitterBuffer feeds the jitter buffer arbitrary packets and timing:
// it must never panic, loop, or ask for absurd waits.
func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{0x10, 0, 1, 0, 1, 20, 0x10, 0, 2, 0, 5, 20, 0x13, 0xff, 0xff, 0x80, 0, 0, 0x20, 0, 3, 0, 9, 200})
	f.Add([]byte{0x31, 0x12, 0x34, 0xff, 0xff, 0, 0x12, 0x12, 0x35, 0, 0, 5, 0xf0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := adaptive
		if len(data) > 0 && data[0]&0x08 != 0 {
			cfg = fixedJB(40 * ms)
		}
		j := newJitterBuffer(cfg)
		dst, dst2 := make([]byte, maxPayload), make([]byte, maxPayload)
		var now, at time.Duration
		for ; len(data) >= 6; data = data[6:] {
			flags := data[0]
			rate := 8000
			if flags&0x04 != 0 {
				rate = 16000
			}
			at += time.Duration(data[5]) * ms
			j.Push(jbPacket{
				seq: uint16(data[1])<<8 | uint16(data[2]), ts: (uint32(data[3])<<8 | uint32(data[4])) * 40,
				marker: flags&0x01 != 0, skip: flags&0x02 != 0, rate: rate, payload: data[:6],
			}, at)
			for range flags >> 4 {
				o := j.Pop(now, flags&0x08 != 0, dst, dst2)
				if o.wait < 0 || o.wait > time.Second || o.n > len(dst) || o.adjust > time.Second || o.adjust < -time.Second {
					t.Fatalf("pop %+v", o)
				}
				now += 20*ms + o.wait + max(o.adjust, 0)
			}
			if j.Len() > len(j.slots) {
				t.Fatalf("len %d", j.Len())
			}
		}
	})
}

// TestJitterPayloadBuffersFollowDelay: the buffer keeps payload buffers
// for the packets it holds, not one per slot, so a long call at a small
// delay stays small.
func TestJitterPayloadBuffersFollowDelay(t *testing.T) {
	h := newJBSim(fixedJB(60 * ms))
	evs := stream(65000, 1000, 0, 1000) // wraps the sequence number too
	// Every 50th packet comes 100 ms late: those slots are released as
	// late instead of played.
	for i := 25; i < len(evs); i += 50 {
		evs[i].at += 100 * ms
	}
	sort.SliceStable(evs, func(a, b int) bool { return evs[a].at < evs[b].at })
	h.run(evs, 1000*20*ms+200*ms)
	buffers := len(h.j.free)
	for i := range h.j.slots {
		if h.j.slots[i].buf != nil {
			buffers++
		}
	}
	// 60 ms of 20 ms packets is three; allow for the late ones and
	// arrival order.
	if buffers > 8 {
		t.Errorf("%d payload buffers for a 60 ms delay (%d slots)", buffers, len(h.j.slots))
	}
	if buffers == 0 {
		t.Error("no payload buffer kept")
	}
	if h.j.late == 0 {
		t.Error("no packet came late: the test lost its point")
	}
}
