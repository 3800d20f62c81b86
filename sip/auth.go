package sip

import (
	"fmt"
	"sync"

	gsip "github.com/emiago/sipgo/sip"

	"github.com/voipkit/voipkit/sip/digest"
)

// Credentials authenticate an account against digest challenges.
type Credentials struct {
	// Username is the authentication user (often the same as the AOR user).
	Username string
	Password string
}

// authSession answers digest challenges for one account and remembers the
// last challenge per header kind, so later requests (REGISTER refreshes)
// carry credentials up front with an incremented nonce count.
type authSession struct {
	creds  Credentials
	client *digest.Client

	mu   sync.Mutex
	last map[bool]*digest.Challenge // keyed by proxy (407) or not (401)
}

func newAuthSession(c Credentials) *authSession {
	return &authSession{
		creds:  c,
		client: digest.NewClient(digest.Credentials{Username: c.Username, Password: c.Password}),
		last:   map[bool]*digest.Challenge{},
	}
}

func authHeaderNames(proxy bool) (challenge, answer string) {
	if proxy {
		return "Proxy-Authenticate", "Proxy-Authorization"
	}
	return "WWW-Authenticate", "Authorization"
}

// answer adds credentials for the challenge in res to req. It reports
// whether the server said our previous nonce was merely stale.
func (a *authSession) answer(req *gsip.Request, res *gsip.Response) (stale bool, err error) {
	proxy := res.StatusCode == 407
	chName, authName := authHeaderNames(proxy)
	var chs []*digest.Challenge
	var firstErr error
	for _, h := range res.GetHeaders(chName) {
		ch, err := digest.ParseChallenge(h.Value())
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		chs = append(chs, ch)
	}
	if len(chs) == 0 {
		if firstErr != nil {
			return false, firstErr
		}
		return false, fmt.Errorf("%d response without %s", res.StatusCode, chName)
	}
	ch := digest.Select(chs)
	if ch == nil {
		return false, fmt.Errorf("%w: no supported challenge", digest.ErrUnsupportedAlgorithm)
	}
	if err := a.apply(req, ch, authName); err != nil {
		return false, err
	}
	a.mu.Lock()
	a.last[proxy] = ch
	a.mu.Unlock()
	return ch.Stale, nil
}

func (a *authSession) apply(req *gsip.Request, ch *digest.Challenge, authName string) error {
	auth, err := a.client.Authorize(ch, string(req.Method), req.Recipient.String(), req.Body())
	if err != nil {
		return err
	}
	// Replace an earlier answer for the same realm rather than piling up.
	req.RemoveHeader(authName)
	req.AppendHeader(gsip.NewHeader(authName, auth.String()))
	return nil
}

// preAuthorize adds credentials computed from the last challenges seen.
func (a *authSession) preAuthorize(req *gsip.Request) {
	a.mu.Lock()
	www, proxy := a.last[false], a.last[true]
	a.mu.Unlock()
	if www != nil {
		_ = a.apply(req, www, "Authorization")
	}
	if proxy != nil {
		_ = a.apply(req, proxy, "Proxy-Authorization")
	}
}
