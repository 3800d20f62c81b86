package peertest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"
)

var pingSeq atomic.Uint64

// PingSIP sends SIP OPTIONS requests over UDP to addr ("host:port") every
// step until a response arrives or timeout passes, and returns the
// response's status line (e.g. "SIP/2.0 200 Keepalive"). Any final or
// provisional response counts; the caller checks the status.
func PingSIP(addr string, timeout, step time.Duration) (string, error) {
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return "", fmt.Errorf("ping %s: %w", addr, err)
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return "", fmt.Errorf("ping %s: %w", addr, err)
	}
	defer conn.Close()
	local := conn.LocalAddr().(*net.UDPAddr)
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 65535)
	var lastErr error
	for time.Now().Before(deadline) {
		n := pingSeq.Add(1)
		req := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bK-peertest-%d;rport\r\n"+
			"Max-Forwards: 70\r\n"+
			"From: <sip:peertest@%s>;tag=pt%d\r\n"+
			"To: <sip:%s>\r\n"+
			"Call-ID: peertest-%d-%d@%s\r\n"+
			"CSeq: 1 OPTIONS\r\n"+
			"Accept: application/sdp\r\n"+
			"Content-Length: 0\r\n\r\n",
			addr, local, n, local.IP, n, addr, time.Now().UnixNano(), n, local.IP)
		if _, err := conn.Write([]byte(req)); err != nil {
			// ICMP port unreachable from an earlier send shows up here.
			lastErr = err
			time.Sleep(step)
			continue
		}
		_ = conn.SetReadDeadline(time.Now().Add(step))
		for {
			m, err := conn.Read(buf)
			if err != nil {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					lastErr = err
					// A refused read returns at once; wait out the step.
					time.Sleep(step)
				}
				break
			}
			msg := string(buf[:m])
			if !strings.HasPrefix(msg, "SIP/2.0 ") {
				continue
			}
			line, _, _ := strings.Cut(msg, "\r\n")
			return line, nil
		}
	}
	if lastErr != nil {
		return "", fmt.Errorf("ping %s: no response within %v (last error: %v)", addr, timeout, lastErr)
	}
	return "", fmt.Errorf("ping %s: no response within %v", addr, timeout)
}

// PingSIPTCP sends one SIP OPTIONS request over a new TCP connection to addr
// and returns the response's status line.
func PingSIPTCP(addr string, timeout time.Duration) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", fmt.Errorf("ping %s over tcp: %w", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	local := conn.LocalAddr().(*net.TCPAddr)
	n := pingSeq.Add(1)
	req := fmt.Sprintf("OPTIONS sip:%s;transport=tcp SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP %s;branch=z9hG4bK-peertest-%d\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:peertest@%s>;tag=pt%d\r\n"+
		"To: <sip:%s>\r\n"+
		"Call-ID: peertest-%d-%d@%s\r\n"+
		"CSeq: 1 OPTIONS\r\n"+
		"Content-Length: 0\r\n\r\n",
		addr, local, n, local.IP, n, addr, time.Now().UnixNano(), n, local.IP)
	if _, err := conn.Write([]byte(req)); err != nil {
		return "", fmt.Errorf("ping %s over tcp: %w", addr, err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("ping %s over tcp: %w", addr, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
