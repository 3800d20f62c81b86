// Package chat holds the content side of SIP instant messaging: the
// Message value the Phone reports for MESSAGE requests (RFC 3428), content
// type helpers, and the isComposing document of RFC 3994
// (application/im-iscomposing+xml) that tells a peer someone is typing.
//
// Sending and receiving happen in package sip (UA.Message and
// MessageHandler) and on the Phone (SendMessage, SendComposing, and the
// MessageEvent and ComposingEvent events). Everything here is pure data and
// functions, safe for concurrent use.
package chat
