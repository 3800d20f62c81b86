package voipkit_test

import (
	"context"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/voipkit/voipkit"
	"github.com/voipkit/voipkit/audio"
)

// leakCheck registers, as b's first cleanup, a check that every goroutine
// the benchmark started has ended once the other cleanups have run. The
// goroutines of the benchmark runner itself are not counted.
func leakCheck(b *testing.B) {
	b.Helper()
	existing := goleak.IgnoreCurrent()
	b.Cleanup(func() { goleak.VerifyNone(b, existing) })
}

// benchPair is a caller Phone and a callee Phone on 127.0.0.1. The
// callee answers every call with silence; both event streams are drained.
type benchPair struct {
	alice, bob *voipkit.Phone
	// connected receives each of Alice's calls once it is connected;
	// answered receives each of Bob's calls once he has answered it.
	connected chan *voipkit.Call
	answered  chan *voipkit.Call
	failed    chan error
	wg        sync.WaitGroup
}

func newBenchPair(b *testing.B) *benchPair {
	b.Helper()
	loopback := netip.MustParseAddrPort("127.0.0.1:0")
	alice, err := voipkit.NewPhone(voipkit.Config{ListenAddr: loopback})
	if err != nil {
		b.Fatal(err)
	}
	bob, err := voipkit.NewPhone(voipkit.Config{ListenAddr: loopback})
	if err != nil {
		_ = alice.Close()
		b.Fatal(err)
	}
	p := &benchPair{
		alice: alice, bob: bob,
		connected: make(chan *voipkit.Call, 64),
		answered:  make(chan *voipkit.Call, 64),
		failed:    make(chan error, 1),
	}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		for ev := range alice.Events() {
			if e, ok := ev.(*voipkit.CallStateEvent); ok && e.State == voipkit.CallConnected {
				p.connected <- e.Call
			}
		}
	}()
	go func() {
		defer p.wg.Done()
		for ev := range bob.Events() {
			e, ok := ev.(*voipkit.IncomingCallEvent)
			if !ok {
				continue
			}
			e.Call.SetSource(audio.Silence{})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := e.Call.Answer(ctx)
			cancel()
			if err != nil {
				select {
				case p.failed <- err:
				default:
				}
				continue
			}
			p.answered <- e.Call
		}
	}()
	b.Cleanup(func() {
		_ = alice.Close()
		_ = bob.Close()
		p.wg.Wait() // the drains end when Close closes the event streams
	})
	return p
}

// call places one call from Alice to Bob and waits until both ends are up.
func (p *benchPair) call(b *testing.B, ctx context.Context) (out, in *voipkit.Call) {
	out, err := p.alice.Dial(ctx, p.bob.URI("bob"), voipkit.WithSource(audio.Silence{}))
	if err != nil {
		b.Fatal(err)
	}
	connected := false
	for in == nil || !connected {
		select {
		case in = <-p.answered:
		case c := <-p.connected:
			if c != out {
				b.Fatalf("an unexpected call connected")
			}
			connected = true
		case err := <-p.failed:
			b.Fatalf("answer: %v", err)
		case <-out.Done():
			b.Fatalf("call ended during setup: %v", out.Cause())
		case <-ctx.Done():
			b.Fatalf("call setup: %v (caller state %v)", ctx.Err(), out.State())
		}
	}
	return out, in
}

// hangup ends a call from Alice's side and waits for both ends.
func hangup(b *testing.B, ctx context.Context, out, in *voipkit.Call) {
	if err := out.Hangup(ctx); err != nil {
		b.Fatalf("hangup: %v", err)
	}
	for _, c := range []*voipkit.Call{out, in} {
		if err := c.Wait(ctx); err != nil {
			b.Fatalf("call did not end: %v", err)
		}
	}
}

func heapAlloc() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// maxIdleCalls caps how many calls BenchmarkIdleConnectedCallHeap keeps up.
const maxIdleCalls = 50

// BenchmarkIdleConnectedCallHeap measures what a connected call with
// silence flowing both ways costs while it stays up: live heap and
// goroutines per call. Both ends of every call run in this process, so
// the figures cover a caller and a callee. It sets up min(b.N, 50) calls.
func BenchmarkIdleConnectedCallHeap(b *testing.B) {
	leakCheck(b)
	p := newBenchPair(b)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := min(b.N, maxIdleCalls)

	// Warm up once so one-time allocations are not counted per call.
	out, in := p.call(b, ctx)
	hangup(b, ctx, out, in)
	waitGoroutines(ctx, runtime.NumGoroutine)

	before := heapAlloc()
	goroutinesBefore := runtime.NumGoroutine()
	b.ResetTimer()
	outs := make([]*voipkit.Call, 0, n)
	ins := make([]*voipkit.Call, 0, n)
	for range n {
		out, in := p.call(b, ctx)
		outs, ins = append(outs, out), append(ins, in)
	}
	b.StopTimer()
	// Let every call settle into its steady state (jitter buffers full).
	time.Sleep(200 * time.Millisecond)
	after := heapAlloc()
	goroutines := runtime.NumGoroutine() - goroutinesBefore
	for _, c := range append(outs, ins...) {
		if c.State() != voipkit.CallConnected {
			b.Fatalf("call not connected at measurement: %v", c.State())
		}
	}
	b.ReportMetric(float64(int64(after)-int64(before))/float64(n), "B/call")
	b.ReportMetric(float64(goroutines)/float64(n), "goroutines/call")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/setup")
	b.ReportMetric(0, "ns/op")
	runtime.KeepAlive(outs)
	runtime.KeepAlive(ins)

	for i := range outs {
		hangup(b, ctx, outs[i], ins[i])
	}
}

// waitGoroutines waits until the goroutine count stops falling, so that
// goroutines of an ended call are not counted as those of the next one.
func waitGoroutines(ctx context.Context, count func() int) {
	last := count()
	for range 100 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
		n := count()
		if n >= last {
			return
		}
		last = n
	}
}

// BenchmarkCallSetup measures one complete call between two Phones on
// loopback: INVITE, answer, media start, BYE and teardown of both ends.
func BenchmarkCallSetup(b *testing.B) {
	leakCheck(b)
	p := newBenchPair(b)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b.ResetTimer()
	for range b.N {
		out, in := p.call(b, ctx)
		hangup(b, ctx, out, in)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
