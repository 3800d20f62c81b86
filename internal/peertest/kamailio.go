package peertest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// KamailioOptions configures [StartKamailio]. The zero value starts an
// authenticating registrar and proxy on a free UDP+TCP port.
type KamailioOptions struct {
	// Port is the SIP port for UDP and TCP on 127.0.0.1; 0 picks a free one.
	Port int
	// NoAuth turns digest authentication off.
	NoAuth bool
	// TLS adds a TLS listener on TLSPort with a freshly generated
	// self-signed certificate for 127.0.0.1 (see [Kamailio.TLSCertFile]).
	TLS bool
	// TLSPort is the TLS port; 0 picks a free one. Used only with TLS.
	TLSPort int
	// IPv6 also listens on [::1] on the SIP port (UDP and TCP).
	IPv6 bool
	// Dir is the directory holding kamailio-test.cfg and db/; empty means
	// testdata/kamailio in the module root.
	Dir string
	// Args are extra kamailio arguments, e.g. "-A", "SOME_DEFINE".
	Args []string
	// ReadyTimeout bounds the wait for the first 200 to OPTIONS; 0 means 15 s (a loaded 2-core CI machine needs more than the usual 0.1 s).
	ReadyTimeout time.Duration
}

// User is a SIP account known to the test Kamailio.
type User struct {
	Name     string // user part and auth user, e.g. "1001"
	Password string // e.g. "secret1001"
}

// Kamailio is a running Kamailio registrar, proxy and presence server
// (testdata/kamailio/kamailio-test.cfg). Its methods are safe for
// concurrent use, except that Stop and Restart must not run concurrently
// with each other.
type Kamailio struct {
	// Domain is the SIP domain and digest realm, "127.0.0.1".
	Domain string
	// Users are the accounts in the subscriber table (1001..1006, password
	// "secret" + name).
	Users []User

	t       TB
	opts    KamailioOptions
	src     string // testdata directory
	run     string // absolute run directory (cfg, db, pid, ctl socket)
	ctlSock string
	port    int
	tlsPort int
	log     *logBuffer

	mu   sync.Mutex
	proc *proc
}

// kamailioUsers mirrors testdata/kamailio/db/subscriber.
var kamailioUsers = []User{
	{"1001", "secret1001"}, {"1002", "secret1002"}, {"1003", "secret1003"},
	{"1004", "secret1004"}, {"1005", "secret1005"}, {"1006", "secret1006"},
}

// StartKamailio copies the Kamailio configuration and db_text tables into a
// temporary directory, starts Kamailio on 127.0.0.1 and waits until it
// answers OPTIONS with 200. It is stopped when the test ends.
func StartKamailio(t TB, opts KamailioOptions) *Kamailio {
	t.Helper()
	Require(t, "kamailio")
	requireKamailioModules(t)
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 15 * time.Second
	}
	k := &Kamailio{
		Domain: "127.0.0.1",
		Users:  append([]User(nil), kamailioUsers...),
		t:      t,
		opts:   opts,
		src:    testdataDir(t, opts.Dir, "kamailio"),
		log:    newLogBuffer(256 << 10),
	}
	if _, err := os.Stat(filepath.Join(k.src, "kamailio-test.cfg")); err != nil {
		t.Fatalf("peertest: kamailio config: %v", err)
	}
	run, err := filepath.Abs(t.TempDir())
	if err != nil {
		t.Fatalf("peertest: %v", err)
	}
	k.run = run
	k.ctlSock = filepath.Join(run, "kamailio_ctl")
	if len(k.ctlSock) > 100 { // sun_path holds 108 bytes
		short, err := os.MkdirTemp("", "kam")
		if err != nil {
			t.Fatalf("peertest: %v", err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(short) })
		k.ctlSock = filepath.Join(short, "ctl")
	}
	k.port = opts.Port
	if k.port == 0 {
		k.port = FreeTCPUDPPort(t)
	}
	if opts.TLS {
		k.tlsPort = opts.TLSPort
		if k.tlsPort == 0 {
			k.tlsPort = FreeTCPUDPPort(t)
		}
	}
	if err := copyDir(k.src, run); err != nil {
		t.Fatalf("peertest: copy kamailio config: %v", err)
	}
	if opts.TLS {
		if err := writeSelfSignedCert(filepath.Join(run, "tls-cert.pem"), filepath.Join(run, "tls-key.pem")); err != nil {
			t.Fatalf("peertest: %v", err)
		}
	}
	t.Cleanup(k.Stop)
	k.start()
	return k
}

// requireKamailioModules checks that the presence modules package is
// installed next to the core modules.
func requireKamailioModules(t TB) {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/*/kamailio/modules")
	dirs2, _ := filepath.Glob("/usr/lib/kamailio/modules")
	for _, d := range append(dirs, dirs2...) {
		if _, err := os.Stat(filepath.Join(d, "tm.so")); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "presence.so")); err != nil {
			missingPeer(t, fmt.Sprintf("kamailio module presence.so missing in %s; install with: apt-get install kamailio-presence-modules", d))
		}
		return
	}
}

// args returns kamailio's command line.
func (k *Kamailio) args() []string {
	port := strconv.Itoa(k.port)
	a := []string{
		"-DD", "-E",
		"-f", filepath.Join(k.run, "kamailio-test.cfg"),
		"-P", filepath.Join(k.run, "kamailio.pid"),
		"-Y", k.run,
		"-m", "64", "-M", "8",
		"-A", "SIP_PORT=" + port,
		"-A", `SERVER_ADDR="sip:127.0.0.1:` + port + `"`,
		"-A", `DBURL="text://` + filepath.Join(k.run, "db") + `"`,
		"-A", `CTLSOCK="unix:` + k.ctlSock + `"`,
	}
	if k.opts.NoAuth {
		a = append(a, "-A", "NOAUTH")
	}
	if k.opts.TLS {
		a = append(a, "-A", "WITH_TLS",
			"-A", "TLS_PORT="+strconv.Itoa(k.tlsPort),
			"-A", `TLSCFG="`+filepath.Join(k.run, "tls.cfg")+`"`)
	}
	if k.opts.IPv6 {
		a = append(a, "-A", "WITH_IPV6")
	}
	return append(a, k.opts.Args...)
}

// start launches Kamailio with a fresh copy of the db tables and waits for
// readiness, failing the test when it does not come up.
func (k *Kamailio) start() {
	k.t.Helper()
	db := filepath.Join(k.run, "db")
	if err := os.RemoveAll(db); err != nil {
		k.t.Fatalf("peertest: %v", err)
	}
	if err := copyDir(filepath.Join(k.src, "db"), db); err != nil {
		k.t.Fatalf("peertest: copy kamailio db: %v", err)
	}
	_ = os.Remove(filepath.Join(k.run, "kamailio.pid"))
	_ = os.Remove(k.ctlSock)
	started := time.Now()
	p, err := startProc("kamailio", k.run, k.log, k.log, "kamailio", k.args()...)
	if err != nil {
		k.t.Fatalf("peertest: %v", err)
	}
	k.mu.Lock()
	k.proc = p
	k.mu.Unlock()
	// Ready means: UDP answers OPTIONS with 200, and so does TCP (served by
	// other processes), and the TLS port accepts connections. One deadline
	// covers all three.
	deadline := time.Now().Add(k.opts.ReadyTimeout)
	var last string
	stage := func(name string, step time.Duration, ping func() (string, error)) error {
		err := waitFor(p, time.Until(deadline), step, func() (bool, error) {
			line, err := ping()
			if err != nil {
				last = err.Error()
				return false, nil
			}
			last = line
			return strings.HasPrefix(line, "SIP/2.0 200"), nil
		})
		if err != nil {
			return fmt.Errorf("%s: %w (last answer: %s)", name, err, last)
		}
		return nil
	}
	err = stage("OPTIONS over UDP", 0, func() (string, error) {
		return PingSIP(k.Addr(), 20*time.Millisecond, 20*time.Millisecond)
	})
	if err == nil {
		err = stage("OPTIONS over TCP", 20*time.Millisecond, func() (string, error) {
			return PingSIPTCP(k.Addr(), time.Second)
		})
	}
	if err == nil && k.opts.TLS {
		err = stage("TLS connect", 20*time.Millisecond, func() (string, error) {
			c, err := net.DialTimeout("tcp", k.TLSAddr(), time.Second)
			if err != nil {
				return "", err
			}
			_ = c.Close()
			return "SIP/2.0 200 (connected)", nil
		})
	}
	if err != nil {
		p.stop(2 * time.Second)
		k.t.Logf("kamailio log:\n%s", k.log.String())
		k.t.Fatalf("peertest: kamailio on %s: %v", k.Addr(), err)
	}
	k.t.Logf("kamailio ready on %s in %v (run dir %s)", k.Addr(), time.Since(started).Round(time.Millisecond), k.run)
}

// Addr returns the SIP address for UDP and TCP, "127.0.0.1:port".
func (k *Kamailio) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(k.port)) }

// Port returns the SIP port for UDP and TCP.
func (k *Kamailio) Port() int { return k.port }

// TLSAddr returns the TLS address, or "" when TLS is off.
func (k *Kamailio) TLSAddr() string {
	if k.tlsPort == 0 {
		return ""
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(k.tlsPort))
}

// TLSPort returns the TLS port, or 0 when TLS is off.
func (k *Kamailio) TLSPort() int { return k.tlsPort }

// TLSCertFile returns the PEM file of the self-signed server certificate
// (valid for 127.0.0.1 and localhost), or "" when TLS is off.
func (k *Kamailio) TLSCertFile() string {
	if !k.opts.TLS {
		return ""
	}
	return filepath.Join(k.run, "tls-cert.pem")
}

// Dir returns the run directory holding the config copy and db tables.
func (k *Kamailio) Dir() string { return k.run }

// User returns the account with the given name, failing the test when it
// is not in Users.
func (k *Kamailio) User(name string) User {
	k.t.Helper()
	for _, u := range k.Users {
		if u.Name == name {
			return u
		}
	}
	k.t.Fatalf("peertest: no kamailio user %q", name)
	return User{}
}

// Log returns the end of Kamailio's output (stdout and stderr, bounded).
func (k *Kamailio) Log() string { return k.log.String() }

// Stop stops Kamailio: SIGTERM, then SIGKILL after 2 s. It is idempotent
// and also runs at test cleanup.
func (k *Kamailio) Stop() {
	k.mu.Lock()
	p := k.proc
	k.mu.Unlock()
	if p == nil {
		return
	}
	if p.stop(2 * time.Second) {
		k.t.Logf("peertest: kamailio ignored SIGTERM, killed; log:\n%s", tail(k.log.String(), 4000))
	}
}

// Restart stops Kamailio if it runs and starts it again on the same ports
// with fresh tables: registrations and subscriptions are gone.
func (k *Kamailio) Restart() {
	k.t.Helper()
	k.Stop()
	_, _ = fmt.Fprintf(k.log, "\n--- peertest: restart ---\n")
	k.start()
}

// Running reports whether the Kamailio process is running.
func (k *Kamailio) Running() bool {
	k.mu.Lock()
	p := k.proc
	k.mu.Unlock()
	return p != nil && !p.exited()
}

// Ctl runs kamcmd against Kamailio's control socket, e.g. Ctl("ul.dump"),
// and returns its combined output.
func (k *Kamailio) Ctl(args ...string) (string, error) {
	bin, err := lookPath("kamcmd")
	if err != nil {
		return "", fmt.Errorf("kamcmd: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-s", "unix:" + k.ctlSock}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kamcmd %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// writeSelfSignedCert writes a self-signed ECDSA certificate for
// 127.0.0.1, ::1 and localhost, and its key, as PEM files.
func writeSelfSignedCert(certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate tls key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return fmt.Errorf("generate tls serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "127.0.0.1", Organization: []string{"voipkit tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("create tls certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("marshal tls key: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
}
