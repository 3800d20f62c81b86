package media

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/codec"
)

// An in-process network impairment model: a sender produces 20 ms PCMU
// packets of a tone, the network loses (at random and in bursts),
// delays, reorders and duplicates them, the sender's clock may drift; the
// receive path (receiver.handle) and the playout path (player) of a real
// Session run on a virtual clock, so minutes of audio take a fraction of
// a second and every run is the same.

// jitterDist is a distribution of extra network delay.
type jitterDist int

const (
	jitterNone    jitterDist = iota
	jitterUniform            // uniform in [0, 2J]: J either side of the mean, as netem's "delay D J"
	jitterNormal             // normal with standard deviation J (clipped at 0)
	jitterPareto             // Pareto with shape 2.5 and mean J: mostly small, sometimes large
)

// netModel is the network.
type netModel struct {
	seed   uint64
	loss   float64 // random loss probability
	geGood float64 // Gilbert-Elliott: probability of going from good to bad...
	geBad  float64 // ...and from bad to good; packets are lost in the bad state
	dist   jitterDist
	jitter time.Duration
	// jitterStart and jitterEnd, when set, are when the jitter starts
	// and stops.
	jitterStart, jitterEnd time.Duration
	reorder                float64 // probability a packet is held back 1-3 frames more
	dup                    float64 // probability a packet also arrives a second time
	drift                  float64 // sender clock error: 0.001 means 0.1% fast
}

// senderModel is the sending side.
type senderModel struct {
	seq  uint16
	ts   uint32
	ssrc uint32
	// talk and pause, when set, make talkspurts with DTX silence between
	// them (no packets, timestamps go on, the marker starts a talkspurt).
	talk, pause time.Duration
	// newSSRCAt, when set, is when the sender restarts with a new SSRC,
	// sequence number and timestamp.
	newSSRCAt time.Duration
}

// simPacket is a packet on the wire.
type simPacket struct {
	at   time.Duration
	data []byte
}

// simTick is one playout tick.
type simTick struct {
	at            time.Duration
	kind          popKind
	seq, seq2     uint16
	merge         bool
	ssrc          uint32 // the source playing (by sequence numbers sent)
	delay, target time.Duration
}

// simResult is what a simulation produced.
type simResult struct {
	ticks []simTick
	lost  map[uint32]map[uint16]bool // sequence numbers the network lost, by SSRC
	sent  int
	stats Stats
	pcm   []int16
}

// simulate sends dur of audio through net to a Session's receive and
// playout paths with jitter buffer configuration jc, and plays until
// dur plus a second.
func simulate(t testing.TB, jc jitterConfig, snd senderModel, net netModel, dur time.Duration, keepPCM bool) simResult {
	t.Helper()
	c, err := codec.Lookup("PCMU")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(net.seed, 0x5eed))
	res := simResult{lost: map[uint32]map[uint16]bool{}}
	tone := &sineSource{freq: 440, amp: 8000}
	pcm := make([]int16, 160)
	var wire []simPacket
	bad := false
	const frame = 20 * time.Millisecond
	marker := true
	seqSSRC := map[uint16]uint32{}
	for i := 0; ; i++ {
		media := time.Duration(i) * frame
		if media >= dur {
			break
		}
		if snd.newSSRCAt > 0 && media >= snd.newSSRCAt {
			snd.newSSRCAt = 0
			snd.ssrc, snd.seq, snd.ts, marker = snd.ssrc+0x1111, snd.seq+20000, snd.ts+123456789, true
		}
		// The sender's clock: media time i*frame is sent at this real time.
		sendAt := time.Duration(float64(media) / (1 + net.drift))
		tone.ReadFrame(&audio.Frame{Samples: pcm, SampleRate: 8000})
		ts := snd.ts
		snd.ts += 160
		if snd.talk > 0 && media%(snd.talk+snd.pause) >= snd.talk {
			marker = true
			continue // DTX: nothing sent, the timestamp goes on
		}
		payload := make([]byte, 160)
		if _, err := enc.Encode(payload, pcm); err != nil {
			t.Fatal(err)
		}
		data := rtpPacket(t, 0, snd.seq, ts, snd.ssrc, payload)
		if marker {
			data[1] |= 0x80
			marker = false
		}
		seq := snd.seq
		snd.seq++
		seqSSRC[seq] = snd.ssrc
		res.sent++
		if res.lost[snd.ssrc] == nil {
			res.lost[snd.ssrc] = map[uint16]bool{}
		}
		// Loss: random, and Gilbert-Elliott bursts.
		if net.geGood > 0 {
			if bad {
				bad = rng.Float64() >= net.geBad
			} else {
				bad = rng.Float64() < net.geGood
			}
		}
		if bad || rng.Float64() < net.loss {
			res.lost[snd.ssrc][seq] = true
			continue
		}
		copies := 1
		if rng.Float64() < net.dup {
			copies = 2
		}
		for range copies {
			at := sendAt + 30*time.Millisecond + net.delay(rng, sendAt)
			if rng.Float64() < net.reorder {
				at += time.Duration(1+rng.IntN(3)) * frame
			}
			wire = append(wire, simPacket{at: at, data: data})
		}
	}
	slices.SortStableFunc(wire, func(a, b simPacket) int { return int(a.at - b.at) })

	remote := netip.MustParseAddrPort("127.0.0.1:40000")
	s := socketlessSession(jc, bind(c, 0, frame), remote)
	sink := &captureSink{}
	if keepPCM {
		s.SetSink(sink)
	}
	r, p := newReceiver(s), newPlayer(s)
	buf := make([]byte, 2048)
	for i := 0; p.now < dur+time.Second; {
		for ; i < len(wire) && wire[i].at <= p.now; i++ {
			n := copy(buf, wire[i].data)
			r.handle(buf[:n], remote, wire[i].at)
		}
		at := p.now
		p.playOne()
		o := p.out
		tk := simTick{at: at, kind: o.kind, seq: o.seq, seq2: o.seq2, merge: o.merge, delay: s.jb.delay, target: s.jb.target}
		if o.kind == popPacket {
			tk.ssrc = seqSSRC[o.seq]
		}
		res.ticks = append(res.ticks, tk)
	}
	res.stats = s.Stats()
	res.pcm = sink.samples
	return res
}

// delay draws a packet's extra network delay.
func (n *netModel) delay(rng *rand.Rand, at time.Duration) time.Duration {
	if n.jitterEnd > 0 && at >= n.jitterEnd || at < n.jitterStart {
		return 0
	}
	j := float64(n.jitter)
	switch n.dist {
	case jitterUniform:
		return time.Duration(rng.Float64() * 2 * j)
	case jitterNormal:
		return time.Duration(max(0, j*3+rng.NormFloat64()*j))
	case jitterPareto:
		const shape = 2.5
		xm := j * (shape - 1) / shape
		return time.Duration(xm/math.Pow(1-rng.Float64(), 1/shape) - xm)
	}
	return 0
}

// checkOrder asserts that the packets of each source play in sequence
// order, each at most once.
func checkOrder(t *testing.T, r simResult) {
	t.Helper()
	last := map[uint32]uint16{}
	have := map[uint32]bool{}
	for _, tk := range r.ticks {
		if tk.kind != popPacket {
			continue
		}
		seqs := []uint16{tk.seq}
		if tk.merge {
			seqs = append(seqs, tk.seq2)
		}
		for _, q := range seqs {
			if have[tk.ssrc] && int16(q-last[tk.ssrc]) <= 0 {
				t.Fatalf("at %v: packet %d played after %d", tk.at, q, last[tk.ssrc])
			}
			last[tk.ssrc], have[tk.ssrc] = q, true
		}
	}
}

// gapStats goes through the ticks from `from` on: for each run of
// concealed frames between two packets played, it compares the run's
// length with the packets the network lost between them. It returns
// the number of runs longer than the loss explains, the frames concealed
// and the packets lost in the period.
func gapStats(r simResult, from time.Duration) (excess, concealed, lost int) {
	var prev uint16
	var prevSSRC uint32
	started := false
	run := 0
	for _, tk := range r.ticks {
		switch tk.kind {
		case popConceal:
			if started {
				run++
			}
		case popPacket:
			if started && tk.at >= from && tk.ssrc == prevSSRC {
				l := 0
				for q := prev + 1; q != tk.seq; q++ {
					if r.lost[tk.ssrc][q] {
						l++
					}
				}
				if run > l {
					excess++
				}
				concealed += run
				lost += l
			}
			prev, prevSSRC, started, run = tk.seq, tk.ssrc, true, 0
			if tk.merge {
				prev = tk.seq2
			}
		}
	}
	return excess, concealed, lost
}

// delayStats returns the mean and largest playout delay of the packets
// played in [from, to).
func delayStats(r simResult, from, to time.Duration) (mean, largest time.Duration) {
	var sum time.Duration
	n := 0
	for _, tk := range r.ticks {
		if tk.kind == popPacket && tk.at >= from && tk.at < to {
			sum += tk.delay
			largest = max(largest, tk.delay)
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / time.Duration(n), largest
}

// settledBy returns when the delay of played packets last exceeded d
// (0 if never).
func settledBy(r simResult, d time.Duration) time.Duration {
	var at time.Duration
	for _, tk := range r.ticks {
		if tk.kind == popPacket && tk.delay > d {
			at = tk.at
		}
	}
	return at
}

var adaptive = jitterConfig{mode: JitterAdaptive, delay: DefaultJitterDelay, maxDelay: DefaultJitterMax, frame: 20 * time.Millisecond}

func TestImpairedLossAndJitter(t *testing.T) {
	// 5% random loss and ±40 ms of jitter for a minute, then no jitter
	// for 30 seconds.
	const jitter = 40 * time.Millisecond
	net := netModel{seed: 1, loss: 0.05, dist: jitterUniform, jitter: jitter, jitterEnd: 60 * time.Second}
	r := simulate(t, adaptive, senderModel{seq: 1000, ts: 5000, ssrc: 1}, net, 90*time.Second, true)
	checkOrder(t, r)

	excess, concealed, lost := gapStats(r, 10*time.Second)
	t.Logf("10-60 s and after: %d frames concealed for %d packets lost; %d gaps longer than the loss", concealed, lost, excess)
	if excess != 0 {
		t.Errorf("%d gaps longer than one concealed frame per lost packet", excess)
	}
	mean, largest := delayStats(r, 30*time.Second, 60*time.Second)
	t.Logf("delay with jitter (30-60 s): mean %v, largest %v", mean, largest)
	if limit := 2*jitter + 20*time.Millisecond; largest > limit {
		t.Errorf("delay %v with %v of jitter, want at most %v", largest, jitter, limit)
	}
	// Once the jitter stops, the delay comes down within 10 s to about
	// the minimum (one frame, plus the slack of shedding in speech).
	calm := 20*time.Millisecond + jbMargin + jbShedSlack
	at := settledBy(r, calm)
	t.Logf("jitter stops at 60 s; delay at most %v from %v", calm, at)
	if at > 70*time.Second {
		t.Errorf("delay still above %v at %v, 10 s after the jitter stopped", calm, at)
	}
	st := r.stats
	t.Logf("stats: lost %d late %d concealed %d discarded %d, delay %v target %v",
		st.PacketsLost, st.Late, st.Concealed, st.Discarded, st.JitterDelay, st.JitterTarget)
	if st.JitterDelay > calm || st.JitterTarget > calm {
		t.Errorf("final delay %v target %v", st.JitterDelay, st.JitterTarget)
	}
	// No step in the audio larger than the tone's own (µ-law) steps
	// allow, except at the fades of long losses.
	bigSteps := 0
	for i := 1; i < len(r.pcm); i++ {
		if math.Abs(float64(r.pcm[i])-float64(r.pcm[i-1])) > 1.3*2*math.Pi*440/8000*8000 {
			bigSteps++
		}
	}
	t.Logf("%d samples, %d steps larger than the tone has", len(r.pcm), bigSteps)
	if bigSteps > 20 {
		t.Errorf("%d discontinuities in the audio", bigSteps)
	}
}

func TestImpairedJitterOnset(t *testing.T) {
	// 20 s of a calm network, then ±50 ms of jitter: the delay grows at
	// once (waiting for the late packets rather than dropping them).
	net := netModel{seed: 8, dist: jitterUniform, jitter: 50 * time.Millisecond, jitterStart: 20 * time.Second}
	r := simulate(t, adaptive, senderModel{seq: 1, ts: 1, ssrc: 1}, net, 40*time.Second, false)
	checkOrder(t, r)
	before, _ := delayStats(r, 15*time.Second, 20*time.Second)
	var grown time.Duration
	for _, tk := range r.ticks {
		if tk.kind == popPacket && tk.at > 20*time.Second && tk.delay >= 90*time.Millisecond {
			grown = tk.at - 20*time.Second
			break
		}
	}
	mean, largest := delayStats(r, 30*time.Second, 40*time.Second)
	st := r.stats
	t.Logf("delay %v before; reached 90 ms %v after the jitter started; then mean %v largest %v; late %d concealed %d",
		before, grown, mean, largest, st.Late, st.Concealed)
	if before > 25*time.Millisecond || grown == 0 || grown > time.Second || largest > 120*time.Millisecond {
		t.Errorf("delay %v before; reached 90 ms %v after the jitter started; then mean %v largest %v", before, grown, mean, largest)
	}
	if st.Late > 10 || st.Concealed > 40 {
		t.Errorf("late %d concealed %d", st.Late, st.Concealed)
	}
}

func TestImpairedBurstLossAndReordering(t *testing.T) {
	// Gilbert-Elliott bursts (about 3% loss in bursts of 3), explicit
	// reordering and duplicates on top of ±20 ms of jitter.
	net := netModel{seed: 2, geGood: 0.01, geBad: 0.33, dist: jitterUniform, jitter: 20 * time.Millisecond, reorder: 0.05, dup: 0.1}
	r := simulate(t, adaptive, senderModel{seq: 65000, ts: 1, ssrc: 7}, net, 60*time.Second, false)
	checkOrder(t, r)
	excess, concealed, lost := gapStats(r, 10*time.Second)
	st := r.stats
	t.Logf("after 10 s: %d frames concealed for %d lost, %d gaps longer; stats: lost %d dup %d late %d concealed %d discarded %d, delay %v target %v",
		concealed, lost, excess, st.PacketsLost, st.Duplicates, st.Late, st.Concealed, st.Discarded, st.JitterDelay, st.JitterTarget)
	if st.Duplicates < 200 {
		t.Errorf("duplicates %d", st.Duplicates)
	}
	// Reordered packets are held back up to 60 ms more: the delay covers
	// it, so that they are rarely late.
	if st.Late > uint64(r.sent/100) {
		t.Errorf("late %d of %d", st.Late, r.sent)
	}
	// A packet held back beyond what the last seconds showed costs a
	// concealed frame while playout waits for it.
	if excess > r.sent/50 {
		t.Errorf("%d gaps longer than the loss", excess)
	}
}

func TestImpairedClockDrift(t *testing.T) {
	for _, drift := range []float64{0.001, -0.001} {
		net := netModel{seed: 3, drift: drift, dist: jitterUniform, jitter: 5 * time.Millisecond}
		r := simulate(t, adaptive, senderModel{seq: 1, ts: 1, ssrc: 9}, net, 10*time.Minute, false)
		checkOrder(t, r)
		mean, largest := delayStats(r, time.Minute, 10*time.Minute)
		_, first := delayStats(r, time.Minute, 2*time.Minute)
		_, last := delayStats(r, 9*time.Minute, 10*time.Minute)
		st := r.stats
		t.Logf("drift %+.1f%%: delay 1-10 min mean %v largest %v (minute 2 %v, minute 10 %v); late %d concealed %d discarded %d",
			drift*100, mean, largest, first, last, st.Late, st.Concealed, st.Discarded)
		// 0.6 s of drift over 10 minutes must not pile up or run dry.
		if largest > 60*time.Millisecond || last > first+10*time.Millisecond {
			t.Errorf("drift %+.1f%%: delay grew to %v (minute 2: %v, minute 10: %v)", drift*100, largest, first, last)
		}
		if st.Late != 0 || st.Concealed > 5 {
			t.Errorf("drift %+.1f%%: late %d concealed %d", drift*100, st.Late, st.Concealed)
		}
		if drift > 0 && st.Discarded < 20 {
			t.Errorf("fast sender: %d frames discarded for 600 ms of excess audio", st.Discarded)
		}
	}
}

func TestImpairedWrapAndNewSource(t *testing.T) {
	// The sequence number wraps at 2 s; at 5 s the sender restarts with
	// a new SSRC, sequence and timestamp.
	net := netModel{seed: 4, loss: 0.02, dist: jitterUniform, jitter: 10 * time.Millisecond}
	r := simulate(t, adaptive, senderModel{seq: 65535 - 100, ts: 4294967295 - 16000, ssrc: 3, newSSRCAt: 5 * time.Second}, net, 10*time.Second, true)
	checkOrder(t, r)
	played := map[uint32]int{}
	for _, tk := range r.ticks {
		if tk.kind == popPacket {
			played[tk.ssrc]++
			if tk.merge {
				played[tk.ssrc]++
			}
		}
	}
	st := r.stats
	t.Logf("played %v; stats: lost %d late %d concealed %d garbage %d", played, st.PacketsLost, st.Late, st.Concealed, st.Garbage)
	// Each source: 250 packets less 2% loss; the new one loses its first
	// packets to SSRC probation (counted as garbage).
	if played[3] < 235 || played[3+0x1111] < 230 {
		t.Errorf("played %v", played)
	}
	if excess, _, _ := gapStats(r, 0); excess != 0 {
		t.Errorf("%d gaps longer than the loss", excess)
	}
	// The audio goes on across the change.
	if n := len(r.pcm); n < 10*8000 {
		t.Errorf("%d samples for 11 s", n)
	}
}

func TestImpairedDTX(t *testing.T) {
	// Talkspurts of 1 s with 600 ms of silence (no packets) between them,
	// ±20 ms of jitter, no loss: nothing counts as lost or concealed, and
	// each talkspurt starts at the target delay.
	net := netModel{seed: 5, dist: jitterUniform, jitter: 20 * time.Millisecond}
	snd := senderModel{seq: 100, ts: 100, ssrc: 5, talk: time.Second, pause: 600 * time.Millisecond}
	r := simulate(t, adaptive, snd, net, 30*time.Second, true)
	checkOrder(t, r)
	st := r.stats
	// Between talkspurts playout first conceals (the end of a talkspurt
	// looks like loss until the next packet shows no sequence gap), then
	// plays silence; neither counts.
	gap := 0
	for _, tk := range r.ticks {
		if tk.kind == popSilence || tk.kind == popConceal {
			gap++
		}
	}
	t.Logf("stats: lost %d late %d concealed %d discarded %d; %d ticks between talkspurts; delay %v target %v",
		st.PacketsLost, st.Late, st.Concealed, st.Discarded, gap, st.JitterDelay, st.JitterTarget)
	if st.PacketsLost != 0 || st.Concealed != 0 || st.Late != 0 {
		t.Errorf("DTX counted as loss: lost %d concealed %d late %d", st.PacketsLost, st.Concealed, st.Late)
	}
	if gap < 18*28 {
		t.Errorf("%d ticks between talkspurts for 18 gaps of 600 ms", gap)
	}
	// Talkspurts (after the first few) start at the target delay: the
	// target of when the silence was timed (packets arriving since move
	// it a little), or later when the first packet comes late.
	n, exact := 0, 0
	for i := 1; i < len(r.ticks); i++ {
		tk := r.ticks[i]
		if tk.kind == popPacket && r.ticks[i-1].kind != popPacket && tk.at > 5*time.Second {
			n++
			d := tk.delay - tk.target
			if d < -3*time.Millisecond || d > 10*time.Millisecond {
				t.Errorf("talkspurt at %v starts with delay %v, target %v", tk.at, tk.delay, tk.target)
			}
			if d > -2*time.Millisecond && d < 2*time.Millisecond {
				exact++
			}
		}
	}
	t.Logf("%d talkspurt starts, %d within 2 ms of the target", n, exact)
	if n < 14 || exact < n*3/4 {
		t.Errorf("%d talkspurt starts, %d within 2 ms of the target", n, exact)
	}
	if len(r.pcm) < 30*8000 {
		t.Fatalf("%d samples", len(r.pcm))
	}
}

func TestImpairedHeavyTail(t *testing.T) {
	// Pareto jitter (mean 15 ms, occasionally over 100 ms) with 1% loss:
	// the delay stays within JitterMax, few packets come too late to play.
	net := netModel{seed: 6, loss: 0.01, dist: jitterPareto, jitter: 15 * time.Millisecond}
	r := simulate(t, adaptive, senderModel{seq: 1, ts: 1, ssrc: 1}, net, 2*time.Minute, false)
	checkOrder(t, r)
	mean, largest := delayStats(r, 10*time.Second, 2*time.Minute)
	st := r.stats
	t.Logf("Pareto: delay mean %v largest %v; lost %d late %d concealed %d discarded %d", mean, largest, st.PacketsLost, st.Late, st.Concealed, st.Discarded)
	if largest > DefaultJitterMax+20*time.Millisecond {
		t.Errorf("delay %v", largest)
	}
	if st.Late > uint64(r.sent/200) {
		t.Errorf("late %d of %d", st.Late, r.sent)
	}
}

func TestImpairedFixedMode(t *testing.T) {
	// Fixed mode keeps its delay (after waiting out late packets).
	net := netModel{seed: 7, loss: 0.02, dist: jitterUniform, jitter: 10 * time.Millisecond}
	fixed := jitterConfig{mode: JitterFixed, delay: 80 * time.Millisecond, maxDelay: DefaultJitterMax, frame: 20 * time.Millisecond}
	r := simulate(t, fixed, senderModel{seq: 1, ts: 1, ssrc: 1}, net, 30*time.Second, false)
	checkOrder(t, r)
	mean, largest := delayStats(r, 5*time.Second, 30*time.Second)
	t.Logf("fixed 80 ms: delay mean %v largest %v, target %v", mean, largest, r.stats.JitterTarget)
	if r.stats.JitterTarget != 80*time.Millisecond || mean < 78*time.Millisecond || largest > 80*time.Millisecond+jbShedSlack+time.Millisecond {
		t.Errorf("fixed 80 ms: delay mean %v largest %v, target %v", mean, largest, r.stats.JitterTarget)
	}
}

// BenchmarkJitterPushPop measures one packet through the adaptive jitter
// buffer: Push with its arrival time, then one Pop.
func BenchmarkJitterPushPop(b *testing.B) {
	j := newJitterBuffer(adaptive)
	payload := make([]byte, 160)
	dst, dst2 := make([]byte, maxPayload), make([]byte, maxPayload)
	rng := rand.New(rand.NewPCG(1, 2))
	var i int
	var now time.Duration
	step := func() {
		at := time.Duration(i)*20*time.Millisecond + time.Duration(rng.IntN(30))*time.Millisecond
		j.Push(jbPacket{seq: uint16(i), ts: uint32(160 * i), rate: 8000, payload: payload}, at)
		o := j.Pop(now, false, dst, dst2)
		now += 20*time.Millisecond + o.adjust + o.wait
		if o.merge {
			now += 20 * time.Millisecond
		}
		i++
	}
	for range 2 * len(j.slots) {
		step()
	}
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
}
