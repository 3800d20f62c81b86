package voipkit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/voipkit/voipkit/sip"
)

// Transport names for AccountConfig.Transport.
const (
	TransportUDP = "udp"
	TransportTCP = "tcp"
)

// AccountConfig describes a SIP account.
type AccountConfig struct {
	// Server is the registrar and outbound proxy: "host", "host:port" or a
	// sip: URI. Required unless DisableRegistration is set and calls go
	// peer to peer.
	Server string
	// User is the SIP user (extension); AuthUser the digest user name when
	// it differs (empty: User).
	User, AuthUser string
	// Password answers digest challenges.
	Password string
	// DisplayName is shown to callees.
	DisplayName string
	// Domain is the SIP domain of the AOR. Empty: the server's host.
	Domain string
	// Transport is "udp" (default) or "tcp".
	Transport string
	// Expires is the requested registration lifetime. Zero: 3600 s.
	Expires time.Duration
	// DisableRegistration keeps the account from registering; it can
	// still place calls through Server.
	DisableRegistration bool
	// RetryInterval is the first wait after a failed registration; it
	// doubles up to MaxRetryInterval. Zero: 5 s and 5 min.
	RetryInterval, MaxRetryInterval time.Duration
	// RegisterTimeout bounds each REGISTER. Zero: the Phone's
	// RequestTimeout.
	RegisterTimeout time.Duration
	// Codecs overrides the Phone's codec priority for this account.
	Codecs []string
	// SRTP overrides the Phone's SRTP policy for this account's calls.
	// Zero (media.SRTPUnknown): the Phone's Config.SRTP.
	SRTP SRTPPolicy
	// VoicemailNumber is the number to dial for the account's mailbox
	// (see Account.VoicemailNumber and Phone.WatchMWI).
	VoicemailNumber string
}

// Account is a SIP account on a Phone. It is safe for concurrent use.
type Account struct {
	p      *Phone
	cfg    AccountConfig
	aor    sip.URI
	server sip.URI
	reg    *sip.Registration
}

// AddAccount adds an account and, unless DisableRegistration is set,
// starts registering it. Registration progress arrives as
// RegistrationEvent.
func (p *Phone) AddAccount(cfg AccountConfig) (*Account, error) {
	if cfg.User == "" {
		return nil, fmt.Errorf("voipkit: account needs a user: %w", ErrNoAccount)
	}
	a := &Account{p: p, cfg: cfg}
	if cfg.Server != "" {
		s := cfg.Server
		if !strings.HasPrefix(strings.ToLower(s), "sip:") && !strings.HasPrefix(strings.ToLower(s), "sips:") {
			s = "sip:" + s
		}
		srv, err := sip.ParseTarget(s, "")
		if err != nil {
			return nil, fmt.Errorf("voipkit: account server: %w", err)
		}
		srv.User = ""
		if strings.EqualFold(cfg.Transport, TransportTCP) {
			srv.UriParams = srv.UriParams.Clone()
			srv.UriParams.Add("transport", "tcp")
		}
		a.server = srv
	}
	domain := cfg.Domain
	if domain == "" {
		domain = a.server.Host
	}
	if domain == "" {
		domain = p.ua.Host()
	}
	a.aor = sip.URI{Scheme: "sip", User: cfg.User, Host: domain}

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	p.accounts = append(p.accounts, a)
	p.mu.Unlock()

	if !cfg.DisableRegistration {
		if a.server.Host == "" {
			return nil, fmt.Errorf("voipkit: account %s: registration needs a server", cfg.User)
		}
		reg, err := p.ua.Register(sip.RegistrationConfig{
			Registrar:        a.server,
			AOR:              a.aor,
			DisplayName:      cfg.DisplayName,
			Credentials:      a.credentials(),
			Expires:          cfg.Expires,
			RetryInterval:    cfg.RetryInterval,
			MaxRetryInterval: cfg.MaxRetryInterval,
			Timeout:          cfg.RegisterTimeout,
			Notify:           a.onRegistration,
		})
		if err != nil {
			return nil, fmt.Errorf("voipkit: register %s: %w", cfg.User, err)
		}
		a.reg = reg
	}
	return a, nil
}

// User returns the account's SIP user.
func (a *Account) User() string { return a.cfg.User }

// AOR returns the account's address of record, e.g. sip:1001@example.com.
func (a *Account) AOR() string { return a.aor.String() }

// Registration returns the latest registration status (zero when the
// account does not register).
func (a *Account) Registration() sip.RegistrationStatus {
	if a.reg == nil {
		return sip.RegistrationStatus{}
	}
	return a.reg.Status()
}

// Refresh re-registers now.
func (a *Account) Refresh() {
	if a.reg != nil {
		a.reg.Refresh()
	}
}

func (a *Account) domain() string { return a.aor.Host }

func (a *Account) credentials() sip.Credentials {
	u := a.cfg.AuthUser
	if u == "" {
		u = a.cfg.User
	}
	return sip.Credentials{Username: u, Password: a.cfg.Password}
}

func (a *Account) onRegistration(s sip.RegistrationStatus) {
	a.p.emit(&RegistrationEvent{
		eventBase: eventBase{time.Now()}, Account: a, State: s.State,
		Code: s.Code, Reason: s.Reason, Expires: s.Expires, Err: s.Err, RetryIn: s.RetryIn,
	})
}

func (a *Account) close(ctx context.Context) error {
	if a.reg == nil {
		return nil
	}
	return a.reg.Close(ctx)
}

// accountFor picks the account an incoming request is addressed to; the
// first account when none matches. Callers hold p.mu.
func (p *Phone) accountFor(user string) *Account {
	for _, a := range p.accounts {
		if a.cfg.User == user {
			return a
		}
	}
	if len(p.accounts) > 0 {
		return p.accounts[0]
	}
	return nil
}
