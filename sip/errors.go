package sip

import (
	"errors"
	"fmt"

	gsip "github.com/emiago/sipgo/sip"
)

// Sentinel errors. Errors returned by this package wrap one of these (or a
// *StatusError) so callers can branch with errors.Is and errors.As.
var (
	// ErrAuthFailed means the server rejected our credentials: it challenged
	// again after we answered its challenge with a fresh nonce, or no
	// credentials were configured.
	ErrAuthFailed = errors.New("sip: authentication failed")
	// ErrTimeout means no final response arrived in time (a dead or
	// unreachable server).
	ErrTimeout = errors.New("sip: request timed out")
	// ErrTransport means a message could not be sent.
	ErrTransport = errors.New("sip: transport error")
	// ErrCanceled means an outgoing INVITE was cancelled before it was
	// answered.
	ErrCanceled = errors.New("sip: request cancelled")
	// ErrClosed is returned by operations on a closed UA or dialog.
	ErrClosed = errors.New("sip: closed")
	// ErrInvalidURI is returned for a target that is not a valid SIP URI,
	// user or number.
	ErrInvalidURI = errors.New("sip: invalid URI")
	// ErrDialogTerminated is returned by requests on an ended dialog.
	ErrDialogTerminated = errors.New("sip: dialog terminated")
	// ErrAlreadyAnswered is returned when an incoming INVITE has already
	// received a final response.
	ErrAlreadyAnswered = errors.New("sip: invite already answered")
)

// StatusError is a final non-2xx response to a request we sent.
type StatusError struct {
	Code     int
	Reason   string
	Response *gsip.Response
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("sip: %d %s", e.Code, e.Reason)
}

// Is makes errors.Is(err, ErrAuthFailed) true for 401/407 final responses
// that could not be satisfied.
func (e *StatusError) Is(target error) bool {
	return target == ErrAuthFailed && (e.Code == 401 || e.Code == 407)
}

func statusError(res *gsip.Response) *StatusError {
	return &StatusError{Code: res.StatusCode, Reason: res.Reason, Response: res}
}
