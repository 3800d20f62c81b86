package peertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BaresipOptions configures [StartBaresip].
type BaresipOptions struct {
	// User is the account's user part; "" means "peer".
	User string
	// Password is the digest password used when registering.
	Password string
	// Registrar is the outbound proxy and registrar, e.g. kam.Addr()
	// ("127.0.0.1:5060"; use the TLS address with Transport "tls"). Empty
	// means no registration: the account only listens on its own port and
	// calls go straight to the dialled URI.
	Registrar string
	// Transport is "udp" (default), "tcp" or "tls": the transport to the
	// registrar and the default for outgoing requests.
	Transport string
	// AudioSource is the "microphone": the path of a WAV file (sent with
	// aufile; it must match the codec: 8 kHz mono for G.711, 48 kHz stereo
	// for Opus), or a baresip source spec such as "ausine,440" (48 kHz
	// stereo only, i.e. with Opus) or "aufile,/path.wav". Empty means a
	// generated 60 s 1000 Hz tone at the codec's rate.
	AudioSource string
	// Codecs is the account's audio_codecs list; "" means
	// "PCMU/8000/1,PCMA/8000/1".
	Codecs string
	// AnswerMode is "auto" (default: incoming calls are answered at once),
	// "manual" (answer with [Baresip.Accept]) or "early".
	AnswerMode string
	// MediaEnc is "" (plain RTP), "srtp", "srtp-mand" (SDES) or "dtls_srtp"
	// (the dtls_srtp module is loaded only then).
	MediaEnc string
	// Contacts are lines for baresip's contacts file, e.g.
	// `"Bob" <sip:1002@127.0.0.1>`. The last one is the current contact that
	// the ctrl_tcp "message" command sends to.
	Contacts []string
	// RegInt is the registration interval in seconds; 0 means 300.
	RegInt int
	// AccountParams are appended to the account line as is, e.g. ";ptime=20".
	AccountParams string
	// Dir is the directory holding config.tmpl and accounts.tmpl; empty
	// means testdata/baresip in the module root.
	Dir string
	// ReadyTimeout bounds start-up and registration; 0 means 10 s (15 s with
	// MediaEnc "dtls_srtp").
	ReadyTimeout time.Duration
}

// Event is an event baresip sends on its ctrl_tcp connection.
type Event struct {
	Type       string `json:"type"`       // e.g. "CALL_ESTABLISHED"
	Class      string `json:"class"`      // e.g. "call", "register"
	AccountAOR string `json:"accountaor"` // the local account
	PeerURI    string `json:"peeruri"`    // the remote party
	ID         string `json:"id"`         // the call's Call-ID
	Param      string `json:"param"`      // e.g. the DTMF digit or close reason
	// Raw is the whole JSON object as received.
	Raw string `json:"-"`
}

// Response is baresip's reply to a ctrl_tcp command.
type Response struct {
	OK    bool   `json:"ok"`
	Data  string `json:"data"`
	Token string `json:"token"`
}

// ErrCommandFailed is returned by [Baresip.Command] when baresip answers
// with "ok": false.
var ErrCommandFailed = errors.New("baresip command failed")

// Baresip is a running headless baresip softphone, driven over its ctrl_tcp
// (JSON commands and events) and cons (keys) sockets. Its methods are safe
// for concurrent use.
type Baresip struct {
	t        TB
	opts     BaresipOptions
	dir      string
	dumpDir  string
	sipPort  int
	ctrlPort int
	consPort int
	rtpPort  int
	log      *logBuffer
	proc     *proc

	ctrl *ctrlClient
	cons *consClient
	once sync.Once
}

// StartBaresip writes a config for one baresip peer into a temporary
// directory, starts it and waits until its ctrl_tcp socket accepts and,
// when a Registrar is set, until it is registered. It is stopped when the
// test ends.
func StartBaresip(t TB, opts BaresipOptions) *Baresip {
	t.Helper()
	Require(t, "baresip")
	if opts.User == "" {
		opts.User = "peer"
	}
	if opts.Transport == "" {
		opts.Transport = "udp"
	}
	switch opts.Transport {
	case "udp", "tcp", "tls":
	default:
		t.Fatalf("peertest: baresip transport %q: want udp, tcp or tls", opts.Transport)
	}
	if opts.Codecs == "" {
		opts.Codecs = "PCMU/8000/1,PCMA/8000/1"
	}
	if opts.AnswerMode == "" {
		opts.AnswerMode = "auto"
	}
	if opts.RegInt <= 0 {
		opts.RegInt = 300
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 10 * time.Second
		if strings.HasPrefix(opts.MediaEnc, "dtls_srtp") {
			// dtls_srtp generates an RSA certificate at start-up, which
			// takes seconds on a loaded machine.
			opts.ReadyTimeout = 15 * time.Second
		}
	}
	src := testdataDir(t, opts.Dir, "baresip")
	dir, err := filepath.Abs(t.TempDir())
	if err != nil {
		t.Fatalf("peertest: %v", err)
	}
	b := &Baresip{
		t:       t,
		opts:    opts,
		dir:     dir,
		dumpDir: filepath.Join(dir, "dump"),
		log:     newLogBuffer(256 << 10),
	}
	// SIP on P (UDP and TCP); baresip always binds TLS on P+1.
	b.sipPort = allocPorts(t, 2, 1, true)
	b.ctrlPort = FreeTCPUDPPort(t)
	b.consPort = FreeTCPUDPPort(t)
	b.rtpPort = FreePortRange(t, 20, false)
	if err := os.MkdirAll(b.dumpDir, 0o755); err != nil {
		t.Fatalf("peertest: %v", err)
	}
	source := b.audioSource()
	if err := b.writeConfig(src, source); err != nil {
		t.Fatalf("peertest: baresip config: %v", err)
	}

	started := time.Now()
	p, err := startProc("baresip "+opts.User, dir, b.log, b.log, "baresip", "-f", dir, "-v")
	if err != nil {
		t.Fatalf("peertest: %v", err)
	}
	b.proc = p
	t.Cleanup(b.Stop)
	if err := b.waitReady(); err != nil {
		b.Stop()
		t.Logf("baresip %s log:\n%s", opts.User, b.log.String())
		t.Fatalf("peertest: baresip %s (sip %s): %v", opts.User, b.SIPAddr(), err)
	}
	t.Logf("baresip %s ready on %s in %v (dir %s)", opts.User, b.SIPAddr(), time.Since(started).Round(time.Millisecond), dir)
	return b
}

// audioSource returns the audio_source config value, generating the
// default tone when none is given.
func (b *Baresip) audioSource() string {
	s := b.opts.AudioSource
	switch {
	case s == "":
		rate, ch := 8000, 1
		if strings.Contains(strings.ToLower(b.opts.Codecs), "opus") {
			rate, ch = 48000, 2
		}
		path := filepath.Join(b.dir, "tone.wav")
		WAVTone(b.t, path, 1000, 60, rate, ch)
		return "aufile," + path
	case strings.HasPrefix(s, "aufile,") || strings.HasPrefix(s, "ausine,"):
		return s
	case strings.Contains(s, ","):
		return s // some other module,device
	default:
		abs, err := filepath.Abs(s)
		if err != nil {
			b.t.Fatalf("peertest: %v", err)
		}
		if _, err := os.Stat(abs); err != nil {
			b.t.Fatalf("peertest: baresip audio source: %v", err)
		}
		return "aufile," + abs
	}
}

// writeConfig writes config, accounts and contacts into b.dir.
func (b *Baresip) writeConfig(src, source string) error {
	tmpl, err := os.ReadFile(filepath.Join(src, "config.tmpl"))
	if err != nil {
		return err
	}
	dtls := "# dtls_srtp.so not loaded (MediaEnc is not dtls_srtp)"
	if strings.HasPrefix(b.opts.MediaEnc, "dtls_srtp") {
		dtls = "module\t\t\tdtls_srtp.so"
	}
	config := strings.NewReplacer(
		"@SIPPORT@", strconv.Itoa(b.sipPort),
		"@TRANSPORT@", b.opts.Transport,
		"@CTRLPORT@", strconv.Itoa(b.ctrlPort),
		"@CONSPORT@", strconv.Itoa(b.consPort),
		"@RTPPORTS@", fmt.Sprintf("%d-%d", b.rtpPort, b.rtpPort+19),
		"@DUMPDIR@", b.dumpDir,
		"@SOURCE@", source,
		"@DTLS_SRTP@", dtls,
	).Replace(string(tmpl))
	if err := os.WriteFile(filepath.Join(b.dir, "config"), []byte(config), 0o644); err != nil {
		return err
	}

	atmpl, err := os.ReadFile(filepath.Join(src, "accounts.tmpl"))
	if err != nil {
		return err
	}
	o := b.opts
	var params strings.Builder
	if o.Registrar != "" {
		if o.Password != "" {
			fmt.Fprintf(&params, ";auth_pass=%s", o.Password)
		}
		fmt.Fprintf(&params, ";outbound=\"sip:%s;transport=%s\";regint=%d", o.Registrar, o.Transport, o.RegInt)
	} else {
		params.WriteString(";regint=0")
	}
	fmt.Fprintf(&params, ";answermode=%s;audio_codecs=%s", o.AnswerMode, o.Codecs)
	if o.MediaEnc != "" {
		fmt.Fprintf(&params, ";mediaenc=%s", o.MediaEnc)
	}
	params.WriteString(o.AccountParams)
	accounts := strings.NewReplacer(
		"@AOR@", "sip:"+o.User+"@127.0.0.1",
		"@PARAMS@", params.String(),
	).Replace(string(atmpl))
	if err := os.WriteFile(filepath.Join(b.dir, "accounts"), []byte(accounts), 0o644); err != nil {
		return err
	}
	contacts := strings.Join(o.Contacts, "\n")
	if contacts != "" {
		contacts += "\n"
	}
	return os.WriteFile(filepath.Join(b.dir, "contacts"), []byte(contacts), 0o644)
}

// waitReady connects to ctrl_tcp and cons and waits for registration.
func (b *Baresip) waitReady() error {
	timeout := b.opts.ReadyTimeout
	var conn net.Conn
	err := waitFor(b.proc, timeout, 20*time.Millisecond, func() (bool, error) {
		c, err := net.DialTimeout("tcp", b.CtrlAddr(), time.Second)
		if err != nil {
			return false, nil
		}
		conn = c
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("ctrl_tcp %s: %w", b.CtrlAddr(), err)
	}
	b.ctrl = newCtrlClient(conn)
	err = waitFor(b.proc, timeout, 20*time.Millisecond, func() (bool, error) {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(b.consPort)), time.Second)
		if err != nil {
			return false, nil
		}
		b.cons = newConsClient(c)
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("cons: %w", err)
	}
	if b.opts.Registrar == "" {
		return nil
	}
	var last string
	err = waitFor(b.proc, timeout, 20*time.Millisecond, func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r, err := b.Command(ctx, "reginfo", "")
		if err != nil {
			last = err.Error()
			return false, nil
		}
		last = r.Data
		return strings.Contains(r.Data, "OK"), nil
	})
	if err != nil {
		return fmt.Errorf("registration with %s: %w (last reginfo: %q)", b.opts.Registrar, err, last)
	}
	return nil
}

// Stop stops baresip (SIGTERM, SIGKILL after 2 s) and closes the control
// connections, waiting for their reader goroutines. It is idempotent and
// also runs at test cleanup.
func (b *Baresip) Stop() {
	b.once.Do(func() {
		if b.proc.stop(2 * time.Second) {
			b.t.Logf("peertest: baresip %s ignored SIGTERM, killed", b.opts.User)
		}
		if b.ctrl != nil {
			b.ctrl.close()
		}
		if b.cons != nil {
			b.cons.close()
		}
	})
}

// SIPAddr returns the UDP/TCP SIP address, "127.0.0.1:port".
func (b *Baresip) SIPAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.sipPort)) }

// SIPPort returns the UDP/TCP SIP port (TLS is on SIPPort()+1).
func (b *Baresip) SIPPort() int { return b.sipPort }

// TLSAddr returns the SIP TLS address, "127.0.0.1:port+1".
func (b *Baresip) TLSAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.sipPort+1)) }

// CtrlAddr returns the ctrl_tcp address.
func (b *Baresip) CtrlAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.ctrlPort)) }

// RTPPorts returns the first and last port of the peer's RTP range.
func (b *Baresip) RTPPorts() (first, last int) { return b.rtpPort, b.rtpPort + 19 }

// User returns the account's user part.
func (b *Baresip) User() string { return b.opts.User }

// URI returns the URI to call this peer at: "sip:USER@127.0.0.1" when it
// registered, else its direct address "sip:USER@127.0.0.1:PORT" (with
// ";transport=tcp" or the TLS port and ";transport=tls" as configured).
func (b *Baresip) URI() string {
	if b.opts.Registrar != "" {
		return "sip:" + b.opts.User + "@127.0.0.1"
	}
	switch b.opts.Transport {
	case "tcp":
		return "sip:" + b.opts.User + "@" + b.SIPAddr() + ";transport=tcp"
	case "tls":
		return "sip:" + b.opts.User + "@" + b.TLSAddr() + ";transport=tls"
	}
	return "sip:" + b.opts.User + "@" + b.SIPAddr()
}

// Dir returns the peer's config directory.
func (b *Baresip) Dir() string { return b.dir }

// Log returns the end of baresip's output (bounded).
func (b *Baresip) Log() string { return b.log.String() }

// Command sends a ctrl_tcp command (e.g. "dial", "sip:1002@127.0.0.1") and
// waits for its reply. A reply with "ok": false is returned together with
// an error wrapping [ErrCommandFailed].
func (b *Baresip) Command(ctx context.Context, cmd, params string) (Response, error) {
	r, err := b.ctrl.command(ctx, cmd, params)
	if err != nil {
		return r, fmt.Errorf("baresip %s: %s %s: %w", b.opts.User, cmd, params, err)
	}
	if !r.OK {
		return r, fmt.Errorf("baresip %s: %s %s: %w: %s", b.opts.User, cmd, params, ErrCommandFailed, strings.TrimSpace(r.Data))
	}
	return r, nil
}

// Dial calls uri.
func (b *Baresip) Dial(ctx context.Context, uri string) error {
	_, err := b.Command(ctx, "dial", uri)
	return err
}

// Hangup hangs up the current call.
func (b *Baresip) Hangup(ctx context.Context) error {
	_, err := b.Command(ctx, "hangup", "")
	return err
}

// Accept answers the current incoming call (AnswerMode "manual").
func (b *Baresip) Accept(ctx context.Context) error {
	_, err := b.Command(ctx, "accept", "")
	return err
}

// WaitEvent waits for the earliest event of type typ that no earlier
// WaitEvent call returned, and marks it as returned. Events are buffered
// from start-up on, so an event that arrived before the call is found.
func (b *Baresip) WaitEvent(ctx context.Context, typ string) (Event, error) {
	ev, err := b.ctrl.waitEvent(ctx, typ)
	if err != nil {
		return ev, fmt.Errorf("baresip %s: wait for %s: %w", b.opts.User, typ, err)
	}
	return ev, nil
}

// WaitEventAfter waits for the first event of type typ at index >= after
// in [Baresip.Events] and returns it with its index. It does not mark
// events as returned.
func (b *Baresip) WaitEventAfter(ctx context.Context, after int, typ string) (Event, int, error) {
	ev, i, err := b.ctrl.waitEventAfter(ctx, after, typ)
	if err != nil {
		return ev, i, fmt.Errorf("baresip %s: wait for %s after #%d: %w", b.opts.User, typ, after, err)
	}
	return ev, i, nil
}

// Events returns a copy of every event received so far, in order.
func (b *Baresip) Events() []Event { return b.ctrl.snapshot() }

// EventCount returns the number of events received so far: the index the
// next event will get.
func (b *Baresip) EventCount() int { return len(b.ctrl.snapshot()) }

// SendDTMF presses the keys in digits (0-9, *, #, A-D) on the cons socket,
// one key every 200 ms; during a call baresip sends each as RFC 2833
// telephone-event.
func (b *Baresip) SendDTMF(digits string) error {
	for i, d := range digits {
		if !strings.ContainsRune("0123456789*#ABCDabcd", d) {
			return fmt.Errorf("baresip %s: bad DTMF key %q", b.opts.User, d)
		}
		if i > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		if err := b.cons.write(string(d)); err != nil {
			return fmt.Errorf("baresip %s: send DTMF: %w", b.opts.User, err)
		}
	}
	return nil
}

// ConsOutput returns what baresip printed to the cons connection (bounded),
// e.g. received MESSAGE text.
func (b *Baresip) ConsOutput() string { return b.cons.output() }

// WaitConsOutput waits until the cons output contains substr.
func (b *Baresip) WaitConsOutput(ctx context.Context, substr string) error {
	return b.cons.waitFor(ctx, substr)
}

// DecodedWAVs lists the sndfile dumps of received (decoded) audio,
// dump-*-dec.wav, oldest first.
func (b *Baresip) DecodedWAVs() []string { return b.dumps("-dec.wav") }

// EncodedWAVs lists the sndfile dumps of sent audio, dump-*-enc.wav,
// oldest first.
func (b *Baresip) EncodedWAVs() []string { return b.dumps("-enc.wav") }

func (b *Baresip) dumps(suffix string) []string {
	files, _ := filepath.Glob(filepath.Join(b.dumpDir, "dump-*"+suffix))
	sort.Strings(files)
	return files
}
