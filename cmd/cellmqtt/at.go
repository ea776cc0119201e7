package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

func init() {
	register(command{
		name:    "at",
		summary: "AT console: interactive, or one-shot commands for scripts",
		run:     runAT,
	})
}

// exchange tracks one AT command until its final result: OK or ERROR, and
// for the MQTT commands that finish later, their "+CMQTT<CMD>: ..." line.
type exchange struct {
	cmd      string
	async    string // result prefix still awaited after OK, "" for none
	data     string // the data written after the prompt, for echo filtering
	gotOK    bool
	gotAsync bool
	err      error // ERROR, or a non-zero MQTT result code
}

// newExchange starts tracking cmd.
func newExchange(cmd string) *exchange {
	return &exchange{cmd: cmd, async: asyncResult(cmd)}
}

// onLine takes one line from the modem. show is false for the echo of the
// command or its data; done is true once the command is finished.
func (x *exchange) onLine(line string) (show, done bool) {
	if strings.EqualFold(line, x.cmd) || (x.data != "" && line == x.data) {
		return false, false
	}
	if x.async != "" && strings.HasPrefix(line, x.async) {
		x.gotAsync = true
	}
	if p := resultPrefix(x.cmd); p != "" && strings.HasPrefix(line, p) {
		if code, ok := resultCodeOf(line); ok && code != 0 && x.err == nil {
			c := simcom.ResultCode(code)
			x.err = fmt.Errorf("%s: result %d: %s%s", x.cmd, code, c, hint(c))
		}
	}
	ok, final := finalResult(line)
	switch {
	case final && !ok:
		if x.err == nil {
			x.err = fmt.Errorf("%s: %s", x.cmd, line)
		}
		return true, true
	case ok:
		x.gotOK = true
	}
	return true, x.gotOK && (x.async == "" || x.gotAsync)
}

// atFlags are the flags of "cellmqtt at".
type atFlags struct {
	modem   modemFlags
	timeout time.Duration
}

// newATFlags defines the flags and help of "cellmqtt at".
func newATFlags() (*flagSet, *atFlags) {
	fs := newFlagSet("at", "cellmqtt at [flags] [COMMAND [DATA] ...]", `
Without arguments: an interactive AT console. Type a command and Enter; the
modem's answers and its unsolicited messages (+CMQTTRXSTART ..., +CMQTTCONNLOST,
boot messages) are shown as they arrive. In a terminal, lines can be
edited and the arrow keys recall earlier commands. A line that is not an AT
command is refused at once. When the modem asks for data with '>'
(AT+CMQTTTOPIC=0,5, AT+CMQTTPAYLOAD, AT+CCERTDOWN ...), the next line you
type is sent as the data, exactly, without a line end; it must have the
announced length. Ctrl-C (or ESC) at the data prompt cancels it: the
manuals give no way to abort a data prompt, so the console ends it with
filler bytes (0xFF, which the modem refuses as a topic) and shows the
modem's answer. Ctrl-C at the command prompt, or Ctrl-D, quits.

With arguments: each argument is a command, sent in order, each after the
previous one finished; an argument following a command that asks for data
is that data. The answers are printed; the exit status is 0 when every
command succeeded, 1 on ERROR or a non-zero MQTT result code (explained on
stderr), 2 for bad flags.`)
	a := &atFlags{}
	fs.Seconds(&a.timeout, "timeout", "SECONDS", 30*time.Second, "Console", "how long to wait for the answer of one command")
	a.modem.register(fs, false)
	fs.example(
		"cellmqtt at --sim AT+CSQ",
		"cellmqtt at --port /dev/ttyUSB2 ATI 'AT+CPIN?' AT+CSQ 'AT+CEREG?'",
		`cellmqtt at --sim AT+CMQTTSTART 'AT+CMQTTACCQ=0,"c1"' 'AT+CMQTTCONNECT=0,"tcp://broker:1883",60,1' 'AT+CMQTTTOPIC=0,5' hello 'AT+CMQTTPAYLOAD=0,2' hi 'AT+CMQTTPUB=0,1,60'`,
		"cellmqtt at --port auto   # interactive",
	)
	return fs, a
}

// runAT is "cellmqtt at".
func runAT(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, a := newATFlags()
	cmds, err := fs.parse(args, stdout, stderr)
	if err != nil {
		return parseExit(err)
	}
	if err := a.modem.check(); err != nil {
		return fail(stderr, "at", err)
	}
	if a.timeout <= 0 {
		return fs.usageError(stderr, "--timeout must be positive")
	}
	if err := checkOneShot(cmds); err != nil {
		return fail(stderr, "at", err)
	}
	l, err := a.modem.openTransport(ctx, stderr, true)
	if err != nil {
		return fail(stderr, "at", err)
	}
	defer l.Close()
	if a.modem.trace {
		l.RW = &tracedPort{ReadWriteCloser: l.RW, log: stderr}
	}
	events := make(chan atEvent, 64)
	go readATEvents(l.RW, events)
	if len(cmds) > 0 {
		err = a.oneShot(ctx, l.RW, events, cmds, stdout, stderr)
	} else {
		err = a.interactive(ctx, l, events, stdin, stdout, stderr)
	}
	if err != nil {
		return fail(stderr, "at", err)
	}
	return exitOK
}

// oneShot runs the commands of the arguments in order.
func (a *atFlags) oneShot(ctx context.Context, w io.Writer, events <-chan atEvent, args []string, stdout, stderr io.Writer) error {
	for i := 0; i < len(args); i++ {
		x := newExchange(args[i])
		if _, err := io.WriteString(w, args[i]+"\r"); err != nil {
			return fmt.Errorf("writing %s: %w", args[i], err)
		}
		deadline := time.NewTimer(a.timeout)
		progress := time.NewTicker(progressAfter)
		start := time.Now()
		done := false
		for !done {
			select {
			case <-ctx.Done():
				deadline.Stop()
				progress.Stop()
				return ctx.Err()
			case <-deadline.C:
				progress.Stop()
				return fmt.Errorf("%s: no final answer within %s (is this the AT port? see cellmqtt ports)", x.cmd, a.timeout)
			case <-progress.C:
				fmt.Fprintf(stderr, "cellmqtt at: still waiting for %s (%s)\n", x.cmd, time.Since(start).Round(time.Second))
			case ev, ok := <-events:
				if !ok {
					deadline.Stop()
					progress.Stop()
					return fmt.Errorf("%s: the modem closed the port", x.cmd)
				}
				if ev.prompt {
					if i+1 >= len(args) {
						deadline.Stop()
						progress.Stop()
						return badInput("%s: the modem asks for data ('>') but no data argument follows", x.cmd)
					}
					i++
					x.data = args[i]
					if _, err := io.WriteString(w, args[i]); err != nil {
						return fmt.Errorf("writing data of %s: %w", x.cmd, err)
					}
					continue
				}
				var show bool
				show, done = x.onLine(ev.line)
				if show {
					fmt.Fprintln(stdout, ev.line)
				}
			}
		}
		deadline.Stop()
		progress.Stop()
		if x.err != nil {
			return x.err
		}
		if x.data == "" && dataLength(x.cmd) > 0 {
			i++ // no prompt came: the command's data argument is not sent
		}
	}
	return nil
}

// checkOneShot checks the arguments of a one-shot run before the port is
// opened: each is an AT command, and a command that announces data
// (AT+CMQTTTOPIC=0,5) is followed by exactly that many bytes.
func checkOneShot(args []string) error {
	for i := 0; i < len(args); i++ {
		if err := checkATLine(args[i]); err != nil {
			return err
		}
		n := dataLength(args[i])
		if n == 0 {
			continue
		}
		if i+1 >= len(args) {
			return badInput("%s: the modem will ask for %d bytes of data ('>') but no data argument follows", args[i], n)
		}
		if len(args[i+1]) != n {
			return badInput("%s announces %d bytes, but its data argument %q has %d: the modem would wait for the rest or take the surplus as a command", args[i], n, args[i+1], len(args[i+1]))
		}
		i++
	}
	return nil
}

// checkATLine refuses what is not an AT command line: the modem answers
// nothing to it, so the console would only wait for its timeout.
func checkATLine(line string) error {
	if len(line) < 2 || !strings.EqualFold(line[:2], "AT") {
		return badInput("%q is not an AT command (they start with AT, e.g. AT+CSQ)", line)
	}
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 || c == 0x7f {
			return badInput("%q: control character %q at byte %d (an arrow key in a terminal without line editing?)", line, string(c), i)
		}
	}
	return nil
}
