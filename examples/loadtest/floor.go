//go:build unix

package main

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// runFloor measures what the machine's UDP loopback alone costs for the
// packet pattern of n calls: two sockets per call on 127.0.0.1, each
// sending a 172-byte datagram (a G.711 frame with SRTP's header and tag)
// every 20 ms to the other and read by a goroutine of its own, as voipkit
// does, but with no SIP, codec, SRTP, jitter buffer or audio. The CPU it
// uses is a floor under voipkit's figure for the same number of calls.
func runFloor(n int, hold time.Duration) error {
	type end struct {
		conn *net.UDPConn
		peer netip.AddrPort
	}
	ends := make([]end, 0, 2*n)
	defer func() {
		for _, e := range ends {
			e.conn.Close()
		}
	}()
	for range n {
		a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return err
		}
		b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			a.Close()
			return err
		}
		ends = append(ends,
			end{a, b.LocalAddr().(*net.UDPAddr).AddrPort()},
			end{b, a.LocalAddr().(*net.UDPAddr).AddrPort()})
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		received int
	)
	for _, e := range ends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 2048)
			got := 0
			for {
				if _, _, err := e.conn.ReadFromUDPAddrPort(buf); err != nil {
					mu.Lock()
					received += got
					mu.Unlock()
					return
				}
				got++
			}
		}()
	}
	// One pacing goroutine sends every socket's packet each 20 ms tick:
	// the cheapest way to send, so the figure stays a floor.
	pkt := make([]byte, 172)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	cpu0, start := cpuTime(), time.Now()
	sent := 0
	for time.Since(start) < hold {
		<-tick.C
		for _, e := range ends {
			if _, err := e.conn.WriteToUDPAddrPort(pkt, e.peer); err == nil {
				sent++
			}
		}
	}
	cpu, elapsed := cpuTime()-cpu0, time.Since(start)
	for _, e := range ends {
		e.conn.Close()
	}
	wg.Wait()
	ends = nil
	carried := float64(sent) / 100 // call-seconds: 2 ends × 50 packets/s
	perCall := float64(cpu.Microseconds()) / 1000 / carried
	fmt.Println("UDP loopback floor (no voipkit code)")
	fmt.Printf("  calls %d, hold %v: sent %d, received %d (%.1f%% of the 50/s per end asked for)\n",
		n, elapsed.Round(time.Millisecond), sent, received, 100*carried/(float64(n)*elapsed.Seconds()))
	fmt.Printf("  CPU %v = %.2f cores; %.3f ms per carried call-second; calls per core %.0f (call ends per core %.0f)\n",
		cpu.Round(time.Millisecond), cpu.Seconds()/elapsed.Seconds(), perCall, 1000/perCall, 2000/perCall)
	fmt.Printf("RESULT floor calls=%d cpu_ms_per_call_s=%.3f calls_per_core=%.0f\n", n, perCall, 1000/perCall)
	return nil
}
