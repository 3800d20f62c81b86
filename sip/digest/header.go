package digest

import "strings"

// String formats the authorization as a header value, for example
//
//	Digest username="bob", realm="atlanta.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", uri="sip:atlanta.com", response="...", algorithm=MD5, cnonce="0a4f113b", qop=auth, nc=00000001
//
// Quoted values have '"' and '\' escaped. Algorithm and Opaque are omitted
// when empty; CNonce is omitted when empty; QOP and NC are written only when
// QOP is set. String does not validate the fields: values made by
// [Client.Authorize] or [ParseAuthorization] never contain control
// characters, but an Authorization built by hand must not either.
func (a *Authorization) String() string {
	var b headerWriter
	b.Grow(160 + len(a.Username) + len(a.Realm) + len(a.Nonce) + len(a.URI) + len(a.Response) + len(a.CNonce) + len(a.Opaque))
	b.quoted("username", a.Username)
	b.quoted("realm", a.Realm)
	b.quoted("nonce", a.Nonce)
	b.quoted("uri", a.URI)
	b.quoted("response", a.Response)
	if a.Algorithm != "" {
		b.bare("algorithm", a.Algorithm)
	}
	if a.CNonce != "" {
		b.quoted("cnonce", a.CNonce)
	}
	if a.Opaque != "" {
		b.quoted("opaque", a.Opaque)
	}
	if a.QOP != "" {
		b.bare("qop", a.QOP)
		var nc [8]byte
		b.bare("nc", string(appendNC(nc[:0], a.NC)))
	}
	return b.String()
}

// String formats the challenge as a WWW-Authenticate or Proxy-Authenticate
// header value, for example
//
//	Digest realm="atlanta.com", nonce="84a4cc6f3082121f32b42a2187831a9e", algorithm=MD5, qop="auth"
//
// Opaque, Domain and Algorithm are omitted when empty, qop when QOP is
// empty, stale and userhash when false. Like [Authorization.String] it does
// not validate the fields.
func (c *Challenge) String() string {
	var b headerWriter
	b.Grow(128 + len(c.Realm) + len(c.Nonce) + len(c.Opaque) + len(c.Domain))
	b.quoted("realm", c.Realm)
	b.quoted("nonce", c.Nonce)
	if c.Opaque != "" {
		b.quoted("opaque", c.Opaque)
	}
	if c.Domain != "" {
		b.quoted("domain", c.Domain)
	}
	if c.Algorithm != "" {
		b.bare("algorithm", c.Algorithm)
	}
	if len(c.QOP) > 0 {
		b.quoted("qop", strings.Join(c.QOP, ","))
	}
	if c.Stale {
		b.bare("stale", "TRUE")
	}
	if c.UserHash {
		b.bare("userhash", "true")
	}
	return b.String()
}

// headerWriter builds a Digest header value parameter by parameter.
type headerWriter struct {
	strings.Builder
	params int
}

func (b *headerWriter) name(name string) {
	if b.params > 0 {
		b.WriteString(", ")
	} else {
		b.WriteString("Digest ")
	}
	b.params++
	b.WriteString(name)
	b.WriteByte('=')
}

func (b *headerWriter) bare(name, value string) {
	b.name(name)
	b.WriteString(value)
}

func (b *headerWriter) quoted(name, value string) {
	b.name(name)
	b.WriteByte('"')
	for i := 0; i < len(value); i++ {
		if c := value[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(value[i])
	}
	b.WriteByte('"')
}
