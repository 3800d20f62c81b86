//go:build !linux

package media

import "net"

func newBatchIO(c *net.UDPConn, _ int) batchIO { return singleIO{c} }
