package sip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gsip "github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/voipkit/voipkit/sip/digest"
)

// registrarMode selects how the test registrar misbehaves.
type registrarMode int

const (
	// modeNormal challenges, verifies and accepts.
	modeNormal registrarMode = iota
	// modeMinExpires answers 423 with Min-Expires: 30 to Expires below 30.
	modeMinExpires
	// modeRejectAll answers 401 to everything, right password or not.
	modeRejectAll
	// modeStale answers the first correctly authorized REGISTER with
	// 401 stale=true and a fresh nonce.
	modeStale
)

const (
	testRealm    = "voipkit.test"
	testUser     = "alice"
	testPassword = "s3cret"
)

// seenRegister is one REGISTER as the registrar saw it.
type seenRegister struct {
	Expires    string // the Expires header, "" when absent
	Authorized bool   // carried valid credentials for a current nonce
	Status     int    // what the registrar answered
	NC         uint32
	Nonce      string
}

// registrar is a tiny UDP registrar on 127.0.0.1 built directly on sipgo.
type registrar struct {
	t    *testing.T
	mode registrarMode
	ua   *sipgo.UserAgent
	conn net.PacketConn
	port int
	seen chan seenRegister
	wg   sync.WaitGroup

	mu    sync.Mutex
	grant struct {
		contact int // expires parameter on our Contact; -1: none
		header  int // Expires header; -1: none
	}
	nonces    map[string]uint32 // valid nonces and their last nc
	nonceSeq  int
	staleSent bool
}

func newRegistrar(t *testing.T, mode registrarMode) *registrar {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("test-registrar"))
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		conn.Close()
		ua.Close()
		t.Fatal(err)
	}
	r := &registrar{
		t: t, mode: mode, ua: ua, conn: conn,
		port:   conn.LocalAddr().(*net.UDPAddr).Port,
		seen:   make(chan seenRegister, 64),
		nonces: map[string]uint32{},
	}
	r.grant.contact, r.grant.header = -1, -1
	srv.OnRegister(r.onRegister)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		_ = srv.ServeUDP(conn)
	}()
	t.Cleanup(func() {
		_ = conn.Close()
		_ = ua.Close()
		r.wg.Wait()
	})
	return r
}

// setGrant sets what a 200 OK grants: the expires parameter of the
// REGISTER's Contact and the Expires header, -1 leaving either out (with
// both left out the Contact echoes the requested Expires).
func (r *registrar) setGrant(contact, header int) {
	r.mu.Lock()
	r.grant.contact, r.grant.header = contact, header
	r.mu.Unlock()
}

func (r *registrar) uri() URI {
	return URI{Scheme: "sip", Host: "127.0.0.1", Port: r.port}
}

// newNonce issues a nonce; it is called with r.mu held.
func (r *registrar) newNonce() string {
	r.nonceSeq++
	n := "nonce-" + strconv.Itoa(r.nonceSeq) + "-" + gsip.GenerateTagN(8)
	r.nonces[n] = 0
	return n
}

func (r *registrar) challenge(req *gsip.Request, stale bool) *gsip.Response {
	res := gsip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
	ch := digest.Challenge{Realm: testRealm, Nonce: r.newNonce(), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	res.AppendHeader(gsip.NewHeader("WWW-Authenticate", ch.String()))
	return res
}

// verify checks an Authorization the way a registrar must: realm, user,
// URI, a nonce it issued, a rising nonce count and the response itself.
func (r *registrar) verify(req *gsip.Request, seen *seenRegister) bool {
	h := req.GetHeader("Authorization")
	if h == nil {
		return false
	}
	a, err := digest.ParseAuthorization(h.Value())
	if err != nil {
		r.t.Errorf("registrar: bad Authorization %q: %v", h.Value(), err)
		return false
	}
	seen.NC, seen.Nonce = a.NC, a.Nonce
	last, ok := r.nonces[a.Nonce]
	if !ok || a.Realm != testRealm || a.Username != testUser || a.URI != req.Recipient.String() || a.NC <= last {
		return false
	}
	if !digest.Verify(a, "REGISTER", testPassword, nil) {
		return false
	}
	r.nonces[a.Nonce] = a.NC
	return true
}

func (r *registrar) onRegister(req *gsip.Request, tx gsip.ServerTransaction) {
	r.mu.Lock()
	var s seenRegister
	if h := req.GetHeader("Expires"); h != nil {
		s.Expires = h.Value()
	}
	s.Authorized = r.verify(req, &s)
	expires, _ := strconv.Atoi(s.Expires)
	var res *gsip.Response
	switch {
	case r.mode == modeRejectAll || !s.Authorized:
		res = r.challenge(req, false)
	case r.mode == modeStale && !r.staleSent:
		r.staleSent = true
		delete(r.nonces, s.Nonce)
		res = r.challenge(req, true)
	case r.mode == modeMinExpires && s.Expires != "0" && expires < 30:
		res = gsip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
		res.AppendHeader(gsip.NewHeader("Min-Expires", "30"))
	default:
		res = gsip.NewResponseFromRequest(req, 200, "OK", nil)
		if expires > 0 {
			// Another device's binding first: the UA must pick its own.
			res.AppendHeader(gsip.NewHeader("Contact", "<sip:alice@192.0.2.9:5060>;expires=999"))
			if c := req.Contact(); c != nil {
				c = c.Clone()
				switch {
				case r.grant.contact >= 0:
					c.Params.Add("expires", strconv.Itoa(r.grant.contact))
				case r.grant.header < 0:
					c.Params.Add("expires", s.Expires)
				}
				res.AppendHeader(c)
			}
			if r.grant.header >= 0 {
				res.AppendHeader(gsip.NewHeader("Expires", strconv.Itoa(r.grant.header)))
			}
		}
	}
	s.Status = res.StatusCode
	r.mu.Unlock()
	r.seen <- s
	if err := tx.Respond(res); err != nil {
		r.t.Errorf("registrar: respond: %v", err)
	}
}

// next returns the next REGISTER the registrar handled.
func (r *registrar) next(t *testing.T) seenRegister {
	t.Helper()
	select {
	case s := <-r.seen:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("registrar saw no REGISTER")
		return seenRegister{}
	}
}

// expectSeen checks the next REGISTERs: their Expires header and answer.
func (r *registrar) expectSeen(t *testing.T, want ...seenRegister) []seenRegister {
	t.Helper()
	var got []seenRegister
	for i, w := range want {
		s := r.next(t)
		if s.Expires != w.Expires || s.Status != w.Status || s.Authorized != w.Authorized {
			t.Fatalf("REGISTER %d: Expires %q authorized %v answered %d; want Expires %q authorized %v answered %d",
				i, s.Expires, s.Authorized, s.Status, w.Expires, w.Authorized, w.Status)
		}
		got = append(got, s)
	}
	return got
}

// noMore checks that the registrar sees nothing more within d.
func (r *registrar) noMore(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case s := <-r.seen:
		t.Fatalf("unexpected REGISTER: %+v", s)
	case <-time.After(d):
	}
}

// statusLog records registration states without blocking the loop.
type statusLog struct{ ch chan RegistrationStatus }

func newStatusLog() *statusLog { return &statusLog{ch: make(chan RegistrationStatus, 64)} }

func (l *statusLog) notify(s RegistrationStatus) {
	select {
	case l.ch <- s:
	default:
		panic("registration status log overflowed")
	}
}

func (l *statusLog) next(t *testing.T) RegistrationStatus {
	t.Helper()
	select {
	case s := <-l.ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no registration status")
		return RegistrationStatus{}
	}
}

// expect reads the next statuses and checks their states in order.
func (l *statusLog) expect(t *testing.T, states ...RegistrationState) []RegistrationStatus {
	t.Helper()
	var got []RegistrationStatus
	for i, want := range states {
		s := l.next(t)
		if s.State != want {
			t.Fatalf("status %d = %v (code %d, err %v), want %v", i, s.State, s.Code, s.Err, want)
		}
		got = append(got, s)
	}
	return got
}

func newRegUA(t *testing.T) *UA {
	t.Helper()
	u, err := NewUA(Config{ListenAddr: netip.MustParseAddrPort("127.0.0.1:0"), RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	return u
}

func regConfig(reg *registrar, l *statusLog, password string) RegistrationConfig {
	return RegistrationConfig{
		Registrar:     reg.uri(),
		AOR:           URI{Scheme: "sip", User: testUser, Host: "voipkit.test"},
		Credentials:   Credentials{Username: testUser, Password: password},
		Expires:       time.Hour,
		RetryInterval: time.Second,
		Timeout:       2 * time.Second,
		Notify:        l.notify,
	}
}

func closeRegistration(t *testing.T, r *Registration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestRegisterAfterChallenge(t *testing.T) {
	for _, tc := range []struct {
		name            string
		contact, header int // what the registrar grants; -1: not sent
		want            time.Duration
	}{
		{"ContactParamWins", 120, 300, 120 * time.Second},
		{"ExpiresHeader", -1, 90, 90 * time.Second},
		{"EchoedRequest", -1, -1, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(func() { goleak.VerifyNone(t) })
			reg := newRegistrar(t, modeNormal)
			reg.setGrant(tc.contact, tc.header)
			ua := newRegUA(t)
			l := newStatusLog()
			r, err := ua.Register(regConfig(reg, l, testPassword))
			if err != nil {
				t.Fatal(err)
			}
			defer closeRegistration(t, r)

			st := l.expect(t, Registering, Registered)
			if st[1].Code != 200 || st[1].Err != nil {
				t.Fatalf("Registered status = %+v", st[1])
			}
			if st[1].Expires != tc.want {
				t.Fatalf("granted expires = %v, want %v", st[1].Expires, tc.want)
			}
			if got := r.Status(); got.State != Registered || got.Expires != tc.want {
				t.Fatalf("Status() = %+v", got)
			}
			seen := reg.expectSeen(t,
				seenRegister{Expires: "3600", Status: 401},
				seenRegister{Expires: "3600", Authorized: true, Status: 200})
			if seen[1].NC != 1 {
				t.Fatalf("first answer to a nonce has nc %d, want 1", seen[1].NC)
			}
			reg.noMore(t, 50*time.Millisecond)
		})
	}
}

func TestRegisterRefreshIsPreAuthorized(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	reg := newRegistrar(t, modeNormal)
	reg.setGrant(1, -1) // refresh after refreshDelay(1s) = 500 ms
	ua := newRegUA(t)
	l := newStatusLog()
	r, err := ua.Register(regConfig(reg, l, testPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer closeRegistration(t, r)
	l.expect(t, Registering, Registered, Registering, Registered)
	seen := reg.expectSeen(t,
		seenRegister{Expires: "3600", Status: 401},
		seenRegister{Expires: "3600", Authorized: true, Status: 200},
		// The refresh answers the remembered challenge up front.
		seenRegister{Expires: "3600", Authorized: true, Status: 200})
	if seen[2].Nonce != seen[1].Nonce || seen[2].NC != seen[1].NC+1 {
		t.Fatalf("refresh used nonce %q nc %d after %q nc %d", seen[2].Nonce, seen[2].NC, seen[1].Nonce, seen[1].NC)
	}
}

func TestRegisterAuthFailure(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     registrarMode
		password string
	}{
		{"WrongPassword", modeNormal, "wrong"},
		{"RightPasswordRejected", modeRejectAll, testPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(func() { goleak.VerifyNone(t) })
			reg := newRegistrar(t, tc.mode)
			ua := newRegUA(t)
			l := newStatusLog()
			cfg := regConfig(reg, l, tc.password)
			cfg.RetryInterval = 10 * time.Second
			r, err := ua.Register(cfg)
			if err != nil {
				t.Fatal(err)
			}
			st := l.expect(t, Registering, RegistrationFailed)[1]
			if !errors.Is(st.Err, ErrAuthFailed) {
				t.Fatalf("failure error = %v, want ErrAuthFailed", st.Err)
			}
			if st.Code != 401 {
				t.Fatalf("failure code = %d, want 401", st.Code)
			}
			if lo, hi := cfg.RetryInterval*8/10, cfg.RetryInterval*12/10; st.RetryIn < lo || st.RetryIn > hi {
				t.Fatalf("RetryIn = %v, want within [%v, %v]", st.RetryIn, lo, hi)
			}
			// One challenge, one answer, then it gives up until the retry.
			reg.expectSeen(t,
				seenRegister{Expires: "3600", Status: 401},
				seenRegister{Expires: "3600", Authorized: tc.password == testPassword, Status: 401})
			reg.noMore(t, 100*time.Millisecond)
			if s := r.Status(); s.State != RegistrationFailed {
				t.Fatalf("Status() = %v", s.State)
			}
			// Never registered: closing sends nothing.
			closeRegistration(t, r)
			if s := l.expect(t, Unregistered)[0]; s.Code != 0 || s.Err != nil {
				t.Fatalf("Unregistered status = %+v", s)
			}
			reg.noMore(t, 50*time.Millisecond)
		})
	}
}

func TestRegisterIntervalTooBrief(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	reg := newRegistrar(t, modeMinExpires)
	ua := newRegUA(t)
	l := newStatusLog()
	cfg := regConfig(reg, l, testPassword)
	cfg.Expires = 10 * time.Second
	r, err := ua.Register(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRegistration(t, r)
	reg.expectSeen(t,
		seenRegister{Expires: "10", Status: 401},
		seenRegister{Expires: "10", Authorized: true, Status: 423},
		seenRegister{Expires: "30", Authorized: true, Status: 200})
	st := l.expect(t, Registering, Registering, Registered)
	if st[2].Expires != 30*time.Second {
		t.Fatalf("granted = %v, want 30s", st[2].Expires)
	}
}

func TestRegisterStaleNonce(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	reg := newRegistrar(t, modeStale)
	ua := newRegUA(t)
	l := newStatusLog()
	r, err := ua.Register(regConfig(reg, l, testPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer closeRegistration(t, r)
	seen := reg.expectSeen(t,
		seenRegister{Expires: "3600", Status: 401},
		seenRegister{Expires: "3600", Authorized: true, Status: 401},
		seenRegister{Expires: "3600", Authorized: true, Status: 200})
	if seen[2].Nonce == seen[1].Nonce || seen[2].NC != 1 {
		t.Fatalf("after stale=true: nonce %q nc %d (before %q)", seen[2].Nonce, seen[2].NC, seen[1].Nonce)
	}
	// A stale nonce is not a failure.
	l.expect(t, Registering, Registered)
}

func TestRegistrationCloseUnregisters(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	reg := newRegistrar(t, modeNormal)
	ua := newRegUA(t)
	l := newStatusLog()
	r, err := ua.Register(regConfig(reg, l, testPassword))
	if err != nil {
		t.Fatal(err)
	}
	l.expect(t, Registering, Registered)
	reg.expectSeen(t,
		seenRegister{Expires: "3600", Status: 401},
		seenRegister{Expires: "3600", Authorized: true, Status: 200})

	closeRegistration(t, r)
	select {
	case <-r.Done():
	default:
		t.Fatal("Close returned before the loop ended")
	}
	// The binding is removed with the remembered credentials.
	reg.expectSeen(t, seenRegister{Expires: "0", Authorized: true, Status: 200})
	st := l.expect(t, Unregistering, Unregistered)
	if st[1].Code != 200 || st[1].Err != nil {
		t.Fatalf("Unregistered status = %+v", st[1])
	}
	if s := r.Status(); s.State != Unregistered {
		t.Fatalf("Status() = %v", s.State)
	}
	// Close is idempotent and sends nothing more.
	closeRegistration(t, r)
	reg.noMore(t, 50*time.Millisecond)
	select {
	case s := <-l.ch:
		t.Fatalf("status after second Close: %+v", s)
	default:
	}
}

func TestRegisterDeadServer(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	// A port that was just free: nothing listens there.
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()

	ua := newRegUA(t)
	l := newStatusLog()
	r, err := ua.Register(RegistrationConfig{
		Registrar:     URI{Scheme: "sip", Host: "127.0.0.1", Port: port},
		AOR:           URI{Scheme: "sip", User: testUser, Host: "voipkit.test"},
		Credentials:   Credentials{Password: testPassword},
		RetryInterval: 10 * time.Second,
		Timeout:       300 * time.Millisecond,
		Notify:        l.notify,
	})
	if err != nil {
		t.Fatal(err)
	}
	st := l.expect(t, Registering, RegistrationFailed)[1]
	if !errors.Is(st.Err, ErrTimeout) {
		t.Fatalf("failure error = %v, want ErrTimeout", st.Err)
	}
	if errors.Is(st.Err, ErrAuthFailed) || st.Code != 0 {
		t.Fatalf("timeout reported as code %d / %v", st.Code, st.Err)
	}
	if st.RetryIn < 8*time.Second || st.RetryIn > 12*time.Second {
		t.Fatalf("RetryIn = %v", st.RetryIn)
	}
	closeRegistration(t, r)
	l.expect(t, Unregistered)
}

func TestRegisterRetriesAfterFailure(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	reg := newRegistrar(t, modeRejectAll)
	ua := newRegUA(t)
	l := newStatusLog()
	cfg := regConfig(reg, l, testPassword)
	cfg.RetryInterval = 200 * time.Millisecond
	cfg.MaxRetryInterval = 300 * time.Millisecond
	r, err := ua.Register(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRegistration(t, r)
	var retries []time.Duration
	for range 3 {
		st := l.expect(t, Registering, RegistrationFailed)[1]
		retries = append(retries, st.RetryIn)
	}
	// 200 ms, then doubled but capped at 300 ms, each ±20%.
	bounds := [][2]time.Duration{{160, 240}, {240, 360}, {240, 360}}
	for i, d := range retries {
		if lo, hi := bounds[i][0]*time.Millisecond, bounds[i][1]*time.Millisecond; d < lo || d > hi {
			t.Fatalf("retry %d in %v, want [%v, %v] (all: %v)", i, d, lo, hi, retries)
		}
	}
}

func TestRegisterValidation(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	ua := newRegUA(t)
	aor := URI{Scheme: "sip", User: "alice", Host: "example.com"}
	for _, cfg := range []RegistrationConfig{
		{AOR: aor},
		{Registrar: URI{Scheme: "sip", Host: "127.0.0.1", Port: 5060}, AOR: URI{Scheme: "sip", Host: "example.com"}},
		{Registrar: URI{Scheme: "sip", Host: "127.0.0.1", Port: 5060}, AOR: URI{Scheme: "sip", User: "alice"}},
	} {
		if _, err := ua.Register(cfg); !errors.Is(err, ErrInvalidURI) {
			t.Fatalf("Register(%+v) = %v, want ErrInvalidURI", cfg, err)
		}
	}
}

func TestRefreshDelay(t *testing.T) {
	for _, tc := range []struct{ granted, want time.Duration }{
		{time.Hour, 54 * time.Minute},        // 90%
		{60 * time.Second, 54 * time.Second}, // 90%, 6 s before expiry
		{30 * time.Second, 25 * time.Second}, // 5 s before expiry beats 90%
		{8 * time.Second, 4 * time.Second},   // never sooner than half
		{time.Second, 500 * time.Millisecond},
		{0, 500 * time.Millisecond},
	} {
		got := refreshDelay(tc.granted)
		if got != tc.want {
			t.Errorf("refreshDelay(%v) = %v, want %v", tc.granted, got, tc.want)
		}
		if tc.granted >= time.Second && got >= tc.granted {
			t.Errorf("refreshDelay(%v) = %v is not before expiry", tc.granted, got)
		}
	}
}

func TestJitterBounds(t *testing.T) {
	for _, d := range []time.Duration{time.Millisecond, time.Second, 5 * time.Second, 5 * time.Minute} {
		lo, hi := d-d/5, d+d/5
		var below, above bool
		for range 2000 {
			j := jitter(d)
			if j < lo || j > hi {
				t.Fatalf("jitter(%v) = %v, outside [%v, %v]", d, j, lo, hi)
			}
			below = below || j < d-d/10
			above = above || j > d+d/10
		}
		if !below || !above {
			t.Fatalf("jitter(%v) never spread to both sides (below %v, above %v)", d, below, above)
		}
	}
	if got := jitter(0); got != 0 {
		t.Fatalf("jitter(0) = %v", got)
	}
}

func TestGrantedExpires(t *testing.T) {
	ours := URI{Scheme: "sip", User: "alice", Host: "127.0.0.1", Port: 5070}
	build := func(headers ...gsip.Header) *gsip.Response {
		req := gsip.NewRequest(gsip.REGISTER, URI{Scheme: "sip", Host: "example.com"})
		res := gsip.NewResponseFromRequest(req, 200, "OK", nil)
		for _, h := range headers {
			res.AppendHeader(h)
		}
		return res
	}
	contact := func(uri URI, expires string) gsip.Header {
		c := &gsip.ContactHeader{Address: uri, Params: gsip.NewParams()}
		if expires != "" {
			c.Params.Add("expires", expires)
		}
		return c
	}
	other := URI{Scheme: "sip", User: "alice", Host: "127.0.0.1", Port: 5071}
	for _, tc := range []struct {
		name string
		res  *gsip.Response
		want time.Duration
	}{
		{"OurContact", build(contact(ours, "120"), gsip.NewHeader("Expires", "300")), 120 * time.Second},
		{"OtherContactIgnored", build(contact(other, "999"), contact(ours, "60")), 60 * time.Second},
		{"OnlyOtherContact", build(contact(other, "999"), gsip.NewHeader("Expires", "45")), 45 * time.Second},
		{"ContactWithoutParam", build(contact(ours, ""), gsip.NewHeader("Expires", "45")), 45 * time.Second},
		{"BadParamFallsBack", build(contact(ours, "soon"), gsip.NewHeader("Expires", "45")), 45 * time.Second},
		{"NegativeParamFallsBack", build(contact(ours, "-5")), 3600 * time.Second},
		{"ZeroParam", build(contact(ours, "0"), gsip.NewHeader("Expires", "45")), 0},
		{"HeaderOnly", build(gsip.NewHeader("Expires", " 90 ")), 90 * time.Second},
		{"BadHeader", build(gsip.NewHeader("Expires", "later")), 3600 * time.Second},
		{"Nothing", build(), 3600 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := grantedExpires(tc.res, ours, time.Hour); got != tc.want {
				t.Fatalf("grantedExpires = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseTargetEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		in, domain string
		want       string // URI string; "" means an error
	}{
		{"  1002  ", "example.com", "sip:1002@example.com"},
		{"1002", "example.com:5070", "sip:1002@example.com:5070"},
		{"SIP:Bob@Example.com", "", "sip:Bob@Example.com"},
		{"sips:bob@secure.example.com", "", "sips:bob@secure.example.com"},
		{"bob@[::1]:5070", "", "sip:bob@[::1]:5070"},
		{"sip:example.com", "", "sip:example.com"},
		{"bob@example.com;transport=tcp", "", "sip:bob@example.com;transport=tcp"},
		{"bob@", "example.com", ""},
		{"sip:", "example.com", ""},
		{"   ", "example.com", ""},
		{"bob@host:abc", "", ""},
	} {
		u, err := ParseTarget(tc.in, tc.domain)
		if tc.want == "" {
			if !errors.Is(err, ErrInvalidURI) {
				t.Errorf("ParseTarget(%q) = %v, %v; want ErrInvalidURI", tc.in, u.String(), err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTarget(%q): %v", tc.in, err)
			continue
		}
		if got := u.String(); got != tc.want {
			t.Errorf("ParseTarget(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// The transport parameter survives and picks the transport.
	u, err := ParseTarget("bob@example.com:5080;transport=tcp", "")
	if err != nil {
		t.Fatal(err)
	}
	if uriTransport(u, UDP) != TCP || hostPort(u) != "example.com:5080" {
		t.Fatalf("transport %v, destination %q", uriTransport(u, UDP), hostPort(u))
	}
	u, _ = ParseTarget("bob@[::1]", "")
	if got := hostPort(u); got != "[::1]:5060" {
		t.Fatalf("hostPort = %q, want [::1]:5060", got)
	}
}
