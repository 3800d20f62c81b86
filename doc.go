// Package voipkit is an embeddable SIP/VoIP client: a Phone registers SIP
// accounts and makes, receives and controls calls with real audio.
//
// A Phone owns one SIP user agent (UDP and TCP on one port), any number of
// accounts, and the calls in progress. Everything that happens is reported
// on one typed event stream, Phone.Events: registration changes, incoming
// calls, call state changes and call detail records.
//
//	p, err := voipkit.NewPhone(voipkit.Config{})
//	acc, err := p.AddAccount(voipkit.AccountConfig{Server: "pbx.example.com", User: "1001", Password: "secret"})
//	c, err := p.Dial(ctx, "1002")
//	for ev := range p.Events() { ... }
//
// Peer-to-peer calls need no account: dial a full URI such as
// "sip:bob@192.0.2.10:5060".
package voipkit
