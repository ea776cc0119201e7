package modemsim

import (
	"bytes"
	"io"
	"sync"
	"testing"
	"time"
)

// atHost is the host side of a test: it writes raw AT text and checks the
// exact bytes the emulated modem answers.
type atHost struct {
	t    testing.TB
	conn io.ReadWriteCloser

	mu   sync.Mutex
	buf  []byte
	eof  bool
	more chan struct{}
	done chan struct{}
}

// newHost reads conn in the background until it ends; the test's cleanup
// closes conn and waits for the reader.
func newHost(t testing.TB, conn io.ReadWriteCloser) *atHost {
	h := &atHost{t: t, conn: conn, more: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		b := make([]byte, 4096)
		for {
			n, err := conn.Read(b)
			h.mu.Lock()
			h.buf = append(h.buf, b[:n]...)
			if err != nil {
				h.eof = true
			}
			h.mu.Unlock()
			select {
			case h.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-h.done
	})
	return h
}

// startSim starts an emulator closed with the test and a host on its Conn.
func startSim(t testing.TB, cfg Config) (*Sim, *atHost) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, newHost(t, s.Conn())
}

func (h *atHost) send(s string) {
	h.t.Helper()
	if _, err := h.conn.Write([]byte(s)); err != nil {
		h.t.Fatalf("write %q: %v", s, err)
	}
}

// waitFor blocks until cond holds for the received bytes, or fails.
func (h *atHost) waitFor(what string, cond func(b []byte) bool) {
	h.t.Helper()
	deadline := time.NewTimer(testWait)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		ok, eof, got := cond(h.buf), h.eof, string(h.buf)
		h.mu.Unlock()
		if ok {
			return
		}
		if eof {
			h.t.Fatalf("EOF while waiting for %s; got %q", what, got)
		}
		select {
		case <-h.more:
		case <-deadline.C:
			h.t.Fatalf("no %s within %v; got %q", what, testWait, got)
		}
	}
}

// expect consumes exactly want from the received bytes.
func (h *atHost) expect(want string) {
	h.t.Helper()
	h.waitFor(want, func(b []byte) bool { return len(b) >= len(want) })
	h.mu.Lock()
	got := string(h.buf[:len(want)])
	h.buf = h.buf[len(want):]
	h.mu.Unlock()
	if got != want {
		h.t.Fatalf("got %q\nwant %q", got, want)
	}
}

// expectAnyOrder consumes the given parts, which may come in any order.
func (h *atHost) expectAnyOrder(parts ...string) {
	h.t.Helper()
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	h.waitFor("parts", func(b []byte) bool { return len(b) >= total })
	h.mu.Lock()
	got := h.buf[:total]
	h.buf = h.buf[total:]
	h.mu.Unlock()
	rest := append([]byte(nil), got...)
	remaining := append([]string(nil), parts...)
	for len(remaining) > 0 {
		found := false
		for i, p := range remaining {
			if bytes.HasPrefix(rest, []byte(p)) {
				rest = rest[len(p):]
				remaining = append(remaining[:i], remaining[i+1:]...)
				found = true
				break
			}
		}
		if !found {
			h.t.Fatalf("got %q\nwant the parts %q in any order", got, parts)
		}
	}
}

// cmd sends a command line and expects its exact answer.
func (h *atHost) cmd(line, answer string) {
	h.t.Helper()
	h.send(line + "\r")
	h.expect(answer)
}

// data sends a data-input command line, expects its prompt, sends data and
// expects the exact answer that follows.
func (h *atHost) data(line, data, answer string) {
	h.t.Helper()
	h.cmd(line, "\r\n>")
	h.send(data)
	h.expect(answer)
}

// quiet checks that nothing more arrived after the modem became idle.
func (h *atHost) quiet(s *Sim) {
	h.t.Helper()
	h.waitIdle(s)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.buf) > 0 {
		h.t.Fatalf("unexpected bytes %q", h.buf)
	}
}

// waitIdle waits until the modem has written everything it queued and the
// host has read it: a round trip through AT proves both.
func (h *atHost) waitIdle(s *Sim) {
	h.t.Helper()
	deadline := time.Now().Add(testWait)
	for !s.out.idle() {
		if time.Now().After(deadline) {
			h.t.Fatal("modem output not idle")
		}
		time.Sleep(time.Millisecond)
	}
}
