package digest

import (
	"errors"
	"reflect"
	"testing"
)

var fuzzChallengeSeeds = []string{
	`Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
	`Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
	`Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5`,
	`digest REALM=r,NONCE=n,,stale=TRUE,userhash=true,algorithm=sha-512-256-sess`,
	`Digest realm="a\"b\\c, d", nonce="x\yz"`,
	`Digest realm="r", nonce="n`,
	`Basic realm="WallyWorld"`,
	``,
}

var fuzzAuthorizationSeeds = []string{
	`Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
	`Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="sip:bob@biloxi.com", response="245f23415f11432b3434341c022"`,
	`DIGEST Username="a", REALM="r", nonce="n", uri="sip:r", response="x", qop="AUTH-INT", nc="0000001F", cnonce="c", algorithm=sha-256`,
	`Digest username="a\\", realm="r", nonce="n", uri="sip:r", response="x", algorithm=MD5-sess, cnonce="c"`,
	`Digest username="a", realm="r", nonce="n", uri="sip:r", response="x", qop=auth, nc=zz`,
	`Digest username="a`,
}

// isSentinel reports whether err wraps one of the package's parse errors.
func isSentinel(err error) bool {
	return errors.Is(err, ErrMalformed) || errors.Is(err, ErrUnsupportedScheme) || errors.Is(err, ErrUnsupportedAlgorithm)
}

func FuzzParseChallenge(f *testing.F) {
	for _, s := range fuzzChallengeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		ch, err := ParseChallenge(header)
		if err != nil {
			if ch != nil {
				t.Fatalf("challenge %+v returned with error %v", ch, err)
			}
			if !isSentinel(err) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if _, ok := lookupAlgorithm(ch.Algorithm); !ok || ch.Algorithm == "" {
			t.Fatalf("accepted algorithm %q", ch.Algorithm)
		}
		for _, v := range []string{ch.Realm, ch.Nonce, ch.Opaque, ch.Domain} {
			if hasCTL(v) {
				t.Fatalf("value %q has a control character", v)
			}
		}
		out := ch.String()
		if len(out) > maxHeaderLen {
			return // escaping may grow a value past the limit
		}
		back, err := ParseChallenge(out)
		if err != nil {
			t.Fatalf("ParseChallenge(%q) of String(): %v", out, err)
		}
		if !reflect.DeepEqual(back, ch) {
			t.Fatalf("round trip via %q:\n got %+v\nwant %+v", out, back, ch)
		}
		// Any parsed challenge with a supported qop can be answered.
		if _, err := chooseQOP(ch.QOP); err == nil {
			c := NewClient(Credentials{Username: "u", Password: "p"})
			a, err := c.Authorize(ch, "REGISTER", "sip:x", []byte(header))
			if err != nil {
				t.Fatalf("Authorize: %v", err)
			}
			if !Verify(a, "REGISTER", "p", []byte(header)) {
				t.Fatal("Verify rejected the client's response")
			}
		}
	})
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range fuzzAuthorizationSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		a, err := ParseAuthorization(header)
		if err != nil {
			if a != nil {
				t.Fatalf("authorization %+v returned with error %v", a, err)
			}
			if !isSentinel(err) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		_ = Verify(a, "REGISTER", "p", nil)
		out := a.String()
		if len(out) > maxHeaderLen {
			return
		}
		back, err := ParseAuthorization(out)
		if err != nil {
			t.Fatalf("ParseAuthorization(%q) of String(): %v", out, err)
		}
		if !reflect.DeepEqual(back, a) {
			t.Fatalf("round trip via %q:\n got %+v\nwant %+v", out, back, a)
		}
	})
}
