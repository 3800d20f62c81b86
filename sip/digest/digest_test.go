package digest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// fixedCNonce returns a cnonce source that always yields s.
func fixedCNonce(s string) func() string { return func() string { return s } }

func newTestClient(user, pass, cnonce string) *Client {
	c := NewClient(Credentials{Username: user, Password: pass})
	c.cnonce = fixedCNonce(cnonce)
	return c
}

func TestAuthorizeVectors(t *testing.T) {
	// Inputs shared by the vectors that are not taken from an RFC. Their
	// expected responses were computed with an independent implementation
	// (Python's hashlib) of the formulas of RFC 2617 §3.2.2 and RFC 7616
	// §3.4.
	const (
		sipRealm = `realm="atlanta.com"`
		sipNonce = `nonce="ea9c8e88df84f1cec4341ae6cbe5a359"`
	)
	tests := []struct {
		name      string
		challenge string
		user      string
		pass      string
		method    string
		uri       string
		body      []byte
		cnonce    string
		wantQOP   string
		want      string // response
		wantHdr   string // full header value, when non-empty
	}{
		{
			name:      "RFC 2617 section 3.5",
			challenge: `Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
			user:      "Mufasa", pass: "Circle Of Life",
			method: "GET", uri: "/dir/index.html", cnonce: "0a4f113b",
			wantQOP: "auth",
			want:    "6629fae49393a05397450978507c4ef1",
			wantHdr: `Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", response="6629fae49393a05397450978507c4ef1", algorithm=MD5, cnonce="0a4f113b", opaque="5ccc069c403ebaf9f0171e9517f40e41", qop=auth, nc=00000001`,
		},
		{
			name:      "RFC 7616 section 3.9.1 SHA-256",
			challenge: `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
			user:      "Mufasa", pass: "Circle of Life",
			method: "GET", uri: "/dir/index.html", cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
			wantQOP: "auth",
			want:    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
			wantHdr: `Digest username="Mufasa", realm="http-auth@example.org", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", uri="/dir/index.html", response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", algorithm=SHA-256, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", qop=auth, nc=00000001`,
		},
		{
			name:      "RFC 7616 section 3.9.1 MD5",
			challenge: `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
			user:      "Mufasa", pass: "Circle of Life",
			method: "GET", uri: "/dir/index.html", cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
			wantQOP: "auth",
			want:    "8ca523f5e9506fed4657c9700eebdbec",
		},
		{
			// Inputs of RFC 7616 §3.9.2 with the plain (not hashed)
			// username; response computed independently.
			name:      "SHA-512-256 with UTF-8 username",
			challenge: `Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8, userhash=true`,
			user:      "Jäsøn Doe", pass: "Secret, or not?",
			method: "GET", uri: "/doe.json", cnonce: "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
			wantQOP: "auth",
			want:    "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5",
		},
		{
			name:      "RFC 2069 compatible, no qop",
			challenge: "Digest " + sipRealm + ", " + sipNonce,
			user:      "bob", pass: "zanzibar",
			method: "REGISTER", uri: "sip:atlanta.com", cnonce: "0a4f113b",
			want:    "aca0d01d5b6df265524594a34de1150f",
			wantHdr: `Digest username="bob", realm="atlanta.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", uri="sip:atlanta.com", response="aca0d01d5b6df265524594a34de1150f", algorithm=MD5`,
		},
		{
			name:      "MD5-sess",
			challenge: "Digest " + sipRealm + ", " + sipNonce + `, algorithm=MD5-sess, qop="auth"`,
			user:      "bob", pass: "zanzibar",
			method: "REGISTER", uri: "sip:atlanta.com", cnonce: "0a4f113b",
			wantQOP: "auth",
			want:    "0fbce1039b934101ef7c038f071efc34",
		},
		{
			name:      "MD5-sess without qop",
			challenge: "Digest " + sipRealm + ", " + sipNonce + `, algorithm=MD5-sess`,
			user:      "bob", pass: "zanzibar",
			method: "REGISTER", uri: "sip:atlanta.com", cnonce: "0a4f113b",
			want:    "659a1f33679fc8092a4b70d162aa3bed",
			wantHdr: `Digest username="bob", realm="atlanta.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", uri="sip:atlanta.com", response="659a1f33679fc8092a4b70d162aa3bed", algorithm=MD5-sess, cnonce="0a4f113b"`,
		},
		{
			name:      "SHA-256-sess",
			challenge: "Digest " + sipRealm + ", " + sipNonce + `, algorithm=SHA-256-sess, qop=auth`,
			user:      "bob", pass: "zanzibar",
			method: "REGISTER", uri: "sip:atlanta.com", cnonce: "0a4f113b",
			wantQOP: "auth",
			want:    "7f0599a786b5eca7eeb02c0e3cd67afb5d6090dbcb1766a85594a4456933cc81",
		},
		{
			name:      "auth-int with body",
			challenge: "Digest " + sipRealm + ", " + sipNonce + `, qop="auth-int"`,
			user:      "bob", pass: "zanzibar",
			method: "INVITE", uri: "sip:alice@atlanta.com", body: []byte("v=0\r\n"), cnonce: "0a4f113b",
			wantQOP: "auth-int",
			want:    "ef92848b7669a99d7f21c1623426bff0",
		},
		{
			name:      "SHA-512-256 auth-int empty body",
			challenge: "Digest " + sipRealm + ", " + sipNonce + `, qop="auth-int", algorithm=sha-512-256`,
			user:      "bob", pass: "zanzibar",
			method: "INVITE", uri: "sip:alice@atlanta.com", cnonce: "0a4f113b",
			wantQOP: "auth-int",
			want:    "26a8b4b9245d620c9518ee50d82f50c66932009488757f2281f0d14d49f9dc13",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := ParseChallenge(tt.challenge)
			if err != nil {
				t.Fatalf("ParseChallenge: %v", err)
			}
			c := newTestClient(tt.user, tt.pass, tt.cnonce)
			a, err := c.Authorize(ch, tt.method, tt.uri, tt.body)
			if err != nil {
				t.Fatalf("Authorize: %v", err)
			}
			if a.Response != tt.want {
				t.Errorf("response = %s, want %s", a.Response, tt.want)
			}
			if a.QOP != tt.wantQOP {
				t.Errorf("qop = %q, want %q", a.QOP, tt.wantQOP)
			}
			if tt.wantQOP != "" && a.NC != 1 {
				t.Errorf("nc = %d, want 1", a.NC)
			}
			if a.Opaque != ch.Opaque {
				t.Errorf("opaque = %q, want %q", a.Opaque, ch.Opaque)
			}
			hdr := a.String()
			if tt.wantHdr != "" && hdr != tt.wantHdr {
				t.Errorf("header:\n got %s\nwant %s", hdr, tt.wantHdr)
			}
			back, err := ParseAuthorization(hdr)
			if err != nil {
				t.Fatalf("ParseAuthorization(%s): %v", hdr, err)
			}
			if !reflect.DeepEqual(back, a) {
				t.Errorf("round trip:\n got %+v\nwant %+v", back, a)
			}
			if !Verify(back, tt.method, tt.pass, tt.body) {
				t.Error("Verify rejected the client's response")
			}
			if Verify(back, tt.method, tt.pass+"x", tt.body) {
				t.Error("Verify accepted a wrong password")
			}
		})
	}
}

func TestNonceCount(t *testing.T) {
	c := newTestClient("bob", "zanzibar", "abc")
	chA := &Challenge{Realm: "atlanta.com", Nonce: "nonce-a", Algorithm: "MD5", QOP: []string{"auth"}}
	chB := &Challenge{Realm: "atlanta.com", Nonce: "nonce-b", Algorithm: "MD5", QOP: []string{"auth"}}
	chOther := &Challenge{Realm: "biloxi.com", Nonce: "nonce-a", Algorithm: "MD5", QOP: []string{"auth"}}
	steps := []struct {
		ch     *Challenge
		wantNC uint32
		wantS  string
	}{
		{chA, 1, "nc=00000001"},
		{chA, 2, "nc=00000002"},
		{chA, 3, "nc=00000003"},
		{chB, 1, "nc=00000001"}, // new nonce resets
		{chB, 2, "nc=00000002"},
		{chOther, 1, "nc=00000001"}, // same nonce, other realm
		{chA, 4, "nc=00000004"},     // a remembered nonce continues
	}
	seen := map[string]bool{}
	for i, s := range steps {
		a, err := c.Authorize(s.ch, "REGISTER", "sip:"+s.ch.Realm, nil)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if a.NC != s.wantNC {
			t.Errorf("step %d: nc = %d, want %d", i, a.NC, s.wantNC)
		}
		if !strings.HasSuffix(a.String(), s.wantS) {
			t.Errorf("step %d: header %q does not end in %q", i, a.String(), s.wantS)
		}
		if !Verify(a, "REGISTER", "zanzibar", nil) {
			t.Errorf("step %d: Verify failed", i)
		}
		if seen[a.Response] {
			t.Errorf("step %d: response %s repeated", i, a.Response)
		}
		seen[a.Response] = true
	}
}

func TestNonceCountEviction(t *testing.T) {
	c := newTestClient("bob", "zanzibar", "abc")
	ch := func(i int) *Challenge {
		return &Challenge{Realm: "r", Nonce: fmt.Sprint("n", i), QOP: []string{"auth"}}
	}
	for range 2 {
		if _, err := c.Authorize(ch(0), "REGISTER", "sip:r", nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= maxNonces; i++ {
		if _, err := c.Authorize(ch(i), "REGISTER", "sip:r", nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.count); n != maxNonces {
		t.Errorf("remembered %d nonces, want %d", n, maxNonces)
	}
	a, err := c.Authorize(ch(0), "REGISTER", "sip:r", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.NC != 1 {
		t.Errorf("evicted nonce: nc = %d, want 1", a.NC)
	}
	a, err = c.Authorize(ch(maxNonces), "REGISTER", "sip:r", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.NC != 2 {
		t.Errorf("recent nonce: nc = %d, want 2", a.NC)
	}
}

func TestConcurrentAuthorize(t *testing.T) {
	const workers, perWorker = 8, 50
	c := NewClient(Credentials{Username: "bob", Password: "zanzibar"})
	ch := &Challenge{Realm: "atlanta.com", Nonce: "n", Algorithm: "SHA-256", QOP: []string{"auth"}}
	var (
		mu  sync.Mutex
		ncs = map[uint32]bool{}
		wg  sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for range perWorker {
				a, err := c.Authorize(ch, "OPTIONS", "sip:atlanta.com", nil)
				if err != nil {
					t.Error(err)
					return
				}
				if !Verify(a, "OPTIONS", "zanzibar", nil) {
					t.Error("Verify failed")
				}
				mu.Lock()
				if ncs[a.NC] {
					t.Errorf("nc %d used twice", a.NC)
				}
				ncs[a.NC] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for i := uint32(1); i <= workers*perWorker; i++ {
		if !ncs[i] {
			t.Errorf("nc %d never used", i)
		}
	}
}

func TestRandomCNonce(t *testing.T) {
	c := NewClient(Credentials{Username: "bob", Password: "zanzibar"})
	ch := &Challenge{Realm: "atlanta.com", Nonce: "n", QOP: []string{"auth"}}
	a1, err := c.Authorize(ch, "REGISTER", "sip:atlanta.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := c.Authorize(ch, "REGISTER", "sip:atlanta.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []*Authorization{a1, a2} {
		if len(a.CNonce) != 16 || strings.Trim(a.CNonce, "0123456789abcdef") != "" {
			t.Errorf("cnonce %q is not 16 hex digits", a.CNonce)
		}
	}
	if a1.CNonce == a2.CNonce {
		t.Errorf("cnonce %q repeated", a1.CNonce)
	}

	// Without qop and without -sess there is no cnonce and no nc.
	a3, err := c.Authorize(&Challenge{Realm: "atlanta.com", Nonce: "n"}, "REGISTER", "sip:atlanta.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a3.CNonce != "" || a3.NC != 0 || a3.QOP != "" {
		t.Errorf("RFC 2069 response has cnonce %q, nc %d, qop %q", a3.CNonce, a3.NC, a3.QOP)
	}
	if s := a3.String(); strings.Contains(s, "cnonce") || strings.Contains(s, "nc=") || strings.Contains(s, "qop") {
		t.Errorf("RFC 2069 header %q has cnonce, nc or qop", s)
	}
}

func TestAuthorizeErrors(t *testing.T) {
	good := Challenge{Realm: "atlanta.com", Nonce: "n", Algorithm: "MD5", QOP: []string{"auth"}}
	with := func(f func(*Challenge)) *Challenge {
		ch := good
		f(&ch)
		return &ch
	}
	tests := []struct {
		name   string
		user   string
		ch     *Challenge
		method string
		uri    string
		want   error
	}{
		{"nil challenge", "bob", nil, "REGISTER", "sip:a", ErrMalformed},
		{"unsupported algorithm", "bob", with(func(c *Challenge) { c.Algorithm = "SHA-1" }), "REGISTER", "sip:a", ErrUnsupportedAlgorithm},
		{"unsupported qop", "bob", with(func(c *Challenge) { c.QOP = []string{"auth-conf"} }), "REGISTER", "sip:a", ErrUnsupportedQOP},
		{"empty method", "bob", &good, "", "sip:a", ErrMalformed},
		{"method with space", "bob", &good, "REG ISTER", "sip:a", ErrMalformed},
		{"empty uri", "bob", &good, "REGISTER", "", ErrMalformed},
		{"CRLF in uri", "bob", &good, "REGISTER", "sip:a\r\nX: y", ErrMalformed},
		{"CRLF in username", "bob\r\nX: y", &good, "REGISTER", "sip:a", ErrMalformed},
		{"NUL in realm", "bob", with(func(c *Challenge) { c.Realm = "a\x00" }), "REGISTER", "sip:a", ErrMalformed},
		{"LF in nonce", "bob", with(func(c *Challenge) { c.Nonce = "a\nb" }), "REGISTER", "sip:a", ErrMalformed},
		{"CR in opaque", "bob", with(func(c *Challenge) { c.Opaque = "a\rb" }), "REGISTER", "sip:a", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClient(Credentials{Username: tt.user, Password: "pw"})
			a, err := c.Authorize(tt.ch, tt.method, tt.uri, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if a != nil {
				t.Errorf("got authorization %+v with error", a)
			}
			if !strings.HasPrefix(err.Error(), "digest: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestParseChallenge(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   Challenge
	}{
		{
			name:   "RFC 3261 section 20.44",
			header: `Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5`,
			want:   Challenge{Realm: "atlanta.com", Domain: "sip:boxesbybob.com", QOP: []string{"auth"}, Nonce: "f84f1cec41e6cbe5aea9c8e88d359", Algorithm: "MD5"},
		},
		{
			name:   "algorithm defaults to MD5",
			header: `Digest realm="r", nonce="n"`,
			want:   Challenge{Realm: "r", Nonce: "n", Algorithm: "MD5"},
		},
		{
			name:   "case, whitespace and empty list elements",
			header: " \tdigest   REALM = \"r\" ,NONCE=\"n\",,  Algorithm=sha-256 ,\tQOP=\"auth-int , AUTH\" , ",
			want:   Challenge{Realm: "r", Nonce: "n", Algorithm: "SHA-256", QOP: []string{"auth-int", "auth"}},
		},
		{
			name:   "escapes and commas inside quotes",
			header: `Digest realm="a\"b\\c, d", nonce="x\yz", opaque="o,p=q"`,
			want:   Challenge{Realm: `a"b\c, d`, Nonce: "xyz", Opaque: "o,p=q", Algorithm: "MD5"},
		},
		{
			name:   "unquoted values",
			header: `Digest realm=atlanta.com, nonce=abc/def+g==, qop=auth, algorithm=SHA-512-256-sess`,
			want:   Challenge{Realm: "atlanta.com", Nonce: "abc/def+g==", QOP: []string{"auth"}, Algorithm: "SHA-512-256-sess"},
		},
		{
			name:   "quoted algorithm and empty qop",
			header: `Digest realm="r", nonce="n", algorithm="MD5-sess", qop=""`,
			want:   Challenge{Realm: "r", Nonce: "n", Algorithm: "MD5-sess"},
		},
		{
			name:   "stale=TRUE",
			header: `Digest realm="r", nonce="n", stale=TRUE`,
			want:   Challenge{Realm: "r", Nonce: "n", Algorithm: "MD5", Stale: true},
		},
		{
			name:   "stale=true",
			header: `Digest realm="r", nonce="n", stale=true`,
			want:   Challenge{Realm: "r", Nonce: "n", Algorithm: "MD5", Stale: true},
		},
		{
			name:   `stale="true"`,
			header: `Digest realm="r", nonce="n", stale="true"`,
			want:   Challenge{Realm: "r", Nonce: "n", Algorithm: "MD5", Stale: true},
		},
		{
			name:   "stale=false",
			header: `Digest realm="r", nonce="n", stale=false`,
			want:   Challenge{Realm: "r", Nonce: "n", Algorithm: "MD5"},
		},
		{
			name:   "stale other value",
			header: `Digest realm="r", nonce="n", stale=yes`,
			want:   Challenge{Realm: "r", Nonce: "n", Algorithm: "MD5"},
		},
		{
			name:   "unknown parameters ignored",
			header: `Digest charset=UTF-8, realm="r", foo="bar, baz=\"q\"", nonce="n", x-y=1, foo=2, userhash=true`,
			want:   Challenge{Realm: "r", Nonce: "n", Algorithm: "MD5", UserHash: true},
		},
		{
			name:   "empty realm",
			header: `Digest realm="", nonce="n"`,
			want:   Challenge{Nonce: "n", Algorithm: "MD5"},
		},
		{
			name:   "tab and UTF-8 inside quotes",
			header: "Digest realm=\"caf\u00e9\tbar\", nonce=\"n\"",
			want:   Challenge{Realm: "caf\u00e9\tbar", Nonce: "n", Algorithm: "MD5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChallenge(tt.header)
			if err != nil {
				t.Fatalf("ParseChallenge: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
			back, err := ParseChallenge(got.String())
			if err != nil {
				t.Fatalf("ParseChallenge(%s): %v", got.String(), err)
			}
			if !reflect.DeepEqual(back, got) {
				t.Errorf("round trip via %s:\n got %+v\nwant %+v", got.String(), back, got)
			}
		})
	}
}

func TestParseChallengeErrors(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   error
	}{
		{"empty", "", ErrMalformed},
		{"only spaces", "   ", ErrMalformed},
		{"Basic", `Basic realm="WallyWorld"`, ErrUnsupportedScheme},
		{"Bearer", `Bearer realm="example"`, ErrUnsupportedScheme},
		{"Digest glued to a comma", `Digest,realm="r", nonce="n"`, ErrMalformed},
		{"no parameters", "Digest", ErrMalformed},
		{"missing nonce", `Digest realm="r", qop="auth"`, ErrMalformed},
		{"missing realm", `Digest nonce="n"`, ErrMalformed},
		{"unterminated quote", `Digest realm="r, nonce="n`, ErrMalformed},
		{"unterminated at end", `Digest realm="r", nonce="n`, ErrMalformed},
		{"backslash at end", `Digest realm="r", nonce="n\`, ErrMalformed},
		{"parameter without value", `Digest realm, nonce="n"`, ErrMalformed},
		{"empty bare value", `Digest realm=, nonce="n"`, ErrMalformed},
		{"missing comma", `Digest realm="r" nonce="n"`, ErrMalformed},
		{"junk after quoted value", `Digest realm="r"x, nonce="n"`, ErrMalformed},
		{"bad name", `Digest "realm"="r", nonce="n"`, ErrMalformed},
		{"duplicate nonce", `Digest realm="r", nonce="n", nonce="m"`, ErrMalformed},
		{"CRLF in quotes", "Digest realm=\"r\r\nX: y\", nonce=\"n\"", ErrMalformed},
		{"escaped NUL", "Digest realm=\"r\\\x00\", nonce=\"n\"", ErrMalformed},
		{"control char in bare value", "Digest realm=r\x01, nonce=\"n\"", ErrMalformed},
		{"qop not a token", `Digest realm="r", nonce="n", qop="auth;x"`, ErrMalformed},
		{"SHA-1", `Digest realm="r", nonce="n", algorithm=SHA-1`, ErrUnsupportedAlgorithm},
		{"empty algorithm", `Digest realm="r", nonce="n", algorithm=""`, ErrUnsupportedAlgorithm},
		{"too long", `Digest realm="r", nonce="` + strings.Repeat("a", maxHeaderLen) + `"`, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChallenge(tt.header)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Errorf("got challenge %+v with error", got)
			}
			if !strings.HasPrefix(err.Error(), "digest: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   Authorization
	}{
		{
			name:   "RFC 2617 section 3.5",
			header: `Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
			want: Authorization{Username: "Mufasa", Realm: "testrealm@host.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
				URI: "/dir/index.html", QOP: "auth", NC: 1, CNonce: "0a4f113b", Response: "6629fae49393a05397450978507c4ef1",
				Opaque: "5ccc069c403ebaf9f0171e9517f40e41", Algorithm: "MD5"},
		},
		{
			name:   "RFC 3261 style without qop",
			header: `Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="sip:bob@biloxi.com", response="245f23415f11432b3434341c022"`,
			want: Authorization{Username: "bob", Realm: "biloxi.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
				URI: "sip:bob@biloxi.com", Response: "245f23415f11432b3434341c022", Algorithm: "MD5"},
		},
		{
			name:   "quoted qop and nc, upper-case hex, sha-256",
			header: `DIGEST Username="a", REALM="r", nonce="n", uri="sip:r", response="x", qop="AUTH-INT", nc="0000001F", cnonce="c", algorithm=sha-256`,
			want:   Authorization{Username: "a", Realm: "r", Nonce: "n", URI: "sip:r", Response: "x", QOP: "auth-int", NC: 31, CNonce: "c", Algorithm: "SHA-256"},
		},
		{
			name:   "nc without qop is ignored",
			header: `Digest username="a", realm="r", nonce="n", uri="sip:r", response="x", nc=00000005, userhash=false`,
			want:   Authorization{Username: "a", Realm: "r", Nonce: "n", URI: "sip:r", Response: "x", Algorithm: "MD5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAuthorization(tt.header)
			if err != nil {
				t.Fatalf("ParseAuthorization: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
			back, err := ParseAuthorization(got.String())
			if err != nil {
				t.Fatalf("ParseAuthorization(%s): %v", got.String(), err)
			}
			if !reflect.DeepEqual(back, got) {
				t.Errorf("round trip via %s:\n got %+v\nwant %+v", got.String(), back, got)
			}
		})
	}
}

func TestParseAuthorizationErrors(t *testing.T) {
	const base = `username="a", realm="r", nonce="n", uri="sip:r", response="x"`
	tests := []struct {
		name   string
		header string
		want   error
	}{
		{"Basic", `Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==`, ErrUnsupportedScheme},
		{"missing username", `Digest realm="r", nonce="n", uri="sip:r", response="x"`, ErrMalformed},
		{"missing response", `Digest username="a", realm="r", nonce="n", uri="sip:r"`, ErrMalformed},
		{"missing uri", `Digest username="a", realm="r", nonce="n", response="x"`, ErrMalformed},
		{"qop without cnonce", "Digest " + base + ", qop=auth, nc=00000001", ErrMalformed},
		{"qop with empty cnonce", "Digest " + base + `, qop=auth, cnonce="", nc=1`, ErrMalformed},
		{"qop without nc", "Digest " + base + `, qop=auth, cnonce="c"`, ErrMalformed},
		{"nc not hex", "Digest " + base + `, qop=auth, cnonce="c", nc=0000000g`, ErrMalformed},
		{"nc too long", "Digest " + base + `, qop=auth, cnonce="c", nc=000000001`, ErrMalformed},
		{"qop not a token", "Digest " + base + `, qop="auth auth-int", cnonce="c", nc=1`, ErrMalformed},
		{"unsupported algorithm", "Digest " + base + ", algorithm=SHA-1", ErrUnsupportedAlgorithm},
		{"duplicate response", "Digest " + base + `, response="y"`, ErrMalformed},
		{"unterminated quote", `Digest username="a, realm="r"`, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAuthorization(tt.header)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Errorf("got authorization %+v with error", got)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	md5 := &Challenge{Realm: "r", Nonce: "1", Algorithm: "MD5", QOP: []string{"auth"}}
	md5sess := &Challenge{Realm: "r", Nonce: "2", Algorithm: "MD5-sess", QOP: []string{"auth"}}
	sha256 := &Challenge{Realm: "r", Nonce: "3", Algorithm: "SHA-256", QOP: []string{"auth"}}
	sha256b := &Challenge{Realm: "r", Nonce: "4", Algorithm: "SHA-256", QOP: []string{"auth-int"}}
	sha512 := &Challenge{Realm: "r", Nonce: "5", Algorithm: "SHA-512-256", QOP: []string{"auth"}}
	noAlg := &Challenge{Realm: "r", Nonce: "6"}
	sha1 := &Challenge{Realm: "r", Nonce: "7", Algorithm: "SHA-1", QOP: []string{"auth"}}
	badQOP := &Challenge{Realm: "r", Nonce: "8", Algorithm: "SHA-512-256", QOP: []string{"auth-conf"}}
	tests := []struct {
		name string
		in   []*Challenge
		want *Challenge
	}{
		{"empty", nil, nil},
		{"only nil", []*Challenge{nil}, nil},
		{"MD5 then SHA-256", []*Challenge{md5, sha256}, sha256},
		{"SHA-256 then MD5", []*Challenge{sha256, md5}, sha256},
		{"all three", []*Challenge{md5, sha512, sha256}, sha512},
		{"tie keeps first", []*Challenge{sha256b, sha256}, sha256b},
		{"sess ranks as its hash", []*Challenge{md5sess, md5}, md5sess},
		{"missing algorithm is MD5", []*Challenge{noAlg}, noAlg},
		{"unsupported skipped", []*Challenge{sha1, nil, badQOP, md5}, md5},
		{"nothing usable", []*Challenge{sha1, badQOP}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Select(tt.in); got != tt.want {
				t.Errorf("Select = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestSelectParsed follows RFC 8760 §3: a server sends several challenges,
// one per header field, in its order of preference.
func TestSelectParsed(t *testing.T) {
	headers := []string{
		`Digest realm="atlanta.com", nonce="n1", algorithm=SHA-1, qop="auth"`,
		`Digest realm="atlanta.com", nonce="n2", algorithm=MD5, qop="auth"`,
		`Digest realm="atlanta.com", nonce="n3", algorithm=SHA-256, qop="auth"`,
		`Basic realm="atlanta.com"`,
	}
	var chs []*Challenge
	for _, h := range headers {
		ch, err := ParseChallenge(h)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedAlgorithm) && !errors.Is(err, ErrUnsupportedScheme) {
				t.Fatalf("ParseChallenge(%s): %v", h, err)
			}
			continue
		}
		chs = append(chs, ch)
	}
	if len(chs) != 2 {
		t.Fatalf("parsed %d challenges, want 2", len(chs))
	}
	ch := Select(chs)
	if ch == nil || ch.Nonce != "n3" || ch.Algorithm != "SHA-256" {
		t.Fatalf("Select = %+v, want the SHA-256 challenge", ch)
	}
}

func TestVerify(t *testing.T) {
	const (
		method = "INVITE"
		uri    = "sip:alice@atlanta.com"
		pass   = "zanzibar"
	)
	body := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n")
	for _, alg := range algorithms {
		for _, qop := range [][]string{nil, {"auth"}, {"auth-int"}} {
			t.Run(fmt.Sprintf("%s/%v", alg.name, qop), func(t *testing.T) {
				ch := &Challenge{Realm: "atlanta.com", Nonce: "abc", Opaque: "op", Algorithm: alg.name, QOP: qop}
				a, err := NewClient(Credentials{Username: "bob", Password: pass}).Authorize(ch, method, uri, body)
				if err != nil {
					t.Fatal(err)
				}
				if !Verify(a, method, pass, body) {
					t.Fatal("Verify rejected the client's response")
				}
				upper := *a
				upper.Response = strings.ToUpper(a.Response)
				if !Verify(&upper, method, pass, body) {
					t.Error("Verify rejected an upper-case response")
				}
				if Verify(a, method, "Zanzibar", body) {
					t.Error("Verify accepted a wrong password")
				}
				if Verify(a, "BYE", pass, body) {
					t.Error("Verify accepted a different method")
				}
				tampered := append([]byte(nil), body...)
				tampered[0] = 'V'
				if got, want := Verify(a, method, pass, tampered), a.QOP != "auth-int"; got != want {
					t.Errorf("Verify with a changed body = %v, want %v", got, want)
				}
				for name, mutate := range map[string]func(*Authorization){
					"username": func(a *Authorization) { a.Username = "alice" },
					"realm":    func(a *Authorization) { a.Realm = "biloxi.com" },
					"nonce":    func(a *Authorization) { a.Nonce = "abd" },
					"uri":      func(a *Authorization) { a.URI = "sip:carol@atlanta.com" },
					"response": func(a *Authorization) { a.Response = a.Response[:len(a.Response)-1] },
				} {
					m := *a
					mutate(&m)
					if Verify(&m, method, pass, body) {
						t.Errorf("Verify accepted a changed %s", name)
					}
				}
				if a.QOP != "" || alg.sess {
					m := *a
					m.CNonce = "other"
					if Verify(&m, method, pass, body) {
						t.Error("Verify accepted a changed cnonce")
					}
					// A response correctly computed over an empty cnonce
					// is still refused: cnonce is mandatory here.
					m.CNonce = ""
					m.Response = alg.response(m.Username, m.Realm, pass, m.Nonce, "", m.QOP, m.NC, method, m.URI, body)
					if Verify(&m, method, pass, body) {
						t.Error("Verify accepted a missing cnonce")
					}
				}
				if a.QOP != "" {
					m := *a
					m.NC++
					if Verify(&m, method, pass, body) {
						t.Error("Verify accepted a changed nc")
					}
					m = *a
					m.QOP = "auth-conf"
					if Verify(&m, method, pass, body) {
						t.Error("Verify accepted an unknown qop")
					}
				}
			})
		}
	}
	if Verify(nil, method, pass, nil) {
		t.Error("Verify(nil) = true")
	}
	if Verify(&Authorization{Algorithm: "SHA-1", Response: "x"}, method, pass, nil) {
		t.Error("Verify accepted an unsupported algorithm")
	}
}

// TestVerifyRFC7616 checks the Authorization header printed in RFC 7616
// §3.9.1.
func TestVerifyRFC7616(t *testing.T) {
	const hdr = `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`
	a, err := ParseAuthorization(hdr)
	if err != nil {
		t.Fatal(err)
	}
	if !Verify(a, "GET", "Circle of Life", nil) {
		t.Error("Verify rejected the RFC 7616 example")
	}
	if Verify(a, "GET", "Circle Of Life", nil) {
		t.Error("Verify accepted a wrong password")
	}
}
