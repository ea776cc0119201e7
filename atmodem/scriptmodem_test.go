package atmodem

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// scriptModem is a fake modem port for tests: an io.ReadWriteCloser driven
// by a script of steps. Each step waits until the engine has written exactly
// step.expect (byte for byte, across any number of Write calls), then makes
// step.reply readable. A step with an empty expect replies as soon as the
// step before it is done (use it first for bytes the modem sends before any
// command, e.g. a boot message, or after another step for URCs).
//
// How replies are cut into Reads is the delivery mode: deliverWhole returns
// each reply in one Read (as far as the buffer allows), deliverBytes one
// byte per Read, deliverChunks random chunk sizes from a seeded generator,
// deliverSplit(k) each reply in two Reads cut after k bytes (loop k over a
// reply to split it at every byte boundary).
// Run a test under every mode with forEachDelivery.
//
// Usage:
//
//	sm := newScriptModem(t, mode,
//		step{expect: "AT+CMQTTTOPIC=0,3\r", reply: "\r\n>"},
//		step{expect: "a/b", reply: "\r\nOK\r\n"},
//	)
//	m := New(sm)
//	defer m.Close()
//	... run commands ...
//	sm.verify(t) // every step done, nothing unexpected written
//
// Bytes written that differ from the expected ones are recorded (and
// nothing more is replied); verify reports them. inject sends bytes at any
// time (an unsolicited result between two steps); hangup makes the next
// Read return io.EOF once the queued bytes are read (an unplugged modem).
// written returns everything the engine wrote; reached and wroteAny tell
// when the engine got that far.
type scriptModem struct {
	mode delivery
	rnd  *rand.Rand

	mu      sync.Mutex
	cond    *sync.Cond
	steps   []step
	next    int    // index of the step waiting for its expect
	pending []byte // bytes written that are not yet matched
	all     []byte // every byte written
	queue   [][]byte
	eof     bool // the modem hung up: EOF after the queue
	closed  bool // Close was called
	failure string
	done    chan struct{} // closed when every step is done
	// waiters are closed when their step count is reached (reached), or
	// at the first write (index -1: wroteAny).
	waiters map[int][]chan struct{}
}

// inStep starts the engine in step with the modem: a scripted test of
// another feature does not begin with the marker exchange every Modem
// starts with (TestOpenSync tests that), nor with ATE0 (TestEchoOffAtOpen).
func inStep() Option { return func(c *config) { c.inStep, c.keepEcho = true, true } }

// markerCSQ is the first marker, answered: what the engine writes to get
// back in step after a command whose answer it did not read whole.
var markerCSQ = step{expect: "AT+CSQ\r", reply: "\r\n+CSQ: 20,99\r\n\r\nOK\r\n"}

// step is one exchange of a scriptModem: the bytes the engine must write
// and the bytes the modem answers.
type step struct {
	expect string // bytes the engine writes next; "" replies right away
	reply  string // bytes the modem sends once expect was written
	hangup bool   // after the reply, the modem hangs up (Read returns io.EOF)
}

// delivery says how a scriptModem cuts replies into Reads.
type delivery struct {
	name  string
	bytes bool   // one byte per Read
	seed  uint64 // non-zero: random chunks from this seed
	split int    // non-zero: each reply in two Reads, cut after split bytes
}

// deliverSplit cuts each reply in two after k bytes.
func deliverSplit(k int) delivery { return delivery{name: fmt.Sprintf("split%d", k), split: k} }

var (
	deliverWhole = delivery{name: "whole"}
	deliverBytes = delivery{name: "bytes", bytes: true}
)

// deliverChunks cuts replies into random chunks of 1..16 bytes.
func deliverChunks(seed uint64) delivery {
	return delivery{name: fmt.Sprintf("chunks%d", seed), seed: seed}
}

// deliveries are the modes forEachDelivery runs.
var deliveries = []delivery{deliverWhole, deliverBytes, deliverChunks(1), deliverChunks(7)}

// forEachDelivery runs f as a subtest once per delivery mode.
func forEachDelivery(t *testing.T, f func(t *testing.T, mode delivery)) {
	t.Helper()
	for _, mode := range deliveries {
		t.Run(mode.name, func(t *testing.T) { f(t, mode) })
	}
}

// newScriptModem returns a fake modem that plays steps.
func newScriptModem(t testing.TB, mode delivery, steps ...step) *scriptModem {
	t.Helper()
	s := &scriptModem{mode: mode, steps: steps, done: make(chan struct{})}
	if mode.seed != 0 {
		s.rnd = rand.New(rand.NewPCG(mode.seed, mode.seed^0x9e3779b97f4a7c15))
	}
	s.cond = sync.NewCond(&s.mu)
	s.mu.Lock()
	s.advance()
	s.mu.Unlock()
	return s
}

// advance plays the steps that need no more bytes. s.mu is held.
func (s *scriptModem) advance() {
	for s.failure == "" && s.next < len(s.steps) {
		st := s.steps[s.next]
		if len(s.pending) < len(st.expect) {
			if !strings.HasPrefix(st.expect, string(s.pending)) {
				s.fail(st)
			}
			return
		}
		if string(s.pending[:len(st.expect)]) != st.expect {
			s.fail(st)
			return
		}
		s.pending = s.pending[len(st.expect):]
		s.next++
		s.wake(s.next)
		s.enqueue([]byte(st.reply))
		if st.hangup {
			s.eof = true
		}
	}
	if s.next == len(s.steps) {
		select {
		case <-s.done:
		default:
			close(s.done)
		}
		if len(s.pending) > 0 && s.failure == "" {
			s.failure = fmt.Sprintf("engine wrote %q after the last step", s.pending)
		}
	}
}

func (s *scriptModem) fail(st step) {
	s.failure = fmt.Sprintf("step %d: engine wrote %q, script expects %q", s.next, s.pending, st.expect)
}

// enqueue makes p readable, cut by the delivery mode. s.mu is held.
func (s *scriptModem) enqueue(p []byte) {
	if k := s.mode.split; k > 0 && k < len(p) {
		s.queue = append(s.queue, append([]byte(nil), p[:k]...), append([]byte(nil), p[k:]...))
		s.cond.Broadcast()
		return
	}
	for len(p) > 0 {
		n := len(p)
		switch {
		case s.mode.bytes:
			n = 1
		case s.rnd != nil:
			n = min(1+s.rnd.IntN(16), len(p))
		}
		s.queue = append(s.queue, append([]byte(nil), p[:n]...))
		p = p[n:]
	}
	s.cond.Broadcast()
}

// inject makes reply readable now, whatever step the script is at.
func (s *scriptModem) inject(reply string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueue([]byte(reply))
}

// add appends steps to the script (after waitSteps saw the earlier ones
// done) and plays what they already have.
func (s *scriptModem) add(steps ...step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		s.done = make(chan struct{})
	default:
	}
	s.steps = append(s.steps, steps...)
	s.advance()
}

// Read returns the next chunk of the replies.
func (s *scriptModem) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queue) == 0 && !s.eof && !s.closed {
		s.cond.Wait()
	}
	if s.closed {
		return 0, io.ErrClosedPipe
	}
	if len(s.queue) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.queue[0])
	if n == len(s.queue[0]) {
		s.queue = s.queue[1:]
	} else {
		s.queue[0] = s.queue[0][n:]
	}
	return n, nil
}

// Write takes bytes from the engine and plays the steps they complete.
func (s *scriptModem) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, io.ErrClosedPipe
	}
	s.all = append(s.all, p...)
	if len(p) > 0 {
		s.wake(-1)
	}
	s.pending = append(s.pending, p...)
	s.advance()
	return len(p), nil
}

// Close unblocks Read and fails later calls.
func (s *scriptModem) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.cond.Broadcast()
	return nil
}

// reached returns a channel closed once the first n steps are done.
func (s *scriptModem) reached(n int) <-chan struct{} {
	return s.waiter(n, func() bool { return s.next >= n })
}

// wroteAny returns a channel closed once the engine wrote a byte.
func (s *scriptModem) wroteAny() <-chan struct{} {
	return s.waiter(-1, func() bool { return len(s.all) > 0 })
}

// waiter returns a channel for key, closed already when now reports true
// (called with s.mu held).
func (s *scriptModem) waiter(key int, now func() bool) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	if now() {
		close(ch)
		return ch
	}
	if s.waiters == nil {
		s.waiters = make(map[int][]chan struct{})
	}
	s.waiters[key] = append(s.waiters[key], ch)
	return ch
}

// wake closes the waiters of key (-1: a write) and, for a step count, of
// every count up to it. s.mu is held.
func (s *scriptModem) wake(key int) {
	for k, chs := range s.waiters {
		if k == key || (key >= 0 && k >= 0 && k <= key) {
			for _, ch := range chs {
				close(ch)
			}
			delete(s.waiters, k)
		}
	}
}

// written returns every byte the engine wrote.
func (s *scriptModem) written() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.all)
}

// waitSteps waits (up to 5 s) until every step is done.
func (s *scriptModem) waitSteps(t testing.TB) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.mu.Lock()
		defer s.mu.Unlock()
		t.Fatalf("script stuck at step %d of %d (pending %q, failure %q)", s.next, len(s.steps), s.pending, s.failure)
	}
}

// verify fails t when a write did not match the script or a step is left.
func (s *scriptModem) verify(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failure != "" {
		t.Errorf("script: %s", s.failure)
	}
	if s.next < len(s.steps) {
		t.Errorf("script: stopped at step %d of %d (expects %q, engine wrote %q)", s.next, len(s.steps), s.steps[s.next].expect, s.pending)
	}
}
