package digest

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap one of them, so they
// can be tested with [errors.Is].
var (
	// ErrMalformed reports a header value or an input that cannot be parsed
	// or used, for example a missing nonce, an unterminated quoted string or
	// a control character inside a value.
	ErrMalformed = errors.New("digest: malformed")

	// ErrUnsupportedScheme reports an authentication scheme other than
	// Digest, for example Basic.
	ErrUnsupportedScheme = errors.New("digest: unsupported authentication scheme")

	// ErrUnsupportedAlgorithm reports a digest algorithm this package does
	// not implement.
	ErrUnsupportedAlgorithm = errors.New("digest: unsupported algorithm")

	// ErrUnsupportedQOP reports a challenge whose qop list offers neither
	// "auth" nor "auth-int".
	ErrUnsupportedQOP = errors.New("digest: no supported qop offered")
)

// Quality of protection values.
const (
	qopAuth    = "auth"
	qopAuthInt = "auth-int"
)

// algorithm describes one supported digest algorithm. The table below is
// never modified.
type algorithm struct {
	name string // canonical spelling, as sent on the wire
	sess bool   // HA1 also covers nonce and cnonce
	rank int    // higher is stronger; used by Select
	sum  func(dst *[32]byte, p []byte) int
}

func sumMD5(dst *[32]byte, p []byte) int {
	s := md5.Sum(p)
	return copy(dst[:], s[:])
}

func sumSHA256(dst *[32]byte, p []byte) int {
	s := sha256.Sum256(p)
	return copy(dst[:], s[:])
}

func sumSHA512256(dst *[32]byte, p []byte) int {
	s := sha512.Sum512_256(p)
	return copy(dst[:], s[:])
}

var algorithms = [...]algorithm{
	{name: "MD5", rank: 1, sum: sumMD5},
	{name: "MD5-sess", sess: true, rank: 1, sum: sumMD5},
	{name: "SHA-256", rank: 2, sum: sumSHA256},
	{name: "SHA-256-sess", sess: true, rank: 2, sum: sumSHA256},
	{name: "SHA-512-256", rank: 3, sum: sumSHA512256},
	{name: "SHA-512-256-sess", sess: true, rank: 3, sum: sumSHA512256},
}

// lookupAlgorithm finds an algorithm by name, ignoring case. The empty name
// means MD5, the default of RFC 2617.
func lookupAlgorithm(name string) (*algorithm, bool) {
	if name == "" {
		return &algorithms[0], true
	}
	for i := range algorithms {
		if strings.EqualFold(algorithms[i].name, name) {
			return &algorithms[i], true
		}
	}
	return nil, false
}

// appendHex appends the lowercase hex digest of p to dst.
func (a *algorithm) appendHex(dst, p []byte) []byte {
	var sum [32]byte
	n := a.sum(&sum, p)
	return hex.AppendEncode(dst, sum[:n])
}

// response computes the request-digest of RFC 2617 §3.2.2.1 and RFC 7616
// §3.4.1 as lowercase hex. qop is "", "auth" or "auth-int"; nc is only used
// when qop is set, cnonce when qop is set or the algorithm is a -sess one.
func (a *algorithm) response(username, realm, password, nonce, cnonce, qop string, nc uint32, method, uri string, body []byte) string {
	// One scratch buffer holds each hash input in turn; the hex digests
	// live in small fixed arrays.
	buf := make([]byte, 0, 64+len(username)+len(realm)+len(password)+len(nonce)+len(cnonce)+len(method)+len(uri))
	var ha1Arr, ha2Arr, bodyArr [64]byte

	// HA1 = H(username ":" realm ":" password)
	buf = append(buf, username...)
	buf = append(buf, ':')
	buf = append(buf, realm...)
	buf = append(buf, ':')
	buf = append(buf, password...)
	ha1 := a.appendHex(ha1Arr[:0], buf)
	if a.sess {
		// HA1 = H(H(username ":" realm ":" password) ":" nonce ":" cnonce)
		buf = append(buf[:0], ha1...)
		buf = append(buf, ':')
		buf = append(buf, nonce...)
		buf = append(buf, ':')
		buf = append(buf, cnonce...)
		ha1 = a.appendHex(ha1Arr[:0], buf)
	}

	// HA2 = H(method ":" uri) or, for auth-int, H(method ":" uri ":" H(body))
	buf = append(buf[:0], method...)
	buf = append(buf, ':')
	buf = append(buf, uri...)
	if qop == qopAuthInt {
		buf = append(buf, ':')
		buf = append(buf, a.appendHex(bodyArr[:0], body)...)
	}
	ha2 := a.appendHex(ha2Arr[:0], buf)

	// response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2), or
	// H(HA1 ":" nonce ":" HA2) without qop (RFC 2069).
	buf = append(buf[:0], ha1...)
	buf = append(buf, ':')
	buf = append(buf, nonce...)
	buf = append(buf, ':')
	if qop != "" {
		buf = appendNC(buf, nc)
		buf = append(buf, ':')
		buf = append(buf, cnonce...)
		buf = append(buf, ':')
		buf = append(buf, qop...)
		buf = append(buf, ':')
	}
	buf = append(buf, ha2...)
	var out [64]byte
	return string(a.appendHex(out[:0], buf))
}

// appendNC appends nc as eight lowercase hex digits.
func appendNC(dst []byte, nc uint32) []byte {
	const digits = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, digits[(nc>>uint(shift))&0xf])
	}
	return dst
}

// rankOf reports how strong a challenge is, or 0 when this package cannot
// answer it.
func rankOf(ch *Challenge) int {
	if ch == nil {
		return 0
	}
	alg, ok := lookupAlgorithm(ch.Algorithm)
	if !ok {
		return 0
	}
	if _, err := chooseQOP(ch.QOP); err != nil {
		return 0
	}
	return alg.rank
}

// Select returns the strongest challenge this package can answer, following
// RFC 8760 §2.4: SHA-512-256 is preferred over SHA-256, which is preferred
// over MD5. Among equally strong challenges the earliest wins. Nil entries
// and challenges with an unsupported algorithm or qop are skipped; Select
// returns nil when none is usable.
//
// A typical caller parses every WWW-Authenticate (or Proxy-Authenticate)
// header of a response with [ParseChallenge], ignores those that fail, and
// passes the rest to Select.
func Select(challenges []*Challenge) *Challenge {
	var best *Challenge
	bestRank := 0
	for _, ch := range challenges {
		if r := rankOf(ch); r > bestRank {
			best, bestRank = ch, r
		}
	}
	return best
}

// chooseQOP picks the qop to answer with: "auth" when offered, else
// "auth-int", else "" when nothing is offered. Values are compared without
// regard to case.
func chooseQOP(offered []string) (string, error) {
	if len(offered) == 0 {
		return "", nil
	}
	authInt := false
	for _, q := range offered {
		switch {
		case strings.EqualFold(q, qopAuth):
			return qopAuth, nil
		case strings.EqualFold(q, qopAuthInt):
			authInt = true
		}
	}
	if authInt {
		return qopAuthInt, nil
	}
	return "", ErrUnsupportedQOP
}
