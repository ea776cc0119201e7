//go:build unix

package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/cellmqtt/cellmqtt/modemsim"
)

// screen collects what the console writes to its terminal.
type screen struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	close(s.changed)
	s.changed = make(chan struct{})
	return len(p), nil
}

// waitFor waits until text appeared n times on the screen.
func (s *screen) waitFor(t *testing.T, text string, n int) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := strings.Count(s.b.String(), text), s.changed
		s.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("%q shown %d times, want %d; screen:\n%q", text, got, n, s.b.String())
		}
	}
}

// hostBytes is everything the console wrote to the modem.
func hostBytes(sim *modemsim.Sim) []byte {
	var out []byte
	for _, e := range sim.Transcript() {
		if e.Dir == modemsim.ToModem {
			out = append(out, e.Data...)
		}
	}
	return out
}

// TestATConsoleTerminal drives "cellmqtt at" in a pseudo-terminal as a
// person would: an arrow key recalls the last command (nothing of the key
// reaches the modem), a line that is not an AT command is refused at once,
// a data line of the wrong length is refused, Ctrl-C at the data prompt
// cancels it and the console stays in step with the modem, Ctrl-D quits.
func TestATConsoleTerminal(t *testing.T) {
	sim, err := modemsim.New(modemsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	addr, err := sim.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer master.Close()
	scr := &screen{changed: make(chan struct{})}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			scr.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"at", "--port", "tcp://" + addr.String(), "--timeout", "20"}, tty, tty, tty)
	}()
	key := func(s string) {
		t.Helper()
		if _, err := master.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	scr.waitFor(t, "type AT commands", 1)

	key("AT+CSQ\r")
	scr.waitFor(t, "+CSQ: ", 1)
	key("\x1b[A") // up arrow: the last command again
	key("\r")
	scr.waitFor(t, "+CSQ: ", 2)
	if got := strings.Count(string(hostBytes(sim)), "AT+CSQ\r"); got != 2 {
		t.Errorf("AT+CSQ sent %d times, want 2: %q", got, hostBytes(sim))
	}

	key("hello\r")
	scr.waitFor(t, `"hello" is not an AT command`, 1)

	key("AT+CMQTTSTART\r")
	scr.waitFor(t, "+CMQTTSTART: 0", 1)
	key(`AT+CMQTTACCQ=0,"pty"` + "\r")
	scr.waitFor(t, "OK", 4) // CSQ, CSQ, START, ACCQ
	key("AT+CMQTTTOPIC=0,5\r")
	scr.waitFor(t, "> ", 1)
	key("abc\r")
	scr.waitFor(t, "the modem asked for 5 bytes; this line has 3", 1)
	key("\x03") // Ctrl-C: cancel the data prompt
	scr.waitFor(t, "data cancelled", 1)
	scr.waitFor(t, "+CMQTTTOPIC: 0,2", 1) // the filler is not UTF-8: refused
	key("AT\r")
	scr.waitFor(t, "OK", 5) // in step: AT's own OK

	key("\x04") // Ctrl-D quits
	select {
	case c := <-code:
		if c != exitOK {
			t.Errorf("exit %d", c)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the console did not quit on Ctrl-D")
	}
	sent := hostBytes(sim)
	for _, bad := range []string{"\x1b", "hello", "abc"} {
		if bytes.Contains(sent, []byte(bad)) {
			t.Errorf("%q reached the modem: %q", bad, sent)
		}
	}
	if !bytes.Contains(sent, []byte("AT+CMQTTTOPIC=0,5\r\xff\xff\xff\xff\xff")) {
		t.Errorf("the cancel did not end the data block with 5 filler bytes: %q", sent)
	}
	tty.Close()
	master.Close()
	<-copied
}
