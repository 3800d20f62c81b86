// Package presence is where presence (RFC 3856/3863), BLF (RFC 4235) and
// message-waiting indication (RFC 3842) will live, on top of package sip.
// It has no API yet.
package presence
