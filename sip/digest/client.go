package digest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"sync"
)

// maxNonces bounds how many nonces a Client remembers. When it is full the
// oldest nonce is forgotten; answering it again restarts its count at 1.
const maxNonces = 64

// Credentials are the username and password a Client authenticates with.
type Credentials struct {
	Username string
	Password string
}

// nonceKey identifies a nonce within its realm.
type nonceKey struct {
	realm, nonce string
}

// Client answers Digest challenges with one set of credentials. It keeps the
// nonce-count of each realm and nonce it has answered: every request reusing
// a nonce gets the next count, and a new nonce starts at 00000001. The
// client nonce is 16 random hex digits per request.
//
// A Client is safe for concurrent use by multiple goroutines.
type Client struct {
	creds Credentials

	// cnonce returns a fresh client nonce; tests replace it to get
	// reproducible responses.
	cnonce func() string

	mu    sync.Mutex
	count map[nonceKey]uint32 // last nonce-count sent per nonce
	order []nonceKey          // keys of count, oldest first
}

// NewClient returns a Client that authenticates as creds.
func NewClient(creds Credentials) *Client {
	return &Client{creds: creds, cnonce: randomCNonce}
}

// randomCNonce returns 8 random bytes as 16 lowercase hex digits.
func randomCNonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	return hex.EncodeToString(b[:])
}

// Authorize answers ch for a request with the given method and Request-URI
// (the uri parameter, for example "sip:atlanta.com"). body is the message
// body; it is hashed only when qop "auth-int" is used.
//
// qop "auth" is used when offered, else "auth-int"; without a qop the
// RFC 2069 compatible response (no cnonce, no nc) is computed. For -sess
// algorithms HA1 = H(H(username:realm:password):nonce:cnonce).
//
// Errors wrap [ErrUnsupportedAlgorithm], [ErrUnsupportedQOP], or
// [ErrMalformed] for a nil challenge, an empty method or uri, or a value
// containing a control character.
func (c *Client) Authorize(ch *Challenge, method, uri string, body []byte) (*Authorization, error) {
	if ch == nil {
		return nil, fmt.Errorf("%w: nil challenge", ErrMalformed)
	}
	alg, ok := lookupAlgorithm(ch.Algorithm)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnsupportedAlgorithm, ch.Algorithm)
	}
	qop, err := chooseQOP(ch.QOP)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", err, ch.QOP)
	}
	if !isToken(method) {
		return nil, fmt.Errorf("%w: invalid method %q", ErrMalformed, method)
	}
	if uri == "" {
		return nil, fmt.Errorf("%w: empty uri", ErrMalformed)
	}
	for _, f := range [...]struct{ name, value string }{
		{"username", c.creds.Username},
		{"realm", ch.Realm},
		{"nonce", ch.Nonce},
		{"opaque", ch.Opaque},
		{"uri", uri},
	} {
		if hasCTL(f.value) {
			return nil, fmt.Errorf("%w: %s contains a control character", ErrMalformed, f.name)
		}
	}

	a := &Authorization{
		Username:  c.creds.Username,
		Realm:     ch.Realm,
		Nonce:     ch.Nonce,
		URI:       uri,
		Algorithm: alg.name,
		Opaque:    ch.Opaque,
		QOP:       qop,
	}
	if qop != "" || alg.sess {
		a.CNonce = c.cnonce()
		if a.CNonce == "" || hasCTL(a.CNonce) {
			return nil, fmt.Errorf("%w: invalid cnonce %q", ErrMalformed, a.CNonce)
		}
	}
	if qop != "" {
		a.NC = c.nextCount(nonceKey{ch.Realm, ch.Nonce})
	}
	a.Response = alg.response(a.Username, a.Realm, c.creds.Password, a.Nonce, a.CNonce, a.QOP, a.NC, method, uri, body)
	return a, nil
}

// nextCount returns the next nonce-count for k, starting at 1.
func (c *Client) nextCount(k nonceKey) uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.count == nil {
		c.count = make(map[nonceKey]uint32)
	}
	n, ok := c.count[k]
	if !ok {
		if len(c.order) == maxNonces {
			delete(c.count, c.order[0])
			c.order = append(c.order[:0], c.order[1:]...)
		}
		c.order = append(c.order, k)
	}
	if n == math.MaxUint32 {
		// The count is exhausted; start over. The server will reject the
		// repeated count and send a fresh nonce.
		n = 0
	}
	n++
	c.count[k] = n
	return n
}
