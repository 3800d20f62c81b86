// Package digest implements HTTP Digest access authentication as used by SIP
// (RFC 3261 §22, RFC 2617, RFC 7616 and RFC 8760).
//
// The client side answers a 401 (WWW-Authenticate) or 407
// (Proxy-Authenticate) challenge: parse each challenge header with
// [ParseChallenge], pick the strongest usable one with [Select], and let a
// [Client] compute the Authorization or Proxy-Authorization header value.
// The Client remembers the nonce-count for every nonce it has answered, so
// later requests reusing a nonce carry an increasing nc.
//
// The MD5, SHA-256 and SHA-512-256 algorithms and their "-sess" variants are
// supported, with qop "auth", "auth-int" or no qop at all (the RFC 2069
// compatible response).
//
// [ParseAuthorization] and [Verify] form a small server-side verifier. Verify
// checks only the response value; checking that the nonce is fresh, that the
// nonce-count increases and that the uri matches the request is left to the
// caller.
package digest
