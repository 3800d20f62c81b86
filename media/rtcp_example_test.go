package media_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/voipkit/voipkit/media"
)

// Two sessions exchange RTCP reports (here every few hundred
// milliseconds rather than the default 5 s); each then knows the
// round-trip time from the other's report blocks and rates the audio it
// receives with the E-model, and learns the peer's rating of its own
// stream from the RTCP XR VoIP Metrics block.
func Example_rtcpQuality() {
	cfg := media.Config{
		LocalIP:      netip.MustParseAddr("127.0.0.1"),
		Codecs:       []string{"PCMU"},
		RTCPInterval: 100 * time.Millisecond,
	}
	caller, err := media.NewSession(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer caller.Close()
	callee, err := media.NewSession(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer callee.Close()
	offer, _ := caller.CreateOffer() // offers a=rtcp-mux: RTCP shares the RTP port
	answer, _ := callee.AcceptOffer(offer)
	if err := caller.SetRemoteAnswer(answer); err != nil {
		fmt.Println(err)
		return
	}
	_ = caller.Start()
	_ = callee.Start()

	var st media.Stats
	for range 100 {
		if st = caller.Stats(); st.RTT > 0 && st.RemoteMOS > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Println("RTT under 50 ms:", st.RTT > 0 && st.RTT < 50*time.Millisecond)
	fmt.Printf("our MOS %.1f, the callee's MOS of our stream %.1f\n", st.MOS, st.RemoteMOS)
	// Output:
	// RTT under 50 ms: true
	// our MOS 4.4, the callee's MOS of our stream 4.4
}

// A Session reports a media timeout when the peer sends neither RTP nor
// RTCP for Config.MediaTimeout; the owner, here a call, hangs up.
func ExampleSession_Timeout() {
	s, err := media.NewSession(media.Config{
		LocalIP:      netip.MustParseAddr("127.0.0.1"),
		MediaTimeout: 10 * time.Second, // HoldMediaTimeout applies while held
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	// ... negotiate and Start ...
	hangup := make(chan struct{}) // closed when the call ends otherwise
	go func() {
		for {
			select {
			case <-s.Timeout():
				if s.TimedOut() { // a report may be stale
					fmt.Println("media timeout: hang up")
					return
				}
			case <-hangup:
				return
			}
		}
	}()
	close(hangup)
}
