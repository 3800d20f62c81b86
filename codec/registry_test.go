package codec

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestLookupCaseInsensitive(t *testing.T) {
	for _, name := range []string{"PCMU", "pcmu", "PcMu", "PCMA", "pcma"} {
		c, err := Lookup(name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		if got := c.Info().Name; got != strings.ToUpper(name) {
			t.Errorf("Lookup(%q).Info().Name = %q", name, got)
		}
	}
	if _, err := Lookup("G729"); !errors.Is(err, ErrUnknownCodec) {
		t.Errorf("Lookup(G729) err = %v, want ErrUnknownCodec", err)
	}
}

func TestNamesSorted(t *testing.T) {
	names := Names()
	if !sort.StringsAreSorted(names) {
		t.Errorf("Names() = %v, not sorted", names)
	}
	for _, want := range []string{"PCMA", "PCMU"} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() = %v, missing %s", names, want)
		}
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		in      []string
		want    []string
		wantErr error
	}{
		{in: nil, want: []string{"PCMU", "PCMA"}},
		{in: []string{"pcma"}, want: []string{"PCMA"}},
		{in: []string{"pcma", "PCMU", "PCMA", "pcmu"}, want: []string{"PCMA", "PCMU"}},
		{in: []string{"PCMU", "opus"}, wantErr: ErrUnknownCodec},
		{in: []string{""}, wantErr: ErrUnknownCodec},
	}
	for _, tc := range tests {
		got, err := Resolve(tc.in)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Resolve(%q) err = %v, want %v", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Resolve(%q): %v", tc.in, err)
			continue
		}
		var names []string
		for _, c := range got {
			names = append(names, c.Info().Name)
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("Resolve(%q) = %v, want %v", tc.in, names, tc.want)
		}
	}
}

type fakeCodec struct{ name string }

func (f fakeCodec) Info() Info                   { return Info{Name: f.name} }
func (f fakeCodec) NewEncoder() (Encoder, error) { return nil, errors.New("fake") }
func (f fakeCodec) NewDecoder() (Decoder, error) { return nil, errors.New("fake") }

func TestRegisterPanics(t *testing.T) {
	tests := []struct {
		name string
		c    Codec
	}{
		{"duplicate", fakeCodec{"pcmu"}},
		{"nil", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%v) did not panic", tc.c)
				}
			}()
			Register(tc.c)
		})
	}
	// The failed registration must not have replaced the real codec.
	c, err := Lookup("PCMU")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(fakeCodec); ok {
		t.Fatal("duplicate Register replaced PCMU")
	}
}
