package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/voipkit/voipkit"
	"github.com/voipkit/voipkit/call"
)

// help lists the prompt commands.
const help = `commands:
  d <target>  dial a number, user@host or sip: URI
  a           answer the ringing call
  r [code]    reject the ringing call (default 486 Busy Here)
  h           hang up the current call
  l           list calls
  s           statistics of the current call
  hold        put the current call on hold
  resume      take the current call off hold
  m           merge the two most recent connected calls into a conference
  devices     list the sound card devices
  vol <in> <out>  set the microphone and speaker gain (1 = unchanged, 0 = mute)
  q           quit`

// reasonPhrase gives the reason phrase for a rejection code.
func reasonPhrase(code int) string {
	switch code {
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 488:
		return "Not Acceptable Here"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	}
	return "Rejected"
}

// command runs one line typed at the prompt.
func (s *softphone) command(line string) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return
	}
	if s.quitting {
		s.printf("shutting down; %q ignored", line)
		return
	}
	name, args := strings.ToLower(fields[0]), fields[1:]
	if len(args) > maxArgs(name) {
		s.printf("%s: too many arguments; type ? for help", fields[0])
		return
	}
	switch name {
	case "d", "dial":
		s.cmdDial(args)
	case "a", "answer":
		s.cmdAnswer()
	case "r", "reject":
		s.cmdReject(args)
	case "h", "hangup":
		s.cmdHangup()
	case "l", "list":
		s.cmdList()
	case "s", "stats":
		s.cmdStats()
	case "hold":
		s.cmdHold(true)
	case "resume":
		s.cmdHold(false)
	case "m", "merge":
		s.cmdMerge()
	case "devices":
		s.cmdDevices()
	case "vol", "volume":
		s.cmdVolume(args)
	case "q", "quit":
		s.printf("quitting")
		s.quit()
	case "?", "help":
		s.printHelp()
	default:
		s.printf("unknown command %q; type ? for help", fields[0])
	}
}

// maxArgs is how many arguments a command takes at most.
func maxArgs(name string) int {
	switch name {
	case "d", "dial", "r", "reject":
		return 1
	case "vol", "volume":
		return 2
	case "hold", "resume", "m", "merge", "devices":
		return 0
	case "a", "answer", "h", "hangup", "l", "list", "s", "stats", "q", "quit":
		return 0
	}
	return 1 << 10 // unknown commands are reported as such
}

func (s *softphone) printHelp() {
	for _, l := range strings.Split(help, "\n") {
		s.printf("%s", l)
	}
}

func (s *softphone) cmdDial(args []string) {
	if len(args) != 1 {
		s.printf("usage: d <target>")
		return
	}
	if _, err := s.dial(args[0]); err != nil {
		s.printf("cannot dial %s: %v", args[0], err)
	}
}

func (s *softphone) cmdAnswer() {
	ci := s.ringingCall()
	if ci == nil {
		s.printf("no incoming call to answer")
		return
	}
	ci.stopTimer()
	s.answer(ci)
}

func (s *softphone) cmdReject(args []string) {
	code := 486
	if len(args) == 1 {
		c, err := strconv.Atoi(args[0])
		if err != nil || c < 400 || c > 699 {
			s.printf("reject: %q is not a SIP status from 400 to 699", args[0])
			return
		}
		code = c
	}
	ci := s.ringingCall()
	if ci == nil {
		s.printf("no incoming call to reject")
		return
	}
	ci.stopTimer()
	if err := ci.call.Reject(code, reasonPhrase(code)); err != nil {
		s.printf("call %s: reject: %v", ci.call.ID(), err)
	}
}

func (s *softphone) cmdHangup() {
	ci := s.currentCall()
	if ci == nil {
		s.printf("no call to hang up")
		return
	}
	s.hangup(ci)
}

func (s *softphone) cmdList() {
	if len(s.calls) == 0 {
		s.printf("no calls")
		return
	}
	for _, ci := range s.calls {
		c := ci.call
		line := fmt.Sprintf("call %s  %-8s  %-10s  %s", c.ID(), strings.ToLower(c.Direction().String()), c.State(), remoteURI(c))
		if c.State() == voipkit.CallConnected {
			line += fmt.Sprintf("  %s", c.CDR().Duration.Round(time.Second))
		}
		s.printf("%s", line)
	}
}

func (s *softphone) cmdStats() {
	ci := s.currentCall()
	if ci == nil {
		s.printf("no current call")
		return
	}
	st := ci.call.Stats()
	codecName := st.Codec
	if codecName == "" {
		codecName = "none yet"
	}
	s.printf("call %s: codec %s, packets sent %d, received %d, lost %d, late %d, jitter %s",
		ci.call.ID(), codecName, st.PacketsSent, st.PacketsReceived, st.PacketsLost, st.Late,
		st.Jitter.Round(10*time.Microsecond))
}

// ringingCall is the oldest incoming call not answered yet.
func (s *softphone) ringingCall() *callInfo {
	for _, ci := range s.calls {
		st := ci.call.State()
		if ci.call.Direction() == call.Incoming && (st == voipkit.CallIncoming || st == voipkit.CallRinging) {
			return ci
		}
	}
	return nil
}

// currentCall is the most recently placed or received connected call, or
// failing that the most recent call still in progress.
func (s *softphone) currentCall() *callInfo {
	var latest *callInfo
	for _, ci := range s.calls {
		switch ci.call.State() {
		case voipkit.CallConnected:
			latest = ci
		case voipkit.CallTerminated:
		default:
			if latest == nil || latest.call.State() != voipkit.CallConnected {
				latest = ci
			}
		}
	}
	return latest
}

// cmdHold holds or resumes the current call. The re-INVITE runs off the
// loop; its outcome is printed when it completes.
func (s *softphone) cmdHold(hold bool) {
	ci := s.currentCall()
	if ci == nil || ci.call.State() != voipkit.CallConnected {
		s.printf("no connected call")
		return
	}
	c, what := ci.call, "resume"
	if hold {
		what = "hold"
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		var err error
		if hold {
			err = c.Hold(ctx)
		} else {
			err = c.Unhold(ctx)
		}
		s.send(func() {
			if err != nil {
				s.printf("call %s: %s: %v", c.ID(), what, err)
			} else {
				s.printf("call %s: %s done", c.ID(), what)
			}
		})
	}()
}

// cmdMerge joins the two most recent connected calls and the local user in
// a conference.
func (s *softphone) cmdMerge() {
	var connected []*voipkit.Call
	for _, ci := range s.calls {
		if ci.call.State() == voipkit.CallConnected {
			connected = append(connected, ci.call)
		}
	}
	if len(connected) < 2 {
		s.printf("merge needs two connected calls, have %d", len(connected))
		return
	}
	a, b := connected[len(connected)-2], connected[len(connected)-1]
	s.printf("merging calls %s and %s", a.ID(), b.ID())
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		conf, err := s.phone.Merge(ctx, a, b)
		s.send(func() {
			if err != nil {
				s.printf("merge: %v", err)
				return
			}
			s.printf("conference: calls %s and %s with the local user (%d calls mixed at %d Hz)",
				a.ID(), b.ID(), conf.Len(), conf.Rate())
		})
	}()
}

func (s *softphone) cmdDevices() {
	var buf bytes.Buffer
	if err := listDevices(&buf, s.cfg.backend, nil); err != nil {
		s.printf("devices: %v", err)
		return
	}
	for _, l := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
		s.printf("%s", l)
	}
}

func (s *softphone) cmdVolume(args []string) {
	if s.card == nil {
		s.printf("vol: no sound card with -audio files")
		return
	}
	if len(args) != 2 {
		in, out := s.card.Volume()
		s.printf("usage: vol <in> <out>; now in %.2f, out %.2f", in, out)
		return
	}
	var g [2]float64
	for i, a := range args {
		v, err := strconv.ParseFloat(a, 64)
		if err != nil || v < 0 {
			s.printf("vol: %q is not a gain of 0 or more", a)
			return
		}
		g[i] = v
	}
	s.card.SetVolume(g[0], g[1])
	in, out := s.card.Volume()
	s.printf("volume: microphone %.2f, speaker %.2f", in, out)
}
