package atmodem

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"
)

// Staying in step with the modem (docs/architecture.md, "Staying in step").
//
// The modem answers commands in the order it got them, but an answer can
// come late: after a command timed out, after a USB port stalled and
// replays its backlog, or from a program that used the port before. An
// engine that takes such a late '>' or OK for the answer of its next
// command writes prompt data the modem reads as a command line, or reports
// a command done that the modem never carried out.
//
// So the engine knows whether it is in step: every command it wrote has
// had its whole answer read. It goes out of step when a command ends
// without its terminating line (timeout, cancelled, a final result whose
// OK never came), when a data command ends before its prompt, when an
// answer comes while no command is in flight, and when an inbound message
// is cut short; it starts out of step when the Modem is made (the port may
// hold a previous program's answers). While out of step nothing but a
// marker command is written: a harmless query whose answer has a line no
// pending command can produce. Since answers come in order, once the
// marker's own line and then its final result are read, every earlier
// answer has been read too: the engine is in step again. A marker is never
// a kind still pending, so a late answer of an earlier marker cannot pass
// for the new one.

// markers are the marker commands, in order of preference, with the prefix
// of the information line that proves their answer. Each exists on both
// model families and has no unsolicited form.
var markers = [...]struct{ line, sig string }{
	{"AT+CSQ", "+CSQ:"},
	{"AT+CMEE?", "+CMEE:"},
	{"AT+CGMR", "+CGMR:"},
}

// stalePending is how long a pending marker is waited for before its kind
// may be used again (the modem lost it: a reboot that printed nothing, a
// garbled line).
const stalePending = time.Minute

// stepState is what the engine knows about being in step. It is guarded by
// Modem.mu: the reader changes it as lines come in, the command holder when
// a command ends and when it sends a marker.
type stepState struct {
	out bool // out of step: only markers are written
	// extra is the number of proofs still needed after the next one: 1
	// when the Modem is made (one command of an earlier program may be
	// unanswered), 0 otherwise.
	extra int
	// pending maps the names of commands written whose whole answer was
	// not read (commandName, or the line when it has none) to when they
	// were written. A marker is never of a pending kind.
	pending map[string]time.Time
	// orphanData is the length of the data a modem may still wait for:
	// a data command ended without its prompt.
	orphanData int
	marker     int       // index in markers of the marker in flight, -1 when none
	markerAt   time.Time // when it was written
	markerSig  bool      // its information line was read
	// proved is closed when the engine is back in step; it is made anew
	// each time the engine goes out of step.
	proved chan struct{}
	// again (capacity 1) asks the waiting command holder to write a new
	// marker now: the previous one was proved (another proof is needed)
	// or lost to a reboot.
	again chan struct{}
}

func (s *stepState) init() {
	s.marker = -1
	s.again = make(chan struct{}, 1)
	s.goOut()
	s.extra = 1
}

// goOut leaves step (a no-op when already out). Modem.mu is held.
func (s *stepState) goOut() {
	if s.out {
		return
	}
	s.out = true
	s.proved = make(chan struct{})
	s.marker, s.markerSig = -1, false
}

// pend records that the answer of the command named name may still come.
func (s *stepState) pend(name string) {
	if s.pending == nil {
		s.pending = make(map[string]time.Time, 4)
	}
	s.pending[name] = time.Now()
}

// wake asks the command holder to write a new marker.
func (s *stepState) wake() {
	select {
	case s.again <- struct{}{}:
	default:
	}
}

// pick chooses the marker to write next: the first kind not pending. When
// every kind is pending, one pending for longer than stalePending is taken
// (its answer is taken as lost); otherwise -1 (wait).
func (s *stepState) pick(now time.Time) int {
	oldest, oldestAt := -1, now
	for i, mk := range markers {
		at, pending := s.pending[commandName(mk.line)]
		if !pending {
			return i
		}
		if at.Before(oldestAt) {
			oldest, oldestAt = i, at
		}
	}
	if oldest >= 0 && now.Sub(oldestAt) >= stalePending {
		return oldest
	}
	return -1
}

// onLine looks at a line read while out of step (Modem.mu held; URCs,
// boot messages and echoes were routed before). It reports whether the
// line is the marker's information line (mine) or the final result after
// it (proof); any other line is a late answer to drop.
func (s *stepState) onLine(line string) (mine, proof bool) {
	if s.marker < 0 {
		return false, false
	}
	mk := markers[s.marker]
	switch {
	case strings.EqualFold(line, mk.line):
		return true, false // its echo
	case strings.HasPrefix(line, mk.sig):
		s.markerSig = true
		return true, false
	case s.markerSig && (line == "OK" || isErrorLine(line)):
		return true, true
	}
	return false, false
}

// proved records the proof of the marker in flight. Modem.mu is held.
func (m *Modem) stepProved() {
	s := &m.step
	kind := commandName(markers[s.marker].line)
	s.marker, s.markerSig = -1, false
	clear(s.pending) // every answer before the marker's has been read
	if s.extra > 0 {
		// Another proof is needed; the kind just proved may still have a
		// real answer coming (the proof may have been an earlier
		// program's), so it stays pending.
		s.extra--
		s.pend(kind)
		s.wake()
		return
	}
	s.out = false
	s.orphanData = 0
	close(s.proved)
	m.trace.event("in step with the modem", nil)
}

// stepOut takes the engine out of step after a command ended without its
// whole answer: name is pending, and data (when not nil) may be awaited by
// the modem. Modem.mu is held.
func (m *Modem) stepOut(c *inflight, why string) {
	s := &m.step
	if !s.out {
		m.trace.problem("out of step with the modem ("+why+"): resynchronising", fmt.Errorf("%s", c.redacted()))
	}
	s.goOut()
	s.pend(c.pendingName())
	// The modem waits for the data when its prompt came (seen or lost) and
	// the data was not written: the context can end, or the timer fire,
	// between the prompt and the write.
	if c.req.data != nil && !c.dataSent {
		s.orphanData = len(c.req.data)
	}
}

// pendingName is how c is recorded in stepState.pending.
func (c *inflight) pendingName() string {
	if c.name != "" {
		return c.name
	}
	return c.req.line
}

// inStep waits until the engine is in step with the modem, writing marker
// commands as needed (the caller holds the command token). It fails with
// ErrOutOfStep when ctx ends first; nothing of the caller's command has
// been written then.
func (m *Modem) inStep(ctx context.Context, r request) error {
	for {
		m.mu.Lock()
		if !m.step.out {
			m.mu.Unlock()
			return nil
		}
		if m.err != nil {
			err := m.err
			m.mu.Unlock()
			return err
		}
		s := &m.step
		now := time.Now()
		send := -1
		if s.marker < 0 || now.Sub(s.markerAt) >= m.cfg.resyncTimeout {
			send = s.pick(now)
		}
		var orphan int
		if send >= 0 {
			s.marker, s.markerAt, s.markerSig = send, now, false
			s.pend(commandName(markers[send].line))
			orphan, s.orphanData = s.orphanData, 0
		}
		proved, again := s.proved, s.again
		m.mu.Unlock()

		if send >= 0 {
			if orphan > 0 {
				// A modem that sent a prompt we did not see waits for
				// exactly that many bytes: give them, then a CR. A modem
				// that never prompted answers ERROR to the filler line.
				// Either way it listens for commands again.
				filler := append(bytes.Repeat([]byte{'x'}, orphan), '\r')
				if err := m.write(filler, nil); err != nil {
					return fmt.Errorf("%w: resynchronising: %w", ErrClosed, err)
				}
			}
			if err := m.writeLine(markers[send].line, nil); err != nil {
				return fmt.Errorf("%w: resynchronising: %w", ErrClosed, err)
			}
		}
		t := time.NewTimer(m.cfg.resyncTimeout)
		select {
		case <-proved:
		case <-again:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %s not written: %w", ErrOutOfStep, redactString(r.line, r.redact), ctx.Err())
		case <-m.done:
			t.Stop()
			return m.Err()
		}
		t.Stop()
	}
}

// InStep reports whether the engine is in step with the modem: every
// command it wrote has had its whole answer read. After a timeout it is
// out of step until the next command proves otherwise.
func (m *Modem) InStep() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.step.out
}
