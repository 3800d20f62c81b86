package media

import (
	"net"
	"testing"
	"time"
)

// BenchmarkHubBatchIO measures a Hub's socket I/O per datagram: batches
// of hubBatch 172-byte datagrams (G.711 with SRTP) written with one
// batched call and read back with as few as the kernel allows, on
// loopback. The kernel's loopback delivery is part of the figure.
// "single" moves the same datagrams with one system call each, as a
// Session with sockets of its own does.
func BenchmarkHubBatchIO(b *testing.B) {
	b.Run("batch", func(b *testing.B) { benchBatchIO(b, newBatchIO) })
	b.Run("single", func(b *testing.B) {
		benchBatchIO(b, func(c *net.UDPConn, _ int) batchIO { return singleIO{c} })
	})
}

func benchBatchIO(b *testing.B, newIO func(*net.UDPConn, int) batchIO) {
	src, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	_ = dst.SetReadBuffer(hubSocketBuffer)
	w, r := newIO(src, hubBatch), newIO(dst, hubBatch)
	to := dst.LocalAddr().(*net.UDPAddr).AddrPort()
	from := src.LocalAddr().(*net.UDPAddr).AddrPort()
	out := make([]datagram, hubBatch)
	in := make([]datagram, hubBatch)
	for i := range out {
		out[i] = datagram{buf: make([]byte, 172), n: 172, addr: to}
		in[i].buf = make([]byte, readBufferSize)
	}
	_ = dst.SetReadDeadline(time.Now().Add(time.Minute))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if n, err := w.write(out); err != nil || n != len(out) {
			b.Fatalf("wrote %d of %d: %v", n, len(out), err)
		}
		for got := 0; got < len(out); {
			n, err := r.read(in)
			if err != nil {
				b.Fatal(err)
			}
			for i := range in[:n] {
				if in[i].n != 172 || in[i].addr != from {
					b.Fatalf("datagram %d: %d bytes from %v", i, in[i].n, in[i].addr)
				}
			}
			got += n
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(out)), "ns/datagram")
}
