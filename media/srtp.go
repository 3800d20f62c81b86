package media

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v3"
	"github.com/pion/transport/v5/replaydetector"
)

// SRTPPolicy says whether a Session protects its media with SRTP
// (RFC 3711) keyed by SDP security descriptions (RFC 4568). A policy is
// a plain value, safe for concurrent use.
type SRTPPolicy int

// SRTP policies.
const (
	// SRTPUnknown is the zero value; it behaves as SRTPOff.
	SRTPUnknown SRTPPolicy = iota
	// SRTPOff sends and receives plain RTP only. Offers are RTP/AVP
	// without a=crypto; an RTP/SAVP offer is refused (ErrSRTPRefused);
	// a=crypto lines in an RTP/AVP offer are ignored.
	SRTPOff
	// SRTPOptional is "best effort SRTP": offers are RTP/AVP with
	// a=crypto lines, and SRTP is used whenever the peer accepts or
	// offers one of our crypto suites; otherwise the call uses plain RTP.
	SRTPOptional
	// SRTPMandatory allows only SRTP: offers are RTP/SAVP with a=crypto
	// lines, and an offer or answer without a usable a=crypto line fails
	// with ErrSRTPRequired.
	SRTPMandatory
)

// String returns "unknown", "off", "optional" or "mandatory".
func (p SRTPPolicy) String() string {
	switch p {
	case SRTPUnknown:
		return "unknown"
	case SRTPOff:
		return "off"
	case SRTPOptional:
		return "optional"
	case SRTPMandatory:
		return "mandatory"
	}
	return "SRTPPolicy(" + strconv.Itoa(int(p)) + ")"
}

// enabled reports whether the policy offers and accepts SRTP.
func (p SRTPPolicy) enabled() bool { return p == SRTPOptional || p == SRTPMandatory }

// Crypto suite names (RFC 4568 section 6.2, RFC 6188, RFC 7714).
const (
	suiteAES128SHA80 = "AES_CM_128_HMAC_SHA1_80"
	suiteAES128SHA32 = "AES_CM_128_HMAC_SHA1_32"
	suiteAES256SHA80 = "AES_256_CM_HMAC_SHA1_80"
	suiteAES256SHA32 = "AES_256_CM_HMAC_SHA1_32"
	suiteGCM128      = "AEAD_AES_128_GCM"
	suiteGCM256      = "AEAD_AES_256_GCM"
)

// DefaultSRTPSuites returns the crypto suites used when
// Config.SRTPSuites is empty, in priority order:
// AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, AEAD_AES_128_GCM.
func DefaultSRTPSuites() []string {
	return []string{suiteAES128SHA80, suiteAES128SHA32, suiteGCM128}
}

// SupportedSRTPSuites returns the names of every crypto suite
// Config.SRTPSuites may list: the default ones plus
// AEAD_AES_256_GCM (RFC 7714) and AES_256_CM_HMAC_SHA1_80 and _32
// (RFC 6188).
func SupportedSRTPSuites() []string {
	return []string{suiteAES128SHA80, suiteAES128SHA32, suiteGCM128, suiteGCM256, suiteAES256SHA80, suiteAES256SHA32}
}

// srtpSuite is a crypto suite this package implements.
type srtpSuite struct {
	name    string
	profile srtp.ProtectionProfile
	keyLen  int // master key bytes
	saltLen int // master salt bytes
	tagLen  int // bytes an SRTP packet grows by
}

// lookupSuite returns the suite with the given name (compared without
// regard to case).
func lookupSuite(name string) (srtpSuite, bool) {
	switch strings.ToUpper(name) {
	case suiteAES128SHA80:
		return srtpSuite{suiteAES128SHA80, srtp.ProtectionProfileAes128CmHmacSha1_80, 16, 14, 10}, true
	case suiteAES128SHA32:
		return srtpSuite{suiteAES128SHA32, srtp.ProtectionProfileAes128CmHmacSha1_32, 16, 14, 4}, true
	case suiteAES256SHA80:
		return srtpSuite{suiteAES256SHA80, srtp.ProtectionProfileAes256CmHmacSha1_80, 32, 14, 10}, true
	case suiteAES256SHA32:
		return srtpSuite{suiteAES256SHA32, srtp.ProtectionProfileAes256CmHmacSha1_32, 32, 14, 4}, true
	case suiteGCM128:
		return srtpSuite{suiteGCM128, srtp.ProtectionProfileAeadAes128Gcm, 16, 12, 16}, true
	case suiteGCM256:
		return srtpSuite{suiteGCM256, srtp.ProtectionProfileAeadAes256Gcm, 32, 12, 16}, true
	}
	return srtpSuite{}, false
}

// srtpLocal is a Session's SRTP configuration: the policy, the suites in
// priority order and, for each suite, the master key and salt this
// session sends with. The keys are drawn once per Session so that every
// offer and answer of a call carries the same ones (and a re-INVITE does
// not reset the rollover counter). It is not modified after NewSession.
type srtpLocal struct {
	policy SRTPPolicy
	suites []srtpSuite
	keys   [][]byte // keys[i] is master key || master salt of suites[i]
}

// newSRTPLocal validates the SRTP part of a Config and, unless SRTP is
// off, draws the keys.
func newSRTPLocal(policy SRTPPolicy, names []string) (srtpLocal, error) {
	switch policy {
	case SRTPUnknown:
		policy = SRTPOff
	case SRTPOff, SRTPOptional, SRTPMandatory:
	default:
		return srtpLocal{}, fmt.Errorf("%w: SRTP policy %v", ErrConfig, policy)
	}
	if len(names) == 0 {
		names = DefaultSRTPSuites()
	}
	l := srtpLocal{policy: policy}
	for _, name := range names {
		su, ok := lookupSuite(name)
		if !ok {
			return srtpLocal{}, fmt.Errorf("%w: unknown SRTP crypto suite %q", ErrConfig, name)
		}
		dup := false
		for _, have := range l.suites {
			dup = dup || have.name == su.name
		}
		if !dup {
			l.suites = append(l.suites, su)
		}
	}
	if !policy.enabled() {
		l.suites = nil
		return l, nil
	}
	for _, su := range l.suites {
		key := make([]byte, su.keyLen+su.saltLen)
		_, _ = rand.Read(key) // never fails (crypto/rand documents this)
		l.keys = append(l.keys, key)
	}
	return l, nil
}

// offer returns the a=crypto attributes of an offer: one per suite,
// tagged 1..n in priority order, or none when SRTP is off.
func (l *srtpLocal) offer() []cryptoAttr {
	if !l.policy.enabled() {
		return nil
	}
	attrs := make([]cryptoAttr, len(l.suites))
	for i, su := range l.suites {
		attrs[i] = cryptoAttr{tag: uint32(i + 1), suite: su, key: l.keys[i]}
	}
	return attrs
}

// offerProto returns the m= line protocol of an offer.
func (l *srtpLocal) offerProto() string {
	if l.policy == SRTPMandatory {
		return "RTP/SAVP"
	}
	return "RTP/AVP"
}

// cryptoAttr is one a=crypto attribute (RFC 4568 section 9.1) with a
// suite this package supports. It holds key material: never log it.
type cryptoAttr struct {
	tag   uint32
	suite srtpSuite
	key   []byte // master key || master salt
	mki   []byte // master key identifier as sent in packets, or nil
}

// value renders the attribute value for an SDP a=crypto line. It
// contains the key.
func (c *cryptoAttr) value() string {
	return strconv.FormatUint(uint64(c.tag), 10) + " " + c.suite.name + " inline:" +
		base64.StdEncoding.EncodeToString(c.key)
}

// errCryptoUnsupported marks an a=crypto attribute that is well formed
// but asks for something this package does not implement (another
// suite, key method or session parameter). RFC 4568 has the answerer
// ignore such attributes.
var errCryptoUnsupported = errors.New("unsupported a=crypto")

// maxCryptoTag is the largest tag of 9 digits (RFC 4568 section 9.1).
const maxCryptoTag = 999_999_999

// parseCrypto parses an a=crypto attribute value:
//
//	<tag> <crypto-suite> inline:<key||salt>[|<lifetime>][|<MKI>:<length>] [<session-param>...]
//
// Errors wrap ErrMalformedSDP or errCryptoUnsupported. They never quote
// the key.
func parseCrypto(v string) (cryptoAttr, error) {
	fields := strings.Fields(v)
	if len(fields) < 3 {
		return cryptoAttr{}, fmt.Errorf("%w: a=crypto needs a tag, a suite and key parameters", ErrMalformedSDP)
	}
	var c cryptoAttr
	tag := fields[0]
	if len(tag) > 9 || !allDigits(tag) {
		return cryptoAttr{}, fmt.Errorf("%w: bad a=crypto tag %.12q", ErrMalformedSDP, tag)
	}
	t, _ := strconv.ParseUint(tag, 10, 32) // at most 9 digits: fits
	c.tag = uint32(t)
	name := fields[1]
	if !validSuiteName(name) {
		return cryptoAttr{}, fmt.Errorf("%w: bad a=crypto suite %.40q", ErrMalformedSDP, name)
	}
	su, ok := lookupSuite(name)
	if !ok {
		return cryptoAttr{}, fmt.Errorf("%w: crypto suite %.40q", errCryptoUnsupported, name)
	}
	c.suite = su

	// Key parameters: one or more key-method:key-info, separated by ';'.
	keyParams := strings.Split(fields[2], ";")
	if len(keyParams) > 1 {
		return cryptoAttr{}, fmt.Errorf("%w: %d master keys in one a=crypto", errCryptoUnsupported, len(keyParams))
	}
	method, info, ok := strings.Cut(keyParams[0], ":")
	if !ok || method == "" {
		return cryptoAttr{}, fmt.Errorf("%w: a=crypto key parameter without a method", ErrMalformedSDP)
	}
	if !strings.EqualFold(method, "inline") {
		return cryptoAttr{}, fmt.Errorf("%w: key method %.20q", errCryptoUnsupported, method)
	}
	parts := strings.Split(info, "|")
	if len(parts) > 3 {
		return cryptoAttr{}, fmt.Errorf("%w: a=crypto inline key has %d parts", ErrMalformedSDP, len(parts))
	}
	key, err := decodeKey(parts[0])
	if err != nil || len(key) != su.keyLen+su.saltLen {
		return cryptoAttr{}, fmt.Errorf("%w: a=crypto %s key is not %d bytes of base64", ErrMalformedSDP, su.name, su.keyLen+su.saltLen)
	}
	c.key = key
	parts = parts[1:]
	if len(parts) > 0 && !strings.Contains(parts[0], ":") {
		if err := checkLifetime(parts[0]); err != nil {
			return cryptoAttr{}, err
		}
		parts = parts[1:]
	}
	if len(parts) > 0 {
		if c.mki, err = parseMKI(parts[0]); err != nil {
			return cryptoAttr{}, err
		}
		parts = parts[1:]
	}
	if len(parts) > 0 {
		return cryptoAttr{}, fmt.Errorf("%w: a=crypto inline key: unexpected part after the MKI", ErrMalformedSDP)
	}

	// Session parameters (RFC 4568 section 6.3).
	for _, p := range fields[3:] {
		if err := checkSessionParam(p); err != nil {
			return cryptoAttr{}, err
		}
	}
	return c, nil
}

// allDigits reports whether s is a non-empty string of ASCII digits.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// validSuiteName reports whether s is a crypto-suite token:
// 1*(ALPHA / DIGIT / "_").
func validSuiteName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

// decodeKey decodes base64 key material, with or without padding.
func decodeKey(s string) ([]byte, error) {
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.Strict().DecodeString(s)
	}
	return base64.RawStdEncoding.Strict().DecodeString(s)
}

// checkLifetime validates a master key lifetime: a decimal number of
// packets or "2^n". The lifetime is not enforced: calls end long before
// the shortest usual one (2^31) runs out.
func checkLifetime(s string) error {
	bad := fmt.Errorf("%w: bad a=crypto key lifetime %.24q", ErrMalformedSDP, s)
	if exp, ok := strings.CutPrefix(s, "2^"); ok {
		if !allDigits(exp) || len(exp) > 2 {
			return bad
		}
		if n, _ := strconv.Atoi(exp); n < 1 || n > 48 {
			return bad
		}
		return nil
	}
	if !allDigits(s) || len(s) > 15 || strings.TrimLeft(s, "0") == "" {
		return bad
	}
	return nil
}

// parseMKI parses "<value>:<length>" into the MKI as sent in packets:
// value in length bytes, big-endian (RFC 4568 section 6.1).
func parseMKI(s string) ([]byte, error) {
	value, length, _ := strings.Cut(s, ":")
	bad := fmt.Errorf("%w: bad a=crypto MKI %.30q", ErrMalformedSDP, s)
	if !allDigits(value) || !allDigits(length) || len(length) > 3 || len(value) > 20 {
		return nil, bad
	}
	v, err := strconv.ParseUint(value, 10, 64)
	if err != nil {
		return nil, bad
	}
	n, _ := strconv.Atoi(length)
	if n < 1 || n > 128 || (n < 8 && v>>(8*n) != 0) {
		return nil, bad
	}
	mki := make([]byte, n)
	for i := n - 1; i >= 0 && v != 0; i-- {
		mki[i] = byte(v)
		v >>= 8
	}
	return mki, nil
}

// checkSessionParam accepts the session parameters that do not change
// how packets are protected and refuses the others.
func checkSessionParam(p string) error {
	name, value, hasValue := strings.Cut(p, "=")
	switch strings.ToUpper(name) {
	case "WSH":
		// Window size hint (RFC 4568 section 6.3.6): at least 64.
		if n, err := strconv.Atoi(value); !hasValue || err != nil || n < 64 {
			return fmt.Errorf("%w: bad a=crypto WSH %.20q", ErrMalformedSDP, value)
		}
		return nil
	case "KDR":
		if !hasValue || !allDigits(value) || len(value) > 2 {
			return fmt.Errorf("%w: bad a=crypto KDR %.20q", ErrMalformedSDP, value)
		}
		if n, _ := strconv.Atoi(value); n != 0 {
			return fmt.Errorf("%w: key derivation rate 2^%d", errCryptoUnsupported, n)
		}
		return nil
	case "FEC_ORDER":
		return nil // only matters with FEC, which is not used
	}
	return fmt.Errorf("%w: session parameter %.30q", errCryptoUnsupported, name)
}

// cryptoLines returns the values of the a=crypto attributes of media
// description m.
func cryptoLines(m *sdp.MediaDescription) []string {
	var out []string
	for _, a := range m.Attributes {
		if a.Key == "crypto" {
			out = append(out, a.Value)
		}
	}
	return out
}

// isSecureProto reports whether an m= line protocol is SRTP.
func isSecureProto(proto string) bool {
	switch strings.ToUpper(proto) {
	case "RTP/SAVP", "RTP/SAVPF":
		return true
	}
	return false
}

// srtpNeg is the SRTP outcome of an offer/answer exchange: the suite,
// our key (for sending) and the peer's (for receiving). It holds key
// material: never log it.
type srtpNeg struct {
	suite     srtpSuite
	local     []byte // master key || salt we send with
	remote    []byte // master key || salt the peer sends with
	remoteMKI []byte // the MKI in the peer's packets, or nil
}

// sameRemote reports whether n and o decrypt with the same key, so that
// a receive context can be kept (with its rollover counter and replay
// window) across a re-negotiation.
func (n *srtpNeg) sameRemote(o *srtpNeg) bool {
	return n != nil && o != nil && n.suite.name == o.suite.name &&
		bytes.Equal(n.remote, o.remote) && bytes.Equal(n.remoteMKI, o.remoteMKI)
}

// parseCryptoLines parses the a=crypto values, keeping the usable ones
// and the first error (for diagnostics).
func parseCryptoLines(lines []string) ([]cryptoAttr, error) {
	var attrs []cryptoAttr
	var first error
	for _, l := range lines {
		c, err := parseCrypto(l)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		attrs = append(attrs, c)
	}
	return attrs, first
}

// suiteNames lists the suites of attrs for error messages.
func suiteNames(attrs []cryptoAttr, lines []string, first error) string {
	names := make([]string, 0, len(attrs))
	for _, a := range attrs {
		names = append(names, a.suite.name)
	}
	s := strings.Join(names, ",")
	if s == "" {
		s = "none usable"
	}
	if first != nil {
		s += fmt.Sprintf(" (%d a=crypto lines; %v)", len(lines), first)
	}
	return s
}

// answerSRTP decides the SRTP part of our answer to offer, whose audio
// stream has the a=crypto values lines. It returns the outcome (nil for
// plain RTP), the protocol of our m= line and our a=crypto attribute
// (nil for none).
func answerSRTP(l *srtpLocal, offer *Description, lines []string) (*srtpNeg, string, *cryptoAttr, error) {
	secure := isSecureProto(offer.Proto)
	if !l.policy.enabled() {
		if secure {
			return nil, "", nil, fmt.Errorf("%w: offer uses %s and SRTP is off", ErrSRTPRefused, offer.Proto)
		}
		return nil, "RTP/AVP", nil, nil
	}
	attrs, first := parseCryptoLines(lines)
	for i, su := range l.suites {
		for _, a := range attrs {
			if a.suite.name != su.name {
				continue
			}
			proto := "RTP/AVP"
			if secure {
				proto = "RTP/SAVP"
			}
			n := &srtpNeg{suite: su, local: l.keys[i], remote: a.key, remoteMKI: a.mki}
			return n, proto, &cryptoAttr{tag: a.tag, suite: su, key: l.keys[i]}, nil
		}
	}
	switch {
	case secure:
		return nil, "", nil, fmt.Errorf("%w: no common crypto suite: offer has %s", ErrSRTPRefused, suiteNames(attrs, lines, first))
	case l.policy == SRTPMandatory:
		return nil, "", nil, fmt.Errorf("%w: offer has %s and no usable a=crypto: %s", ErrSRTPRequired, offer.Proto, suiteNames(attrs, lines, first))
	}
	return nil, "RTP/AVP", nil, nil
}

// offerSRTP decides SRTP from the answer to our offer, which carried the
// a=crypto attributes offered (none when SRTP is off).
func offerSRTP(policy SRTPPolicy, offered []cryptoAttr, answer *Description, lines []string) (*srtpNeg, error) {
	secure := isSecureProto(answer.Proto)
	if len(offered) == 0 {
		if secure {
			return nil, fmt.Errorf("%w: answer uses %s to a plain RTP offer", ErrSRTPRefused, answer.Proto)
		}
		return nil, nil
	}
	attrs, first := parseCryptoLines(lines)
	for _, a := range attrs {
		for _, o := range offered {
			if a.tag == o.tag && a.suite.name == o.suite.name {
				return &srtpNeg{suite: o.suite, local: o.key, remote: a.key, remoteMKI: a.mki}, nil
			}
		}
	}
	switch {
	case policy == SRTPMandatory:
		return nil, fmt.Errorf("%w: answer (%s) has no a=crypto matching our offer: %s", ErrSRTPRequired, answer.Proto, suiteNames(attrs, lines, first))
	case secure || len(lines) > 0:
		return nil, fmt.Errorf("%w: answer (%s) has no a=crypto matching our offer: %s", ErrSRTPRefused, answer.Proto, suiteNames(attrs, lines, first))
	}
	return nil, nil // best effort: the peer answered plain RTP
}

// replayWindow is the replay list of one SRTP or SRTCP source
// (RFC 3711 section 3.3.2). It wraps pion's detector to record a
// rejection in *rejected, so that the receiver can tell replays from
// authentication failures.
type replayWindow struct {
	inner    replaydetector.ReplayDetector
	ca       replaydetector.CheckAccepter
	rejected *bool
}

// replayWindowSize is the number of packets behind the newest one that
// are still accepted once.
const replayWindowSize = 128

// Check implements replaydetector.ReplayDetector.
func (w *replayWindow) Check(seq uint64) (func() bool, bool) {
	accept, ok := w.inner.Check(seq)
	if !ok {
		*w.rejected = true
	}
	return accept, ok
}

// CheckSeq implements replaydetector.CheckAccepter.
func (w *replayWindow) CheckSeq(seq uint64) replaydetector.Token {
	t := w.ca.CheckSeq(seq)
	if !t.Passed() {
		*w.rejected = true
	}
	return t
}

// Accept implements replaydetector.CheckAccepter.
func (w *replayWindow) Accept(t replaydetector.Token) bool { return w.ca.Accept(t) }

// newReplayWindow returns a replay list for indexes up to maxIndex that
// reports rejections in *rejected.
func newReplayWindow(maxIndex uint64, rejected *bool) replaydetector.ReplayDetector {
	inner := replaydetector.New(replayWindowSize, maxIndex)
	ca, ok := inner.(replaydetector.CheckAccepter)
	if !ok {
		// Older detectors only have Check; wrap that.
		return &checkOnlyWindow{inner: inner, rejected: rejected}
	}
	return &replayWindow{inner: inner, ca: ca, rejected: rejected}
}

// checkOnlyWindow is replayWindow for a detector without CheckAccepter.
type checkOnlyWindow struct {
	inner    replaydetector.ReplayDetector
	rejected *bool
}

// Check implements replaydetector.ReplayDetector.
func (w *checkOnlyWindow) Check(seq uint64) (func() bool, bool) {
	accept, ok := w.inner.Check(seq)
	if !ok {
		*w.rejected = true
	}
	return accept, ok
}

// Largest SRTP index (48 bits) and SRTCP index (31 bits).
const (
	maxSRTPIndex  = 1<<48 - 1
	maxSRTCPIndex = 1<<31 - 1
)

// newSendContext returns an SRTP context that protects packets with our
// key of n.
func newSendContext(n *srtpNeg) (*srtp.Context, error) {
	k := n.suite.keyLen
	c, err := srtp.CreateContext(n.local[:k], n.local[k:], n.suite.profile)
	if err != nil {
		return nil, fmt.Errorf("media: SRTP %s send context: %w", n.suite.name, err)
	}
	return c, nil
}

// newReceiveContext returns an SRTP context that unprotects the peer's
// packets of n with replay protection, recording replays in *replayed.
func newReceiveContext(n *srtpNeg, replayed *bool) (*srtp.Context, error) {
	k := n.suite.keyLen
	opts := []srtp.ContextOption{
		srtp.SRTPReplayDetectorFactory(func() replaydetector.ReplayDetector {
			return newReplayWindow(maxSRTPIndex, replayed)
		}),
		srtp.SRTCPReplayDetectorFactory(func() replaydetector.ReplayDetector {
			return newReplayWindow(maxSRTCPIndex, replayed)
		}),
	}
	if len(n.remoteMKI) > 0 {
		opts = append(opts, srtp.MasterKeyIndicator(n.remoteMKI))
	}
	c, err := srtp.CreateContext(n.remote[:k], n.remote[k:], n.suite.profile, opts...)
	if err != nil {
		return nil, fmt.Errorf("media: SRTP %s receive context: %w", n.suite.name, err)
	}
	return c, nil
}
