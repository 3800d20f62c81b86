package media_test

import (
	"fmt"
	"net/netip"

	_ "github.com/voipkit/voipkit/codec" // registers PCMU and PCMA
	"github.com/voipkit/voipkit/media"
)

// Two sessions negotiate over offer/answer, as the caller's and the
// callee's user agents would through INVITE and 200 OK.
func Example_offerAnswer() {
	ip := netip.MustParseAddr("127.0.0.1")
	caller, err := media.NewSession(media.Config{LocalIP: ip, Codecs: []string{"PCMA", "PCMU"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer caller.Close()
	callee, err := media.NewSession(media.Config{LocalIP: ip, Codecs: []string{"PCMU", "PCMA"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer callee.Close()

	offer, _ := caller.CreateOffer()
	answer, err := callee.AcceptOffer(offer) // on error: 488 Not Acceptable Here
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := caller.SetRemoteAnswer(answer); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("callee picks:", callee.Codec().Name, "payload type", callee.Codec().PayloadType)
	fmt.Println("caller sends:", caller.Codec().Name, "every", caller.Codec().FrameDuration)
	fmt.Println("caller sends to callee:", caller.Remote().Addr == callee.LocalAddr())
	// Output:
	// callee picks: PCMU payload type 0
	// caller sends: PCMU every 20ms
	// caller sends to callee: true
}
