package atmodem

import (
	"fmt"
	"strconv"
	"strings"
)

// urcKind is an unsolicited result code the engine routes.
type urcKind uint8

const (
	urcNone      urcKind = iota
	urcConnLost          // +CMQTTCONNLOST: i,cause
	urcNoNet             // +CMQTTNONET (with or without a colon)
	urcPing              // +CMQTTPING: i,err
	urcRXStart           // +CMQTTRXSTART: i,tlen,plen
	urcRXTopic           // +CMQTTRXTOPIC: i,n (data follows)
	urcRXPayload         // +CMQTTRXPAYLOAD: i,n (data follows)
	urcRXEnd             // +CMQTTRXEND: i
)

// urc is a parsed unsolicited result code.
type urc struct {
	kind urcKind
	args [maxInts]int // the numbers after the colon
}

// urcShapes maps the prefixes of the routed URCs to their kind and the
// number of integer arguments they carry.
var urcShapes = []struct {
	prefix string
	kind   urcKind
	nargs  int
}{
	{"+CMQTTRXSTART:", urcRXStart, 3},
	{"+CMQTTRXTOPIC:", urcRXTopic, 2},
	{"+CMQTTRXPAYLOAD:", urcRXPayload, 2},
	{"+CMQTTRXEND:", urcRXEnd, 1},
	{"+CMQTTCONNLOST:", urcConnLost, 2},
	{"+CMQTTPING:", urcPing, 2},
}

// parseURC classifies line. ok is false for lines that are not routed URCs;
// err is set for a known URC prefix with malformed arguments (the line is
// still a URC and never part of an answer).
func parseURC(line string) (u urc, ok bool, err error) {
	if strings.HasPrefix(line, "+CMQTTNONET") {
		return urc{kind: urcNoNet}, true, nil
	}
	if !strings.HasPrefix(line, "+CMQTT") {
		return urc{}, false, nil
	}
	for _, s := range urcShapes {
		if !strings.HasPrefix(line, s.prefix) {
			continue
		}
		args, good := parseInts(strings.TrimSpace(line[len(s.prefix):]), s.nargs)
		if !good {
			return urc{kind: s.kind}, true, fmt.Errorf("malformed URC %q", line)
		}
		return urc{kind: s.kind, args: args}, true, nil
	}
	return urc{}, false, nil
}

// maxInts is the most integers a routed line carries (+CMQTTRXSTART).
const maxInts = 3

// parseInts parses exactly n (at most maxInts) comma-separated decimal
// integers; spaces around each are allowed. It does not allocate.
func parseInts(s string, n int) ([maxInts]int, bool) {
	var out [maxInts]int
	if n < 1 || n > maxInts {
		return out, false
	}
	for k := 0; k < n; k++ {
		field := s
		i := strings.IndexByte(s, ',')
		if i >= 0 {
			field, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		v, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil {
			return out, false
		}
		out[k] = v
		if (i < 0) != (k == n-1) {
			return out, false // too few or too many fields
		}
	}
	return out, true
}

// commandName returns the name of an AT command line as it appears in the
// modem's result lines: "AT+CMQTTPUB=0,1,60" -> "+CMQTTPUB", "AT+CPIN?" ->
// "+CPIN", "ATI" -> "".
func commandName(line string) string {
	if len(line) < 3 || (line[2] != '+' && line[2] != '*' && line[2] != '$' && line[2] != '^') {
		return ""
	}
	name := line[2:]
	if i := strings.IndexAny(name, "=?"); i >= 0 {
		name = name[:i]
	}
	return strings.ToUpper(name)
}

// resultName returns the name of a "+NAME: ..." line and what follows the
// colon, or ok false for lines of another shape.
func resultName(line string) (name, rest string, ok bool) {
	if len(line) < 2 || line[0] != '+' {
		return "", "", false
	}
	i := strings.IndexByte(line, ':')
	if i < 0 {
		return "", "", false
	}
	return line[:i], strings.TrimSpace(line[i+1:]), true
}

// parseResult parses the "<idx>,<err>" or "<err>" after the colon of a
// final result line. idx is -1 for the one-number form.
func parseResult(rest string) (idx int, code ResultCode, ok bool) {
	if v, good := parseInts(rest, 2); good {
		return v[0], ResultCode(v[1]), true
	}
	if v, good := parseInts(rest, 1); good {
		return -1, ResultCode(v[0]), true
	}
	return 0, 0, false
}

// isErrorLine reports whether line is a failure final result: ERROR,
// +CME ERROR: x or +CMS ERROR: x.
func isErrorLine(line string) bool {
	return line == "ERROR" || strings.HasPrefix(line, "+CME ERROR") || strings.HasPrefix(line, "+CMS ERROR")
}

// handleFrame takes one frame from the framer (the holder of Modem.fmu).
func (m *Modem) handleFrame(fr frame) {
	switch fr.kind {
	case framePrompt:
		m.trace.rxPrompt()
		m.mu.Lock()
		if c := m.cur; c != nil && c.req.data != nil && !c.prompted {
			c.markPrompted()
		}
		m.mu.Unlock()
	case frameData:
		m.trace.rxData(fr.data)
		if err := m.rx.data(fr.data); err != nil {
			m.trace.problem("received message", err)
		}
	case frameLine:
		if ev, ok := m.handleLine(m.lineString(fr.line)); ok {
			m.emit(ev)
		}
	}
}

// lineString is line as a string. The final results every command ends
// with are the constants, and the echo of the command line in flight (ATE1)
// is that line: not a new string per answer.
func (m *Modem) lineString(line []byte) string {
	switch string(line) {
	case "OK":
		return "OK"
	case "ERROR":
		return "ERROR"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.cur; c != nil && string(line) == c.req.line {
		return c.req.line
	}
	return string(line)
}

// promptWanted tells the framer whether a '>' is the prompt of the command
// in flight, and which data the modem will echo after it: only a modem that
// echoed the command line (ATE1) echoes the data, and without echo a reply
// that happens to start like the data must not be skipped.
func (m *Modem) promptWanted() ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cur
	if c == nil || c.req.data == nil || c.prompted {
		return nil, false
	}
	if !c.echoed || m.dataEcho < 0 {
		return nil, true
	}
	if m.dataEcho == 0 && len(c.req.data) > 0 && (c.req.data[0] == '\r' || c.req.data[0] == '\n') {
		// Until the modem has shown whether it echoes data, data that
		// starts like an answer ("\r\nOK\r\n" ...) cannot tell echo from
		// answer: assume no echo, which is what SIMCom firmware does.
		return nil, true
	}
	return c.req.data, true
}

// learnEcho remembers whether the modem echoes the data written after a
// prompt, seen at the first byte that follows a prompt whose data does not
// start like an answer. Once known, the echo of data that looks like an
// answer is skipped (or not) without guessing.
func (m *Modem) learnEcho(echoes bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dataEcho != 0 {
		return
	}
	if echoes {
		m.dataEcho = 1
	} else {
		m.dataEcho = -1
	}
}

// handleLine routes one line: echo, boot message, URC, the answer of a
// marker while out of step, a late answer, or a line of the answer of the
// command in flight. It returns the event to emit, if any.
func (m *Modem) handleLine(line string) (Event, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	m.trace.rxLine(line)
	if head, ok := splitResultError(line); ok {
		// A result and ERROR on one line: the two lines they stand for.
		if ev, ok := m.routeLine(head); ok {
			return ev, ok
		}
		line = "ERROR"
	}
	return m.routeLine(line)
}

// routeLine is handleLine for one line. m.mu is held.
func (m *Modem) routeLine(line string) (Event, bool) {
	c := m.cur
	switch {
	case c != nil && strings.EqualFold(line, c.req.line):
		c.echoed = true
		return Event{}, false // echo (ATE1)
	case m.lastLine != "" && strings.EqualFold(line, m.lastLine):
		return Event{}, false // late echo of the previous command
	case isReadyLine(line) && m.bootBurst:
		// The "*ATREADY: 1" that ends the boot a RDY began: the same
		// reset, already reported. The command in flight was written
		// after the RDY, to the new firmware, and stands.
		m.bootBurst = false
		return Event{}, false
	case isBootLine(line):
		m.bootBurst = !isReadyLine(line)
		return m.onBoot(c, line), true
	case isBootNoise(line) && (line != "+CPIN: READY" || c == nil || c.name != "+CPIN"):
		return Event{}, false
	}
	m.bootBurst = false
	if u, ok, err := parseURC(line); ok {
		if err != nil {
			m.trace.problem("URC", err)
			if u.kind >= urcRXStart {
				m.rx.failed = err
			}
			return Event{}, false
		}
		return m.onURC(u, line)
	}
	if name, idx, code, ok := detachResult(line); ok && m.routeResult(name, idx, code, line) {
		return Event{}, false
	}
	if m.step.out {
		switch mine, proof := m.step.onLine(line); {
		case proof:
			m.stepProved()
		case !mine:
			m.trace.event(fmt.Sprintf("late answer dropped while resynchronising: %q", m.trace.redact(line)), nil)
		}
		return Event{}, false
	}
	// The answer lines of AT+NAME carry +NAME; a "+OTHER: ..." line is a
	// late result of another command or an unsolicited code. Commands
	// without a +NAME (ATI, AT&V ...) take every other line.
	if name, _, ok := resultName(line); ok && (c == nil || (c.name != "" && name != c.name && name != c.req.final &&
		!strings.HasPrefix(name, "+CME ERROR") && !strings.HasPrefix(name, "+CMS ERROR"))) {
		m.trace.problem("stray result dropped", fmt.Errorf("%q", m.trace.redact(line)))
		return Event{}, false
	}
	if c == nil {
		if line == "OK" || isErrorLine(line) {
			// An answer no command waits for: the modem is answering
			// something the engine did not account for.
			m.trace.problem("out of step with the modem (an answer came while no command was in flight): resynchronising",
				fmt.Errorf("%q", line))
			m.step.goOut()
			return Event{}, false
		}
		m.trace.problem("unsolicited line dropped", fmt.Errorf("%q", m.trace.redact(line)))
		return Event{}, false
	}
	if len(c.held) > 0 && (line == "OK" || isErrorLine(line)) {
		m.resolveHeld(c, line == "OK")
	}
	if !c.onLine(line) {
		m.trace.problem("result for another client index dropped", fmt.Errorf("%q", m.trace.redact(line)))
	}
	switch {
	case c.finished:
		c.seq = m.seq
		m.detach(c)
	case c.sawOK && c.req.detach && !c.sawFinal && m.fenced[c.req.index] && fencedName(c.req.final):
		// Its result could not be told from a late one: it ends here.
		err := c.unmatched
		if err == nil {
			err = fmt.Errorf("%s: %w: client %d", c.redacted(), ErrResultsUnmatched, c.req.index)
		}
		c.seq = m.seq
		c.terminate(err)
		m.detach(c)
	case c.sawOK && c.req.detach && !c.sawFinal:
		m.accept(c)
	}
	return Event{}, false
}

// onBoot handles a boot message: the command in flight fails with
// ErrModemReset and every session gets EventReset. The modem forgot every
// command it had not answered, so none is pending any more, except what
// may have reached the new firmware: the command in flight and a marker in
// flight (written before the reboot they are lost, written after boot
// lines that only sat unread in the port they are answered). The engine
// then resynchronises with a marker of another kind, at once. m.mu is held.
func (m *Modem) onBoot(c *inflight, line string) Event {
	err := fmt.Errorf("%w: modem sent %q", ErrModemReset, line)
	st := &m.step
	marker := -1
	if st.out {
		marker = st.marker
	}
	clear(st.pending)
	st.extra, st.orphanData = 0, 0
	if c != nil {
		c.fail(fmt.Errorf("%w: modem sent %q during %s", ErrModemReset, line, c.redacted()))
		c.seq = m.seq
		m.detach(c)
		st.goOut()
		st.pend(c.pendingName())
	}
	// The modem forgot every command waiting for its result, and no
	// result of the connections it had can come any more.
	m.endWaiting(-1, err)
	clear(m.fenced)
	m.echoOff = !m.cfg.keepEcho // the firmware starts with echo on
	if st.out {
		if marker >= 0 {
			st.pend(commandName(markers[marker].line))
		}
		st.marker, st.markerSig = -1, false
		st.wake()
	}
	m.rx.abort()
	m.releaseRX()
	return Event{Kind: EventReset, Index: -1, Err: err, Seq: m.seq}
}

// onURC routes a well-formed URC. m.mu is held.
func (m *Modem) onURC(u urc, line string) (Event, bool) {
	switch u.kind {
	case urcConnLost:
		i, cause := u.args[0], u.args[1]
		err := fmt.Errorf("%w: client %d: cause %d", ErrConnectionLost, i, cause)
		m.endWaitingFor(i, err)
		return Event{Kind: EventConnLost, Index: i, Cause: ConnLostCause(cause), Err: err, Seq: m.seq}, true
	case urcPing:
		i, code := u.args[0], ResultCode(u.args[1])
		err := fmt.Errorf("%w: client %d: result %d: %s", ErrKeepalive, i, int(code), code)
		m.endWaitingFor(i, err)
		return Event{Kind: EventPingFail, Index: i, Code: code, Err: err, Seq: m.seq}, true
	case urcNoNet:
		err := fmt.Errorf("%w: modem sent %q", ErrNoNetwork, line)
		m.endWaitingFor(-1, err)
		return Event{Kind: EventNoNetwork, Index: -1, Err: err, Seq: m.seq}, true
	case urcRXStart:
		if err := m.rx.start(u.args[0], u.args[1], u.args[2]); err != nil {
			m.trace.problem("received message", err)
		}
		if m.rxBusy == nil {
			m.rxBusy = make(chan struct{})
		}
	case urcRXTopic, urcRXPayload:
		if _, ok := rxChunkLen([]byte(line)); !ok {
			if m.rx.active && m.rx.failed == nil {
				m.rx.failed = fmt.Errorf("bad chunk length in %q", line)
			}
			return Event{}, false
		}
		m.rx.header(u.kind, u.args[0])
	case urcRXEnd:
		msg, err := m.rx.end(u.args[0])
		m.releaseRX()
		if err != nil {
			m.trace.problem("received message dropped", err)
			return Event{}, false
		}
		return Event{Kind: EventMessage, Index: msg.Index, Message: msg, Seq: m.seq}, true
	}
	return Event{}, false
}

// endWaitingFor ends the commands of client index i (every index for
// i = -1) that the modem accepted with OK and whose result waits for the
// broker: those waiting among the results (PUB, SUB, UNSUB, CONNECT:
// results.go) and a DISC in flight. The connection they waited on is gone,
// and their results may never come. Their answers are complete as far as
// the engine's step is concerned (a late result line is dropped as stray).
// After +CMQTTNONET the service is gone with every connection: no index
// stays fenced. m.mu is held.
func (m *Modem) endWaitingFor(i int, err error) {
	m.endWaiting(i, err)
	if i < 0 {
		clear(m.fenced)
	}
	c := m.cur
	if c == nil || c.finished || c.req.final == "" || !c.sawOK || c.req.index < 0 || (i >= 0 && c.req.index != i) {
		return
	}
	c.terminate(fmt.Errorf("%s: %w", c.redacted(), err))
	c.seq = m.seq
	m.detach(c)
}
