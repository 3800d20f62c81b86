// Package chat is where SIP instant messaging (MESSAGE, RFC 3428) and
// is-composing indications (RFC 3994) will live, on top of package sip. It
// has no API yet.
package chat
