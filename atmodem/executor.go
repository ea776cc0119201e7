package atmodem

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// request is one AT command for exec.
type request struct {
	line    string        // command line without "\r", e.g. "AT+CMQTTTOPIC=0,9"
	data    []byte        // written after the '>' prompt (exactly len(data) bytes); nil: no prompt expected
	final   string        // e.g. "+CMQTTPUB": the command also finishes on "<final>: <idx>,<err>" (START/STOP: "<final>: <err>"), which may come before or after OK; "": OK/ERROR alone
	index   int           // client index expected in the final result; -1 when the final carries only <err> (START, STOP)
	timeout time.Duration // maximum response time from the manual; 0 means the default (9 s)
	redact  []string      // substrings (passwords) replaced by "***" in logs and in errors
	// detach: once the modem accepted the command with OK, its final
	// result arrives like a URC and the port serves other commands
	// meanwhile (PUB, SUB, UNSUB, CONNECT; results.go).
	detach bool
	// noBusyRetry: result 14 is not retried here but returned (a publish
	// written while results of its index are pending: the session decides).
	noBusyRetry bool
	// sink, for a detach request, gets its outcome once it was accepted
	// and its result came (or it ended waiting): see inflight.sink. exec
	// awaits requests without one.
	sink resultSink
}

// resultSink gets the outcome of a command accepted with OK, under
// Modem.mu: it must only take leaf locks and never block.
type resultSink interface{ result(err error) }

// response is the answer to a request.
type response struct {
	lines []string   // information lines of the answer (not URCs), without CRLF
	code  ResultCode // the final result code when final was set and seen (0 = success)
	seq   uint64     // the reader's position when the command finished (Event.Seq order)
}

// maxAnswerLines bounds the information lines kept for one command.
const maxAnswerLines = 1024

// inflight is the state of the command in flight. Its fields are guarded by
// Modem.mu; the channels are closed once each.
type inflight struct {
	req   request
	name  string // the command's result name, e.g. "+CMQTTPUB"
	model Model  // the model family when the command was sent (gives result codes their fate)

	lines    []string
	sawOK    bool
	sawFinal bool
	code     ResultCode // of the final line
	ownCode  ResultCode // of the last "<name>: [<idx>,]<err>" line (final == "")
	hasOwn   bool
	prompted bool
	dataSent bool // the data after the prompt was written whole
	echoed   bool // the modem echoed the command line (ATE1): it echoes data too
	finished bool
	// terminated: the line that ends the answer was read (OK, ERROR, or
	// the final result after OK). A command that finished otherwise
	// (timeout, cancelled, final result without OK) leaves the engine out
	// of step (step.go).
	terminated bool
	// unsure: an OK came before the data prompt: a late answer of an
	// earlier command, so the engine goes out of step.
	unsure bool
	seq    uint64 // the reader's position when the command finished
	err    error

	// notify (capacity 1) is signalled whenever prompted, sawFinal,
	// accepted or finished changes; the waiting exec reads them under
	// Modem.mu. It is the Modem's one notify channel (commands run one at
	// a time), not one channel per state and command; it is nil once the
	// command was accepted and waits for its result among others.
	notify chan struct{}

	// Results after OK (results.go), for detach requests.
	accepted bool          // OK read: the command waits in Modem.waiting for its result
	deadline time.Time     // when its result is due at the latest (Modem.resultTimer)
	done     chan struct{} // closed when it finished (detach requests exec awaits)
	// held are results of the command's name and index read before its
	// OK while earlier commands of the same kind waited: whether each is
	// theirs or its own is known only from how its answer ends.
	held []ResultCode
	// note says why an ERROR cannot be told apart from an earlier
	// command's result (added to the error).
	note string
	// unmatched: the results of its index can no longer be matched; it
	// ends with this error at its OK instead of waiting for a result.
	unmatched error
	// sink (request.sink) gets the outcome when it finished after it was
	// accepted.
	sink resultSink
}

func newInflight(r request) *inflight {
	c := &inflight{req: r, name: commandName(r.line), sink: r.sink}
	if r.detach && r.sink == nil {
		c.done = make(chan struct{})
	}
	return c
}

// signal wakes the exec waiting for c without blocking.
func (c *inflight) signal() {
	if c.notify == nil {
		return
	}
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// markPrompted records the '>' prompt of the command. m.mu is held.
func (c *inflight) markPrompted() {
	c.prompted = true
	c.signal()
}

// finish completes the command with err (nil: success).
func (c *inflight) finish(err error) {
	if c.finished {
		return
	}
	c.finished, c.err = true, err
	c.signal()
	if c.done != nil {
		close(c.done)
	}
	if c.accepted && c.sink != nil {
		c.sink.result(err)
	}
}

// fail completes the command with err unless it already completed.
func (c *inflight) fail(err error) { c.finish(err) }

// response returns the answer collected so far.
func (c *inflight) response() response { return response{lines: c.lines, code: c.code, seq: c.seq} }

// redacted is the command line with its secrets hidden, for errors.
func (c *inflight) redacted() string { return redactString(c.req.line, c.req.redact) }

// resultError is the *ResultError of code for this command.
func (c *inflight) resultError(code ResultCode) error {
	return &ResultError{Command: c.redacted(), Code: code, Model: c.model}
}

// finishFinal completes a command whose final line and OK (or grace) are in.
func (c *inflight) finishFinal() {
	if c.code == simcom.CodeOK {
		c.finish(nil)
		return
	}
	c.finish(c.resultError(c.code))
}

// onLine takes one line of the answer. It returns false when the line is a
// final result of the command's name for another client index (not ours).
func (c *inflight) onLine(line string) bool {
	switch {
	case line == "OK":
		c.sawOK = true
		if c.req.data != nil && !c.prompted {
			// A data command is answered by its prompt first: this OK
			// belongs to an earlier command.
			c.unsure = true
			c.terminate(fmt.Errorf("%w: %s: OK before the data prompt (an earlier command's answer)", ErrOutOfStep, c.redacted()))
			return true
		}
		if c.req.final == "" || c.sawFinal {
			c.terminated = true
			c.finishFinal()
		}
		return true
	case isErrorLine(line):
		// Before the prompt of a data command this is the modem refusing
		// the command line: in step, no earlier answer is left to come.
		switch {
		case c.sawFinal && c.code != simcom.CodeOK:
			c.terminate(c.resultError(c.code))
		case c.hasOwn && c.ownCode != simcom.CodeOK:
			c.code = c.ownCode
			c.terminate(c.resultError(c.ownCode))
		default:
			c.terminate(fmt.Errorf("%w: %s: %s%s", ErrCommandFailed, c.redacted(), line, c.note))
		}
		return true
	}
	if head, found := strings.CutSuffix(line, " ERROR"); found {
		// "+CMQTTREL: 0,20 ERROR" on one line: the result, then ERROR.
		if name, rest, ok := resultName(head); ok && (name == c.req.final || name == c.name) {
			if _, _, good := parseResult(rest); good {
				if !c.onLine(head) {
					return false
				}
				return c.onLine("ERROR")
			}
		}
	}
	if name, rest, ok := resultName(line); ok && (name == c.req.final || name == c.name) && name != "" {
		if idx, code, good := parseResult(rest); good {
			if c.req.final != "" && name == c.req.final {
				if idx != c.req.index {
					return false
				}
				first := !c.sawFinal
				c.sawFinal, c.code = true, code
				if c.sawOK {
					c.terminated = true
					c.finishFinal()
				} else if first {
					c.signal()
				}
				return true
			}
			c.ownCode, c.hasOwn = code, true
		}
	}
	if len(c.lines) < maxAnswerLines {
		c.lines = append(c.lines, line)
	}
	return true
}

// terminate completes the command with err on the line that ends its
// answer.
func (c *inflight) terminate(err error) {
	c.terminated = true
	c.finish(err)
}

// exec runs one command with one command in flight for the whole modem.
//
// It first makes sure the engine is in step with the modem (step.go), then
// writes r.line and "\r"; when r.data is not nil it waits for the '>'
// prompt and writes r.data. It completes by the rules of
// docs/architecture.md, "AT framing" (see inflight.onLine). Result 14
// (client is busy) sends the whole command again with a doubling backoff,
// up to the configured number of attempts; after the last the error wraps
// the *ResultError and ErrBusy. A command whose result comes after OK
// (r.detach) gives the port back at its OK and waits for the result among
// the others (results.go); when ctx ends first, exec returns ErrTimeout and
// the result, when it comes, is still matched to this command.
func (m *Modem) exec(ctx context.Context, r request) (response, error) {
	resp, c, err := m.start(ctx, r)
	if c == nil {
		return resp, err
	}
	return m.await(ctx, c)
}

// start runs r until it completes or, for r.detach, until the modem
// accepted it with OK: the command then waits for its result, and c is
// what to await.
func (m *Modem) start(ctx context.Context, r request) (resp response, c *inflight, err error) {
	if strings.ContainsAny(r.line, "\r\n") {
		return response{}, nil, &ParamError{Param: "command", Model: m.Model(), Reason: "contains CR or LF"}
	}
	if err := m.takeTurn(ctx, r); err != nil {
		return response{}, nil, err
	}
	defer func() { <-m.sem }()
	backoff := m.cfg.busyBackoff
	for attempt := 1; ; attempt++ {
		resp, c, err := m.attempt(ctx, r)
		if c != nil || err == nil || !isBusy(err) || r.noBusyRetry {
			return resp, c, err
		}
		if attempt >= m.cfg.busyTries {
			return resp, nil, fmt.Errorf("%w (after %d attempts)", err, attempt)
		}
		m.trace.problem("client busy, retrying", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return resp, nil, fmt.Errorf("%w: %s: while retrying busy: %w", ErrTimeout, redactString(r.line, r.redact), ctx.Err())
		case <-m.done:
			t.Stop()
			return resp, nil, m.Err()
		}
		backoff *= 2
	}
}

// await waits for the result of a command the modem accepted (start gave
// c). When ctx ends first it returns ErrTimeout; c keeps its place among
// the results waiting, so its result is never taken for another's.
func (m *Modem) await(ctx context.Context, c *inflight) (response, error) {
	select {
	case <-c.done:
	case <-ctx.Done():
		select {
		case <-c.done:
		default:
			return response{}, fmt.Errorf("%w: %s: waiting for its result: %w", ErrTimeout, c.redacted(), ctx.Err())
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return c.response(), c.err
}

// isBusy reports result 14 (client is busy), which exec retries. It is a
// function of its own so that the *ResultError errors.As needs escapes to
// the heap only on this error path, not in every command.
func isBusy(err error) bool {
	var re *ResultError
	return errors.As(err, &re) && re.Code == simcom.CodeClientBusy
}

// takeTurn takes the one-command-in-flight token. It is a channel rather
// than a semaphore.Weighted so that the wait also ends, without a context
// made per command, when the transport closes.
func (m *Modem) takeTurn(ctx context.Context, r request) error {
	select {
	case <-m.done:
		return m.Err()
	default:
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrTimeout, redactString(r.line, r.redact), err)
	}
	select {
	case m.sem <- struct{}{}:
		return nil
	case <-m.done:
		return m.Err()
	case <-ctx.Done():
		return fmt.Errorf("%w: %s: waiting for the command in flight: %w", ErrTimeout, redactString(r.line, r.redact), ctx.Err())
	}
}

// attempt sends r once, within its timeout: it waits for the engine to be
// in step and for a message streaming in to end, then runs the command.
func (m *Modem) attempt(ctx context.Context, r request) (response, *inflight, error) {
	timeout := r.timeout
	if timeout <= 0 {
		timeout = m.cfg.defaultTimeout
	}
	deadline := time.Now().Add(timeout)
	sctx, cancel := context.WithDeadline(ctx, deadline)
	err := m.inStep(sctx, r)
	if err == nil && m.takeEchoOff() {
		m.echoOffNow(sctx, deadline)
		err = m.inStep(sctx, r)
	}
	cancel()
	if err != nil {
		return response{}, nil, err
	}
	if err := m.waitRXIdle(ctx, r); err != nil {
		return response{}, nil, err
	}
	return m.run(ctx, r, deadline)
}

// run writes r and waits until deadline for its answer; a detach request
// returns at its OK with c, which then waits for its result.
func (m *Modem) run(ctx context.Context, r request, deadline time.Time) (response, *inflight, error) {
	timeout := time.Until(deadline)
	if timeout <= 0 {
		timeout = time.Millisecond
	}
	timer := m.cmdTimer(timeout)
	defer timer.Stop()

	c := newInflight(r)
	notify := m.notify
	c.notify = notify
	c.model = m.Model()
	c.deadline = deadline
	select {
	case <-notify: // a signal of an earlier command that ended by itself
	default:
	}
	m.mu.Lock()
	if m.err != nil {
		err := m.err
		m.mu.Unlock()
		return response{}, nil, err
	}
	m.cur = c
	m.mu.Unlock()

	if err := m.writeLine(r.line, r.redact); err != nil {
		resp, err := m.abandon(c, fmt.Errorf("%w: writing %s: %w", ErrClosed, c.redacted(), err))
		return resp, nil, err
	}
	wantPrompt, graced := r.data != nil, false
	for {
		select {
		case <-notify:
		case <-timer.C:
			return m.expire(c, timeout, nil)
		case <-ctx.Done():
			return m.expire(c, timeout, ctx.Err())
		}
		m.mu.Lock()
		finished, prompted, final := c.finished, c.prompted, c.sawFinal
		if c.accepted { // its result may even be in already
			resp := c.response()
			m.mu.Unlock()
			return resp, c, nil
		}
		if finished {
			resp, err := c.response(), c.err
			if !c.terminated || c.unsure {
				m.stepOut(c, "answer incomplete")
			}
			m.mu.Unlock()
			return resp, nil, err
		}
		m.mu.Unlock()
		if wantPrompt && prompted {
			wantPrompt = false
			if err := m.write(r.data, nil); err != nil {
				resp, err := m.abandon(c, fmt.Errorf("%w: writing data of %s: %w", ErrClosed, c.redacted(), err))
				return resp, nil, err
			}
			m.mu.Lock()
			c.dataSent = true
			m.mu.Unlock()
		}
		if final && !graced {
			// The final line came before OK: wait for OK only a little.
			graced = true
			if time.Until(deadline) > m.cfg.finalGrace {
				timer.Reset(m.cfg.finalGrace)
			}
		}
	}
}

// cmdTimer returns the Modem's command timer set to d. There is one
// command in flight at a time (m.sem), so one timer serves them all
// instead of a new one per command; the caller stops it when done.
func (m *Modem) cmdTimer(d time.Duration) *time.Timer {
	if m.timer == nil {
		m.timer = time.NewTimer(d)
		return m.timer
	}
	m.timer.Reset(d)
	return m.timer
}

// abandon completes c with err after a write failed.
func (m *Modem) abandon(c *inflight, err error) (response, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c.fail(err)
	m.detach(c)
	return c.response(), c.err
}

// detach makes c no longer the command in flight. m.mu is held.
func (m *Modem) detach(c *inflight) {
	if m.cur == c {
		m.cur = nil
	}
	m.lastLine = c.req.line
}

// expire ends c when its time is up or its context ended. A command whose
// final result is in but whose OK/ERROR did not come completes by that
// result; otherwise it fails with ErrTimeout. Either way its answer is not
// all read: the engine is out of step until a marker proves otherwise.
func (m *Modem) expire(c *inflight, timeout time.Duration, ctxErr error) (response, *inflight, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.accepted {
		return c.response(), c, nil // accepted as the time ran out: it waits for its result
	}
	m.detach(c)
	if c.finished {
		if !c.terminated || c.unsure {
			m.stepOut(c, "answer incomplete")
		}
		return c.response(), nil, c.err
	}
	m.stepOut(c, "no answer in time")
	if c.req.detach && c.req.index >= 0 && !c.sawFinal {
		// The modem may have accepted it: its result may still come.
		m.fence(c.req.index, "a command ended without its answer")
	}
	if c.sawFinal && ctxErr == nil {
		c.finishFinal()
		return c.response(), nil, c.err
	}
	if ctxErr != nil {
		c.finish(fmt.Errorf("%w: %s: %w", ErrTimeout, c.redacted(), ctxErr))
	} else {
		c.finish(fmt.Errorf("%w: %s: no answer within %v", ErrTimeout, c.redacted(), timeout))
	}
	return c.response(), nil, c.err
}

// takeEchoOff reports (once) that ATE0 is to be sent before the next
// command.
func (m *Modem) takeEchoOff() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	off := m.echoOff
	m.echoOff = false
	return off
}

// echoOffNow sends ATE0 (the caller holds the command token and the engine
// is in step). A modem that refuses it keeps its echo, which the engine
// reads anyway; a modem that does not answer leaves the engine out of step,
// which the caller's command waits for as usual.
func (m *Modem) echoOffNow(ctx context.Context, deadline time.Time) {
	if d := time.Now().Add(m.cfg.defaultTimeout); d.Before(deadline) {
		deadline = d
	}
	if _, _, err := m.run(ctx, request{line: "ATE0", index: -1}, deadline); err != nil {
		m.trace.problem("ATE0 (echo off) failed: the modem's echo stays as it is", err)
	}
}

// waitRXIdle holds a command while a received message streams in, at most
// for the configured RX hold time (after which later commands no longer
// wait for that message).
func (m *Modem) waitRXIdle(ctx context.Context, r request) error {
	m.mu.Lock()
	ch := m.rxBusy
	m.mu.Unlock()
	if ch == nil {
		return nil
	}
	t := time.NewTimer(m.cfg.rxHold)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
		// The end of the message is lost: stop holding commands for it.
		m.trace.problem("message still streaming in, writing anyway", nil)
		m.mu.Lock()
		if m.rxBusy == ch {
			m.releaseRX()
		}
		m.mu.Unlock()
	case <-ctx.Done():
		return fmt.Errorf("%w: %s: waiting for a message to stream in: %w", ErrTimeout, redactString(r.line, r.redact), ctx.Err())
	case <-m.done:
		return m.Err()
	}
	return nil
}

// releaseRX ends the hold of commands after a message. m.mu is held.
func (m *Modem) releaseRX() {
	if m.rxBusy != nil {
		close(m.rxBusy)
		m.rxBusy = nil
	}
}
