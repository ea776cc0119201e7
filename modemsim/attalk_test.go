package modemsim

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// atTalk drives an emulated modem with raw AT text, as a terminal user or
// a driver would: it writes command lines and reads the bytes that come
// back until a final result, a prompt or an expected URC, with a deadline.
type atTalk struct {
	t    testing.TB
	conn io.ReadWriteCloser

	mu   sync.Mutex
	buf  []byte        // received, not yet consumed
	err  error         // the read error that ended the reader
	more chan struct{} // signalled when buf grows or err is set
	done chan struct{} // closed when the reader goroutine ends
}

// newATTalk starts reading conn; the reader stops when the test closes conn.
func newATTalk(t testing.TB, conn io.ReadWriteCloser) *atTalk {
	a := &atTalk{t: t, conn: conn, more: make(chan struct{}, 1), done: make(chan struct{})}
	go a.read()
	t.Cleanup(func() {
		_ = conn.Close()
		<-a.done
	})
	return a
}

func (a *atTalk) read() {
	defer close(a.done)
	b := make([]byte, 4096)
	for {
		n, err := a.conn.Read(b)
		a.mu.Lock()
		a.buf = append(a.buf, b[:n]...)
		if err != nil {
			a.err = err
		}
		a.mu.Unlock()
		select {
		case a.more <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// until waits until match finds something in the received bytes and
// consumes them up to the end of the match; it returns the consumed bytes
// and the match's end offset in them. It fails the test after testWait.
func (a *atTalk) until(what string, match func([]byte) int) []byte {
	a.t.Helper()
	deadline := time.NewTimer(testWait)
	defer deadline.Stop()
	for {
		a.mu.Lock()
		if end := match(a.buf); end >= 0 {
			got := bytes.Clone(a.buf[:end])
			a.buf = a.buf[end:]
			a.mu.Unlock()
			return got
		}
		err, pending := a.err, string(a.buf)
		a.mu.Unlock()
		if err != nil {
			a.t.Fatalf("waiting for %s: read error %v; received %q", what, err, pending)
		}
		select {
		case <-a.more:
		case <-deadline.C:
			a.t.Fatalf("waiting for %s: nothing within %v; received %q", what, testWait, pending)
		}
	}
}

// write sends bytes to the modem.
func (a *atTalk) write(b []byte) {
	a.t.Helper()
	if _, err := a.conn.Write(b); err != nil {
		a.t.Fatalf("write %q: %v", b, err)
	}
}

// finalResult matches the end of a final result line.
var finalResult = regexp.MustCompile(`(?m)^(OK|ERROR)\r\n`)

// cmd sends an AT command line and returns everything received up to and
// including its final result (OK or ERROR). URCs after it stay unread.
func (a *atTalk) cmd(line string) string {
	a.t.Helper()
	a.write([]byte(line + "\r"))
	return string(a.until(line+" final result", func(b []byte) int {
		if loc := finalResult.FindIndex(b); loc != nil {
			return loc[1]
		}
		return -1
	}))
}

// cmdOK is cmd that fails the test unless the answer ends in OK.
func (a *atTalk) cmdOK(line string) string {
	a.t.Helper()
	got := a.cmd(line)
	if !bytes.HasSuffix([]byte(got), []byte("OK\r\n")) {
		a.t.Fatalf("%s: got %q, want OK", line, got)
	}
	return got
}

// cmdData sends a command that prompts with '>', then data once the prompt
// came, and returns the answer up to the final result.
func (a *atTalk) cmdData(line string, data []byte) string {
	a.t.Helper()
	head := a.prompt(line)
	a.write(data)
	return head + string(a.until(line+" final result", finalAndURC("")))
}

// cmdDataOK is cmdData that fails the test unless the answer ends in OK.
func (a *atTalk) cmdDataOK(line string, data []byte) string {
	a.t.Helper()
	got := a.cmdData(line, data)
	if !bytes.HasSuffix([]byte(got), []byte("OK\r\n")) {
		a.t.Fatalf("%s: got %q, want OK", line, got)
	}
	return got
}

// prompt sends a command line and waits for its '>' prompt.
func (a *atTalk) prompt(line string) string {
	a.t.Helper()
	a.write([]byte(line + "\r"))
	head := a.until(line+" prompt", func(b []byte) int {
		if i := bytes.IndexByte(b, '>'); i >= 0 {
			return i + 1
		}
		if loc := finalResult.FindIndex(b); loc != nil {
			return loc[1]
		}
		return -1
	})
	if !bytes.HasSuffix(head, []byte(">")) {
		a.t.Fatalf("%s: no prompt, got %q", line, head)
	}
	return string(head)
}

// cmdResult sends a command whose outcome is a "+CMQTT<CMD>: ..." result
// line that may come before or after its final result, and returns the
// whole answer and that line. With data, the command prompts for it.
func (a *atTalk) cmdResult(line string, data []byte, urcPrefix string) (answer, result string) {
	a.t.Helper()
	var head string
	if data != nil {
		head = a.prompt(line)
		a.write(data)
	} else {
		a.write([]byte(line + "\r"))
	}
	got := string(a.until(line+" result "+urcPrefix, finalAndURC(urcPrefix)))
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(urcPrefix) + `[^\r\n]*`).FindString(got)
	return head + got, m
}

// finalAndURC matches once a final result and, when prefix is not empty,
// a line starting with prefix were both received, in either order.
func finalAndURC(prefix string) func([]byte) int {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(prefix) + `[^\r\n]*\r\n`)
	return func(b []byte) int {
		f := finalResult.FindIndex(b)
		if f == nil {
			return -1
		}
		if prefix == "" {
			return f[1]
		}
		if bytes.HasPrefix(b[f[0]:], []byte("ERROR")) {
			return f[1] // a failure's result line, if any, comes before ERROR
		}
		u := re.FindIndex(b)
		if u == nil {
			return -1
		}
		return max(f[1], u[1])
	}
}

// waitLine waits for a line starting with prefix and returns it without
// its line end; lines before it are consumed.
func (a *atTalk) waitLine(prefix string) string {
	a.t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(prefix) + `[^\r\n]*\r\n`)
	var line string
	a.until(strconv.Quote(prefix), func(b []byte) int {
		loc := re.FindIndex(b)
		if loc == nil {
			return -1
		}
		line = string(b[loc[0] : loc[1]-2])
		return loc[1]
	})
	return line
}

// rxMessageAT is one inbound message read from its RX URC sequence.
type rxMessageAT struct {
	topic, payload []byte
	topicChunks    []int
	payloadChunks  []int
}

var rxStart = regexp.MustCompile(`\+CMQTTRXSTART: (\d),(\d+),(\d+)\r\n`)

// readRX reads one RX URC sequence of index idx by length, as a driver
// must: the data may contain CR, LF and text that looks like results.
func (a *atTalk) readRX(idx int) rxMessageAT {
	a.t.Helper()
	var total [2]int
	a.until("+CMQTTRXSTART", func(b []byte) int {
		m := rxStart.FindSubmatchIndex(b)
		if m == nil {
			return -1
		}
		if got, _ := strconv.Atoi(string(b[m[2]:m[3]])); got != idx {
			a.t.Fatalf("+CMQTTRXSTART for index %d, want %d", got, idx)
		}
		total[0], _ = strconv.Atoi(string(b[m[4]:m[5]]))
		total[1], _ = strconv.Atoi(string(b[m[6]:m[7]]))
		return m[1]
	})
	var msg rxMessageAT
	for len(msg.topic) < total[0] {
		chunk := a.readChunk(fmt.Sprintf("+CMQTTRXTOPIC: %d,", idx))
		msg.topic = append(msg.topic, chunk...)
		msg.topicChunks = append(msg.topicChunks, len(chunk))
	}
	for len(msg.payload) < total[1] {
		chunk := a.readChunk(fmt.Sprintf("+CMQTTRXPAYLOAD: %d,", idx))
		msg.payload = append(msg.payload, chunk...)
		msg.payloadChunks = append(msg.payloadChunks, len(chunk))
	}
	end := fmt.Sprintf("+CMQTTRXEND: %d\r\n", idx)
	got := a.until(strconv.Quote(end), func(b []byte) int {
		if len(b) < len(end) {
			return -1
		}
		return len(end)
	})
	if string(got) != end {
		a.t.Fatalf("after the RX data: got %q, want %q", got, end)
	}
	if len(msg.topic) != total[0] || len(msg.payload) != total[1] {
		a.t.Fatalf("RX lengths: topic %d payload %d, announced %d and %d", len(msg.topic), len(msg.payload), total[0], total[1])
	}
	return msg
}

// readChunk reads "<header><n>\r\n" then n data bytes and their "\r\n",
// which must come next.
func (a *atTalk) readChunk(header string) []byte {
	a.t.Helper()
	var n int
	head := a.until(strconv.Quote(header), func(b []byte) int {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			return -1
		}
		return i + 2
	})
	if !bytes.HasPrefix(head, []byte(header)) {
		a.t.Fatalf("got %q, want a line starting with %q", head, header)
	}
	n, err := strconv.Atoi(string(head[len(header) : len(head)-2]))
	if err != nil {
		a.t.Fatalf("bad chunk length in %q", head)
	}
	data := a.until(fmt.Sprintf("%d data bytes", n), func(b []byte) int {
		if len(b) < n+2 {
			return -1
		}
		return n + 2
	})
	if !bytes.HasSuffix(data, []byte("\r\n")) {
		a.t.Fatalf("chunk of %d bytes not followed by CRLF: %q", n, data)
	}
	return data[:n]
}
