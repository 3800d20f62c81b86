package digest

import (
	"crypto/subtle"
	"strings"
)

// Verify reports whether a carries the right response for a request with
// the given method and body by a user with the given password. It recomputes
// the response from the fields of a and compares in constant time.
//
// Verify checks only the response: the caller must check that a.Realm,
// a.Nonce and a.Opaque are ones it issued and still valid, that a.NC has not
// been used before with that nonce, that a.URI matches the Request-URI and
// that a.Username is the user the password belongs to. It returns false for
// an unsupported algorithm or qop, or a qop or -sess response without a
// cnonce.
func Verify(a *Authorization, method, password string, body []byte) bool {
	if a == nil {
		return false
	}
	alg, ok := lookupAlgorithm(a.Algorithm)
	if !ok {
		return false
	}
	switch a.QOP {
	case "", qopAuth, qopAuthInt:
	default:
		return false
	}
	if (a.QOP != "" || alg.sess) && a.CNonce == "" {
		return false
	}
	want := alg.response(a.Username, a.Realm, password, a.Nonce, a.CNonce, a.QOP, a.NC, method, a.URI, body)
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(a.Response))) == 1
}
