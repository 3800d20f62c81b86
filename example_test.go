package voipkit_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/voipkit/voipkit"
)

// Two Phones on 127.0.0.1 call each other directly, without a server:
// Alice dials Bob, Bob answers, Alice hangs up.
func Example_peerToPeer() {
	loopback := netip.MustParseAddrPort("127.0.0.1:0")
	alice, err := voipkit.NewPhone(voipkit.Config{ListenAddr: loopback})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer alice.Close()
	bob, err := voipkit.NewPhone(voipkit.Config{ListenAddr: loopback})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bob.Close()

	// Every wait below ends after ten seconds at most.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	call, err := alice.Dial(ctx, bob.URI("bob"))
	if err != nil {
		fmt.Println(err)
		return
	}

	// Bob answers the call as soon as it rings.
	if ev, ok := nextEvent[*voipkit.IncomingCallEvent](ctx, bob, nil); ok {
		fmt.Println("incoming call from", ev.From)
		if err := ev.Call.Answer(ctx); err != nil {
			fmt.Println(err)
			return
		}
	}

	isState := func(s voipkit.CallState) func(*voipkit.CallStateEvent) bool {
		return func(e *voipkit.CallStateEvent) bool { return e.Call == call && e.State == s }
	}
	if _, ok := nextEvent(ctx, alice, isState(voipkit.CallConnected)); ok {
		fmt.Println("connected")
	}

	if err := call.Hangup(ctx); err != nil {
		fmt.Println(err)
		return
	}
	if ev, ok := nextEvent(ctx, alice, isState(voipkit.CallTerminated)); ok {
		fmt.Printf("ended by %v: %d\n", ev.Cause.By, ev.Cause.Code)
	}
	if ev, ok := nextEvent[*voipkit.CDREvent](ctx, bob, nil); ok {
		fmt.Printf("bob's record: %v, ended by %v: %d\n", ev.CDR.Direction, ev.CDR.Disconnect, ev.CDR.Code)
	}

	// Output:
	// incoming call from sip:anonymous@127.0.0.1
	// connected
	// ended by local: 200
	// bob's record: Incoming, ended by remote: 200
}

// nextEvent reads p's events until one of type E matches (match nil
// accepts any) or ctx ends.
func nextEvent[E voipkit.Event](ctx context.Context, p *voipkit.Phone, match func(E) bool) (E, bool) {
	for {
		select {
		case ev, ok := <-p.Events():
			if !ok {
				var zero E
				fmt.Println("phone closed")
				return zero, false
			}
			if e, ok := ev.(E); ok && (match == nil || match(e)) {
				return e, true
			}
		case <-ctx.Done():
			var zero E
			fmt.Printf("timed out waiting for %T\n", zero)
			return zero, false
		}
	}
}
