package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/voipkit/voipkit"
	"github.com/voipkit/voipkit/audio"
	"github.com/voipkit/voipkit/call"
	"github.com/voipkit/voipkit/sip"
)

const (
	// opTimeout bounds one answer or hang-up.
	opTimeout = 5 * time.Second
	// shutdownTimeout bounds the graceful shutdown (hang-ups, unregister).
	shutdownTimeout = 5 * time.Second
	// exitGrace is how long after shutdownTimeout the program waits for
	// the Phone to close before it exits anyway.
	exitGrace = 2 * time.Second
	// toneFreq and toneLevel make the default microphone: a quiet beep.
	toneFreq  = 440
	toneLevel = 0.1
	// recordRate is the sample rate of recordings (G.711 audio).
	recordRate = 8000
	// timeFormat stamps every printed line.
	timeFormat = "15:04:05.000"
)

// softphone is the running program. All of its fields are used only by
// the goroutine in run: Phone events, stdin commands, timers (posted as
// actions) and signals are all handled there, one at a time.
type softphone struct {
	cfg     config
	phone   *voipkit.Phone
	account *voipkit.Account // nil without -user
	card    soundCard        // the sound card with -audio device, else nil
	out     io.Writer

	calls       []*callInfo // calls in progress, oldest first
	recordings  int         // recordings started so far, for file names
	dialed      *callInfo   // the -dial call once placed
	pendingDial bool        // -dial waits for the first registration result
	interactive bool        // stdin is a terminal
	stdinClosed bool        // stdin reached EOF

	actions  chan func()   // work posted by timers and hang-ups
	stop     chan struct{} // closed when run returns
	quitting bool
	deadline <-chan time.Time // fires when the shutdown takes too long
	shutdown chan error       // result of Phone.Shutdown
	exitCode int
}

// callInfo is what the softphone keeps about one call.
type callInfo struct {
	call     *voipkit.Call
	attached bool      // microphone and recorder are set
	source   io.Closer // the -play file, nil for the tone
	recorder *audio.WAVWriter
	record   string      // recording path
	timer    *time.Timer // pending auto-answer or -duration hang-up
	ended    bool
}

func newSoftphone(cfg config, phone *voipkit.Phone, out io.Writer) *softphone {
	return &softphone{
		cfg:      cfg,
		phone:    phone,
		out:      out,
		actions:  make(chan func()),
		stop:     make(chan struct{}),
		shutdown: make(chan error, 1),
	}
}

// addAccount adds the -user account: registered with -server, otherwise
// only the identity used for peer-to-peer calls.
func (s *softphone) addAccount() error {
	if s.cfg.user == "" {
		return nil
	}
	acc, err := s.phone.AddAccount(voipkit.AccountConfig{
		Server:              s.cfg.server,
		User:                s.cfg.user,
		AuthUser:            s.cfg.authUser,
		Password:            s.cfg.password,
		DisplayName:         s.cfg.display,
		Domain:              s.cfg.domain,
		Transport:           s.cfg.transport,
		DisableRegistration: s.cfg.server == "",
	})
	s.account = acc
	return err
}

// run handles events, commands, timers and signals until the Phone has
// shut down, and returns the exit code.
func (s *softphone) run(stdin *os.File) int {
	defer close(s.stop)
	s.interactive = isTerminal(stdin)
	lines := make(chan string)
	go readLines(stdin, lines, s.stop)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	s.printBanner()
	if s.cfg.dial != "" {
		if s.cfg.server != "" {
			s.pendingDial = true
			s.printf("dialing %s once registered", s.cfg.dial)
		} else {
			s.startDial()
		}
	}
	events := s.phone.Events()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return s.finish()
			}
			s.handleEvent(ev)
		case line, ok := <-lines:
			if !ok {
				lines = nil
				s.onStdinClosed()
				continue
			}
			s.command(line)
		case f := <-s.actions:
			f()
		case <-s.deadline:
			s.printf("shutdown did not finish in time; exiting anyway")
			s.endAll()
			return s.exitCode
		case sig := <-sigs:
			if s.quitting {
				s.printf("%s again: exiting without waiting", sig)
				s.endAll()
				return 1
			}
			s.printf("%s: shutting down", sig)
			s.quit()
		}
	}
}

func (s *softphone) printBanner() {
	user := s.cfg.user
	s.printf("softphone: SIP on UDP and TCP port %d, reachable at %s", s.phone.SIPPort(), s.phone.URI(user))
	if s.account != nil && s.cfg.server != "" {
		s.printf("account %s registers with %s over %s", s.account.AOR(), s.cfg.server, s.cfg.transport)
	}
	mic := fmt.Sprintf("%d Hz tone", toneFreq)
	if s.cfg.play != "" {
		mic = s.cfg.play
	}
	speaker := "discarded"
	if s.cfg.record != "" {
		speaker = "recorded to " + s.cfg.record
	}
	if s.card != nil {
		mic = deviceName("sound card (-backend "+s.cfg.backend+")", s.cfg.mic)
		speaker = deviceName("sound card", s.cfg.speaker)
	}
	s.printf("codecs %s; microphone: %s; far end audio: %s", strings.Join(s.cfg.codecs, ","), mic, speaker)
	if s.interactive {
		s.printHelp()
	}
}

// startDial places the -dial call; failing to place it is a setup error.
func (s *softphone) startDial() {
	ci, err := s.dial(s.cfg.dial)
	if err != nil {
		s.printf("cannot dial %s: %v", s.cfg.dial, err)
		s.exitCode = 1
		s.quit()
		return
	}
	s.dialed = ci
}

// dial places a call to target and starts tracking it.
func (s *softphone) dial(target string) (*callInfo, error) {
	var opts []voipkit.DialOption
	if s.card != nil {
		opts = append(opts, voipkit.WithSource(s.card), voipkit.WithSink(s.card))
	}
	c, err := s.phone.Dial(context.Background(), s.withTransport(target), opts...)
	if err != nil {
		return nil, err
	}
	ci := s.track(c)
	ci.attached = s.card != nil
	return ci, nil
}

// deviceName describes the sound card device with the given ID.
func deviceName(what, id string) string {
	if id == "" {
		return what + ", default device"
	}
	return what + ", device " + id
}

// withTransport asks for TCP in a peer-to-peer target when -transport tcp
// is set; with a server the account's transport applies.
func (s *softphone) withTransport(target string) string {
	if s.cfg.server != "" || s.cfg.transport != voipkit.TransportTCP ||
		strings.Contains(strings.ToLower(target), "transport=") {
		return target
	}
	return target + ";transport=tcp"
}

func (s *softphone) track(c *voipkit.Call) *callInfo {
	ci := &callInfo{call: c}
	s.calls = append(s.calls, ci)
	return ci
}

func (s *softphone) find(c *voipkit.Call) *callInfo {
	for _, ci := range s.calls {
		if ci.call == c {
			return ci
		}
	}
	return nil
}

func (s *softphone) findID(id string) *callInfo {
	for _, ci := range s.calls {
		if ci.call.ID() == id {
			return ci
		}
	}
	return nil
}

func (s *softphone) handleEvent(ev voipkit.Event) {
	switch ev := ev.(type) {
	case *voipkit.RegistrationEvent:
		s.onRegistration(ev)
	case *voipkit.IncomingCallEvent:
		s.onIncoming(ev)
	case *voipkit.CallStateEvent:
		s.onCallState(ev)
	case *voipkit.CDREvent:
		s.endCall(s.findID(ev.CDR.CallID), ev.CDR, ev.Time())
	}
}

func (s *softphone) onRegistration(ev *voipkit.RegistrationEvent) {
	line := fmt.Sprintf("registration %s: %s%s", ev.Account.AOR(), ev.State, status(ev.Code, ev.Reason))
	if ev.State == sip.Registered && ev.Expires > 0 {
		line += fmt.Sprintf(", expires in %s", ev.Expires)
	}
	if ev.Err != nil {
		line += ": " + ev.Err.Error()
	}
	if errors.Is(ev.Err, voipkit.ErrAuthFailed) {
		line += " (check -user, -authuser and -password)"
	}
	if ev.State == sip.RegistrationFailed && ev.RetryIn > 0 {
		line += fmt.Sprintf("; retrying in %s", ev.RetryIn.Round(100*time.Millisecond))
	}
	s.printAt(ev.Time(), "%s", line)
	if !s.pendingDial || (ev.State != sip.Registered && ev.State != sip.RegistrationFailed) {
		return
	}
	s.pendingDial = false
	if errors.Is(ev.Err, voipkit.ErrAuthFailed) {
		s.printf("not dialing %s: the server refused the credentials", s.cfg.dial)
		s.exitCode = 1
		s.quit()
		return
	}
	if ev.State == sip.RegistrationFailed {
		s.printf("dialing %s without registration", s.cfg.dial)
	}
	s.startDial()
}

func (s *softphone) onIncoming(ev *voipkit.IncomingCallEvent) {
	from := ev.From
	if ev.FromName != "" {
		from = fmt.Sprintf("%q <%s>", ev.FromName, ev.From)
	}
	id := ev.Call.ID()
	s.printAt(ev.Time(), "call %s: incoming call from %s to %s", id, from, ev.To)
	if ev.Call.State() == voipkit.CallTerminated {
		return // cancelled before it was announced; its CDR follows
	}
	ci := s.track(ev.Call)
	if s.quitting {
		if err := ev.Call.Reject(480, reasonPhrase(480)); err != nil {
			s.printf("call %s: reject: %v", id, err)
		}
		return
	}
	if err := ev.Call.Ring(); err != nil {
		s.printf("call %s: could not send 180 Ringing: %v", id, err)
		return
	}
	switch {
	case !s.cfg.answer:
	case s.cfg.answerAfter == 0:
		s.answer(ci)
	default:
		s.printf("call %s: answering in %s", id, s.cfg.answerAfter)
		ci.setTimer(s.cfg.answerAfter, s.post(ci, func() { s.answer(ci) }))
	}
}

func (s *softphone) onCallState(ev *voipkit.CallStateEvent) {
	c := ev.Call
	switch ev.State {
	case voipkit.CallDialing:
		s.printAt(ev.Time(), "call %s: Dialing %s", c.ID(), remoteURI(c))
	case voipkit.CallConnected:
		s.printAt(ev.Time(), "call %s: Connected%s, codec %s", c.ID(), status(ev.Code, ev.Reason), c.Codec())
	case voipkit.CallTerminated:
		s.printAt(ev.Time(), "call %s: Terminated, %s", c.ID(), describeCause(ev.Cause))
	default:
		s.printAt(ev.Time(), "call %s: %s%s", c.ID(), ev.State, status(ev.Code, ev.Reason))
	}
	if ev.State == voipkit.CallRinging && c.Direction() == call.Incoming && !s.cfg.answer {
		s.printf("call %s: type a to answer or r to reject", c.ID())
	}
	ci := s.find(c)
	if ci == nil || ci.ended {
		return
	}
	switch ev.State {
	case voipkit.CallEarlyMedia:
		s.attachMedia(ci)
	case voipkit.CallConnected:
		s.attachMedia(ci)
		if d := s.cfg.duration; d > 0 && !s.quitting {
			ci.setTimer(d, s.post(ci, func() {
				s.printf("call %s: -duration %s reached, hanging up", c.ID(), d)
				s.hangup(ci)
			}))
		}
	}
}

// answer answers an incoming call with the microphone and recorder
// attached.
func (s *softphone) answer(ci *callInfo) {
	if st := ci.call.State(); st != voipkit.CallIncoming && st != voipkit.CallRinging {
		s.printf("call %s: cannot answer a call that is %s", ci.call.ID(), st)
		return
	}
	s.attachMedia(ci)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := ci.call.Answer(ctx); err != nil {
		s.printf("call %s: answer: %v", ci.call.ID(), err)
	}
}

// hangup ends a call in any state: CANCEL, decline or BYE. It does not
// wait: cancelling a call the far end has not responded to yet can take
// long, and the loop must stay responsive. The result arrives as events.
func (s *softphone) hangup(ci *callInfo) {
	id := ci.call.ID()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		err := ci.call.Hangup(ctx)
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			s.send(func() {
				s.printf("call %s: the far end has not confirmed the hang-up yet; the call ends when it does or times out", id)
			})
		case err != nil:
			s.send(func() { s.printf("call %s: hang up: %v", id, err) })
		}
	}()
}

// attachMedia connects the sound card, or the microphone and, with
// -record, a recorder, to a call that is about to carry audio. It does so
// once per call.
func (s *softphone) attachMedia(ci *callInfo) {
	if ci.attached {
		return
	}
	ci.attached = true
	id := ci.call.ID()
	if s.card != nil {
		ci.call.SetSource(s.card)
		ci.call.SetSink(s.card)
		return
	}
	if s.cfg.play == "" {
		ci.call.SetSource(audio.NewTone(toneLevel, toneFreq))
	} else if w, err := audio.OpenWAV(s.cfg.play); err != nil {
		s.printf("call %s: sending silence: %v", id, err)
	} else {
		ci.call.SetSource(w)
		ci.source = w
	}
	if s.cfg.record == "" {
		return
	}
	path := s.recordPath(id)
	w, err := audio.CreateWAV(path, recordRate)
	if err != nil {
		s.printf("call %s: not recording: %v", id, err)
		return
	}
	ci.call.SetSink(w)
	ci.recorder, ci.record = w, path
	s.printf("call %s: recording the far end to %s", id, path)
}

// recordPath names the recording of a call: -record itself for the first
// call, name-<call id>.ext for the ones after it.
func (s *softphone) recordPath(id string) string {
	s.recordings++
	if s.recordings == 1 {
		return s.cfg.record
	}
	ext := filepath.Ext(s.cfg.record)
	return strings.TrimSuffix(s.cfg.record, ext) + "-" + id + ext
}

// endCall prints a finished call's CDR and releases what the softphone
// attached to it. ci is nil for a call that was never tracked.
func (s *softphone) endCall(ci *callInfo, cdr call.CDR, at time.Time) {
	if ci != nil && ci.ended {
		return
	}
	s.printAt(at, "call %s: %s", cdr.CallID, formatCDR(cdr))
	if ci == nil {
		return
	}
	ci.ended = true
	ci.stopTimer()
	if ci.source != nil {
		_ = ci.source.Close()
	}
	if ci.recorder != nil {
		if err := ci.recorder.Close(); err != nil {
			s.printf("call %s: recording %s: %v", cdr.CallID, ci.record, err)
		} else {
			s.printf("call %s: saved %s of audio to %s", cdr.CallID, ci.recorder.Duration().Round(time.Millisecond), ci.record)
		}
	}
	s.calls = slices.DeleteFunc(s.calls, func(x *callInfo) bool { return x == ci })
	if ci == s.dialed && s.exitWithDialedCall() {
		s.quit()
	}
}

// endAll finishes every call still tracked, from the calls' own records.
func (s *softphone) endAll() {
	for _, ci := range slices.Clone(s.calls) {
		s.endCall(ci, ci.call.CDR(), time.Now())
	}
}

// exitWithDialedCall tells whether the program ends with the -dial call:
// when nobody can type commands.
func (s *softphone) exitWithDialedCall() bool {
	return s.cfg.dial != "" && (!s.interactive || s.stdinClosed)
}

func (s *softphone) onStdinClosed() {
	s.stdinClosed = true
	if s.quitting {
		return
	}
	if s.dialed != nil && s.dialed.ended {
		s.quit()
		return
	}
	if s.cfg.dial != "" {
		s.printf("stdin closed: running until the call ends or a signal arrives")
	} else {
		s.printf("stdin closed: running until SIGINT or SIGTERM")
	}
}

// quit starts the graceful shutdown: calls are hung up and the account
// unregistered while the loop keeps printing events. The Phone then closes
// its event stream, which ends run.
func (s *softphone) quit() {
	if s.quitting {
		return
	}
	s.quitting = true
	s.deadline = time.After(shutdownTimeout + exitGrace)
	for _, ci := range s.calls {
		ci.stopTimer()
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		s.shutdown <- s.phone.Shutdown(ctx)
	}()
}

// finish runs once the event stream is closed.
func (s *softphone) finish() int {
	s.endAll() // calls whose last events were dropped on close
	if s.quitting {
		if err := <-s.shutdown; err != nil {
			s.printf("shutdown: %v", err)
		}
	}
	s.printf("bye")
	return s.exitCode
}

// post returns a function, for time.AfterFunc, that has f run on the loop
// goroutine unless the call has ended by then.
func (s *softphone) post(ci *callInfo, f func()) func() {
	return func() {
		s.send(func() {
			if !ci.ended && !s.quitting {
				f()
			}
		})
	}
}

// send has f run on the loop goroutine, unless the loop has ended.
func (s *softphone) send(f func()) {
	select {
	case s.actions <- f:
	case <-s.stop:
	}
}

func (ci *callInfo) setTimer(d time.Duration, f func()) {
	ci.stopTimer()
	ci.timer = time.AfterFunc(d, f)
}

func (ci *callInfo) stopTimer() {
	if ci.timer != nil {
		ci.timer.Stop()
		ci.timer = nil
	}
}

func (s *softphone) printf(format string, args ...any) {
	s.printAt(time.Now(), format, args...)
}

func (s *softphone) printAt(t time.Time, format string, args ...any) {
	fmt.Fprintf(s.out, "%s %s\n", t.Format(timeFormat), fmt.Sprintf(format, args...))
}

// remoteURI returns the peer's address of a call as text.
func remoteURI(c *voipkit.Call) string {
	u := c.RemoteURI()
	return u.String()
}

// status renders a SIP status as " (180 Ringing)", or "" without one.
func status(code int, reason string) string {
	if code == 0 {
		return ""
	}
	return strings.TrimRight(fmt.Sprintf(" (%d %s", code, reason), " ") + ")"
}

func describeCause(c call.Cause) string {
	s := "ended by " + c.By.String() + status(c.Code, c.Reason)
	if c.Code == 0 && c.Reason != "" {
		s += ": " + c.Reason
	}
	var se *sip.StatusError
	if c.Err != nil && !errors.As(c.Err, &se) { // a status is shown already
		s += ": " + c.Err.Error()
	}
	return s
}

// formatCDR renders a call detail record on one line.
func formatCDR(r call.CDR) string {
	caller, callee := r.Caller, r.Callee
	if r.RemoteName != "" {
		if r.Direction == call.Incoming {
			caller = fmt.Sprintf("%q <%s>", r.RemoteName, caller)
		} else {
			callee = fmt.Sprintf("%q <%s>", r.RemoteName, callee)
		}
	}
	codecName := r.Codec
	if codecName == "" {
		codecName = "none"
	}
	talk := "not answered"
	if !r.Connect.IsZero() {
		talk = fmt.Sprintf("talk time %s (setup %s)", r.Duration.Round(time.Millisecond), r.SetupTime.Round(time.Millisecond))
	}
	ended := "hung up by " + r.Disconnect.String() + status(r.Code, r.Reason)
	if r.End.IsZero() {
		ended = "still in progress at exit"
	}
	return fmt.Sprintf("CDR %s -> %s, %s, %s, codec %s, packets sent %d received %d lost %d",
		caller, callee, talk, ended, codecName,
		r.Stats.PacketsSent, r.Stats.PacketsReceived, r.Stats.PacketsLost)
}

// isTerminal reports whether f is a character device such as a terminal,
// other than the null device.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}

// readLines sends r's lines to lines until EOF (then closes it) or stop.
func readLines(r io.Reader, lines chan<- string, stop <-chan struct{}) {
	defer close(lines)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		select {
		case lines <- sc.Text():
		case <-stop:
			return
		}
	}
}
