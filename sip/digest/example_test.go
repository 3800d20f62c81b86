package digest_test

import (
	"errors"
	"fmt"

	"github.com/voipkit/voipkit/sip/digest"
)

func ExampleClient_Authorize() {
	// The WWW-Authenticate header of a 401 response to a REGISTER.
	ch, err := digest.ParseChallenge(`Digest realm="atlanta.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", qop="auth", algorithm=SHA-256`)
	if err != nil {
		fmt.Println(err)
		return
	}
	c := digest.NewClient(digest.Credentials{Username: "bob", Password: "zanzibar"})
	for range 2 {
		a, err := c.Authorize(ch, "REGISTER", "sip:atlanta.com", nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		// a.String() is the Authorization header value; its cnonce is
		// random, so only the stable parts are printed here.
		fmt.Println(a.Username, a.Realm, a.Algorithm, a.QOP, a.NC, len(a.CNonce))
		fmt.Println("accepted:", digest.Verify(a, "REGISTER", "zanzibar", nil))
	}
	// Output:
	// bob atlanta.com SHA-256 auth 1 16
	// accepted: true
	// bob atlanta.com SHA-256 auth 2 16
	// accepted: true
}

func ExampleSelect() {
	// A server offering several algorithms sends one challenge per header.
	headers := []string{
		`Digest realm="atlanta.com", nonce="n1", algorithm=MD5, qop="auth"`,
		`Digest realm="atlanta.com", nonce="n2", algorithm=SHA-256, qop="auth"`,
		`Digest realm="atlanta.com", nonce="n3", algorithm=SHA-1, qop="auth"`,
	}
	var chs []*digest.Challenge
	for _, h := range headers {
		ch, err := digest.ParseChallenge(h)
		if err != nil {
			fmt.Println("skipped:", errors.Is(err, digest.ErrUnsupportedAlgorithm), err)
			continue
		}
		chs = append(chs, ch)
	}
	fmt.Println("chosen:", digest.Select(chs).Algorithm)
	// Output:
	// skipped: true digest: unsupported algorithm "SHA-1"
	// chosen: SHA-256
}

func ExampleParseAuthorization() {
	a, err := digest.ParseAuthorization(`Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(digest.Verify(a, "GET", "Circle Of Life", nil))
	fmt.Println(digest.Verify(a, "GET", "circle of life", nil))
	// Output:
	// true
	// false
}
