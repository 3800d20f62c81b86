package peertest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// allocator hands out ports on 127.0.0.1. It is process-wide on purpose:
// tests running in parallel in one test binary must never get the same
// port, and a port once handed out is never handed out again by this
// process.
//
// Test binaries of different packages run at the same time, so ports come
// from blocks of blockSize ports that a process claims with an exclusive
// flock(2) on a lock file in the temporary directory: two processes never
// hand out ports from the same block. The kernel drops the lock when the
// process exits, however it exits. The blocks lie below the kernel's
// ephemeral port range, so they do not collide with the source ports of
// outgoing connections either.
var allocator = struct {
	sync.Mutex
	used   map[int]bool
	lo, hi int        // the range blocks are cut from: [lo, hi)
	blocks []int      // first ports of the blocks this process holds
	locks  []*os.File // their lock files, open for the process's lifetime
}{used: map[int]bool{}}

// blockSize is the number of ports in one claimable block.
const blockSize = 512

// portRange returns the range ports are picked from.
func portRange() (lo, hi int) {
	if allocator.hi != 0 {
		return allocator.lo, allocator.hi
	}
	lo, hi = 20000, 32768
	if data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		f := strings.Fields(string(data))
		if len(f) == 2 {
			elo, err1 := strconv.Atoi(f[0])
			ehi, err2 := strconv.Atoi(f[1])
			switch {
			case err1 != nil || err2 != nil:
			case elo >= 12000:
				hi = elo
				lo = max(elo-12768, 10000)
			case ehi <= 53000:
				lo, hi = ehi+1, 65536
			default:
				lo, hi = 10000, 65536
			}
		}
	}
	allocator.lo, allocator.hi = lo, hi
	return lo, hi
}

// claimBlock locks a block no other process holds and returns its first
// port. Blocks are tried in random order.
func claimBlock() (int, bool) {
	lo, hi := portRange()
	n := (hi - lo) / blockSize
	dir := filepath.Join(os.TempDir(), "voipkit-peertest-ports")
	if err := os.MkdirAll(dir, 0o777); err == nil {
		_ = os.Chmod(dir, 0o777) // shared by every user's tests
	}
	for _, i := range rand.Perm(n) {
		start := lo + i*blockSize
		if slices.Contains(allocator.blocks, start) {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("block-%d.lock", start)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			continue
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = f.Close()
			continue
		}
		allocator.blocks = append(allocator.blocks, start)
		allocator.locks = append(allocator.locks, f)
		return start, true
	}
	return 0, false
}

// udpFree reports whether port can be bound for UDP on 127.0.0.1.
func udpFree(port int) bool {
	c, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// tcpFree reports whether port can be listened on for TCP on 127.0.0.1.
func tcpFree(port int) bool {
	l, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// allocPorts returns a base port p, a multiple of align, such that p ..
// p+n-1 are all free for UDP (and TCP when tcp is set) and were never
// handed out before by this process. It fails the test when no such range
// is found.
func allocPorts(t TB, n, align int, tcp bool) int {
	t.Helper()
	if n < 1 || n > blockSize/2 || align < 1 || align > 64 {
		t.Fatalf("peertest: bad port request n=%d align=%d", n, align)
	}
	allocator.Lock()
	defer allocator.Unlock()
	try := func(base int) bool {
		for p := base; p < base+n; p++ {
			if allocator.used[p] {
				return false
			}
		}
		for p := base; p < base+n; p++ {
			if !udpFree(p) || (tcp && !tcpFree(p)) {
				return false
			}
		}
		for p := base; p < base+n; p++ {
			allocator.used[p] = true
		}
		return true
	}
	for {
		for _, start := range allocator.blocks {
			for base := (start + align - 1) / align * align; base+n <= start+blockSize; base += align {
				if try(base) {
					return base
				}
			}
		}
		if _, ok := claimBlock(); !ok {
			break
		}
	}
	// Every block is taken by other processes: fall back to random ports
	// in the whole range, checked but not coordinated.
	lo, hi := portRange()
	for range 500 {
		base := (lo + rand.IntN(hi-lo-n)) / align * align
		if base >= lo && try(base) {
			return base
		}
	}
	t.Fatalf("peertest: no %d free ports (align %d, tcp %v) found in %d-%d", n, align, tcp, lo, hi)
	return 0
}

// FreeUDPPort returns a UDP port on 127.0.0.1 that is free and not handed
// out before by this process.
func FreeUDPPort(t TB) int {
	t.Helper()
	return allocPorts(t, 1, 1, false)
}

// FreeTCPUDPPort returns a port on 127.0.0.1 that is free for both UDP and
// TCP, as a SIP listener needs.
func FreeTCPUDPPort(t TB) int {
	t.Helper()
	return allocPorts(t, 1, 1, true)
}

// FreePortPair returns an even UDP port p such that p and p+1 are free: an
// RTP port and its RTCP port.
func FreePortPair(t TB) int {
	t.Helper()
	return allocPorts(t, 2, 2, false)
}

// FreePortRange returns the first of n consecutive ports that are free for
// UDP (and TCP when tcp is set). The first port is even.
func FreePortRange(t TB, n int, tcp bool) int {
	t.Helper()
	return allocPorts(t, n, 2, tcp)
}

// portBound reports whether some socket is bound to port (UDP), or listens
// on it (TCP), according to /proc/net. Unlike a test bind it does not
// disturb the process about to bind the port. Without /proc it waits
// 300 ms and reports true.
func portBound(tcp bool, port int) bool {
	files := []string{"/proc/net/udp", "/proc/net/udp6"}
	if tcp {
		files = []string{"/proc/net/tcp", "/proc/net/tcp6"}
	}
	want := fmt.Sprintf(":%04X", port)
	readable := false
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		readable = true
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 4 || !strings.HasSuffix(fields[1], want) {
				continue
			}
			if !tcp || fields[3] == "0A" { // 0A = LISTEN
				return true
			}
		}
	}
	if !readable {
		time.Sleep(300 * time.Millisecond)
		return true
	}
	return false
}
