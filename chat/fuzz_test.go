package chat

import (
	"errors"
	"testing"
)

// FuzzParseComposing checks that any input either parses into a value that
// marshals and parses back to the same value, or fails with ErrMalformed.
// Seeds live in testdata/fuzz/FuzzParseComposing.
func FuzzParseComposing(f *testing.F) {
	f.Add([]byte(rfcExample))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseComposing(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		b, err := MarshalComposing(c)
		if err != nil {
			t.Fatalf("parsed %+v does not marshal: %v", c, err)
		}
		back, err := ParseComposing(b)
		if err != nil {
			t.Fatalf("marshalled %+v does not parse: %v\n%s", c, err, b)
		}
		if back.State != c.State || back.ContentType != c.ContentType || back.Refresh != c.Refresh || !back.LastActive.Equal(c.LastActive) {
			t.Fatalf("round trip changed %+v into %+v", c, back)
		}
	})
}
