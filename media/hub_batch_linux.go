package media

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr of recvmmsg(2) and sendmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
	_   [unsafe.Sizeof(uintptr(0)) - 4]byte
}

// mmsgIO is the Linux batchIO: recvmmsg and sendmmsg through the
// connection's RawConn, so that Go's poller still does the waiting. The
// reader's and the writer's state are apart, and each keeps its
// RawConn callback, so that a batch allocates nothing.
type mmsgIO struct {
	raw syscall.RawConn
	rd  mmsgCall // owned by the reader
	wr  mmsgCall // owned by the writer
}

// mmsgCall is the kernel-facing state of one direction's batches.
type mmsgCall struct {
	hdrs  []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6 // large enough for IPv4 too
	n     int                     // descriptors in this batch
	done  int                     // datagrams moved
	errno unix.Errno              // the system call's failure
	fn    func(fd uintptr) bool   // the RawConn callback
}

func newMmsgCall(size int) mmsgCall {
	return mmsgCall{hdrs: make([]mmsghdr, size), iovs: make([]unix.Iovec, size), names: make([]unix.RawSockaddrInet6, size)}
}

func newBatchIO(c *net.UDPConn, size int) batchIO {
	raw, err := c.SyscallConn()
	if err != nil {
		return singleIO{c}
	}
	m := &mmsgIO{raw: raw, rd: newMmsgCall(size), wr: newMmsgCall(size)}
	m.rd.fn = func(fd uintptr) bool { return m.rd.call(fd, unix.SYS_RECVMMSG) }
	m.wr.fn = func(fd uintptr) bool { return m.wr.call(fd, unix.SYS_SENDMMSG) }
	return m
}

// prepare points descriptor i at buf and its address storage.
func (b *mmsgCall) prepare(i int, buf []byte, namelen uint32) {
	b.iovs[i].Base = unsafe.SliceData(buf)
	b.iovs[i].SetLen(len(buf))
	h := &b.hdrs[i].hdr
	*h = unix.Msghdr{}
	h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
	h.Namelen = namelen
	h.Iov = &b.iovs[i]
	h.SetIovlen(1)
	b.hdrs[i].n = 0
}

// call runs recvmmsg or sendmmsg on descriptors done..n until all are
// done (a receive is done after one successful call); it returns false
// to have the poller wait for the socket.
func (b *mmsgCall) call(fd uintptr, sysno uintptr) bool {
	for b.done < b.n {
		r, _, e := unix.Syscall6(sysno, fd, uintptr(unsafe.Pointer(&b.hdrs[b.done])), uintptr(b.n-b.done), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
		case unix.EAGAIN:
			return false
		case unix.EINTR:
			continue
		default:
			b.errno = e
			return true
		}
		b.done += int(r)
		if sysno == unix.SYS_RECVMMSG {
			return true
		}
	}
	return true
}

// start resets b for a batch of n prepared descriptors.
func (b *mmsgCall) start(n int) { b.n, b.done, b.errno = n, 0, 0 }

// result returns the batch's outcome after the RawConn call returned err.
func (b *mmsgCall) result(err error, what string) (int, error) {
	if err != nil {
		return b.done, err
	}
	if b.errno != 0 {
		return b.done, &net.OpError{Op: what, Net: "udp", Err: b.errno}
	}
	return b.done, nil
}

func (m *mmsgIO) read(ds []datagram) (int, error) {
	b := &m.rd
	n := min(len(ds), len(b.hdrs))
	for i := range n {
		b.prepare(i, ds[i].buf, unix.SizeofSockaddrInet6)
	}
	b.start(n)
	got, err := b.result(m.raw.Read(b.fn), "read")
	if err != nil {
		return 0, err
	}
	for i := range got {
		ds[i].n = int(b.hdrs[i].n)
		ds[i].addr = fromSockaddr(&b.names[i])
	}
	return got, nil
}

func (m *mmsgIO) write(ds []datagram) (int, error) {
	b := &m.wr
	n := min(len(ds), len(b.hdrs))
	for i := range n {
		b.prepare(i, ds[i].buf[:ds[i].n], toSockaddr(&b.names[i], ds[i].addr))
	}
	b.start(n)
	return b.result(m.raw.Write(b.fn), "write")
}

// fromSockaddr reads an IPv4 or IPv6 socket address.
func fromSockaddr(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

// toSockaddr writes a as a socket address into sa and returns its
// length.
func toSockaddr(sa *unix.RawSockaddrInet6, a netip.AddrPort) uint32 {
	ip := a.Addr()
	if ip.Is4() {
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ip.As4()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:], a.Port())
		return unix.SizeofSockaddrInet4
	}
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ip.As16()}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], a.Port())
	return unix.SizeofSockaddrInet6
}
