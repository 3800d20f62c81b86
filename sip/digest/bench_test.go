package digest

import "testing"

func BenchmarkAuthorizeMD5(b *testing.B) {
	b.ReportAllocs()
	c := NewClient(Credentials{Username: "bob", Password: "zanzibar"})
	ch := &Challenge{Realm: "atlanta.com", Nonce: "ea9c8e88df84f1cec4341ae6cbe5a359", Opaque: "5ccc069c403ebaf9f0171e9517f40e41", Algorithm: "MD5", QOP: []string{"auth"}}
	for b.Loop() {
		if _, err := c.Authorize(ch, "REGISTER", "sip:atlanta.com", nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseChallenge(b *testing.B) {
	b.ReportAllocs()
	const h = `Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth,auth-int", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="5ccc069c403ebaf9f0171e9517f40e41", stale=FALSE, algorithm=SHA-256`
	for b.Loop() {
		if _, err := ParseChallenge(h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySHA256(b *testing.B) {
	b.ReportAllocs()
	a, err := ParseAuthorization(`Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !Verify(a, "GET", "Circle of Life", nil) {
			b.Fatal("rejected")
		}
	}
}
