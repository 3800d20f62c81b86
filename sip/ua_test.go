package sip

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"
)

type inviteHandler chan *IncomingInvite

func (h inviteHandler) HandleInvite(in *IncomingInvite) { h <- in }

func newTestUA(t *testing.T, h Handler) *UA {
	t.Helper()
	u, err := NewUA(Config{ListenAddr: netip.MustParseAddrPort("127.0.0.1:0"), Handler: h, Logger: slog.Default()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	return u
}

func TestInviteAcceptBye(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	for _, tp := range []Transport{UDP, TCP} {
		t.Run(string(tp), func(t *testing.T) {
			invites := make(inviteHandler, 1)
			a := newTestUA(t, nil)
			b := newTestUA(t, invites)
			target, err := ParseTarget("bob@127.0.0.1:"+itoa(b.Port())+";transport="+string(tp), "")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			type result struct {
				d   *Dialog
				err error
			}
			done := make(chan result, 1)
			rang := make(chan int, 4)
			go func() {
				d, _, err := a.Invite(ctx, InviteOptions{Target: target, From: URI{Scheme: "sip", User: "alice", Host: "127.0.0.1"}, Body: []byte("v=0\r\n"),
					OnProvisional: func(r *Response) { rang <- r.StatusCode }})
				done <- result{d, err}
			}()
			var in *IncomingInvite
			select {
			case in = <-invites:
			case <-ctx.Done():
				t.Fatal("no INVITE arrived")
			}
			if err := in.Provisional(180, "Ringing", nil); err != nil {
				t.Fatal(err)
			}
			bd, err := in.Accept([]byte("v=0\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			// sipgo handles each message on its own goroutine, so the 180
			// may be processed after the 200 and then is not reported.
			select {
			case got := <-rang:
				if got != 180 {
					t.Fatalf("provisional = %d, want 180", got)
				}
			case <-time.After(time.Second):
			}
			select {
			case <-bd.acked:
			case <-ctx.Done():
				t.Fatal("callee never saw the ACK")
			}
			if err := r.d.Bye(ctx, ""); err != nil {
				t.Fatal(err)
			}
			select {
			case <-bd.Done():
			case <-ctx.Done():
				t.Fatal("callee dialog did not end")
			}
			if c := bd.Termination().Cause; c != CauseRemote {
				t.Fatalf("callee cause = %v, want remote", c)
			}
			if c := r.d.Termination().Cause; c != CauseLocal {
				t.Fatalf("caller cause = %v, want local", c)
			}
		})
	}
}

func TestInviteRejectAndCancel(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	invites := make(inviteHandler, 2)
	a := newTestUA(t, nil)
	b := newTestUA(t, invites)
	target, _ := ParseTarget("bob@127.0.0.1:"+itoa(b.Port()), "")
	from := URI{Scheme: "sip", User: "alice", Host: "127.0.0.1"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	go func() { in := <-invites; _ = in.Reject(486, "Busy Here") }()
	_, _, err := a.Invite(ctx, InviteOptions{Target: target, From: from})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 486 {
		t.Fatalf("err = %v, want 486", err)
	}

	cctx, ccancel := context.WithCancel(ctx)
	gotCancel := make(chan bool, 1)
	go func() {
		in := <-invites
		_ = in.Provisional(180, "Ringing", nil)
		select {
		case <-in.Cancelled():
			gotCancel <- true
		case <-time.After(5 * time.Second):
			gotCancel <- false
		}
	}()
	_, _, err = a.Invite(cctx, InviteOptions{Target: target, From: from, OnProvisional: func(*Response) { ccancel() }})
	if !errors.Is(err, ErrCanceled) {
		t.Fatalf("err = %v, want ErrCanceled", err)
	}
	if !<-gotCancel {
		t.Fatal("callee did not see CANCEL")
	}
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in, domain, user, host string
		port                   int
		ok                     bool
	}{
		{"1002", "example.com", "1002", "example.com", 0, true},
		{"bob@10.0.0.1:5070", "", "bob", "10.0.0.1", 5070, true},
		{"sip:carol@example.org;transport=tcp", "", "carol", "example.org", 0, true},
		{"1002", "", "", "", 0, false},
		{"", "x", "", "", 0, false},
	} {
		u, err := ParseTarget(tc.in, tc.domain)
		if (err == nil) != tc.ok {
			t.Fatalf("%q: err = %v", tc.in, err)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidURI) {
				t.Fatalf("%q: err %v is not ErrInvalidURI", tc.in, err)
			}
			continue
		}
		if u.User != tc.user || u.Host != tc.host || u.Port != tc.port {
			t.Fatalf("%q: got %s", tc.in, u.String())
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
