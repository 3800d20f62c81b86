package media_test

import (
	"errors"
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

// A caller that requires SRTP and a callee that accepts it when offered
// agree on the caller's first crypto suite; each side sends with its own
// key from the SDP a=crypto lines (which must never be logged).
func Example_srtp() {
	ip := netip.MustParseAddr("127.0.0.1")
	caller, err := media.NewSession(media.Config{LocalIP: ip, SRTP: media.SRTPMandatory})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer caller.Close()
	callee, err := media.NewSession(media.Config{LocalIP: ip, SRTP: media.SRTPOptional})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer callee.Close()

	offer, _ := caller.CreateOffer() // RTP/SAVP with one a=crypto per suite
	answer, err := callee.AcceptOffer(offer)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := caller.SetRemoteAnswer(answer); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("transport:", caller.Remote().Proto)
	fmt.Println("caller:", caller.SRTPSuite())
	fmt.Println("callee:", callee.Stats().SRTP)

	// A callee with SRTP off refuses the call (a SIP user agent answers
	// 488 Not Acceptable Here).
	plain, err := media.NewSession(media.Config{LocalIP: ip})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer plain.Close()
	_, err = plain.AcceptOffer(offer)
	fmt.Println("SRTP off:", errors.Is(err, media.ErrSRTPRefused))
	// Output:
	// transport: RTP/SAVP
	// caller: AES_CM_128_HMAC_SHA1_80
	// callee: AES_CM_128_HMAC_SHA1_80
	// SRTP off: true
}
