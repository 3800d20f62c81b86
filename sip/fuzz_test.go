package sip

import (
	"errors"
	"testing"
)

// FuzzParseTarget checks that any dialled string yields a URI with a host
// or an ErrInvalidURI, never a panic.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"1002", "bob@10.0.0.1:5070", "sip:carol@example.org;transport=tcp", "sips:x@y", "sip:", "@", "sip:@:", "a@b@c", "sip:[::1]:5060", "tel:+123"} {
		f.Add(s, "example.com")
	}
	f.Fuzz(func(t *testing.T, target, domain string) {
		u, err := ParseTarget(target, domain)
		if err != nil {
			if !errors.Is(err, ErrInvalidURI) {
				t.Fatalf("error %v does not wrap ErrInvalidURI", err)
			}
			return
		}
		if u.Host == "" {
			t.Fatalf("%q parsed without host", target)
		}
	})
}
