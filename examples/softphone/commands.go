package main

import (
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
