// Package media is the audio path of one call: SDP offer/answer
// (RFC 3264, RFC 4566) and an RTP session (RFC 3550) that sends encoded
// frames paced every packetization interval and receives, de-jitters and
// decodes the peer's audio.
//
// A Session is created with NewSession, which binds an RTP socket on an
// even port and an RTCP socket on the next one. It is then negotiated
// either as offerer (CreateOffer, then SetRemoteAnswer) or as answerer
// (AcceptOffer), started with Start and released with Close. Audio comes
// from an audio.Source and goes to an audio.Sink, both of which can be
// swapped at any time.
//
// A host carrying many calls can put their Sessions on a Hub instead
// (Config.Hub): one RTP/RTCP port pair for all of them, read and written
// in batches, and one goroutine pacing every Session's sending and
// playout.
//
// Media can be protected with SRTP (RFC 3711) keyed by SDP security
// descriptions (RFC 4568 a=crypto lines, "SDES"), as Config.SRTP says:
// off, optional (best effort) or mandatory. Keys appear in the SDP this
// package produces and consumes, so session descriptions must not be
// logged; this package never logs them.
package media

import (
	"errors"
	"strconv"
)

// Errors returned by this package. Errors are wrapped with detail; test
// for them with errors.Is. A SIP user agent answers an offer that fails
// with ErrMalformedSDP, ErrNoCommonCodec (which ErrSRTPRequired and
// ErrSRTPRefused also match) or ErrStreamRejected with 488 Not
// Acceptable Here.
var (
	// ErrMalformedSDP reports a session description that cannot be parsed
	// or lacks what an audio session needs (an m=audio line, a usable
	// connection address, valid ports and payload types).
	ErrMalformedSDP = errors.New("media: malformed SDP")
	// ErrNoCommonCodec reports that the peer offered or answered no codec
	// (or transport) this session is configured to use.
	ErrNoCommonCodec = errors.New("media: no common codec")
	// ErrStreamRejected reports an audio stream with port 0, which means
	// the peer declined or disabled it.
	ErrStreamRejected = errors.New("media: audio stream rejected")
	// ErrNoOffer reports SetRemoteAnswer without a preceding CreateOffer.
	ErrNoOffer = errors.New("media: no outstanding offer")
	// ErrNotNegotiated reports Start before offer/answer completed.
	ErrNotNegotiated = errors.New("media: session not negotiated")
	// ErrClosed reports an operation on a closed Session.
	ErrClosed = errors.New("media: session closed")
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("media: invalid config")
	// ErrSRTPRequired reports an offer or answer without a usable
	// a=crypto attribute while the policy is SRTPMandatory. It also
	// matches ErrNoCommonCodec.
	ErrSRTPRequired error = &subError{"media: SRTP required", ErrNoCommonCodec}
	// ErrSRTPRefused reports that the peer requires SRTP this session
	// cannot provide: an RTP/SAVP offer while the policy is SRTPOff, an
	// RTP/SAVP offer with no crypto suite in common, or an answer whose
	// a=crypto matches none we offered. It also matches ErrNoCommonCodec.
	ErrSRTPRefused error = &subError{"media: SRTP refused", ErrNoCommonCodec}
)

// subError is a sentinel error that is a special case of another one.
type subError struct {
	msg    string
	parent error
}

func (e *subError) Error() string { return e.msg }
func (e *subError) Unwrap() error { return e.parent }

// Direction is the media direction attribute of a stream (RFC 3264
// section 5.1): a=sendrecv, a=sendonly, a=recvonly or a=inactive. The zero
// value DirectionUnknown means "not stated" and is treated as sendrecv.
// A Direction is a plain value, safe for concurrent use.
type Direction int

// Directions, from the point of view of the party that wrote the SDP.
const (
	// DirectionUnknown is the zero value; it behaves as DirectionSendRecv.
	DirectionUnknown Direction = iota
	// DirectionSendRecv sends and receives media.
	DirectionSendRecv
	// DirectionSendOnly only sends media (for example when holding a call).
	DirectionSendOnly
	// DirectionRecvOnly only receives media.
	DirectionRecvOnly
	// DirectionInactive neither sends nor receives media.
	DirectionInactive
)

// String returns the SDP attribute name, e.g. "sendrecv", or "unknown".
func (d Direction) String() string {
	switch d {
	case DirectionUnknown:
		return "unknown"
	case DirectionSendRecv:
		return "sendrecv"
	case DirectionSendOnly:
		return "sendonly"
	case DirectionRecvOnly:
		return "recvonly"
	case DirectionInactive:
		return "inactive"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// Sends reports whether a party with this direction sends media. Like
// DirectionUnknown, values outside the defined ones count as sendrecv.
func (d Direction) Sends() bool {
	return d != DirectionRecvOnly && d != DirectionInactive
}

// Receives reports whether a party with this direction receives media.
// Like DirectionUnknown, values outside the defined ones count as
// sendrecv.
func (d Direction) Receives() bool {
	return d != DirectionSendOnly && d != DirectionInactive
}

// Reverse returns the direction seen from the other party: sendonly
// becomes recvonly and vice versa; the others are unchanged (unknown
// becomes sendrecv).
func (d Direction) Reverse() Direction {
	switch d {
	case DirectionSendOnly:
		return DirectionRecvOnly
	case DirectionRecvOnly:
		return DirectionSendOnly
	case DirectionInactive:
		return DirectionInactive
	}
	return DirectionSendRecv
}

// directionOf builds a Direction from send and receive flags.
func directionOf(send, recv bool) Direction {
	switch {
	case send && recv:
		return DirectionSendRecv
	case send:
		return DirectionSendOnly
	case recv:
		return DirectionRecvOnly
	}
	return DirectionInactive
}

// parseDirection maps an SDP attribute key to a Direction.
func parseDirection(key string) (Direction, bool) {
	switch key {
	case "sendrecv":
		return DirectionSendRecv, true
	case "sendonly":
		return DirectionSendOnly, true
	case "recvonly":
		return DirectionRecvOnly, true
	case "inactive":
		return DirectionInactive, true
	}
	return DirectionUnknown, false
}

// AnswerDirection returns the direction an answerer whose own preference
// is local puts in its answer to an offer with direction offered
// (RFC 3264 section 6.1): it may only send if the offerer receives and
// only receive if the offerer sends.
func AnswerDirection(offered, local Direction) Direction {
	return directionOf(offered.Receives() && local.Sends(), offered.Sends() && local.Receives())
}
