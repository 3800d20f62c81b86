package media

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/voipkit/voipkit/codec"
)

// FuzzParseDescription checks that no input makes the parser or the
// answerer panic, that every error is a package error, and that any offer
// we accept yields an answer we can parse back.
func FuzzParseDescription(f *testing.F) {
	f.Add(baresipOffer)
	f.Add(sippOffer)
	f.Add(opusOffer)
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\nc=IN IP6 ::1\r\na=rtcp:9 IN IP6 ::1\r\n"))
	f.Add([]byte("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 5 RTP/AVP 96\na=rtpmap:96 PCMU/8000/1\na=fmtp:96 x\na=ptime:30.5\n"))
	f.Add([]byte("v=0\r\n"))
	f.Add([]byte{})

	codecs, err := codec.Resolve([]string{"PCMU", "PCMA"})
	if err != nil {
		f.Fatal(err)
	}
	sec, err := newSRTPLocal(SRTPOptional, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDescription(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedSDP) {
				t.Fatalf("error %v does not wrap ErrMalformedSDP", err)
			}
			if d != nil {
				t.Fatal("description returned with an error")
			}
			return
		}
		if !d.Rejected() && !d.Addr.Addr().IsValid() {
			t.Fatalf("accepted stream without an address: %+v", d)
		}
		for _, fm := range d.Formats {
			if fm.PayloadType > 127 {
				t.Fatalf("payload type %d", fm.PayloadType)
			}
		}
		_ = d.Direction.String()

		// Answer it the way AcceptOffer does, without sockets.
		sd, audioIdx, d, err := parseSDP(b)
		if err != nil {
			t.Fatalf("parseSDP disagrees with ParseDescription: %v", err)
		}
		n, ap, err := negotiateAnswer(codecs, &sec, d, cryptoLines(sd.MediaDescriptions[audioIdx]), DirectionUnknown)
		if err != nil {
			if !errors.Is(err, ErrNoCommonCodec) && !errors.Is(err, ErrStreamRejected) {
				t.Fatalf("negotiation error %v", err)
			}
			return
		}
		l := localSDP{sessionID: 1, version: 2, addr: netip.MustParseAddr("127.0.0.1"), port: 20000,
			formats: ap.formats, ptime: n.send.info.FrameDuration, dir: ap.dir, proto: ap.proto, peer: sd, audioIdx: audioIdx}
		if ap.crypto != nil {
			l.crypto = []cryptoAttr{*ap.crypto}
		}
		answer, err := l.marshal()
		if err != nil {
			t.Fatalf("marshal answer: %v", err)
		}
		a, err := ParseDescription(answer)
		if err != nil {
			t.Fatalf("our answer does not parse: %v\n%s", err, answer)
		}
		if a.Addr.Port() != 20000 || len(a.Formats) == 0 || a.Formats[0].PayloadType != n.send.pt {
			t.Fatalf("answer %+v for negotiated %+v", a, n.send)
		}
		// With SRTP, the answer carries our key for the chosen suite.
		asd, aIdx, _, err := parseSDP(answer)
		if err != nil {
			t.Fatal(err)
		}
		lines := cryptoLines(asd.MediaDescriptions[aIdx])
		switch {
		case n.sec == nil && len(lines) != 0, n.sec != nil && len(lines) != 1:
			t.Fatalf("answer has %d a=crypto lines for SRTP %q", len(lines), n.srtpSuite())
		case n.sec != nil:
			c, err := parseCrypto(lines[0])
			if err != nil || c.suite.name != n.sec.suite.name || string(c.key) != string(n.sec.local) {
				t.Fatalf("answer's a=crypto does not parse back: %v", err)
			}
		}
	})
}
