package peertest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain checks, after every test and its cleanups (which stop the
// peers) have run, that no goroutine is left behind. The tests run in
// parallel, so a per-test check would see the other tests' goroutines.
func TestMain(m *testing.M) {
	flag.Parse()
	// The tests mostly wait for peer processes: unless -parallel was
	// given, run them all at once rather than GOMAXPROCS at a time.
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		_ = flag.Set("test.parallel", "8")
	}
	goleak.VerifyTestMain(m)
}

// sippPair runs a sipp UAS and a sipp UAC against it and checks both exit
// codes.
func sippPair(t *testing.T, uas, uac string, wantUAC int, uacArgs ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := StartSipp(ctx, t, uas)
	r := RunSipp(ctx, t, uac, append(uacArgs, s.Addr())...)
	if r.ExitCode != wantUAC {
		t.Errorf("%s: exit code %d, want %d\n%s", uac, r.ExitCode, wantUAC, r)
	}
	rs := s.Wait(ctx)
	if rs.ExitCode != 0 {
		t.Errorf("%s: exit code %d, want 0\n%s", uas, rs.ExitCode, rs)
	}
}

// rejectScenario writes a copy of uas_reject.xml that answers with the
// given status instead of 486 Busy Here.
func rejectScenario(t *testing.T, status string) string {
	data, err := os.ReadFile(ModuleRoot(t) + "/testdata/sipp/uas_reject.xml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), "SIP/2.0 486 Busy Here", "SIP/2.0 "+status, 1)
	if s == string(data) {
		t.Fatal("uas_reject.xml does not send 486 Busy Here")
	}
	path := t.TempDir() + "/uas_reject_" + status[:3] + ".xml"
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type subtest struct {
	name string
	fn   func(t *testing.T)
}

// runConcurrently runs the subtests at the same time. Unlike t.Parallel,
// this is not limited to GOMAXPROCS subtests at once: they mostly wait for
// peer processes.
func runConcurrently(t *testing.T, tests []subtest) {
	var wg sync.WaitGroup
	for _, st := range tests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(st.name, st.fn)
		}()
	}
	wg.Wait()
}

// TestInteropSippScenarios checks the call scenarios in testdata/sipp
// against each other and against baresip.
func TestInteropSippScenarios(t *testing.T) {
	t.Parallel()
	testCtx := func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t.Cleanup(cancel)
		return ctx
	}
	// baresip answering (UAS) without registration.
	callee := func(t *testing.T, mode string) (*Baresip, context.Context) {
		return StartBaresip(t, BaresipOptions{User: "bob", AnswerMode: mode}), testCtx(t)
	}
	// baresip calling a sipp UAS directly.
	caller := func(t *testing.T, scenario string) (*Baresip, *SippProcess, context.Context) {
		ctx := testCtx(t)
		s := StartSipp(ctx, t, scenario)
		b := StartBaresip(t, BaresipOptions{User: "alice"})
		if err := b.Dial(ctx, "sip:1002@"+s.Addr()); err != nil {
			t.Fatal(err)
		}
		return b, s, ctx
	}
	waitEvents := func(t *testing.T, ctx context.Context, b *Baresip, types ...string) {
		t.Helper()
		for _, typ := range types {
			if _, err := b.WaitEvent(ctx, typ); err != nil {
				t.Fatalf("%v\n%s", err, b.Log())
			}
		}
	}
	wantExit := func(t *testing.T, r SippResult, code int) {
		t.Helper()
		if r.ExitCode != code {
			t.Fatalf("want exit code %d\n%s", code, r)
		}
	}

	runConcurrently(t, []subtest{
		{"uac_call/uas_answer", func(t *testing.T) { sippPair(t, "uas_answer", "uac_call", 0, "-s", "1002") }},
		{"uac_cancel/uas_ring", func(t *testing.T) { sippPair(t, "uas_ring", "uac_cancel", 0, "-s", "1002") }},
		{"uac_bye_wait/uas_bye", func(t *testing.T) { sippPair(t, "uas_bye", "uac_bye_wait", 0, "-s", "1002") }},
		{"uac_bad_sdp/uas_reject_488", func(t *testing.T) {
			sippPair(t, rejectScenario(t, "488 Not Acceptable Here"), "uac_bad_sdp", 0, "-s", "1002")
		}},
		{"uac_bad_sdp/uas_reject_400", func(t *testing.T) {
			sippPair(t, rejectScenario(t, "400 Bad Request"), "uac_bad_sdp", 0, "-s", "1002")
		}},
		// The UAC scenarios fail when the callee answers otherwise.
		{"uac_call/uas_reject", func(t *testing.T) { sippPair(t, "uas_reject", "uac_call", 1, "-s", "1002") }},
		{"uac_bad_sdp/uas_reject", func(t *testing.T) { sippPair(t, "uas_reject", "uac_bad_sdp", 1, "-s", "1002") }},
		{"uac_unknown_codec/uas_reject", func(t *testing.T) { sippPair(t, "uas_reject", "uac_unknown_codec", 1, "-s", "1002") }},

		{"uac_call/baresip", func(t *testing.T) {
			b, ctx := callee(t, "auto")
			wantExit(t, RunSipp(ctx, t, "uac_call", "-s", b.User(), b.SIPAddr()), 0)
			waitEvents(t, ctx, b, "CALL_ESTABLISHED", "CALL_RTPESTAB", "CALL_CLOSED")
		}},
		{"uac_cancel/baresip", func(t *testing.T) {
			b, ctx := callee(t, "manual")
			wantExit(t, RunSipp(ctx, t, "uac_cancel", "-s", b.User(), b.SIPAddr()), 0)
			waitEvents(t, ctx, b, "CALL_CLOSED")
		}},
		{"uac_bye_wait/baresip", func(t *testing.T) {
			b, ctx := callee(t, "auto")
			s := StartSipp(ctx, t, "uac_bye_wait", "-s", b.User(), b.SIPAddr())
			waitEvents(t, ctx, b, "CALL_ESTABLISHED", "CALL_RTPESTAB")
			if err := b.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			wantExit(t, s.Wait(ctx), 0)
		}},
		{"uac_unknown_codec/baresip", func(t *testing.T) {
			b, ctx := callee(t, "auto")
			r := RunSipp(ctx, t, "uac_unknown_codec", "-s", b.User(), b.SIPAddr())
			wantExit(t, r, 0)
			if !strings.Contains(r.MessagesLog, "SIP/2.0 488") {
				t.Errorf("no 488 in\n%s", r.MessagesLog)
			}
		}},
		{"uac_bad_sdp/baresip", func(t *testing.T) {
			// baresip 1.0 answers a body that is not SDP with 500 Call
			// Error, which the scenario rejects: it wants 400 or 488.
			b, ctx := callee(t, "auto")
			r := RunSipp(ctx, t, "uac_bad_sdp", "-s", b.User(), b.SIPAddr())
			wantExit(t, r, 1)
			if !strings.Contains(r.MessagesLog, "SIP/2.0 500") {
				t.Errorf("baresip no longer answers 500:\n%s", r.MessagesLog)
			}
		}},

		{"baresip/uas_answer", func(t *testing.T) {
			b, s, ctx := caller(t, "uas_answer")
			waitEvents(t, ctx, b, "CALL_ESTABLISHED", "CALL_RTPESTAB")
			if err := b.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			wantExit(t, s.Wait(ctx), 0)
		}},
		{"baresip/uas_reject", func(t *testing.T) {
			b, s, ctx := caller(t, "uas_reject")
			ev, err := b.WaitEvent(ctx, "CALL_CLOSED")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(ev.Param, "486") && !strings.Contains(ev.Param, "Busy") {
				t.Errorf("close reason %q, want 486 Busy Here", ev.Param)
			}
			wantExit(t, s.Wait(ctx), 0)
		}},
		{"baresip/uas_bye", func(t *testing.T) {
			b, s, ctx := caller(t, "uas_bye")
			waitEvents(t, ctx, b, "CALL_ESTABLISHED", "CALL_RTPESTAB", "CALL_CLOSED")
			wantExit(t, s.Wait(ctx), 0)
		}},
		{"baresip/uas_ring", func(t *testing.T) {
			b, s, ctx := caller(t, "uas_ring")
			waitEvents(t, ctx, b, "CALL_RINGING")
			if err := b.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			wantExit(t, s.Wait(ctx), 0)
		}},
	})
}

// TestInteropSippProxyScenarios checks the scenarios that go through
// Kamailio: registration, an authenticated call with RTP echo, BLF,
// presence, MWI and MESSAGE.
func TestInteropSippProxyScenarios(t *testing.T) {
	t.Parallel()
	kam := StartKamailio(t, KamailioOptions{})
	testCtx := func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t.Cleanup(cancel)
		return ctx
	}
	wantExit := func(t *testing.T, what string, r SippResult) {
		t.Helper()
		if r.ExitCode != 0 {
			t.Errorf("%s failed:\n%s", what, r)
		}
	}
	// waitSubscribed waits for the watcher's first NOTIFY, which follows the
	// 200/202 to its SUBSCRIBE: a PUBLISH before that could have its NOTIFY
	// overtake the 200 (Kamailio has two UDP workers).
	waitSubscribed := func(t *testing.T, ctx context.Context, w *SippProcess) {
		t.Helper()
		if err := w.WaitMessage(ctx, "NOTIFY sip:"); err != nil {
			t.Fatalf("%v\n%s", err, w.MessagesLog())
		}
	}
	// register makes user reachable at the sipp UAS on port.
	register := func(t *testing.T, ctx context.Context, user string, port int) {
		t.Helper()
		r := RunSipp(ctx, t, "register", "-au", user, "-ap", kam.User(user).Password, "-s", user,
			"-key", "cport", strconv.Itoa(port), kam.Addr())
		if r.ExitCode != 0 {
			t.Fatalf("register %s:\n%s", user, r)
		}
	}

	runConcurrently(t, []subtest{
		{"uac_auth/uas+blf", func(t *testing.T) {
			ctx := testCtx(t)
			// 1003 watches 1002's dialogs until one is terminated.
			w := StartSipp(ctx, t, "subscribe", "-s", "1002", "-au", "1003", "-ap", "secret1003", "-key", "watcher", "1003",
				"-key", "event", "dialog", "-key", "accept", "application/dialog-info+xml", kam.Addr())
			waitSubscribed(t, ctx, w)
			uasPort := FreeTCPUDPPort(t)
			register(t, ctx, "1002", uasPort)
			uas := StartSipp(ctx, t, "uas", "-p", strconv.Itoa(uasPort), "-rtp_echo", kam.Addr())
			uac := RunSipp(ctx, t, "uac_auth", "-s", "1002", "-au", "1001", "-ap", "secret1001", "-key", "caller", "1001", kam.Addr())
			wantExit(t, "uac_auth", uac)
			wantExit(t, "uas", uas.Wait(ctx))
			r := w.Wait(ctx)
			wantExit(t, "BLF subscribe", r)
			if !strings.Contains(r.MessagesLog, "confirmed") {
				t.Errorf("BLF watcher saw no confirmed dialog:\n%s", r.MessagesLog)
			}
		}},
		{"subscribe/publish", func(t *testing.T) {
			ctx := testCtx(t)
			w := StartSipp(ctx, t, "subscribe", "-s", "1006", "-au", "1005", "-ap", "secret1005", "-key", "watcher", "1005",
				"-key", "event", "presence", "-key", "accept", "application/pidf+xml", kam.Addr())
			waitSubscribed(t, ctx, w)
			wantExit(t, "publish", RunSipp(ctx, t, "publish", "-s", "1006", "-au", "1006", "-ap", "secret1006", "-key", "note", "sipp-done", kam.Addr()))
			wantExit(t, "presence subscribe", w.Wait(ctx))
		}},
		{"subscribe/publish_mwi", func(t *testing.T) {
			ctx := testCtx(t)
			w := StartSipp(ctx, t, "subscribe", "-s", "1004", "-au", "1004", "-ap", "secret1004", "-key", "watcher", "1004",
				"-key", "event", "message-summary", "-key", "accept", "application/simple-message-summary", kam.Addr())
			waitSubscribed(t, ctx, w)
			wantExit(t, "publish_mwi", RunSipp(ctx, t, "publish_mwi", "-s", "1004", "-au", "1004", "-ap", "secret1004", "-key", "new", "3", kam.Addr()))
			r := w.Wait(ctx)
			wantExit(t, "MWI subscribe", r)
			if !strings.Contains(r.MessagesLog, "Voice-Message: 3/0") {
				t.Errorf("MWI NOTIFY lacks the count:\n%s", r.MessagesLog)
			}
		}},
		{"message/message_uas", func(t *testing.T) {
			ctx := testCtx(t)
			sinkPort := FreeTCPUDPPort(t)
			register(t, ctx, "1006", sinkPort)
			sink := StartSipp(ctx, t, "message_uas", "-p", strconv.Itoa(sinkPort), kam.Addr())
			wantExit(t, "message", RunSipp(ctx, t, "message", "-s", "1006", "-au", "1005", "-ap", "secret1005",
				"-key", "sender", "1005", "-key", "text", "hello-from-1005", kam.Addr()))
			r := sink.Wait(ctx)
			wantExit(t, "message_uas", r)
			if !strings.Contains(r.MessagesLog, "hello-from-1005") {
				t.Errorf("sink did not get the text:\n%s", r.MessagesLog)
			}
		}},
	})
}

func TestInteropKamailioStarts(t *testing.T) {
	t.Parallel()
	kam := StartKamailio(t, KamailioOptions{})

	line, err := PingSIP(kam.Addr(), time.Second, 50*time.Millisecond)
	if err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("OPTIONS to %s: %q, %v", kam.Addr(), line, err)
	}
	if kam.Domain != "127.0.0.1" || len(kam.Users) < 6 || kam.User("1004").Password != "secret1004" {
		t.Fatalf("unexpected domain/users: %q %v", kam.Domain, kam.Users)
	}
	// The alias and presence server address follow the chosen port.
	if !strings.Contains(kam.Log(), "localhost:"+strconv.Itoa(kam.Port())) {
		t.Errorf("log does not show alias localhost:%d:\n%s", kam.Port(), kam.Log())
	}
	if _, err := lookPath("kamcmd"); err == nil {
		out, err := kam.Ctl("core.version")
		if err != nil || !strings.Contains(out, "kamailio") {
			t.Errorf("kamcmd core.version: %q, %v", out, err)
		}
	}

	kam.Stop()
	if kam.Running() {
		t.Fatal("kamailio still running after Stop")
	}
	if line, err := PingSIP(kam.Addr(), 200*time.Millisecond, 50*time.Millisecond); err == nil {
		t.Fatalf("stopped kamailio answered: %q", line)
	}
	port := kam.Port()
	kam.Restart()
	if kam.Port() != port {
		t.Fatalf("restart moved the port %d -> %d", port, kam.Port())
	}
	if line, err := PingSIP(kam.Addr(), time.Second, 50*time.Millisecond); err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("OPTIONS after restart: %q, %v", line, err)
	}
}

func TestInteropKamailioTLS(t *testing.T) {
	t.Parallel()
	kam := StartKamailio(t, KamailioOptions{TLS: true})
	pemData, err := os.ReadFile(kam.TLSCertFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		t.Fatal("bad certificate PEM")
	}
	conn, err := tls.Dial("tcp", kam.TLSAddr(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", kam.TLSAddr(), err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	local := conn.LocalAddr().String()
	req := fmt.Sprintf("OPTIONS sip:%s;transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS %s;branch=z9hG4bK-tls1\r\nMax-Forwards: 70\r\n"+
		"From: <sip:peertest@127.0.0.1>;tag=1\r\nTo: <sip:%s>\r\nCall-ID: tls-%d\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		kam.TLSAddr(), local, kam.TLSAddr(), time.Now().UnixNano())
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Fatalf("OPTIONS over TLS: %q, %v\n%s", status, err, kam.Log())
	}
}

// toneFrequency estimates the frequency of the loud part of samples by
// counting upward zero crossings. It also returns how many seconds of
// signal it measured.
func toneFrequency(samples []int16, rate int) (hz, seconds float64) {
	first, last := -1, -1
	for i, s := range samples {
		if s > 3000 || s < -3000 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 || last-first < rate/10 {
		return 0, 0
	}
	crossings, start, end := 0, -1, -1
	for i := first + 1; i <= last; i++ {
		if samples[i-1] < 0 && samples[i] >= 0 {
			if start < 0 {
				start = i
			}
			end = i
			crossings++
		}
	}
	if crossings < 2 {
		return 0, 0
	}
	seconds = float64(end-start) / float64(rate)
	return float64(crossings-1) / seconds, seconds
}

func checkTone(t *testing.T, who, path string, want float64) {
	t.Helper()
	w, err := ReadWAV(path)
	if err != nil {
		t.Fatalf("%s: %v", who, err)
	}
	hz, secs := toneFrequency(w.Channel(0), w.SampleRate)
	t.Logf("%s: %s: %d Hz, %d ch, %.2f s, tone %.1f Hz over %.2f s", who, path, w.SampleRate, w.Channels, w.Duration(), hz, secs)
	if secs < 0.5 || math.Abs(hz-want) > want*0.03 {
		t.Errorf("%s: decoded audio has %.1f Hz over %.2f s, want %.0f Hz over at least 0.5 s", who, hz, secs, want)
	}
}

func TestInteropBaresipRegistersAndCalls(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	kam := StartKamailio(t, KamailioOptions{})
	toneA := WAVTone(t, "", 1000, 30, 8000, 1)
	toneB := WAVTone(t, "", 440, 30, 8000, 1)
	a := StartBaresip(t, BaresipOptions{User: "1001", Password: "secret1001", Registrar: kam.Addr(), AudioSource: toneA})
	b := StartBaresip(t, BaresipOptions{User: "1002", Password: "secret1002", Registrar: kam.Addr(), AudioSource: toneB})

	if out, err := kam.Ctl("ul.dump"); err == nil {
		for _, u := range []string{"1001", "1002"} {
			if !strings.Contains(out, "AoR: "+u) {
				t.Errorf("ul.dump has no contact for %s:\n%s", u, out)
			}
		}
	}

	if err := a.Dial(ctx, b.URI()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*Baresip{a, b} {
		ev, err := p.WaitEvent(ctx, "CALL_ESTABLISHED")
		if err != nil {
			t.Fatalf("%v\n%s", err, p.Log())
		}
		t.Logf("%s: %s peer %s call %s", p.User(), ev.Type, ev.PeerURI, ev.ID)
	}
	if _, err := b.WaitEvent(ctx, "CALL_RTPESTAB"); err != nil {
		t.Fatal(err)
	}
	if err := a.SendDTMF("5"); err != nil {
		t.Fatal(err)
	}
	dctx, dcancel := context.WithTimeout(ctx, 3*time.Second)
	ev, err := b.WaitEvent(dctx, "CALL_DTMF_START")
	dcancel()
	if err != nil {
		t.Errorf("no DTMF at %s: %v", b.User(), err)
	} else if ev.Param != "5" {
		t.Errorf("DTMF digit %q, want 5", ev.Param)
	}
	time.Sleep(time.Second) // let a second of audio flow

	if err := a.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*Baresip{a, b} {
		ev, err := p.WaitEvent(ctx, "CALL_CLOSED")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: CALL_CLOSED %q", p.User(), ev.Param)
	}

	// The dumps are complete once both peers have stopped.
	a.Stop()
	b.Stop()
	decB, decA := b.DecodedWAVs(), a.DecodedWAVs()
	if len(decB) != 1 || len(decA) != 1 || len(a.EncodedWAVs()) != 1 {
		t.Fatalf("dumps: A dec %v enc %v, B dec %v", decA, a.EncodedWAVs(), decB)
	}
	checkTone(t, "B hears A", decB[0], 1000)
	checkTone(t, "A hears B", decA[0], 440)
}

func TestInteropSippRegister(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kam := StartKamailio(t, KamailioOptions{})
	cport := strconv.Itoa(FreeUDPPort(t))

	r := RunSipp(ctx, t, "register", "-au", "1002", "-ap", "secret1002", "-s", "1002", "-key", "cport", cport, kam.Addr())
	if r.ExitCode != 0 {
		t.Fatalf("register with the right password failed:\n%s", r)
	}
	if !strings.Contains(r.MessagesLog, "SIP/2.0 401") || !strings.Contains(r.MessagesLog, "SIP/2.0 200") {
		t.Errorf("messages log lacks the 401/200 exchange:\n%s", r.MessagesLog)
	}
	t.Logf("register ok in %v", r.Duration)
	if out, err := kam.Ctl("ul.dump"); err == nil && !strings.Contains(out, "sip:1002@127.0.0.1:"+cport) {
		t.Errorf("ul.dump lacks the sipp contact:\n%s", out)
	}

	r = RunSipp(ctx, t, "register", "-au", "1003", "-ap", "wrong", "-s", "1003", "-key", "cport", cport, "-timeout", "3", kam.Addr())
	if r.ExitCode == 0 {
		t.Fatalf("register with a wrong password succeeded:\n%s", r)
	}
	if strings.Count(r.MessagesLog, "SIP/2.0 401") < 2 {
		t.Errorf("wrong password: want a second 401, log:\n%s", r.MessagesLog)
	}
	t.Logf("wrong password: exit code %d after %v", r.ExitCode, r.Duration)
}

// TestInteropBaresipSRTP calls between two baresip peers registered over
// TCP and TLS with SRTP (SDES, then DTLS-SRTP) and checks that the tone
// arrives decrypted.
func TestInteropBaresipSRTP(t *testing.T) {
	t.Parallel()
	kam := StartKamailio(t, KamailioOptions{TLS: true})
	runConcurrently(t, []subtest{
		{"sdes", func(t *testing.T) { srtpCall(t, kam, "srtp-mand", "1003", "1004") }},
		{"dtls", func(t *testing.T) { srtpCall(t, kam, "dtls_srtp", "1005", "1006") }},
	})
}

func srtpCall(t *testing.T, kam *Kamailio, menc, userA, userB string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := StartBaresip(t, BaresipOptions{User: userA, Password: kam.User(userA).Password, Registrar: kam.TLSAddr(),
		Transport: "tls", MediaEnc: menc, AudioSource: WAVTone(t, "", 1000, 10, 8000, 1)})
	b := StartBaresip(t, BaresipOptions{User: userB, Password: kam.User(userB).Password, Registrar: kam.Addr(),
		Transport: "tcp", MediaEnc: menc})
	if err := a.Dial(ctx, b.URI()); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"CALL_ESTABLISHED", "CALL_MENC", "CALL_RTPESTAB"} {
		if _, err := b.WaitEvent(ctx, typ); err != nil {
			t.Fatalf("%v\n%s", err, b.Log())
		}
	}
	time.Sleep(time.Second)
	if err := a.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
		t.Fatal(err)
	}
	b.Stop()
	dec := b.DecodedWAVs()
	if len(dec) != 1 {
		t.Fatalf("decoded dumps: %v", dec)
	}
	checkTone(t, menc, dec[0], 1000)
}
