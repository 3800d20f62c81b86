// Command demo shows the main job of voipkit with no server: two Phones on
// 127.0.0.1 call each other peer to peer. Phone A plays a WAV file (a
// two-tone signal it generates, or one given with -wav), Phone B answers
// and records what it hears to a WAV file. The demo then checks that B
// received A's audio by detecting the tone frequencies in the recording,
// prints a summary and exits non-zero if the audio did not arrive.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/voipkit/voipkit"
	"github.com/voipkit/voipkit/audio"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// The demo's test signal: two tones that survive G.711 well and are easy
// to tell apart from each other and from silence.
var toneFreqs = []float64{697, 1209}

func run() error {
	var (
		wavIn    = flag.String("wav", "", "WAV file phone A plays (default: a generated two-tone file)")
		out      = flag.String("out", "", "where phone B records (default: a file in the temp directory)")
		talk     = flag.Duration("duration", 3*time.Second, "how long the call stays up")
		codecOpt = flag.String("codec", "PCMU", "codec to use (PCMU or PCMA)")
		verbose  = flag.Bool("v", false, "log SIP and media diagnostics")
	)
	flag.Parse()

	var logger *slog.Logger
	if *verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	dir, err := os.MkdirTemp("", "voipkit-demo-")
	if err != nil {
		return err
	}
	src := *wavIn
	if src == "" {
		src = filepath.Join(dir, "tones.wav")
		if err := writeTones(src, *talk+time.Second); err != nil {
			return err
		}
	}
	rec := *out
	if rec == "" {
		rec = filepath.Join(dir, "received.wav")
	}

	loopback := netip.MustParseAddrPort("127.0.0.1:0")
	cfg := voipkit.Config{ListenAddr: loopback, Codecs: []string{*codecOpt}, Logger: logger}
	alice, err := voipkit.NewPhone(cfg)
	if err != nil {
		return err
	}
	defer alice.Close()
	bob, err := voipkit.NewPhone(cfg)
	if err != nil {
		return err
	}
	defer bob.Close()

	recorder, err := audio.CreateWAV(rec, 8000)
	if err != nil {
		return err
	}
	defer recorder.Close()

	// Bob answers every call and records it.
	bobDone := make(chan error, 1)
	bobCDR := make(chan voipkit.CDREvent, 1)
	go func() {
		for ev := range bob.Events() {
			switch ev := ev.(type) {
			case *voipkit.IncomingCallEvent:
				fmt.Printf("B: incoming call from %s\n", ev.From)
				ev.Call.SetSink(recorder)
				_ = ev.Call.Ring()
				bobDone <- ev.Call.Answer(context.Background())
			case *voipkit.CDREvent:
				bobCDR <- *ev
			}
		}
	}()

	wav, err := audio.OpenWAV(src)
	if err != nil {
		return err
	}
	defer wav.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	c, err := alice.Dial(ctx, bob.URI("bob"), voipkit.WithSource(wav))
	if err != nil {
		return err
	}
	var setup time.Duration
	for setup == 0 {
		select {
		case ev := <-alice.Events():
			if st, ok := ev.(*voipkit.CallStateEvent); ok {
				fmt.Printf("A: %s", st.State)
				if st.Code != 0 {
					fmt.Printf(" (%d %s)", st.Code, st.Reason)
				}
				fmt.Println()
				switch st.State {
				case voipkit.CallConnected:
					setup = time.Since(start)
				case voipkit.CallTerminated:
					return fmt.Errorf("call failed: %s", st.Cause)
				}
			}
		case <-ctx.Done():
			return errors.New("call was not answered in time")
		}
	}
	if err := <-bobDone; err != nil {
		return fmt.Errorf("phone B could not answer: %w", err)
	}
	time.Sleep(*talk)
	stats := c.Stats()
	if err := c.Hangup(ctx); err != nil {
		return fmt.Errorf("hang up: %w", err)
	}
	if err := c.Wait(ctx); err != nil {
		return err
	}
	cdr := c.CDR()
	bobStats := bobStatsAfter(bobCDR)
	if err := recorder.Close(); err != nil {
		return err
	}

	got, err := detect(rec)
	fmt.Println()
	fmt.Println("voipkit demo summary")
	fmt.Printf("  call setup time   %v\n", setup.Round(100*time.Microsecond))
	fmt.Printf("  codec             %s\n", c.Codec())
	fmt.Printf("  talk time         %v\n", cdr.Duration.Round(time.Millisecond))
	fmt.Printf("  A sent/received   %d / %d packets\n", stats.PacketsSent, stats.PacketsReceived)
	if bobStats != nil {
		fmt.Printf("  B received        %d packets, %d lost, jitter %v\n", bobStats.PacketsReceived, bobStats.PacketsLost, bobStats.Jitter.Round(time.Microsecond))
	}
	fmt.Printf("  hung up by        %s (%d %s)\n", cdr.Disconnect, cdr.Code, cdr.Reason)
	fmt.Printf("  recording         %s\n", rec)
	if err != nil {
		return err
	}
	ok := true
	for _, f := range toneFreqs {
		fmt.Printf("  tone %4.0f Hz      level %.3f\n", f, got[f])
		if got[f] < 0.05 {
			ok = false
		}
	}
	if !ok {
		return errors.New("phone B did not receive A's audio")
	}
	fmt.Println("  result            audio verified: B heard A's tones")
	return nil
}

// bobStatsAfter waits briefly for B's call to end and returns its final
// media statistics.
func bobStatsAfter(cdrs <-chan voipkit.CDREvent) *voipkitStats {
	select {
	case ev := <-cdrs:
		s := ev.CDR.Stats
		return &voipkitStats{PacketsReceived: s.PacketsReceived, PacketsLost: s.PacketsLost, Jitter: s.Jitter}
	case <-time.After(5 * time.Second):
		return nil
	}
}

type voipkitStats struct {
	PacketsReceived, PacketsLost uint64
	Jitter                       time.Duration
}

// writeTones writes an 8 kHz WAV holding the demo's tone pair.
func writeTones(path string, d time.Duration) error {
	w, err := audio.CreateWAV(path, 8000)
	if err != nil {
		return err
	}
	tone := audio.NewToneFor(d, 0.5, toneFreqs...)
	f := audio.Frame{Samples: make([]int16, 160), SampleRate: 8000}
	for {
		err := tone.ReadFrame(&f)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			w.Close()
			return err
		}
		if err := w.WriteFrame(&f); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// detect measures each test tone's amplitude in the recording, skipping
// the first 200 ms (jitter buffer fill).
func detect(path string) (map[float64]float64, error) {
	r, err := audio.OpenWAV(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var all []int16
	f := audio.Frame{Samples: make([]int16, 160), SampleRate: 8000}
	for {
		err := r.ReadFrame(&f)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		all = append(all, f.Samples...)
	}
	if len(all) < 8000 {
		return nil, fmt.Errorf("recording holds only %d samples: no audio arrived", len(all))
	}
	body := all[1600:]
	res := map[float64]float64{}
	for _, fr := range toneFreqs {
		res[fr] = math.Sqrt(audio.Goertzel(body, 8000, fr))
	}
	return res, nil
}
