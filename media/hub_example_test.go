package media_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/media"
)

// Three calls between two Hubs: each side's Sessions share its Hub's port
// pair, and every call still carries its own audio.
func ExampleHub() {
	ip := netip.MustParseAddr("127.0.0.1")
	a, err := media.NewHub(media.HubConfig{LocalIP: ip})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close() // after the Sessions: deferred calls run last in, first out
	b, err := media.NewHub(media.HubConfig{LocalIP: ip})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	var heard []*audio.Capture
	for i := range 3 {
		caller, _ := media.NewSession(media.Config{LocalIP: ip, Hub: a, Codecs: []string{"PCMU"}})
		callee, _ := media.NewSession(media.Config{LocalIP: ip, Hub: b, Codecs: []string{"PCMU"}})
		defer caller.Close()
		defer callee.Close()
		caller.SetSource(audio.NewTone(0.5, 400+float64(i)*300)) // 400, 700, 1000 Hz
		capture := audio.NewCapture(8000, time.Second)
		callee.SetSink(capture)
		heard = append(heard, capture)

		offer, _ := caller.CreateOffer()
		answer, _ := callee.AcceptOffer(offer)
		_ = caller.SetRemoteAnswer(answer)
		_ = caller.Start()
		_ = callee.Start()
		fmt.Println("call", i, "shares the port:", caller.LocalAddr() == a.LocalAddr())
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if heard[0].Duration() >= 600*time.Millisecond && heard[2].Duration() >= 600*time.Millisecond {
			break
		}
	}
	for i, c := range heard {
		s := c.Samples()
		fmt.Printf("call %d hears %.0f Hz\n", i, audio.DominantFrequency(s[len(s)/2:], 8000))
	}
	// Output:
	// call 0 shares the port: true
	// call 1 shares the port: true
	// call 2 shares the port: true
	// call 0 hears 400 Hz
	// call 1 hears 700 Hz
	// call 2 hears 1000 Hz
}
