package atmodem

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Results after OK (docs/architecture.md, "Results after OK").
//
// AT+CMQTTPUB, SUB, UNSUB and CONNECT are accepted with OK and finish on a
// "+CMQTT<CMD>: <idx>,<err>" result that comes when the broker answered:
// a round trip later. The engine gives the port back at the OK: the
// command waits in Modem.waiting and its result is read like a URC, so the
// other client index (and, within the publish window, the same index) can
// write commands meanwhile. The results carry no packet identifier, so a
// result goes to the oldest command of its name and index that waits.
//
// That matching is sound only while every command of a kind written on an
// index gets exactly one result, in order. When that can no longer be
// known (a result did not come in time, a command ended before its answer
// was read, an ERROR that may be a command's own refusal or an earlier
// command's result), the index is fenced: the PUB, SUB and UNSUB results of
// the index are dropped, what waits for one ends with ErrResultsUnmatched,
// and the session makes the connection again with AT+CMQTTDISC first
// before it sends anything on the index (Session.Connect unfences it).

// detachName reports whether name is the result of a command that gives
// the port back at its OK.
func detachName(name string) bool {
	switch name {
	case "+CMQTTPUB", "+CMQTTSUB", "+CMQTTUNSUB", "+CMQTTCONNECT":
		return true
	}
	return false
}

// fencedName reports whether the results of name are dropped on a fenced
// index. CONNECT's are not: a CONNECT is what makes the index usable again.
func fencedName(name string) bool { return name != "+CMQTTCONNECT" }

// detachResult parses a "+CMQTT<PUB|SUB|UNSUB|CONNECT>: <idx>,<err>" line.
func detachResult(line string) (name string, idx int, code ResultCode, ok bool) {
	name, rest, ok := resultName(line)
	if !ok || !detachName(name) {
		return "", 0, 0, false
	}
	idx, code, ok = parseResult(rest)
	if !ok || idx < 0 {
		return "", 0, 0, false
	}
	return name, idx, code, true
}

// routeResult routes a result line of a detach command. It returns false
// when the line is left to the usual handling: the result of the command
// in flight before its OK with nothing older waiting, or a stray result.
// m.mu is held.
func (m *Modem) routeResult(name string, idx int, code ResultCode, line string) bool {
	if m.fenced[idx] && fencedName(name) {
		m.trace.problem("result dropped: the results of this client index can no longer be matched", fmt.Errorf("%q", line))
		return true
	}
	if c := m.cur; c != nil && c.req.detach && c.req.final == name && c.req.index == idx && !c.sawOK {
		if m.countWaiting(name, idx) == 0 {
			return false // its own result before OK
		}
		// Before its OK: an earlier command's result, or its own (which
		// can come before OK). How its answer ends tells (resolveHeld).
		c.held = append(c.held, code)
		return true
	}
	if w := m.oldestWaiting(name, idx); w != nil {
		m.deliver(w, code)
		return true
	}
	return false
}

// countWaiting is the number of commands of name and index waiting.
func (m *Modem) countWaiting(name string, idx int) int {
	n := 0
	for _, w := range m.waiting {
		if w.req.final == name && w.req.index == idx {
			n++
		}
	}
	return n
}

// oldestWaiting returns the command of name and index that waits longest.
func (m *Modem) oldestWaiting(name string, idx int) *inflight {
	for _, w := range m.waiting {
		if w.req.final == name && w.req.index == idx {
			return w
		}
	}
	return nil
}

// resolveHeld decides, at the line that ends c's answer (OK or an error
// line), whose the results held for c are. The modem answers commands in
// order and each command of a kind gets one result, so with w older
// commands of c's kind waiting and h results held:
//
//   - OK: the first min(h, w) are theirs; one more is c's own (a result
//     before OK); more than that cannot be.
//   - an error line, h > w: w are theirs, the last is c's own refusal
//     ("+CMQTTPUB: i,14" then ERROR).
//   - an error line, h <= w: either all h are theirs and c got a bare
//     ERROR, or the last is c's refusal. A refusal carries a failure
//     code, so a last result 0 is theirs. Otherwise the first h-1 are
//     theirs and the last is known to nobody: when it was the last older
//     command's, that command keeps waiting (its result, if c refused,
//     still comes; if not, it times out and fences the index); when
//     more commands wait after it, their results can no longer be
//     matched and the index is fenced.
//
// m.mu is held.
func (m *Modem) resolveHeld(c *inflight, gotOK bool) {
	held := c.held
	c.held = nil
	var older []*inflight
	for _, w := range m.waiting {
		if w.req.final == c.req.final && w.req.index == c.req.index {
			older = append(older, w)
		}
	}
	h, w := len(held), len(older)
	own := func(code ResultCode) { c.sawFinal, c.code = true, code }
	switch {
	case h > w+1:
		m.fence(c.req.index, fmt.Sprintf("%d results of %s for %d commands", h, c.req.final, w+1))
		return
	case gotOK || h > w:
		m.deliverAll(older[:min(h, w)], held)
		if h == w+1 {
			own(held[h-1])
		}
	case held[h-1] == CodeOK:
		m.deliverAll(older[:h], held)
	default:
		m.deliverAll(older[:h-1], held)
		c.note = fmt.Sprintf(" (after \"%s: %d,%d\", which may be its own refusal or an earlier command's result)", c.req.final, c.req.index, int(held[h-1]))
		if h < w {
			m.fence(c.req.index, "an ERROR that cannot be told from an earlier command's result")
		}
	}
}

// deliverAll gives codes[i] to ws[i].
func (m *Modem) deliverAll(ws []*inflight, codes []ResultCode) {
	for i, w := range ws {
		m.deliver(w, codes[i])
	}
}

// accept makes c, accepted with OK, wait for its result: the port is free
// for the next command. m.mu is held.
func (m *Modem) accept(c *inflight) {
	c.accepted, c.terminated = true, true
	m.detach(c)
	m.waiting = append(m.waiting, c)
	m.armResultTimer(c.deadline)
	c.signal()
	c.notify = nil
}

// armResultTimer makes the Modem's one result timer fire by deadline at
// the latest. m.mu is held.
func (m *Modem) armResultTimer(deadline time.Time) {
	if m.resultTimer == nil {
		m.resultTimer = time.AfterFunc(time.Until(deadline), m.resultsDue)
		m.resultDue = deadline
		return
	}
	if m.resultArmed && !deadline.Before(m.resultDue) {
		return
	}
	m.resultTimer.Reset(time.Until(deadline))
	m.resultDue, m.resultArmed = deadline, true
}

// resultsDue runs on the result timer: every command whose result did not
// come by its deadline times out (resultTimedOut), and the timer is armed
// for the next deadline.
func (m *Modem) resultsDue() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resultArmed = false
	now := time.Now()
	var next time.Time
	for _, w := range slices.Clone(m.waiting) {
		switch {
		case w.finished:
		case !now.Before(w.deadline):
			m.resultTimedOut(w)
		case next.IsZero() || w.deadline.Before(next):
			next = w.deadline
		}
	}
	if !next.IsZero() {
		m.armResultTimer(next)
	}
}

// deliver completes w with its result. m.mu is held.
func (m *Modem) deliver(w *inflight, code ResultCode) {
	m.unwait(w)
	w.seq = m.seq
	w.sawFinal, w.code = true, code
	w.finishFinal()
}

// unwait removes w from the commands waiting. m.mu is held.
func (m *Modem) unwait(w *inflight) {
	for i, x := range m.waiting {
		if x == w {
			n := len(m.waiting) - 1
			copy(m.waiting[i:], m.waiting[i+1:])
			m.waiting[n] = nil
			m.waiting = m.waiting[:n]
			return
		}
	}
}

// resultTimedOut ends c, whose result did not come in time. A later
// result of its index could be its own, so a PUB's, SUB's or UNSUB's fences
// the index. m.mu is held.
func (m *Modem) resultTimedOut(c *inflight) {
	if c.finished {
		return
	}
	m.unwait(c)
	c.seq = m.seq
	err := fmt.Errorf("%w: %s: no result in time", ErrTimeout, c.redacted())
	if fencedName(c.req.final) {
		err = fmt.Errorf("%w: %s: no result in time: %w", ErrTimeout, c.redacted(), ErrResultsUnmatched)
		m.fence(c.req.index, "a result did not come in time")
	}
	c.finish(err)
}

// fence stops the matching of the PUB, SUB and UNSUB results of index i
// (see the comment at the top of this file): the commands of the index
// that wait for one end with ErrResultsUnmatched, and so does the command
// in flight on the index at its OK. m.mu is held.
func (m *Modem) fence(i int, why string) {
	if !m.fenced[i] {
		m.trace.problem(fmt.Sprintf("results of client %d can no longer be matched (%s): its connection is made again", i, why), nil)
	}
	if m.fenced == nil {
		m.fenced = make(map[int]bool, 2)
	}
	m.fenced[i] = true
	err := fmt.Errorf("%w: client %d: %s", ErrResultsUnmatched, i, why)
	for _, w := range m.waitingOf(i, fencedName) {
		m.unwait(w)
		w.seq = m.seq
		w.finish(fmt.Errorf("%s: %w", w.redacted(), err))
	}
	if c := m.cur; c != nil && c.req.detach && c.req.index == i && fencedName(c.req.final) {
		c.held = nil
		c.unmatched = fmt.Errorf("%s: %w", c.redacted(), err)
	}
}

// waitingOf returns the commands of index i (every index for -1) that wait
// and whose result name passes keep.
func (m *Modem) waitingOf(i int, keep func(name string) bool) []*inflight {
	var out []*inflight
	for _, w := range m.waiting {
		if (i < 0 || w.req.index == i) && keep(w.req.final) {
			out = append(out, w)
		}
	}
	return out
}

// endWaiting ends the commands of index i (every index for -1) that wait
// for a result with err (the connection they waited on is gone), and drops
// results held for the command in flight on the index. It returns how many
// it ended. m.mu is held.
func (m *Modem) endWaiting(i int, err error) int {
	ws := m.waitingOf(i, func(string) bool { return true })
	for _, w := range ws {
		m.unwait(w)
		w.seq = m.seq
		w.finish(fmt.Errorf("%s: %w", w.redacted(), err))
	}
	if c := m.cur; c != nil && (i < 0 || c.req.index == i) {
		c.held = nil
	}
	return len(ws)
}

// splitResultError splits "+CMQTTPUB: 0,14 ERROR" (a result and ERROR on
// one line, as some firmware writes them) of a detach command.
func splitResultError(line string) (head string, ok bool) {
	head, found := strings.CutSuffix(line, " ERROR")
	if !found {
		return "", false
	}
	_, _, _, ok = detachResult(head)
	return head, ok
}

// Fenced reports whether the PUB, SUB and UNSUB results of client index i
// can no longer be matched to their commands (see ErrResultsUnmatched):
// nothing is sent on the index until Session.Connect made its connection
// again.
func (m *Modem) Fenced(i int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fenced[i]
}

// takeResults ends what still waits for a result on index i (with err:
// the connection is being made again) and reports whether the modem may
// still send PUB, SUB or UNSUB results of the index that nothing can match:
// such a command waited, or the index is fenced. The index then stays
// fenced until unfence. (A CONNECT that waited is the session's to handle:
// its outcome is unknown.)
func (m *Modem) takeResults(i int, err error) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.waitingOf(i, fencedName)) > 0 {
		m.fence(i, "the connection is made again while results are pending")
	}
	m.endWaiting(i, err)
	return m.fenced[i]
}

// unfence lets the results of index i be matched again: AT+CMQTTDISC
// ended the connection they belonged to, or a new CONNECT succeeded. What
// still waited for a result of the ended connection ends with
// ErrConnectionLost.
func (m *Modem) unfence(i int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.fenced, i)
	m.endWaiting(i, fmt.Errorf("%w: client %d: disconnected", ErrConnectionLost, i))
}
