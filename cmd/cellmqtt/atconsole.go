package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// atEvent is what the modem sent: one line, or a data prompt ('>').
type atEvent struct {
	line   string
	prompt bool
}

// atScanner splits the modem's output into lines and data prompts. A prompt
// is ">" (or "> ") at the start of a line with no line end after it: it is
// recognised as soon as the '>' arrives, without waiting for a newline,
// because the modem then waits for the data.
type atScanner struct {
	cur       []byte
	skipSpace bool // drop the space of "> "
}

// feed consumes p and calls emit for every complete line (CR and LF
// stripped, empty lines skipped) and every prompt.
func (s *atScanner) feed(p []byte, emit func(atEvent)) {
	for _, b := range p {
		if s.skipSpace {
			s.skipSpace = false
			if b == ' ' {
				continue
			}
		}
		if b == '\n' {
			line := strings.TrimRight(string(s.cur), "\r")
			s.cur = s.cur[:0]
			if line = strings.TrimLeft(line, "\x00"); line != "" {
				emit(atEvent{line: line})
			}
			continue
		}
		s.cur = append(s.cur, b)
		if b == '>' && len(bytes.Trim(s.cur, "\r\x00")) == 1 {
			s.cur = s.cur[:0]
			s.skipSpace = true
			emit(atEvent{prompt: true})
		}
	}
}

// readATEvents reads the modem until EOF and sends its lines and prompts to
// events, which it closes at the end.
func readATEvents(r io.Reader, events chan<- atEvent) {
	defer close(events)
	var sc atScanner
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		sc.feed(buf[:n], func(e atEvent) { events <- e })
		if err != nil {
			return
		}
	}
}

// finalResult reports whether line ends a plain AT command.
func finalResult(line string) (ok, final bool) {
	switch {
	case line == "OK":
		return true, true
	case line == "ERROR", strings.HasPrefix(line, "+CME ERROR"), strings.HasPrefix(line, "+CMS ERROR"):
		return false, true
	}
	return false, false
}

// asyncResult returns the result line prefix that finishes an MQTT command
// after its OK (docs/architecture.md, How real firmware behaves), e.g.
// "+CMQTTCONNECT:" for AT+CMQTTCONNECT=..., or "" when OK finishes the
// command.
func asyncResult(cmd string) string {
	c := strings.ToUpper(strings.TrimSpace(cmd))
	if !strings.HasPrefix(c, "AT+CMQTT") || strings.HasSuffix(c, "?") || strings.HasSuffix(c, "=?") {
		return ""
	}
	name, _, write := strings.Cut(strings.TrimPrefix(c, "AT+"), "=")
	switch name {
	case "CMQTTSTART", "CMQTTSTOP":
		if !write {
			return "+" + name + ":"
		}
	case "CMQTTCONNECT", "CMQTTDISC", "CMQTTPUB", "CMQTTSUB", "CMQTTUNSUB":
		if write {
			return "+" + name + ":"
		}
	}
	return ""
}

// resultPrefix returns the "+CMQTT<CMD>:" prefix of the result line that
// carries the <err> of an MQTT write or execute command (e.g. "+CMQTTREL:"
// for AT+CMQTTREL=0), or "" for other commands and for read and test
// forms, whose lines carry values, not result codes.
func resultPrefix(cmd string) string {
	c := strings.ToUpper(strings.TrimSpace(cmd))
	if !strings.HasPrefix(c, "AT+CMQTT") || strings.HasSuffix(c, "?") {
		return ""
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(c, "AT+"), "=")
	return "+" + name + ":"
}

// resultCodeOf returns the <err> of an MQTT result line such as
// "+CMQTTCONNECT: 0,30" or "+CMQTTSTART: 23".
func resultCodeOf(line string) (int, bool) {
	_, rest, ok := strings.Cut(line, ":")
	if !ok {
		return 0, false
	}
	fields := strings.Split(strings.TrimSpace(rest), ",")
	last := strings.TrimSpace(fields[len(fields)-1])
	n := 0
	for _, r := range last {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, last != ""
}

// tracedPort copies the bytes each way of an AT port to a writer, as
// --trace does for the engine, for the raw console.
type tracedPort struct {
	io.ReadWriteCloser
	mu  sync.Mutex
	log io.Writer
}

// trace writes one timestamped run of bytes.
func (t *tracedPort) trace(arrow string, p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.log, "%s %s %q\n", time.Now().Format("15:04:05.000"), arrow, p)
}

// Read reads from the port and traces what came.
func (t *tracedPort) Read(p []byte) (int, error) {
	n, err := t.ReadWriteCloser.Read(p)
	if n > 0 {
		t.trace("<", p[:n])
	}
	return n, err
}

// Write traces p and writes it to the port.
func (t *tracedPort) Write(p []byte) (int, error) {
	t.trace(">", p)
	return t.ReadWriteCloser.Write(p)
}
