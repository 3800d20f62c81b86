package presence

import (
	"errors"
	"testing"
)

// Every parser either succeeds or fails with ErrMalformed, never panics,
// and what it accepts survives the derived operations.

func FuzzParsePIDF(f *testing.F) {
	f.Add([]byte(kamailioPIDF))
	if b, err := BuildPIDF("sip:a@b", StatusDND, "note"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParsePIDF(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		_ = d.Status().String()
		b, err := BuildPIDF(d.Entity, d.Status(), d.Note())
		if err != nil {
			t.Fatalf("rebuild: %v", err)
		}
		if _, err := ParsePIDF(b); err != nil {
			t.Fatalf("rebuilt document does not parse: %v", err)
		}
	})
}

func FuzzParseDialogInfo(f *testing.F) {
	f.Add([]byte(seedDialogInfo))
	f.Add(dialogDoc("3", "partial", dlg("a", "initiator", "confirmed")))
	f.Fuzz(func(t *testing.T, data []byte) {
		di, err := ParseDialogInfo(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		var tr DialogTracker
		if err := tr.Apply(di); err != nil && !errors.Is(err, ErrVersionGap) {
			t.Fatalf("apply: %v", err)
		}
		_ = tr.State()
		_ = di.Summary()
	})
}

func FuzzParseMessageSummary(f *testing.F) {
	f.Add([]byte("Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\nVoice-Message: 4/8 (1/2)\r\n"))
	f.Add([]byte("Messages-Waiting: no\r\n\r\nTo: x\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := ParseMessageSummary(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if ms.Voice.New < 0 || ms.Voice.Old < 0 || ms.Voice.UrgentNew < 0 || ms.Voice.UrgentOld < 0 {
			t.Fatalf("negative counts %+v", ms.Voice)
		}
	})
}

func FuzzParsePhoneBook(f *testing.F) {
	f.Add([]byte(seedPhoneBook))
	f.Fuzz(func(t *testing.T, data []byte) {
		pb, err := ParsePhoneBook(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		for _, e := range pb.BLFExtensions() {
			if e == "" {
				t.Fatal("empty BLF extension")
			}
		}
	})
}
