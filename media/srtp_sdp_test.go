package media

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// RFC 4568 section 4 example key (master key || salt, 30 bytes).
const rfcKey = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"

func TestParseCrypto(t *testing.T) {
	key, _ := base64.StdEncoding.DecodeString(rfcKey)
	gcmKey := bytes.Repeat([]byte{7}, 28)
	gcm256Key := bytes.Repeat([]byte{9}, 44)
	mki32 := make([]byte, 32)
	mki32[31] = 1
	tests := []struct {
		in    string
		tag   uint32
		suite string
		key   []byte
		mki   []byte
	}{
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + "|2^20|1:32", 1, suiteAES128SHA80, key, mki32},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey, 1, suiteAES128SHA80, key, nil},
		{"2 AES_CM_128_HMAC_SHA1_32 inline:" + rfcKey + "|2^31", 2, suiteAES128SHA32, key, nil},
		{"3 AES_CM_128_HMAC_SHA1_32 inline:" + rfcKey + "|1048576", 3, suiteAES128SHA32, key, nil},
		{"4 aes_cm_128_hmac_sha1_80 INLINE:" + rfcKey + "|258:2 WSH=128 KDR=0 FEC_ORDER=FEC_SRTP", 4, suiteAES128SHA80, key, []byte{1, 2}},
		{"999999999 AES_CM_128_HMAC_SHA1_80 inline:" + strings.TrimRight(rfcKey, "=") + "  ", 999999999, suiteAES128SHA80, key, nil},
		{"7 AEAD_AES_128_GCM inline:" + base64.StdEncoding.EncodeToString(gcmKey), 7, suiteGCM128, gcmKey, nil},
		{"8 AEAD_AES_256_GCM inline:" + base64.RawStdEncoding.EncodeToString(gcm256Key), 8, suiteGCM256, gcm256Key, nil},
		{"0 AES_256_CM_HMAC_SHA1_80 inline:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 46)), 0, suiteAES256SHA80, bytes.Repeat([]byte{1}, 46), nil},
	}
	for _, tt := range tests {
		c, err := parseCrypto(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if c.tag != tt.tag || c.suite.name != tt.suite || !bytes.Equal(c.key, tt.key) || !bytes.Equal(c.mki, tt.mki) {
			t.Errorf("%q: tag %d suite %s key %x mki %x", tt.in, c.tag, c.suite.name, c.key, c.mki)
		}
	}
}

func TestParseCryptoErrors(t *testing.T) {
	short := base64.StdEncoding.EncodeToString(make([]byte, 29))
	gcmKey := base64.StdEncoding.EncodeToString(make([]byte, 28))
	malformed := []string{
		"",
		"1",
		"1 AES_CM_128_HMAC_SHA1_80",
		"x AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey,
		"1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey, // tag of 10 digits
		"-1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey,
		"1 AES-CM inline:" + rfcKey,
		"1 AES_CM_128_HMAC_SHA1_80 " + rfcKey,             // no method
		"1 AES_CM_128_HMAC_SHA1_80 :" + rfcKey,            // empty method
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + short,       // 29 bytes
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + gcmKey,      // a GCM key for a CM suite
		"1 AES_CM_128_HMAC_SHA1_80 inline:!!!notbase64!!", // bad base64
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + "|",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + "|2^0",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + "|2^49",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + "|0",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + "|1:0",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + "|1:129",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + "|256:1", // value does not fit
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + "|x:4",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + "|2^20|1:4|5",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + "|1:4|2^20",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + " WSH=32",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + " KDR=x",
	}
	for _, in := range malformed {
		c, err := parseCrypto(in)
		if !errors.Is(err, ErrMalformedSDP) {
			t.Errorf("%q: got %v (%+v), want ErrMalformedSDP", in, err, c.suite)
		}
		if err != nil && strings.Contains(err.Error(), rfcKey[:20]) {
			t.Errorf("%q: the error quotes the key: %v", in, err)
		}
	}
	unsupported := []string{
		"1 F8_128_HMAC_SHA1_80 inline:" + rfcKey,
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + "|1:4;inline:" + rfcKey + "|2:4", // two keys
		"1 AES_CM_128_HMAC_SHA1_80 mikey:abc",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + " KDR=10",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + " UNENCRYPTED_SRTP",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + " UNAUTHENTICATED_SRTP",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + " FEC_KEY=inline:" + rfcKey,
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + " NEW_PARAM",
	}
	for _, in := range unsupported {
		if _, err := parseCrypto(in); !errors.Is(err, errCryptoUnsupported) {
			t.Errorf("%q: got %v, want errCryptoUnsupported", in, err)
		}
	}
}

// FuzzParseCrypto checks that no a=crypto value makes the parser panic,
// that its errors are the package's and never quote key material, and
// that what it accepts has a key of the suite's size and survives a
// round trip through our own rendering.
func FuzzParseCrypto(f *testing.F) {
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + "|2^20|1:32")
	f.Add("1 AEAD_AES_128_GCM inline:" + base64.StdEncoding.EncodeToString(make([]byte, 28)) + " WSH=64")
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:" + rfcKey + "|1:4;inline:" + rfcKey + "|2:4")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := parseCrypto(in)
		if err != nil {
			if !errors.Is(err, ErrMalformedSDP) && !errors.Is(err, errCryptoUnsupported) {
				t.Fatalf("error %v is neither malformed nor unsupported", err)
			}
			if !utf8.ValidString(in) {
				return
			}
			// A key-looking field of the input must not be echoed.
			for _, fld := range strings.Fields(in) {
				if _, k, ok := strings.Cut(fld, "inline:"); ok && len(k) >= 16 && strings.Contains(err.Error(), k) {
					t.Fatalf("error quotes the key field: %v", err)
				}
			}
			return
		}
		if c.tag > maxCryptoTag {
			t.Fatalf("tag %d", c.tag)
		}
		if len(c.key) != c.suite.keyLen+c.suite.saltLen {
			t.Fatalf("%s key of %d bytes", c.suite.name, len(c.key))
		}
		if len(c.mki) > 128 {
			t.Fatalf("MKI of %d bytes", len(c.mki))
		}
		back, err := parseCrypto(c.value())
		if err != nil || back.tag != c.tag || back.suite != c.suite || !bytes.Equal(back.key, c.key) {
			t.Fatalf("round trip of %q: %+v, %v", c.value(), back.suite, err)
		}
	})
}

// cryptoOffer is an offer from a raw peer at addr with PCMU, on proto,
// with the given a=crypto values.
func cryptoOffer(addr netip.AddrPort, proto string, crypto ...string) []byte {
	o := "v=0\r\n" +
		"o=peer 1 1 IN IP4 127.0.0.1\r\n" +
		"s=-\r\n" +
		"c=IN IP4 " + addr.Addr().String() + "\r\n" +
		"t=0 0\r\n" +
		"m=audio " + strconv.Itoa(int(addr.Port())) + " " + proto + " 0 101\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n"
	for _, c := range crypto {
		o += "a=crypto:" + c + "\r\n"
	}
	return []byte(o + "a=sendrecv\r\n")
}

// peerCrypto returns an a=crypto value with a fixed key of the suite's
// size.
func peerCrypto(t testing.TB, tag uint32, suite string, fill byte) string {
	t.Helper()
	su, ok := lookupSuite(suite)
	if !ok {
		t.Fatalf("suite %s", suite)
	}
	c := cryptoAttr{tag: tag, suite: su, key: bytes.Repeat([]byte{fill}, su.keyLen+su.saltLen)}
	return c.value()
}

// sdpCrypto returns the proto and the parsed a=crypto attributes of the
// audio stream of b.
func sdpCrypto(t *testing.T, b []byte) (string, []cryptoAttr) {
	t.Helper()
	sd, idx, d, err := parseSDP(b)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var attrs []cryptoAttr
	for _, l := range cryptoLines(sd.MediaDescriptions[idx]) {
		c, err := parseCrypto(l)
		if err != nil {
			t.Fatalf("own a=crypto does not parse: %v", err)
		}
		attrs = append(attrs, c)
	}
	return d.Proto, attrs
}

func newSRTPSession(t testing.TB, policy SRTPPolicy, suites ...string) *Session {
	t.Helper()
	s, err := NewSession(Config{LocalIP: loopback, Codecs: []string{"PCMU"}, SRTP: policy, SRTPSuites: suites})
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSRTPPolicyString(t *testing.T) {
	for p, w := range map[SRTPPolicy]string{SRTPUnknown: "unknown", SRTPOff: "off", SRTPOptional: "optional",
		SRTPMandatory: "mandatory", 9: "SRTPPolicy(9)"} {
		if p.String() != w {
			t.Errorf("%d.String() = %q, want %q", int(p), p.String(), w)
		}
	}
}

func TestSRTPConfig(t *testing.T) {
	for _, cfg := range []Config{
		{LocalIP: loopback, SRTP: SRTPMandatory, SRTPSuites: []string{"NO_SUCH_SUITE"}},
		{LocalIP: loopback, SRTP: SRTPOff, SRTPSuites: []string{"AES_CM_128_HMAC_SHA1_81"}},
		{LocalIP: loopback, SRTP: SRTPPolicy(7)},
		{LocalIP: loopback, SRTP: SRTPPolicy(-1)},
	} {
		if s, err := NewSession(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%v %v: err %v", cfg.SRTP, cfg.SRTPSuites, err)
			if s != nil {
				s.Close()
			}
		}
	}
	for _, name := range SupportedSRTPSuites() {
		if _, ok := lookupSuite(name); !ok {
			t.Errorf("supported suite %s has no implementation", name)
		}
	}
	// Duplicates are dropped; names are not case-sensitive.
	s := newSRTPSession(t, SRTPOptional, "aead_aes_128_gcm", "AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_32")
	offer, err := s.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	if _, attrs := sdpCrypto(t, offer); len(attrs) != 2 || attrs[0].suite.name != suiteGCM128 || attrs[1].suite.name != suiteAES128SHA32 {
		t.Errorf("offer crypto %d lines", len(attrs))
	}
}

func TestSRTPCreateOffer(t *testing.T) {
	for _, tt := range []struct {
		policy SRTPPolicy
		proto  string
		crypto bool
	}{
		{SRTPUnknown, "RTP/AVP", false},
		{SRTPOff, "RTP/AVP", false},
		{SRTPOptional, "RTP/AVP", true},
		{SRTPMandatory, "RTP/SAVP", true},
	} {
		s := newSRTPSession(t, tt.policy)
		offer, err := s.CreateOffer()
		if err != nil {
			t.Fatal(err)
		}
		proto, attrs := sdpCrypto(t, offer)
		if proto != tt.proto {
			t.Errorf("%v: proto %s, want %s", tt.policy, proto, tt.proto)
		}
		if !tt.crypto {
			if len(attrs) != 0 || strings.Contains(string(offer), "a=crypto") {
				t.Errorf("%v: offer has a=crypto", tt.policy)
			}
			continue
		}
		want := DefaultSRTPSuites()
		if len(attrs) != len(want) {
			t.Fatalf("%v: %d a=crypto lines, want %d", tt.policy, len(attrs), len(want))
		}
		seen := map[string]bool{}
		for i, a := range attrs {
			if a.tag != uint32(i+1) || a.suite.name != want[i] || a.mki != nil {
				t.Errorf("%v: line %d: tag %d suite %s", tt.policy, i, a.tag, a.suite.name)
			}
			if seen[string(a.key)] || bytes.Count(a.key, a.key[:1]) == len(a.key) {
				t.Errorf("%v: line %d: key repeated or constant", tt.policy, i)
			}
			seen[string(a.key)] = true
		}
		// A re-offer keeps the keys.
		offer2, err := s.CreateOffer()
		if err != nil {
			t.Fatal(err)
		}
		if _, attrs2 := sdpCrypto(t, offer2); len(attrs2) != len(attrs) || !bytes.Equal(attrs2[0].key, attrs[0].key) {
			t.Errorf("%v: the re-offer changed the keys", tt.policy)
		}
		// Another session has other keys.
		other, err := newSRTPSession(t, tt.policy).CreateOffer()
		if err != nil {
			t.Fatal(err)
		}
		if _, o := sdpCrypto(t, other); bytes.Equal(o[0].key, attrs[0].key) {
			t.Errorf("%v: two sessions share a key", tt.policy)
		}
	}
}

// TestSRTPAnswerMatrix answers plain, best-effort (RTP/AVP with
// a=crypto) and RTP/SAVP offers under each policy.
func TestSRTPAnswerMatrix(t *testing.T) {
	peer := netip.MustParseAddrPort("127.0.0.1:40000")
	cr := []string{
		peerCrypto(t, 5, suiteGCM128, 1),
		peerCrypto(t, 6, suiteAES128SHA32, 2),
		peerCrypto(t, 7, suiteAES128SHA80, 3),
	}
	unknown := "1 F8_128_HMAC_SHA1_80 inline:" + rfcKey
	offers := map[string][]byte{
		"plain":        cryptoOffer(peer, "RTP/AVP"),
		"avp+crypto":   cryptoOffer(peer, "RTP/AVP", cr...),
		"savp+crypto":  cryptoOffer(peer, "RTP/SAVP", cr...),
		"savpf+crypto": cryptoOffer(peer, "RTP/SAVPF", cr...),
		"savp":         cryptoOffer(peer, "RTP/SAVP"),
		"avp+unknown":  cryptoOffer(peer, "RTP/AVP", unknown),
		"savp+unknown": cryptoOffer(peer, "RTP/SAVP", unknown, "2 AES_CM_128_HMAC_SHA1_80 inline:short"),
	}
	type want struct {
		err   error  // nil: accepted
		proto string // answer's proto
		tag   uint32 // 0: no a=crypto
	}
	matrix := map[SRTPPolicy]map[string]want{
		SRTPOff: {
			"plain": {nil, "RTP/AVP", 0}, "avp+crypto": {nil, "RTP/AVP", 0}, "avp+unknown": {nil, "RTP/AVP", 0},
			"savp+crypto": {ErrSRTPRefused, "", 0}, "savpf+crypto": {ErrSRTPRefused, "", 0},
			"savp": {ErrSRTPRefused, "", 0}, "savp+unknown": {ErrSRTPRefused, "", 0},
		},
		SRTPOptional: {
			"plain": {nil, "RTP/AVP", 0}, "avp+crypto": {nil, "RTP/AVP", 7}, "avp+unknown": {nil, "RTP/AVP", 0},
			"savp+crypto": {nil, "RTP/SAVP", 7}, "savpf+crypto": {nil, "RTP/SAVP", 7},
			"savp": {ErrSRTPRefused, "", 0}, "savp+unknown": {ErrSRTPRefused, "", 0},
		},
		SRTPMandatory: {
			"plain": {ErrSRTPRequired, "", 0}, "avp+crypto": {nil, "RTP/AVP", 7}, "avp+unknown": {ErrSRTPRequired, "", 0},
			"savp+crypto": {nil, "RTP/SAVP", 7}, "savpf+crypto": {nil, "RTP/SAVP", 7},
			"savp": {ErrSRTPRefused, "", 0}, "savp+unknown": {ErrSRTPRefused, "", 0},
		},
	}
	matrix[SRTPUnknown] = matrix[SRTPOff]
	for policy, row := range matrix {
		for name, w := range row {
			s := newSRTPSession(t, policy)
			answer, err := s.AcceptOffer(offers[name])
			if w.err != nil {
				if !errors.Is(err, w.err) || !errors.Is(err, ErrNoCommonCodec) {
					t.Errorf("%v/%s: err %v, want %v (and ErrNoCommonCodec)", policy, name, err, w.err)
				}
				if s.neg.Load() != nil {
					t.Errorf("%v/%s: negotiated despite the error", policy, name)
				}
				continue
			}
			if err != nil {
				t.Errorf("%v/%s: %v", policy, name, err)
				continue
			}
			proto, attrs := sdpCrypto(t, answer)
			if proto != w.proto {
				t.Errorf("%v/%s: answer proto %s, want %s", policy, name, proto, w.proto)
			}
			if w.tag == 0 {
				if len(attrs) != 0 || s.SRTPSuite() != "" || s.Stats().SRTP != "" {
					t.Errorf("%v/%s: want plain RTP, got %d a=crypto, suite %q", policy, name, len(attrs), s.SRTPSuite())
				}
				continue
			}
			// Our first suite (AES_CM_128_HMAC_SHA1_80) wins although the
			// offer lists it last; we answer its tag with our own key.
			if len(attrs) != 1 || attrs[0].tag != w.tag || attrs[0].suite.name != suiteAES128SHA80 {
				t.Errorf("%v/%s: answer a=crypto %+v", policy, name, attrs)
				continue
			}
			n := s.neg.Load()
			if s.SRTPSuite() != suiteAES128SHA80 || s.Stats().SRTP != suiteAES128SHA80 ||
				!bytes.Equal(n.sec.remote, bytes.Repeat([]byte{3}, 30)) || !bytes.Equal(n.sec.local, attrs[0].key) ||
				bytes.Equal(attrs[0].key, n.sec.remote) {
				t.Errorf("%v/%s: negotiated %q with wrong keys", policy, name, s.SRTPSuite())
			}
		}
	}
}

// TestSRTPAnswerSuitePriority: the answerer's priority decides; suites
// it does not have are skipped.
func TestSRTPAnswerSuitePriority(t *testing.T) {
	peer := netip.MustParseAddrPort("127.0.0.1:40000")
	offer := cryptoOffer(peer, "RTP/SAVP",
		peerCrypto(t, 1, suiteAES128SHA80, 1), peerCrypto(t, 2, suiteGCM256, 2), peerCrypto(t, 3, suiteGCM128, 3))
	s := newSRTPSession(t, SRTPMandatory, suiteGCM256, suiteGCM128)
	answer, err := s.AcceptOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if _, attrs := sdpCrypto(t, answer); len(attrs) != 1 || attrs[0].tag != 2 || attrs[0].suite.name != suiteGCM256 || len(attrs[0].key) != 44 {
		t.Errorf("answer a=crypto %+v", attrs)
	}
	s2 := newSRTPSession(t, SRTPMandatory, suiteAES128SHA32)
	if _, err := s2.AcceptOffer(offer); !errors.Is(err, ErrSRTPRefused) {
		t.Errorf("no common suite: %v", err)
	}
}

// answerFor builds a raw peer's answer to a Session's offer.
func answerFor(proto string, crypto ...string) []byte {
	return cryptoOffer(netip.MustParseAddrPort("127.0.0.1:40002"), proto, crypto...)
}

func TestSRTPSetRemoteAnswer(t *testing.T) {
	tests := []struct {
		name   string
		policy SRTPPolicy
		answer []byte
		err    error
		suite  string
	}{
		{"optional/plain", SRTPOptional, answerFor("RTP/AVP"), nil, ""},
		{"optional/crypto", SRTPOptional, answerFor("RTP/AVP", peerCrypto(t, 2, suiteAES128SHA32, 4)), nil, suiteAES128SHA32},
		{"optional/savp", SRTPOptional, answerFor("RTP/SAVP", peerCrypto(t, 3, suiteGCM128, 4)), nil, suiteGCM128},
		{"optional/wrong tag", SRTPOptional, answerFor("RTP/AVP", peerCrypto(t, 9, suiteAES128SHA80, 4)), ErrSRTPRefused, ""},
		{"optional/tag of other suite", SRTPOptional, answerFor("RTP/AVP", peerCrypto(t, 2, suiteAES128SHA80, 4)), ErrSRTPRefused, ""},
		{"optional/savp no crypto", SRTPOptional, answerFor("RTP/SAVP"), ErrSRTPRefused, ""},
		{"mandatory/crypto", SRTPMandatory, answerFor("RTP/SAVP", peerCrypto(t, 1, suiteAES128SHA80, 4)), nil, suiteAES128SHA80},
		{"mandatory/plain", SRTPMandatory, answerFor("RTP/AVP"), ErrSRTPRequired, ""},
		{"mandatory/savp no crypto", SRTPMandatory, answerFor("RTP/SAVP"), ErrSRTPRequired, ""},
		{"mandatory/bad key", SRTPMandatory, answerFor("RTP/SAVP", "1 AES_CM_128_HMAC_SHA1_80 inline:AAAA"), ErrSRTPRequired, ""},
		{"off/plain", SRTPOff, answerFor("RTP/AVP"), nil, ""},
		{"off/crypto ignored", SRTPOff, answerFor("RTP/AVP", peerCrypto(t, 1, suiteAES128SHA80, 4)), nil, ""},
		{"off/savp", SRTPOff, answerFor("RTP/SAVP", peerCrypto(t, 1, suiteAES128SHA80, 4)), ErrSRTPRefused, ""},
	}
	for _, tt := range tests {
		s := newSRTPSession(t, tt.policy)
		offer, err := s.CreateOffer()
		if err != nil {
			t.Fatal(err)
		}
		err = s.SetRemoteAnswer(tt.answer)
		if tt.err != nil {
			if !errors.Is(err, tt.err) || !errors.Is(err, ErrNoCommonCodec) {
				t.Errorf("%s: err %v, want %v", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if s.SRTPSuite() != tt.suite {
			t.Errorf("%s: suite %q, want %q", tt.name, s.SRTPSuite(), tt.suite)
		}
		if tt.suite == "" {
			continue
		}
		// We send with the key we offered for that suite and receive with
		// the answerer's.
		_, offered := sdpCrypto(t, offer)
		n := s.neg.Load()
		var ours []byte
		for _, o := range offered {
			if o.suite.name == tt.suite {
				ours = o.key
			}
		}
		if !bytes.Equal(n.sec.local, ours) || n.sec.remote[0] != 4 {
			t.Errorf("%s: wrong keys", tt.name)
		}
	}

	// A failed answer leaves the earlier negotiation in force.
	s := newSRTPSession(t, SRTPMandatory)
	if _, err := s.CreateOffer(); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRemoteAnswer(answerFor("RTP/SAVP", peerCrypto(t, 1, suiteAES128SHA80, 4))); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRemoteAnswer(answerFor("RTP/AVP")); !errors.Is(err, ErrSRTPRequired) {
		t.Fatalf("plain answer: %v", err)
	}
	if s.SRTPSuite() != suiteAES128SHA80 {
		t.Errorf("after a failed answer: suite %q", s.SRTPSuite())
	}
}

// TestSRTPOfferAnswerSessions negotiates two Sessions under every pair
// of policies.
func TestSRTPOfferAnswerSessions(t *testing.T) {
	policies := []SRTPPolicy{SRTPOff, SRTPOptional, SRTPMandatory}
	for _, pa := range policies {
		for _, pb := range policies {
			a, b := newSRTPSession(t, pa), newSRTPSession(t, pb)
			offer, err := a.CreateOffer()
			if err != nil {
				t.Fatal(err)
			}
			answer, err := b.AcceptOffer(offer)
			wantSRTP := pa != SRTPOff && pb != SRTPOff
			wantFail := pa == SRTPMandatory && pb == SRTPOff || pb == SRTPMandatory && pa == SRTPOff
			if wantFail {
				if err == nil {
					t.Errorf("%v offers to %v: accepted", pa, pb)
				}
				continue
			}
			if err != nil {
				t.Errorf("%v offers to %v: %v", pa, pb, err)
				continue
			}
			if err := a.SetRemoteAnswer(answer); err != nil {
				t.Errorf("%v offers to %v: answer: %v", pa, pb, err)
				continue
			}
			got := a.SRTPSuite()
			if (got != "") != wantSRTP || got != b.SRTPSuite() {
				t.Errorf("%v offers to %v: suites %q %q", pa, pb, got, b.SRTPSuite())
			}
			if wantSRTP {
				na, nb := a.neg.Load().sec, b.neg.Load().sec
				if !bytes.Equal(na.local, nb.remote) || !bytes.Equal(na.remote, nb.local) || bytes.Equal(na.local, na.remote) {
					t.Errorf("%v offers to %v: keys do not pair up", pa, pb)
				}
			}
		}
	}
}
