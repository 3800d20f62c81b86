//go:build unix

// Command loadtest measures how many concurrent calls voipkit carries on
// one machine. It starts two Phones on 127.0.0.1: the callee answers every
// call automatically, the caller places -calls bidirectional G.711 calls at
// -ramp calls per second, holds them for -duration while both sides send a
// tone (or silence), hangs them all up and prints what the run cost: setup
// rate, CPU per call, packet statistics summed over both ends of every
// call, heap and goroutines per call, and SRTP authentication failures.
//
// Both ends of every call run in this one process, so "per call" figures
// cover two media sessions (caller and callee), and "calls per core" is how
// many such loopback calls one CPU core carries; an application that is
// one end of each call needs about half as much.
//
//	go run ./examples/loadtest -calls 500 -duration 20s -srtp -cpuprofile cpu.out
//	go tool pprof -top cpu.out
//
// With -floor it runs the same packet pattern over bare UDP sockets (two
// per call, a 172-byte datagram each way every 20 ms, one reading
// goroutine per socket) with no voipkit code at all: the CPU that costs
// is what the kernel's loopback path takes, a floor under any figure the
// full run can reach on the same machine.
//
//	go run ./examples/loadtest -floor -calls 800 -duration 10s
//
// With -shared both Phones use Config.SharedMediaPort: each carries all
// its calls' media over one port pair, reading and writing in batches
// and pacing every call from one goroutine.
//
//	go run ./examples/loadtest -shared -calls 2000 -srtp
//
// With -split the callee Phone runs in a child process, so that each
// Phone's CPU is measured on its own; -callee-cpus pins the child:
//
//	taskset -c 0 ./loadtest -split -callee-cpus 1 -shared -vad=false -calls 2000 -ramp 200 -srtp
//
// To measure what one core carries, pin the process to one:
//
//	go build -o loadtest ./examples/loadtest
//	taskset -c 0 env GOMAXPROCS=1 ./loadtest -calls 500 -srtp
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"net/netip"

	"github.com/voipkit/voipkit"
	"github.com/voipkit/voipkit/audio"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

type options struct {
	calls      int
	duration   time.Duration
	srtp       bool
	codec      string
	ramp       float64
	cpuprofile string
	memprofile string
	floor      bool
	shared     bool
	vad        bool
	split      bool
	suite      string
	calleeCPUs string
	serve      bool
	silence    bool
	setupWait  time.Duration
}

func run() error {
	var o options
	flag.IntVar(&o.calls, "calls", 100, "number of concurrent calls")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "how long the calls are held once all are set up")
	flag.BoolVar(&o.srtp, "srtp", false, "mandatory SRTP on both phones")
	flag.StringVar(&o.suite, "suite", "", "with -srtp, the one SRTP crypto suite offered (e.g. AEAD_AES_128_GCM); empty: the Phone's default list, AES_CM_128_HMAC_SHA1_80 first")
	flag.StringVar(&o.codec, "codec", "PCMU", "codec (PCMU or PCMA)")
	flag.Float64Var(&o.ramp, "ramp", 100, "calls dialled per second during setup")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the hold phase to this file")
	flag.BoolVar(&o.shared, "shared", false, "both phones carry all calls' media over one shared port pair (Config.SharedMediaPort): batched reads and writes, one pacing goroutine")
	flag.BoolVar(&o.vad, "vad", true, "voice activity detection on every call (the Phone's default); -vad=false sets Config.DisableVoiceActivity, as a dialer or bot that needs no VoiceActivityEvent would")
	flag.BoolVar(&o.split, "split", false, "run the callee Phone in a child process, so that each Phone's CPU is measured on its own (one end of every call each)")
	flag.StringVar(&o.calleeCPUs, "callee-cpus", "", "with -split, pin the callee process to these CPUs with taskset (e.g. 1)")
	flag.BoolVar(&o.serve, "serve-callee", false, "internal: run as the callee process of -split")
	flag.BoolVar(&o.floor, "floor", false, "measure the UDP loopback floor instead: the same packet pattern with no voipkit code")
	flag.StringVar(&o.memprofile, "memprofile", "", "write a heap profile taken at the end of the hold phase to this file")
	flag.BoolVar(&o.silence, "silence", true, "send silence (encoded as G.711 like any audio); -silence=false sends a generated tone, whose synthesis then shows in the CPU figures")
	flag.DurationVar(&o.setupWait, "setup-timeout", 60*time.Second, "how long to wait for the last call to connect")
	flag.Parse()
	if o.memprofile != "" {
		runtime.MemProfileRate = 4096 // fine enough to attribute a call's few kilobytes
	}
	if o.calls < 1 || o.ramp <= 0 || o.duration <= 0 {
		return errors.New("-calls, -ramp and -duration must be positive")
	}
	if o.codec != "PCMU" && o.codec != "PCMA" {
		return fmt.Errorf("-codec %q: the harness measures G.711 (PCMU or PCMA)", o.codec)
	}

	if o.floor {
		return runFloor(o.calls, o.duration)
	}
	soft, hard, err := raiseFileLimit()
	if err != nil {
		fmt.Printf("open files limit: %d (hard %d); could not raise it: %v\n", soft, hard, err)
	} else {
		fmt.Printf("open files limit: %d (hard %d)\n", soft, hard)
	}
	// Two RTP sockets per session, two sessions per call, plus SIP.
	if need := uint64(4*o.calls + 64); need > soft && !o.shared {
		return fmt.Errorf("%d calls need about %d file descriptors; the limit is %d", o.calls, need, soft)
	}
	if o.calls > 9900 {
		return errors.New("at most 9900 calls: each phone's RTP port range holds 10000 pairs")
	}

	policy := voipkit.SRTPOff
	if o.srtp {
		policy = voipkit.SRTPMandatory
	}
	base := voipkit.Config{
		ListenAddr:  netip.MustParseAddrPort("127.0.0.1:0"),
		MediaIP:     netip.MustParseAddr("127.0.0.1"),
		Codecs:      []string{o.codec},
		SRTP:        policy,
		EventBuffer: 16 * o.calls,

		SRTPSuites:           suites(o.suite),
		SharedMediaPort:      o.shared,
		DisableVoiceActivity: !o.vad,
	}
	calleeCfg := base
	calleeCfg.RTPPortMin, calleeCfg.RTPPortMax = 40000, 59999
	if o.serve {
		return serveCallee(calleeCfg, o.silence)
	}
	callerCfg := base
	callerCfg.RTPPortMin, callerCfg.RTPPortMax = 20000, 39999

	var drain sync.WaitGroup
	var callee calleeSide
	if o.split {
		args := []string{"-calls", fmt.Sprint(o.calls), "-codec", o.codec, fmt.Sprintf("-srtp=%v", o.srtp), "-suite", o.suite,
			fmt.Sprintf("-shared=%v", o.shared), fmt.Sprintf("-vad=%v", o.vad), fmt.Sprintf("-silence=%v", o.silence)}
		child, err := spawnCallee(context.Background(), o.calleeCPUs, args)
		if err != nil {
			return err
		}
		callee = child
	} else {
		drain.Add(1)
		local, err := startCallee(calleeCfg, o.silence, drain.Done)
		if err != nil {
			return err
		}
		callee = local
	}
	defer callee.close()
	caller, err := voipkit.NewPhone(callerCfg)
	if err != nil {
		return err
	}
	defer caller.Close()

	// The caller's events tell when each call connects or fails.
	var (
		mu        sync.Mutex
		pending   = map[*voipkit.Call]chan bool{}
		early     = map[*voipkit.Call]bool{} // outcomes seen before Dial returned
		connected atomic.Int64
		failed    atomic.Int64
		lastConn  atomic.Int64 // UnixNano of the latest connect
	)
	outcome := func(c *voipkit.Call, ok bool) {
		mu.Lock()
		ch, found := pending[c]
		if found {
			delete(pending, c)
		} else {
			early[c] = ok
		}
		mu.Unlock()
		if found {
			ch <- ok
		}
	}
	drain.Add(1)
	go func() {
		defer drain.Done()
		for ev := range caller.Events() {
			st, ok := ev.(*voipkit.CallStateEvent)
			if !ok {
				continue
			}
			switch st.State {
			case voipkit.CallConnected:
				outcome(st.Call, true)
			case voipkit.CallTerminated:
				outcome(st.Call, false)
			}
		}
	}()

	baseline := sample()
	fmt.Printf("calls %d, srtp %v, codec %s, ramp %.0f/s, hold %v, GOMAXPROCS %d\n",
		o.calls, o.srtp, o.codec, o.ramp, o.duration, runtime.GOMAXPROCS(0))

	// Setup: dial at the ramp rate; each call reports on its channel.
	target := callee.target()
	ctx := context.Background()
	setupStart := time.Now()
	cpuSetup0 := cpuTime()
	var (
		callsMu sync.Mutex
		calls   []*voipkit.Call
		wg      sync.WaitGroup
	)
	interval := time.Duration(float64(time.Second) / o.ramp)
	for i := 0; i < o.calls; i++ {
		if d := time.Until(setupStart.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch := make(chan bool, 1)
			c, err := caller.Dial(ctx, target, voipkit.WithSource(newSource(o.silence, 1000)))
			if err != nil {
				failed.Add(1)
				return
			}
			mu.Lock()
			if ok, seen := early[c]; seen {
				delete(early, c)
				ch <- ok
			} else {
				pending[c] = ch
			}
			mu.Unlock()
			callsMu.Lock()
			calls = append(calls, c)
			callsMu.Unlock()
			select {
			case ok := <-ch:
				if ok {
					connected.Add(1)
					lastConn.Store(time.Now().UnixNano())
				} else {
					failed.Add(1)
				}
			case <-time.After(o.setupWait):
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	setupCPU := cpuTime() - cpuSetup0
	nConn := int(connected.Load())
	setupElapsed := time.Duration(lastConn.Load() - setupStart.UnixNano())
	if nConn == 0 {
		return fmt.Errorf("no call was set up (%d failed)", failed.Load())
	}

	// Hold: measure steady-state cost.
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	time.Sleep(time.Second) // let the jitter buffers settle before measuring
	holdStart := time.Now()
	cpuHold0 := cpuTime()
	markBefore, err := callee.mark()
	if err != nil {
		return err
	}
	before := sumStats(calls, nil).add(markBefore.stats)
	time.Sleep(o.duration)
	holdCPU := cpuTime() - cpuHold0
	holdElapsed := time.Since(holdStart)
	markAfter, err := callee.mark()
	if err != nil {
		return err
	}
	after := sumStats(calls, nil).add(markAfter.stats)
	if o.cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	mid := sample() // after the window: a forced GC of a big heap is slow
	if o.memprofile != "" {
		if err := writeHeapProfile(o.memprofile); err != nil {
			return err
		}
	}
	alive := 0
	for _, c := range calls {
		if c.State() == voipkit.CallConnected {
			alive++
		}
	}

	// Tear down.
	hangStart := time.Now()
	sem := make(chan struct{}, 64)
	for _, c := range calls {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_ = c.Hangup(hctx)
			_ = c.Wait(hctx)
		}()
	}
	wg.Wait()
	hangElapsed := time.Since(hangStart)

	// Report.
	// A call-second is one second of a call, both ends sending 50
	// packets per second. When the machine saturates the senders fall
	// behind, so CPU is also divided by the call-seconds actually carried
	// (packets sent / 100).
	callSeconds := float64(nConn) * holdElapsed.Seconds()
	sentHold := after.sent - before.sent
	carried := float64(sentHold) / (2 * 50)
	cpuPerCallSec := float64(holdCPU.Milliseconds()) / callSeconds // ms of CPU per call-second
	cpuPerCarried := float64(holdCPU.Milliseconds()) / max(carried, 1)
	expected := after.received - before.received + after.lost - before.lost
	lateLost := (after.lost - before.lost) + (after.late - before.late)
	fmt.Println()
	fmt.Println("voipkit load test")
	fmt.Printf("  calls set up / failed      %d / %d (callee answered %d; still connected at end of hold %d)\n",
		nConn, failed.Load(), markAfter.answered, alive)
	fmt.Printf("  setup                      %v for %d calls: %.1f calls/s (CPU %v)\n",
		setupElapsed.Round(time.Millisecond), nConn, float64(nConn)/setupElapsed.Seconds(), setupCPU.Round(time.Millisecond))
	fmt.Printf("  hold CPU (user+sys)        %v over %v = %.2f cores\n",
		holdCPU.Round(time.Millisecond), holdElapsed.Round(time.Millisecond), holdCPU.Seconds()/holdElapsed.Seconds())
	if o.split {
		calleeCPU := markAfter.cpu - markBefore.cpu
		fmt.Printf("  callee process CPU         %v over %v = %.2f cores: %.3f ms per call-second, %.0f calls per core\n",
			calleeCPU.Round(time.Millisecond), holdElapsed.Round(time.Millisecond), calleeCPU.Seconds()/holdElapsed.Seconds(),
			float64(calleeCPU.Milliseconds())/callSeconds, callSeconds/calleeCPU.Seconds())
		fmt.Printf("  caller process CPU         %.3f ms per call-second, %.0f calls per core (each process is one end of every call)\n",
			cpuPerCallSec, 1000/cpuPerCallSec)
	} else {
		fmt.Printf("  CPU per call               %.3f ms per call-second; calls per core %.0f (call ends per core %.0f)\n",
			cpuPerCallSec, 1000/cpuPerCallSec, 2000/cpuPerCallSec)
	}
	fmt.Printf("  packet rate achieved       %.1f%% of 50/s per end (sender skipped %d frames); %.3f ms CPU per carried call-second, calls per core %.0f\n",
		100*carried/callSeconds, after.skipped-before.skipped, cpuPerCarried, 1000/cpuPerCarried)
	fmt.Printf("  packets (both ends, hold)  sent %d, received %d, lost %d, late %d, concealed %d\n",
		after.sent-before.sent, after.received-before.received, after.lost-before.lost, after.late-before.late,
		after.concealed-before.concealed)
	fmt.Printf("  packets (both ends, total) sent %d, received %d, lost %d, late %d, concealed %d\n",
		after.sent, after.received, after.lost, after.late, after.concealed)
	if expected > 0 {
		fmt.Printf("  late+lost (hold)           %.3f%%\n", 100*float64(lateLost)/float64(expected))
	}
	suite := "none"
	if st := calls[0].Stats(); st.SRTP != "" {
		suite = st.SRTP
	}
	fmt.Printf("  SRTP auth failures         %d (replays %d); suite %s\n", after.authFail, after.replays, suite)
	ends := 2.0 // both ends of every call are in this process
	if o.split {
		ends = 1
	}
	heapPerEnd := float64(mid.heap-baseline.heap) / 1024 / float64(nConn) / ends
	livePerEnd := (float64(mid.live) - float64(baseline.live)) / 1024 / float64(nConn) / ends
	fmt.Printf("  heap in use per call end   %.1f KiB (%.1f MiB total above idle in this process)\n",
		heapPerEnd, float64(mid.heap-baseline.heap)/(1<<20))
	fmt.Printf("  live heap per call end     %.1f KiB\n", livePerEnd)
	fmt.Printf("  goroutine stacks per end   %.1f KiB (not part of the heap)\n",
		float64(mid.stack-baseline.stack)/1024/float64(nConn)/ends)
	fmt.Printf("  goroutines per call end    %.1f (%d above idle)\n",
		float64(mid.goroutines-baseline.goroutines)/float64(nConn)/ends, mid.goroutines-baseline.goroutines)
	fmt.Printf("  hang up                    %v\n", hangElapsed.Round(time.Millisecond))
	fmt.Printf("RESULT calls=%d srtp=%v shared=%v split=%v setup_rate=%.1f cpu_ms_per_call_s=%.3f calls_per_core=%.0f rate_pct=%.1f late_lost_pct=%.3f heap_kib_per_end=%.1f live_kib_per_end=%.1f auth_fail=%d failed=%d\n",
		nConn, o.srtp, o.shared, o.split, float64(nConn)/setupElapsed.Seconds(), cpuPerCallSec, 1000/cpuPerCallSec, 100*carried/callSeconds,
		100*float64(lateLost)/float64(max(expected, 1)), heapPerEnd, livePerEnd, after.authFail, failed.Load())

	_ = caller.Close()
	if err := callee.close(); err != nil {
		return fmt.Errorf("callee: %w", err)
	}
	drain.Wait()
	return nil
}

// suites returns the SRTP suite list for -suite.
func suites(name string) []string {
	if name == "" {
		return nil
	}
	return []string{name}
}

// newSource returns the audio one side of a call sends.
func newSource(silence bool, freq float64) voipkit.AudioSource {
	if silence {
		return audio.Silence{}
	}
	return audio.NewTone(0.3, freq)
}

type totals struct {
	sent, received, lost, late, concealed uint64
	authFail, replays, skipped            uint64
}

// add returns the sum of t and u.
func (t totals) add(u totals) totals {
	t.sent += u.sent
	t.received += u.received
	t.lost += u.lost
	t.late += u.late
	t.concealed += u.concealed
	t.authFail += u.authFail
	t.replays += u.replays
	t.skipped += u.skipped
	return t
}

// sumStats adds up the media statistics of both ends of every call.
func sumStats(callerCalls, calleeCalls []*voipkit.Call) totals {
	var t totals
	for _, calls := range [][]*voipkit.Call{callerCalls, calleeCalls} {
		for _, c := range calls {
			s := c.Stats()
			t = t.add(totals{
				sent: s.PacketsSent, received: s.PacketsReceived, lost: s.PacketsLost, late: s.Late,
				concealed: s.Concealed, authFail: s.SRTPAuthFailures, replays: s.SRTPReplays, skipped: s.SendSkipped,
			})
		}
	}
	return t
}

type snapshot struct {
	heap       uint64 // HeapInuse: spans holding objects, with their free slots
	live       uint64 // HeapAlloc: the objects themselves
	stack      uint64
	goroutines int
}

// sample collects garbage and reads the heap in use and goroutine count.
func sample() snapshot {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return snapshot{heap: ms.HeapInuse, live: ms.HeapAlloc, stack: ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

// cpuTime returns the user plus system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// raiseFileLimit lifts the soft open-files limit to the hard limit.
func raiseFileLimit() (soft, hard uint64, err error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, err
	}
	if rl.Cur < rl.Max {
		want := rl
		want.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return uint64(rl.Cur), uint64(rl.Max), err
		}
		rl = want
	}
	return uint64(rl.Cur), uint64(rl.Max), nil
}

// writeHeapProfile writes the live heap (as of the last GC) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
