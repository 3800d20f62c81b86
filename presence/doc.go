// Package presence parses and builds the documents carried by SIP event
// notifications: presence (PIDF, RFC 3863, with RPID activities, RFC
// 4480), dialog state for busy lamp fields (dialog-info, RFC 4235) and
// message-waiting indication (message-summary, RFC 3842), and imports
// phone-book XML directories with BLF flags.
//
// Every parser is strict and bounded: input larger than MaxDocumentSize
// (MaxPhoneBookSize for phone books), nested deeper than MaxDepth or with
// more than MaxElements elements is refused, as is any document that does
// not follow its format. Errors wrap ErrMalformed.
//
// The package has no mutable package-level state; its functions are safe
// for concurrent use. DialogTracker is not.
package presence
