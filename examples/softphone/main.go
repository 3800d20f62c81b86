// Command softphone is a terminal SIP phone built on voipkit.
//
// It registers an account with a PBX (or works peer to peer without one),
// places and receives calls, and prints every registration change, call
// state change and call detail record as one timestamped line. Calls are
// controlled from a line-based prompt on stdin or automatically with
// -dial, -answer and -duration.
//
// Audio goes through the sound card (-audio device, the default; it needs
// a cgo build) or through files (-audio files): the microphone is then a
// WAV file (-play) or a quiet 440 Hz tone, and the speaker a WAV recording
// (-record).
//
// Usage:
//
//	softphone [flags]
//
// Run with -h for the flags; type ? at the prompt for the commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/voipkit/voipkit"
	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/codec"
)

// config is everything the command line sets.
type config struct {
	server      string
	user        string
	authUser    string
	password    string
	domain      string
	display     string
	transport   string
	listen      netip.AddrPort
	codecs      []string
	dial        string
	answer      bool
	answerAfter time.Duration
	play        string
	record      string
	duration    time.Duration
	verbose     bool
	audio       string // audioDevice or audioFiles
	backend     string
	mic         string
	speaker     string
	listDevices bool
}

// The -audio modes.
const (
	audioDevice = "device"
	audioFiles  = "files"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run is the whole program; it returns the process exit code.
func run(args []string) int {
	cfg, err := parseConfig(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "softphone:", err)
		return 1
	}
	if err := checkPlayFile(cfg.play); err != nil {
		fmt.Fprintln(os.Stderr, "softphone:", err)
		return 1
	}
	logger := newLogger(cfg.verbose)
	if cfg.listDevices {
		if err := listDevices(os.Stdout, cfg.backend, logger); err != nil {
			fmt.Fprintln(os.Stderr, "softphone:", err)
			return 1
		}
		return 0
	}
	var card soundCard
	if cfg.audio == audioDevice {
		if card, err = openSoundCard(cfg.backend, cfg.mic, cfg.speaker, logger); err != nil {
			fmt.Fprintln(os.Stderr, "softphone: sound card:", err)
			return 1
		}
		defer card.Close()
	}
	// A few messages of the SIP stack go to the default logger; keep them
	// with the other diagnostics instead of between the softphone's lines.
	slog.SetDefault(logger)
	phone, err := voipkit.NewPhone(voipkit.Config{
		ListenAddr:  cfg.listen,
		Codecs:      cfg.codecs,
		Logger:      logger,
		FailureTone: 3 * time.Second, // busy or reorder tone when a call fails
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "softphone:", err)
		return 1
	}
	sp := newSoftphone(cfg, phone, os.Stdout)
	sp.card = card
	if err := sp.addAccount(); err != nil {
		fmt.Fprintln(os.Stderr, "softphone:", err)
		_ = phone.Close()
		return 1
	}
	return sp.run(os.Stdin)
}

// parseConfig reads the flags into a config and checks them.
func parseConfig(args []string, errOut io.Writer) (config, error) {
	var (
		cfg    config
		listen string
		codecs string
	)
	fs := flag.NewFlagSet("softphone", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&cfg.server, "server", "", "registrar/proxy `host[:port]`; empty: no registration, peer-to-peer calls only")
	fs.StringVar(&cfg.user, "user", "", "SIP user (extension); required with -server")
	fs.StringVar(&cfg.authUser, "authuser", "", "digest user name when it differs from -user")
	fs.StringVar(&cfg.password, "password", "", "SIP password")
	fs.StringVar(&cfg.domain, "domain", "", "SIP domain of the account (default: the server's host)")
	fs.StringVar(&cfg.display, "display", "", "display name shown to callees")
	fs.StringVar(&cfg.transport, "transport", voipkit.TransportUDP, "SIP transport to the server or peer: udp or tcp")
	fs.StringVar(&listen, "listen", ":0", "local SIP `address` for UDP and TCP: host:port, :port or host (port 0 or none: ephemeral)")
	fs.StringVar(&codecs, "codecs", "PCMU,PCMA", "codec `list` in order of preference")
	fs.StringVar(&cfg.dial, "dial", "", "call `target` at start: number, user@host or sip: URI")
	fs.BoolVar(&cfg.answer, "answer", false, "answer incoming calls automatically")
	fs.DurationVar(&cfg.answerAfter, "answer-after", 0, "with -answer, ring this long before answering")
	fs.StringVar(&cfg.play, "play", "", "16-bit PCM WAV `file` sent as the microphone in every call (default: a quiet 440 Hz tone)")
	fs.StringVar(&cfg.record, "record", "", "record the far end of each call to this WAV `file` (later calls: name-<call id>.wav)")
	fs.DurationVar(&cfg.duration, "duration", 0, "hang up each call this long after it connects (0: never)")
	fs.BoolVar(&cfg.verbose, "v", false, "debug logging to stderr")
	fs.StringVar(&cfg.audio, "audio", "", "audio `mode`: device (sound card) or files (-play/-record); default: files when -play or -record is given, else device")
	fs.StringVar(&cfg.backend, "backend", "auto", "sound card `backend`: auto, null (no hardware), alsa or pulse")
	fs.StringVar(&cfg.mic, "mic", "", "capture device `ID` from -list-devices (default: the backend's default)")
	fs.StringVar(&cfg.speaker, "speaker", "", "playback device `ID` from -list-devices (default: the backend's default)")
	fs.BoolVar(&cfg.listDevices, "list-devices", false, "print the capture and playback devices of -backend with their IDs and exit")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "Usage: softphone [flags]\n\nA terminal SIP phone. Flags:")
		fs.PrintDefaults()
		fmt.Fprintln(errOut, "\nType ? at the prompt for the call commands.")
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q (the call target goes in -dial)", fs.Arg(0))
	}
	cfg.transport = strings.ToLower(cfg.transport)
	cfg.audio = strings.ToLower(cfg.audio)
	cfg.backend = strings.ToLower(cfg.backend)
	if cfg.audio == "" {
		cfg.audio = audioDevice
		if cfg.play != "" || cfg.record != "" {
			cfg.audio = audioFiles
		}
	}
	var err error
	if cfg.listen, err = parseListen(listen); err != nil {
		return config{}, err
	}
	if cfg.codecs, err = parseCodecs(codecs); err != nil {
		return config{}, err
	}
	return cfg, cfg.check()
}

// check reports flag combinations that cannot work.
func (c config) check() error {
	switch {
	case c.transport != voipkit.TransportUDP && c.transport != voipkit.TransportTCP:
		return fmt.Errorf("-transport must be udp or tcp, not %q", c.transport)
	case c.server != "" && c.user == "":
		return errors.New("-server needs -user")
	case c.user == "" && (c.authUser != "" || c.password != "" || c.domain != "" || c.display != ""):
		return errors.New("-authuser, -password, -domain and -display need -user")
	case c.answerAfter < 0:
		return errors.New("-answer-after must not be negative")
	case c.answerAfter > 0 && !c.answer:
		return errors.New("-answer-after needs -answer")
	case c.duration < 0:
		return errors.New("-duration must not be negative")
	case c.audio != audioDevice && c.audio != audioFiles:
		return fmt.Errorf("-audio must be device or files, not %q", c.audio)
	case c.backend != "auto" && c.backend != "null" && c.backend != "alsa" && c.backend != "pulse":
		return fmt.Errorf("-backend must be auto, null, alsa or pulse, not %q", c.backend)
	case c.audio == audioDevice && (c.play != "" || c.record != ""):
		return errors.New("-play and -record need -audio files")
	case c.audio == audioFiles && (c.mic != "" || c.speaker != ""):
		return errors.New("-mic and -speaker need -audio device")
	}
	return nil
}

// parseListen accepts "host:port", ":port", "host" and "[v6]:port". A
// missing host means all interfaces, a missing port an ephemeral one.
func parseListen(s string) (netip.AddrPort, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.AddrPort{}, nil
	}
	if ip, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(ip, 0), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("-listen %q: want host:port, :port or an IP address", s)
	}
	var ip netip.Addr
	if host != "" {
		if ip, err = netip.ParseAddr(host); err != nil {
			return netip.AddrPort{}, fmt.Errorf("-listen %q: %q is not an IP address", s, host)
		}
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("-listen %q: bad port %q", s, port)
	}
	return netip.AddrPortFrom(ip, uint16(p)), nil
}

// parseCodecs splits a comma-separated codec list and checks every name
// against the codec registry.
func parseCodecs(s string) ([]string, error) {
	var names []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.ToUpper(strings.TrimSpace(n)); n != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil, errors.New("-codecs is empty")
	}
	if _, err := codec.Resolve(names); err != nil {
		return nil, fmt.Errorf("-codecs: %w (known: %s)", err, strings.Join(codec.Names(), ", "))
	}
	return names, nil
}

// checkPlayFile opens the -play file once so that a missing or unreadable
// file is a setup error rather than a silent call.
func checkPlayFile(path string) error {
	if path == "" {
		return nil
	}
	w, err := audio.OpenWAV(path)
	if err != nil {
		return fmt.Errorf("-play: %w", err)
	}
	return w.Close()
}

// newLogger returns a debug logger on stderr for -v and one that discards
// everything otherwise.
func newLogger(verbose bool) *slog.Logger {
	if !verbose {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
