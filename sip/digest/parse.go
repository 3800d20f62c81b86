package digest

import (
	"fmt"
	"strings"
)

// maxHeaderLen bounds the header values the parsers accept. Real digest
// headers are a few hundred bytes long.
const maxHeaderLen = 16 << 10

// Challenge is a parsed WWW-Authenticate or Proxy-Authenticate Digest
// challenge. It is a plain value: it is not safe to modify concurrently with
// its use, but any number of goroutines may read it.
type Challenge struct {
	// Realm is the protection space, shown to users and part of HA1.
	Realm string
	// Nonce is the server-chosen nonce.
	Nonce string
	// Opaque must be returned unchanged in the Authorization. An empty
	// Opaque is treated as absent.
	Opaque string
	// Domain is the raw, space-separated list of URIs of the protection
	// space.
	Domain string
	// Algorithm is the canonical algorithm name: "MD5" (also when the
	// challenge carries none), "MD5-sess", "SHA-256", "SHA-256-sess",
	// "SHA-512-256" or "SHA-512-256-sess".
	Algorithm string
	// QOP lists the offered quality-of-protection values in lowercase, for
	// example ["auth"] or ["auth", "auth-int"]. It is nil when the
	// challenge offers none.
	QOP []string
	// Stale reports stale=true: the credentials were right but the nonce
	// has expired, so the request can be retried at once with the new
	// nonce.
	Stale bool
	// UserHash reports userhash=true (RFC 7616 §3.4.4). It is parsed for
	// information only; the Client always sends the plain username, which
	// the RFC permits.
	UserHash bool
}

// Authorization is a Digest Authorization or Proxy-Authorization header
// value. It is a plain value: it is not safe to modify concurrently with its
// use, but any number of goroutines may read it.
type Authorization struct {
	// Username is the plain username.
	Username string
	// Realm and Nonce echo the answered challenge.
	Realm string
	Nonce string
	// URI is the Request-URI the response covers.
	URI string
	// Response is the request-digest as lowercase hex.
	Response string
	// Algorithm is the canonical algorithm name; empty means "MD5".
	Algorithm string
	// CNonce is the client nonce; empty when neither a qop nor a -sess
	// algorithm is in use.
	CNonce string
	// Opaque echoes the challenge's opaque; empty means absent.
	Opaque string
	// QOP is "auth", "auth-int", or empty for the RFC 2069 compatible
	// response.
	QOP string
	// NC is the nonce-count; it is sent, and parsed, only when QOP is set.
	NC uint32
}

// Parameter identifiers, used to detect duplicates.
const (
	pRealm = 1 << iota
	pNonce
	pOpaque
	pDomain
	pAlgorithm
	pQOP
	pStale
	pUserHash
	pUsername
	pURI
	pResponse
	pCNonce
	pNC
)

var paramNames = [...]struct {
	name string
	id   int
}{
	{"realm", pRealm},
	{"nonce", pNonce},
	{"opaque", pOpaque},
	{"domain", pDomain},
	{"algorithm", pAlgorithm},
	{"qop", pQOP},
	{"stale", pStale},
	{"userhash", pUserHash},
	{"username", pUsername},
	{"uri", pURI},
	{"response", pResponse},
	{"cnonce", pCNonce},
	{"nc", pNC},
}

// paramID returns the identifier of a known parameter name (compared
// without regard to case), or 0.
func paramID(name string) int {
	for _, p := range paramNames {
		if strings.EqualFold(p.name, name) {
			return p.id
		}
	}
	return 0
}

// ParseChallenge parses a WWW-Authenticate or Proxy-Authenticate header value
// holding one Digest challenge, such as
//
//	Digest realm="atlanta.com", nonce="84a4cc6f3082121f32b42a2187831a9e", qop="auth"
//
// Parameter names are case-insensitive and unknown parameters are ignored.
// realm and nonce are required. Errors wrap [ErrMalformed],
// [ErrUnsupportedScheme] or [ErrUnsupportedAlgorithm].
func ParseChallenge(header string) (*Challenge, error) {
	p, err := newParser(header)
	if err != nil {
		return nil, err
	}
	ch := &Challenge{Algorithm: algorithms[0].name}
	seen, err := p.each(func(id int, value string) error {
		switch id {
		case pRealm:
			ch.Realm = value
		case pNonce:
			ch.Nonce = value
		case pOpaque:
			ch.Opaque = value
		case pDomain:
			ch.Domain = value
		case pAlgorithm:
			alg, ok := lookupAlgorithm(value)
			if !ok || value == "" {
				return fmt.Errorf("%w %q", ErrUnsupportedAlgorithm, value)
			}
			ch.Algorithm = alg.name
		case pQOP:
			qop, err := parseQOPList(value)
			if err != nil {
				return err
			}
			ch.QOP = qop
		case pStale:
			ch.Stale = strings.EqualFold(value, "true")
		case pUserHash:
			ch.UserHash = strings.EqualFold(value, "true")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if seen&pRealm == 0 {
		return nil, fmt.Errorf("%w: challenge has no realm", ErrMalformed)
	}
	if seen&pNonce == 0 {
		return nil, fmt.Errorf("%w: challenge has no nonce", ErrMalformed)
	}
	return ch, nil
}

// parseQOPList splits a comma-separated qop list into lowercase tokens,
// skipping empty elements.
func parseQOPList(s string) ([]string, error) {
	var list []string
	for len(s) > 0 {
		var item string
		item, s, _ = strings.Cut(s, ",")
		item = strings.Trim(item, " \t")
		if item == "" {
			continue
		}
		if !isToken(item) {
			return nil, fmt.Errorf("%w: invalid qop value %q", ErrMalformed, item)
		}
		list = append(list, strings.ToLower(item))
	}
	return list, nil
}

// ParseAuthorization parses an Authorization or Proxy-Authorization header
// value holding Digest credentials, as produced by [Authorization.String].
// username, realm, nonce, uri and response are required; a non-empty cnonce
// and nc are required when qop is present. Errors wrap [ErrMalformed],
// [ErrUnsupportedScheme] or [ErrUnsupportedAlgorithm].
func ParseAuthorization(header string) (*Authorization, error) {
	p, err := newParser(header)
	if err != nil {
		return nil, err
	}
	a := &Authorization{Algorithm: algorithms[0].name}
	seen, err := p.each(func(id int, value string) error {
		switch id {
		case pUsername:
			a.Username = value
		case pRealm:
			a.Realm = value
		case pNonce:
			a.Nonce = value
		case pURI:
			a.URI = value
		case pResponse:
			a.Response = value
		case pAlgorithm:
			alg, ok := lookupAlgorithm(value)
			if !ok || value == "" {
				return fmt.Errorf("%w %q", ErrUnsupportedAlgorithm, value)
			}
			a.Algorithm = alg.name
		case pCNonce:
			a.CNonce = value
		case pOpaque:
			a.Opaque = value
		case pQOP:
			if !isToken(value) {
				return fmt.Errorf("%w: invalid qop value %q", ErrMalformed, value)
			}
			a.QOP = strings.ToLower(value)
		case pNC:
			nc, ok := parseNC(value)
			a.NC = nc
			if !ok {
				return fmt.Errorf("%w: invalid nc %q", ErrMalformed, value)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, req := range [...]struct {
		id   int
		name string
	}{{pUsername, "username"}, {pRealm, "realm"}, {pNonce, "nonce"}, {pURI, "uri"}, {pResponse, "response"}} {
		if seen&req.id == 0 {
			return nil, fmt.Errorf("%w: authorization has no %s", ErrMalformed, req.name)
		}
	}
	if a.QOP != "" && (a.CNonce == "" || seen&pNC == 0) {
		return nil, fmt.Errorf("%w: authorization with qop lacks cnonce or nc", ErrMalformed)
	}
	if a.QOP == "" {
		a.NC = 0 // nc means nothing without qop
	}
	return a, nil
}

// parseNC parses a nonce-count of one to eight hex digits.
func parseNC(s string) (uint32, bool) {
	if len(s) == 0 || len(s) > 8 {
		return 0, false
	}
	var n uint32
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | uint32(d)
	}
	return n, true
}

// parser walks the auth-param list of a Digest header value. Every call to
// next consumes at least one byte or ends the walk, so parsing is linear in
// the input length.
type parser struct {
	s   string
	pos int
}

// newParser checks the length and the scheme of a header value and returns
// a parser positioned at the first parameter.
func newParser(header string) (*parser, error) {
	if len(header) > maxHeaderLen {
		return nil, fmt.Errorf("%w: header longer than %d bytes", ErrMalformed, maxHeaderLen)
	}
	p := &parser{s: header}
	p.skipSpace()
	scheme := p.token()
	if scheme == "" {
		return nil, fmt.Errorf("%w: missing authentication scheme", ErrMalformed)
	}
	if !strings.EqualFold(scheme, "Digest") {
		return nil, fmt.Errorf("%w %q", ErrUnsupportedScheme, scheme)
	}
	if p.pos < len(p.s) && !isSpace(p.s[p.pos]) {
		return nil, fmt.Errorf("%w: unexpected %q after scheme", ErrMalformed, p.s[p.pos])
	}
	return p, nil
}

// next returns the next parameter. ok is false at the end of the input.
func (p *parser) next() (name, value string, ok bool, err error) {
	// Skip whitespace and empty list elements.
	for p.pos < len(p.s) && (isSpace(p.s[p.pos]) || p.s[p.pos] == ',') {
		p.pos++
	}
	if p.pos == len(p.s) {
		return "", "", false, nil
	}
	start := p.pos
	name = p.token()
	if name == "" {
		return "", "", false, fmt.Errorf("%w: expected parameter name at offset %d", ErrMalformed, start)
	}
	p.skipSpace()
	if p.pos == len(p.s) || p.s[p.pos] != '=' {
		return "", "", false, fmt.Errorf("%w: parameter %q has no value", ErrMalformed, name)
	}
	p.pos++
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		value, err = p.quoted()
		if err != nil {
			return "", "", false, err
		}
	} else {
		value = p.bare()
		if value == "" {
			return "", "", false, fmt.Errorf("%w: parameter %q has an empty value", ErrMalformed, name)
		}
	}
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] != ',' {
		return "", "", false, fmt.Errorf("%w: unexpected %q after parameter %q", ErrMalformed, p.s[p.pos], name)
	}
	return name, value, true, nil
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) && isSpace(p.s[p.pos]) {
		p.pos++
	}
}

// token consumes a run of token characters.
func (p *parser) token() string {
	start := p.pos
	for p.pos < len(p.s) && isTokenChar(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// bare consumes an unquoted value. It accepts more than the token grammar
// (for example ':', '/', '@' and '=') because some implementations send
// unquoted URIs and base64 nonces.
func (p *parser) bare() string {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == ',' || c == '"' || isSpace(c) || isCTL(c) {
			break
		}
		p.pos++
	}
	return p.s[start:p.pos]
}

// quoted consumes a quoted-string starting at the opening quote and returns
// its unescaped content. Control characters other than HTAB are rejected,
// escaped or not.
func (p *parser) quoted() (string, error) {
	start := p.pos
	p.pos++ // opening quote
	contentStart := p.pos
	var b *strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			if b == nil {
				return p.s[contentStart : p.pos-1], nil
			}
			return b.String(), nil
		case c == '\\':
			if p.pos+1 == len(p.s) {
				return "", fmt.Errorf("%w: unterminated quoted string at offset %d", ErrMalformed, start)
			}
			if b == nil {
				b = new(strings.Builder)
				b.Grow(len(p.s) - contentStart)
				b.WriteString(p.s[contentStart:p.pos])
			}
			c = p.s[p.pos+1]
			if isCTL(c) && c != '\t' {
				return "", fmt.Errorf("%w: control character in quoted string at offset %d", ErrMalformed, p.pos+1)
			}
			b.WriteByte(c)
			p.pos += 2
		case isCTL(c) && c != '\t':
			return "", fmt.Errorf("%w: control character in quoted string at offset %d", ErrMalformed, p.pos)
		default:
			if b != nil {
				b.WriteByte(c)
			}
			p.pos++
		}
	}
	return "", fmt.Errorf("%w: unterminated quoted string at offset %d", ErrMalformed, start)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func isCTL(c byte) bool { return c < 0x20 || c == 0x7f }

// isTokenChar reports whether c is a tchar of RFC 9110 §5.6.2.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// hasCTL reports whether s contains a control character other than HTAB,
// which could not be carried in a header value.
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; isCTL(c) && c != '\t' {
			return true
		}
	}
	return false
}

// each calls fn for every known parameter of the header, refusing
// duplicates and skipping unknown ones. It returns the set of parameter
// ids seen, for checking required ones.
func (p *parser) each(fn func(id int, value string) error) (int, error) {
	seen := 0
	for {
		name, value, ok, err := p.next()
		if err != nil {
			return seen, err
		}
		if !ok {
			return seen, nil
		}
		id := paramID(name)
		if id == 0 {
			continue
		}
		if seen&id != 0 {
			return seen, fmt.Errorf("%w: duplicate parameter %q", ErrMalformed, name)
		}
		seen |= id
		if err := fn(id, value); err != nil {
			return seen, err
		}
	}
}
