// Package opus adds the Opus codec (RFC 6716, RTP payload format RFC 7587)
// to the codec registry. It wraps libopus through cgo, so it is an optional
// package: applications that want Opus blank-import it,
//
//	import _ "github.com/voipkit/voipkit/codec/opus"
//
// and list "opus" in their codec priority. Building it needs cgo and
// libopus with pkg-config (Debian: libopus-dev, libopusfile-dev,
// pkg-config). Without cgo (CGO_ENABLED=0) the package is empty and
// registers nothing, so a cgo-free build of a program that imports it
// still succeeds but does not offer Opus.
//
// # Channels
//
// RFC 7587 requires the rtpmap of Opus to read "opus/48000/2" whatever is
// sent, so the registered codec.Info has Channels 2, ClockRate 48000 and a
// dynamic payload type (111 by default). voipkit's audio is mono, however:
// the Encoder is created for one channel at 48 kHz (the VoIP application,
// in-band FEC enabled), and the fmtp says stereo=0;sprop-stereo=0. An Opus
// decoder can decode any stream, mono or stereo, to the channel count it was
// created with, so the Decoder always produces mono 48 kHz PCM: 960 samples
// per 20 ms. Info.Channels therefore describes the RTP stream in SDP only;
// the PCM exchanged with Encoder and Decoder is always one channel.
//
// # Loss
//
// Decoder.Decode with an empty payload runs libopus' packet loss
// concealment for one frame (the length of the last packet), as does
// Decoder.Conceal; Decoder.DecodeFEC recovers a lost frame from the in-band
// FEC data of the packet that followed it.
package opus
