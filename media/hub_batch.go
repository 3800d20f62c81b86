package media

import (
	"net"
	"net/netip"
)

// datagram is one UDP datagram of a batch: buf holds n bytes to or from
// addr.
type datagram struct {
	buf  []byte
	n    int
	addr netip.AddrPort
}

// batchIO moves datagrams in batches: one recvmmsg or sendmmsg system
// call per batch on Linux (hub_batch_linux.go), one call per datagram
// elsewhere. It is used by one reader and one writer goroutine at a
// time, and does not allocate.
type batchIO interface {
	// read blocks until at least one datagram arrives and fills
	// ds[:n] (each buf is used whole as the receive buffer).
	read(ds []datagram) (n int, err error)
	// write sends ds[i].buf[:ds[i].n] to ds[i].addr in order and
	// returns how many went out; on an error, ds[n] is the datagram
	// that failed.
	write(ds []datagram) (n int, err error)
}

// singleIO is the portable batchIO: one system call per datagram.
type singleIO struct{ c *net.UDPConn }

func (s singleIO) read(ds []datagram) (int, error) {
	n, from, err := s.c.ReadFromUDPAddrPort(ds[0].buf)
	if err != nil {
		return 0, err
	}
	ds[0].n, ds[0].addr = n, from
	return 1, nil
}

func (s singleIO) write(ds []datagram) (int, error) {
	for i := range ds {
		if _, err := s.c.WriteToUDPAddrPort(ds[i].buf[:ds[i].n], ds[i].addr); err != nil {
			return i, err
		}
	}
	return len(ds), nil
}
