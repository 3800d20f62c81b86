package peertest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeTB records Fatalf and Skipf and stops the calling function the way
// testing does, by unwinding (here with a panic the caller recovers).
type fakeTB struct {
	*testing.T
	fatal, skip string
}

type stopped struct{}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	panic(stopped{})
}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.skip = fmt.Sprintf(format, args...)
	panic(stopped{})
}

// run calls fn with f and reports whether fn returned normally.
func (f *fakeTB) run(fn func(TB)) (returned bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stopped); !ok {
				panic(r)
			}
		}
	}()
	fn(f)
	return true
}

func TestRequire(t *testing.T) {
	f := &fakeTB{T: t}
	if !f.run(func(tb TB) { Require(tb, "sh") }) || f.fatal != "" || f.skip != "" {
		t.Fatalf("Require(sh) stopped the test: fatal %q skip %q", f.fatal, f.skip)
	}

	t.Setenv("CI", "")
	f = &fakeTB{T: t}
	f.run(func(tb TB) { Require(tb, "sh", "no-such-peer-xyz", "baresip-missing-xyz") })
	if f.skip == "" || f.fatal != "" {
		t.Fatalf("missing binary outside CI: fatal %q skip %q, want a skip", f.fatal, f.skip)
	}
	if !strings.Contains(f.skip, "no-such-peer-xyz") || !strings.Contains(f.skip, "apt-get install") {
		t.Errorf("skip message lacks the binary or the install hint: %q", f.skip)
	}

	t.Setenv("CI", "true")
	f = &fakeTB{T: t}
	f.run(func(tb TB) { Require(tb, "no-such-peer-xyz") })
	if f.fatal == "" || f.skip != "" {
		t.Fatalf("missing binary under CI: fatal %q skip %q, want a failure", f.fatal, f.skip)
	}
}

func TestRequireNamesDebianPackages(t *testing.T) {
	t.Setenv("CI", "")
	for bin, pkg := range map[string]string{"kamailio": "kamailio-presence-modules", "baresip": "baresip-core", "sipp": "sip-tester"} {
		if _, err := lookPath(bin); err == nil {
			continue // installed: no message to check
		}
		f := &fakeTB{T: t}
		f.run(func(tb TB) { Require(tb, bin) })
		if !strings.Contains(f.skip, pkg) {
			t.Errorf("Require(%s): %q does not name package %s", bin, f.skip, pkg)
		}
	}
}

func TestAsteriskAddrSkipsWithoutVariable(t *testing.T) {
	t.Setenv(AsteriskAddrEnv, "")
	t.Setenv("CI", "true")
	f := &fakeTB{T: t}
	f.run(func(tb TB) { AsteriskAddr(tb) })
	if f.skip == "" || !strings.Contains(f.skip, AsteriskAddrEnv) {
		t.Fatalf("want a skip naming %s even under CI, got fatal %q skip %q", AsteriskAddrEnv, f.fatal, f.skip)
	}
}

func TestFreePorts(t *testing.T) {
	seen := map[int]bool{}
	take := func(p int) {
		t.Helper()
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
	for range 20 {
		p := FreePortPair(t)
		if p%2 != 0 {
			t.Fatalf("FreePortPair returned odd port %d", p)
		}
		take(p)
		take(p + 1)
		u := FreeUDPPort(t)
		take(u)
		tu := FreeTCPUDPPort(t)
		take(tu)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", tu))
		if err != nil {
			t.Fatalf("FreeTCPUDPPort %d not free for TCP: %v", tu, err)
		}
		l.Close()
	}
	base := FreePortRange(t, 20, true)
	for p := base; p < base+20; p++ {
		take(p)
	}
	// portBound sees a bound socket without binding it.
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	if !portBound(false, port) {
		t.Errorf("portBound(udp %d) = false for a bound socket", port)
	}
	c.Close()
	if portBound(false, port) {
		t.Errorf("portBound(udp %d) = true after close", port)
	}
}

func TestWAVRoundTrip(t *testing.T) {
	path := WAVTone(t, filepath.Join(t.TempDir(), "t.wav"), 440, 0.5, 8000, 2)
	w, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if w.SampleRate != 8000 || w.Channels != 2 || len(w.Samples) != 8000 || math.Abs(w.Duration()-0.5) > 1e-9 {
		t.Fatalf("got %d Hz, %d ch, %d samples, %v s", w.SampleRate, w.Channels, len(w.Samples), w.Duration())
	}
	left, right := w.Channel(0), w.Channel(1)
	hz, _ := toneFrequency(left, w.SampleRate)
	if math.Abs(hz-440) > 2 {
		t.Errorf("tone measured at %.1f Hz, want 440", hz)
	}
	for i := range left {
		if left[i] != right[i] {
			t.Fatalf("channels differ at %d", i)
		}
	}
	if _, err := ReadWAV(filepath.Join(t.TempDir(), "missing.wav")); err == nil {
		t.Error("ReadWAV of a missing file succeeded")
	}
}

func TestReadNetstring(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "5:hello,", want: "hello"},
		{in: "0:,", want: ""},
		{in: "5:hello;", wantErr: true},
		{in: "x:hello,", wantErr: true},
		{in: ":hello,", wantErr: true},
		{in: "99999999999:a,", wantErr: true},
		{in: "10:short,", wantErr: true},
	} {
		got, err := readNetstring(bufio.NewReader(strings.NewReader(tc.in)))
		if (err != nil) != tc.wantErr || (err == nil && string(got) != tc.want) {
			t.Errorf("readNetstring(%q) = %q, %v", tc.in, got, err)
		}
	}
}

func TestLogBufferBounded(t *testing.T) {
	b := newLogBuffer(100)
	for i := range 1000 {
		fmt.Fprintf(b, "line %04d\n", i)
	}
	s := b.String()
	if !strings.HasSuffix(s, "line 0999\n") || !strings.Contains(s, "earlier bytes dropped") || len(s) > 200 {
		t.Fatalf("unexpected buffer content (%d bytes): %q", len(s), s)
	}
}

// TestCtrlClient drives the ctrl_tcp client against a scripted server:
// replies are matched by token, and events are buffered and handed out in
// order, once each.
func TestCtrlClient(t *testing.T) {
	server, client := net.Pipe()
	c := newCtrlClient(client)
	defer c.close()
	defer server.Close()

	send := func(s string) {
		if _, err := fmt.Fprintf(server, "%d:%s,", len(s), s); err != nil {
			t.Error(err)
		}
	}
	go func() {
		r := bufio.NewReader(server)
		msg, err := readNetstring(r)
		if err != nil {
			return
		}
		// Two events arrive before the reply.
		send(`{"event":true,"type":"CALL_RINGING","class":"call","id":"c1"}`)
		send(`{"event":true,"type":"CALL_ESTABLISHED","class":"call","id":"c1","param":"x"}`)
		tok := strings.Split(strings.Split(string(msg), `"token":"`)[1], `"`)[0]
		send(`{"response":true,"ok":true,"data":"done","token":"` + tok + `"}`)
		send(`{"event":true,"type":"CALL_CLOSED","class":"call","id":"c1","param":{"n":1}}`)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.command(ctx, "dial", "sip:x@127.0.0.1")
	if err != nil || !r.OK || r.Data != "done" {
		t.Fatalf("command: %+v, %v", r, err)
	}
	ev, err := c.waitEvent(ctx, "CALL_ESTABLISHED")
	if err != nil || ev.Param != "x" || ev.ID != "c1" {
		t.Fatalf("CALL_ESTABLISHED: %+v, %v", ev, err)
	}
	ev, err = c.waitEvent(ctx, "CALL_CLOSED")
	if err != nil || ev.Param != `{"n":1}` {
		t.Fatalf("CALL_CLOSED: %+v, %v", ev, err)
	}
	// An event already returned is not returned again ...
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := c.waitEvent(short, "CALL_ESTABLISHED"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second CALL_ESTABLISHED: %v, want deadline exceeded", err)
	}
	// ... but can be found again by index.
	ev, i, err := c.waitEventAfter(ctx, 0, "CALL_ESTABLISHED")
	if err != nil || i != 1 || ev.Type != "CALL_ESTABLISHED" {
		t.Fatalf("waitEventAfter: %+v #%d, %v", ev, i, err)
	}
	if _, _, err := c.waitEventAfter(short, 2, "CALL_ESTABLISHED"); err == nil {
		t.Fatal("waitEventAfter found an event past the last one")
	}
	// After the connection closes, waits fail instead of hanging.
	server.Close()
	if _, err := c.waitEvent(ctx, "NEVER"); !errors.Is(err, errClosed) {
		t.Fatalf("wait after close: %v, want errClosed", err)
	}
	if _, err := c.command(ctx, "hangup", ""); !errors.Is(err, errClosed) {
		t.Fatalf("command after close: %v, want errClosed", err)
	}
}
