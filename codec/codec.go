// Package codec holds the audio codec registry and the built-in G.711 codecs.
//
// Codecs register themselves by name from an init function, the way
// database/sql drivers do; applications blank-import optional codecs (for
// example Opus) and each Phone selects the ones it offers by name and
// priority.
package codec

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Errors returned by the registry and by encoders and decoders.
var (
	// ErrUnknownCodec is returned when a codec name is not registered.
	ErrUnknownCodec = errors.New("codec: unknown codec")
	// ErrShortBuffer is returned when a destination buffer is too small.
	ErrShortBuffer = errors.New("codec: destination buffer too small")
)

// Info describes a codec as it appears in SDP (RFC 4566 rtpmap/fmtp) and
// how audio is framed for it.
type Info struct {
	// Name is the encoding name used in a=rtpmap, e.g. "PCMU".
	Name string
	// PayloadType is the static RTP payload type (RFC 3551), or the
	// preferred dynamic type (96-127) when the codec has none.
	PayloadType uint8
	// ClockRate is the RTP timestamp rate in Hz (8000 for G.722 too).
	ClockRate int
	// SampleRate is the PCM sample rate the encoder consumes and the
	// decoder produces, in Hz.
	SampleRate int
	// Channels is the number of audio channels in the RTP stream.
	Channels int
	// FrameDuration is the default packetization time (ptime).
	FrameDuration time.Duration
	// Fmtp holds default format parameters for a=fmtp, or "".
	Fmtp string
}

// FrameSamples reports how many PCM samples (per channel) one frame holds.
func (i Info) FrameSamples() int {
	return int(int64(i.SampleRate) * int64(i.FrameDuration) / int64(time.Second))
}

// FrameTimestamp reports how far the RTP timestamp advances per frame.
func (i Info) FrameTimestamp() uint32 {
	return uint32(int64(i.ClockRate) * int64(i.FrameDuration) / int64(time.Second))
}

// Encoder turns 16-bit PCM into codec payload. An Encoder keeps state and
// is not safe for concurrent use.
type Encoder interface {
	// Encode encodes pcm (one frame of Info.SampleRate samples) into dst and
	// returns the number of payload bytes written.
	Encode(dst []byte, pcm []int16) (int, error)
}

// Decoder turns codec payload into 16-bit PCM. A Decoder keeps state and
// is not safe for concurrent use.
type Decoder interface {
	// Decode decodes payload into dst and returns the number of samples
	// written.
	Decode(dst []int16, payload []byte) (int, error)
}

// Codec is a registered codec: its description and constructors for fresh
// encoder and decoder state. Implementations must be safe for concurrent use.
type Codec interface {
	Info() Info
	NewEncoder() (Encoder, error)
	NewDecoder() (Decoder, error)
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Codec{}
)

// Register makes a codec available by its Info().Name (case-insensitive).
// It panics if c is nil or a codec of that name is already registered,
// because both are programming errors found at init time.
func Register(c Codec) {
	if c == nil {
		panic("codec: Register of nil codec")
	}
	key := strings.ToUpper(c.Info().Name)
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[key]; dup {
		panic("codec: Register called twice for " + key)
	}
	registry[key] = c
}

// Lookup returns the codec registered under name (case-insensitive).
func Lookup(name string) (Codec, error) {
	registryMu.RLock()
	c, ok := registry[strings.ToUpper(name)]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownCodec, name)
	}
	return c, nil
}

// Names returns the registered codec names, sorted.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DefaultPriority is the order codecs are offered in when an account does
// not choose one. Names that are not registered are skipped by Resolve.
func DefaultPriority() []string {
	return []string{"PCMU", "PCMA"}
}

// Resolve maps a priority list of names to registered codecs, in order,
// skipping duplicates. An unknown name is an error so that typos in an
// account's codec list surface instead of silently shrinking the offer.
func Resolve(names []string) ([]Codec, error) {
	if len(names) == 0 {
		names = DefaultPriority()
	}
	seen := map[string]bool{}
	out := make([]Codec, 0, len(names))
	for _, n := range names {
		c, err := Lookup(n)
		if err != nil {
			return nil, err
		}
		key := strings.ToUpper(c.Info().Name)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, c)
	}
	return out, nil
}
