package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// fillerByte ends a cancelled data prompt: the manuals define no abort for
// a data prompt, which takes exactly the announced bytes, and 0xFF is not
// UTF-8, so the modem (checkUTF8 on, the default) refuses it as a topic.
const fillerByte = 0xFF

// console is the state of the interactive AT console.
type console struct {
	a      *atFlags
	l      *modemLink
	in     consoleInput
	out    io.Writer // answers: stdout, or the line editor
	errOut io.Writer // the console's own messages: stderr, or the line editor

	x        *exchange // the command in flight
	wantData bool      // the modem asked for data
	dataLen  int       // bytes it asked for; 0 when the command's length is unknown
	deadline <-chan time.Time
}

// interactive is the console: lines from stdin go to the modem one command
// at a time; everything the modem sends is printed when it arrives.
func (a *atFlags) interactive(ctx context.Context, l *modemLink, events <-chan atEvent, stdin io.Reader, stdout, stderr io.Writer) error {
	in := newConsoleInput(stdin, stdout)
	defer in.close()
	c := &console{a: a, l: l, in: in, out: stdout, errOut: stderr}
	if w := in.writer(); w != nil {
		c.out, c.errOut = w, w
	}
	fmt.Fprintf(c.errOut, "cellmqtt at: talking to %s; type AT commands, Ctrl-D to quit\n", l.Where)
	if l.Broker != nil {
		fmt.Fprintf(c.errOut, "cellmqtt at: every AT+CMQTTCONNECT goes to the embedded broker at %s\n", l.Broker.URL())
	}
	lines := in.lines()
	eof := false
	for {
		input := lines
		if (c.x != nil && !c.wantData) || eof {
			input = nil // one command at a time
		}
		if eof && c.x == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.deadline:
			fmt.Fprintf(c.errOut, "cellmqtt at: no final answer to %s within %s\n", c.x.cmd, a.timeout)
			c.x, c.wantData, c.deadline = nil, false, nil
		case ev, ok := <-input:
			switch {
			case !ok:
				eof = true
				if c.wantData {
					if err := c.cancelData(); err != nil {
						return err
					}
				}
			case ev.cancel && c.wantData:
				if err := c.cancelData(); err != nil {
					return err
				}
			case ev.cancel && ev.interrupt:
				return nil // Ctrl-C at the command prompt quits
			case ev.cancel: // ESC at the command prompt: nothing to cancel
			default:
				if err := c.onLine(ev.line); err != nil {
					return err
				}
			}
		case ev, ok := <-events:
			if !ok {
				return fmt.Errorf("the modem closed the port")
			}
			c.onModem(ev)
		}
	}
}

// onLine handles one line the user typed.
func (c *console) onLine(line string) error {
	if c.wantData {
		if c.dataLen > 0 && len(line) != c.dataLen {
			fmt.Fprintf(c.errOut, "cellmqtt at: the modem asked for %d bytes; this line has %d: type exactly %d, or Ctrl-C to cancel\n", c.dataLen, len(line), c.dataLen)
			return nil
		}
		c.x.data, c.wantData = line, false
		if _, err := io.WriteString(c.l.RW, line); err != nil {
			return fmt.Errorf("writing data: %w", err)
		}
		return nil
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return nil
	}
	if err := checkATLine(line); err != nil {
		fmt.Fprintf(c.errOut, "cellmqtt at: %v; nothing sent\n", err)
		return nil
	}
	c.x = newExchange(line)
	c.deadline = time.After(c.a.timeout)
	if _, err := io.WriteString(c.l.RW, line+"\r"); err != nil {
		return fmt.Errorf("writing %s: %w", line, err)
	}
	return nil
}

// cancelData ends a data prompt with filler bytes.
func (c *console) cancelData() error {
	c.wantData = false
	if c.dataLen == 0 {
		fmt.Fprintf(c.errOut, "cellmqtt at: cannot cancel: the length %s asks for is unknown; type the data\n", c.x.cmd)
		c.wantData = true
		return nil
	}
	fmt.Fprintf(c.errOut, "cellmqtt at: data cancelled: the manuals give no way to abort a data prompt, so %d filler bytes (0x%02X) end it; the modem's answer follows\n", c.dataLen, fillerByte)
	c.x.data = string(bytes.Repeat([]byte{fillerByte}, c.dataLen))
	if _, err := io.WriteString(c.l.RW, c.x.data); err != nil {
		return fmt.Errorf("writing filler: %w", err)
	}
	return nil
}

// onModem handles one line or prompt from the modem.
func (c *console) onModem(ev atEvent) {
	if ev.prompt {
		if c.x == nil {
			fmt.Fprint(c.out, "> ")
			return
		}
		c.wantData = true
		c.dataLen = dataLength(c.x.cmd)
		fmt.Fprint(c.out, "> ")
		return
	}
	show, done := true, false
	if c.x != nil {
		show, done = c.x.onLine(ev.line)
	}
	if show {
		fmt.Fprintln(c.out, ev.line)
	}
	if done {
		if c.x.err != nil {
			fmt.Fprintf(c.errOut, "cellmqtt at: %s\n", c.x.err)
		}
		c.x, c.deadline, c.wantData = nil, nil, false
	}
}

// errInterrupt and errEscape are Ctrl-C and ESC typed in the terminal.
var (
	errInterrupt = errors.New("interrupt")
	errEscape    = errors.New("escape")
)

// inputEvent is a line typed, or a cancel key.
type inputEvent struct {
	line      string
	cancel    bool // Ctrl-C or ESC
	interrupt bool // it was Ctrl-C
}
