package call

import gsip "github.com/emiago/sipgo/sip"

// Header returns the values of a header of the peer's message that set the
// call up: the INVITE for an incoming call, the final response for an
// outgoing one (nil before it arrives). Custom PBX headers (X-...),
// Call-Info or Alert-Info are read this way.
func (c *Call) Header(name string) []string {
	c.mu.Lock()
	msg := c.peerMsg
	c.mu.Unlock()
	if msg == nil {
		return nil
	}
	var out []string
	for _, h := range msg.GetHeaders(name) {
		out = append(out, h.Value())
	}
	return out
}

// peerMessage is what Header reads from.
type peerMessage interface {
	GetHeaders(name string) []gsip.Header
}
