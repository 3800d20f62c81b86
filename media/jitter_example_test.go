package media_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/voipkit/voipkit/media"
)

// The jitter buffer adapts its playout delay to the network by default,
// between JitterMin and JitterMax, starting from JitterDelay; Stats
// reports the delay it plays with and the one it aims for. JitterFixed
// keeps JitterDelay instead.
func ExampleConfig_jitter() {
	ip := netip.MustParseAddr("127.0.0.1")
	s, err := media.NewSession(media.Config{
		LocalIP:     ip,
		JitterDelay: 80 * time.Millisecond, // until the network has been measured
		JitterMin:   40 * time.Millisecond,
		JitterMax:   300 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	fmt.Println("adaptive, aiming for", s.Stats().JitterTarget)

	fixed, err := media.NewSession(media.Config{LocalIP: ip, JitterMode: media.JitterFixed, JitterDelay: 100 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fixed.Close()
	fmt.Println(media.JitterFixed, "aiming for", fixed.Stats().JitterTarget)
	// Output:
	// adaptive, aiming for 80ms
	// fixed aiming for 100ms
}
