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
}

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

	// notify (capacity 1) is signalled whenever prompted, sawFinal or
	// finished changes; the waiting exec reads them under Modem.mu. It is
	// the Modem's one notify channel (commands run one at a time), not one
	// channel per state and command.
	notify chan struct{}
}

func newInflight(r request) *inflight {
	return &inflight{req: r, name: commandName(r.line)}
}

// signal wakes the exec waiting for c without blocking.
func (c *inflight) signal() {
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
			c.terminate(fmt.Errorf("%w: %s: %s", ErrCommandFailed, c.redacted(), line))
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
// the *ResultError and ErrBusy.
func (m *Modem) exec(ctx context.Context, r request) (response, error) {
	if strings.ContainsAny(r.line, "\r\n") {
		return response{}, &ParamError{Param: "command", Model: m.Model(), Reason: "contains CR or LF"}
	}
	if err := m.takeTurn(ctx, r); err != nil {
		return response{}, err
	}
	defer func() { <-m.sem }()
	backoff := m.cfg.busyBackoff
	for attempt := 1; ; attempt++ {
		resp, err := m.attempt(ctx, r)
		if err == nil || !isBusy(err) {
			return resp, err
		}
		if attempt >= m.cfg.busyTries {
			return resp, fmt.Errorf("%w (after %d attempts)", err, attempt)
		}
		m.trace.problem("client busy, retrying", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return resp, fmt.Errorf("%w: %s: while retrying busy: %w", ErrTimeout, redactString(r.line, r.redact), ctx.Err())
		case <-m.done:
			t.Stop()
			return resp, m.Err()
		}
		backoff *= 2
	}
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
func (m *Modem) attempt(ctx context.Context, r request) (response, error) {
	timeout := r.timeout
	if timeout <= 0 {
		timeout = m.cfg.defaultTimeout
	}
	deadline := time.Now().Add(timeout)
	sctx, cancel := context.WithDeadline(ctx, deadline)
	err := m.inStep(sctx, r)
	cancel()
	if err != nil {
		return response{}, err
	}
	if err := m.waitRXIdle(ctx, r); err != nil {
		return response{}, err
	}
	return m.run(ctx, r, time.Until(deadline))
}

// run writes r and waits up to timeout for its answer.
func (m *Modem) run(ctx context.Context, r request, timeout time.Duration) (response, error) {
	if timeout <= 0 {
		timeout = time.Millisecond
	}
	deadline := time.Now().Add(timeout)
	timer := m.cmdTimer(timeout)
	defer timer.Stop()

	c := newInflight(r)
	c.notify = m.notify
	c.model = m.Model()
	select {
	case <-m.notify: // a signal of an earlier command that ended by itself
	default:
	}
	m.mu.Lock()
	if m.err != nil {
		err := m.err
		m.mu.Unlock()
		return response{}, err
	}
	m.cur = c
	m.mu.Unlock()

	if err := m.writeLine(r.line, r.redact); err != nil {
		return m.abandon(c, fmt.Errorf("%w: writing %s: %w", ErrClosed, c.redacted(), err))
	}
	wantPrompt, graced := r.data != nil, false
	for {
		select {
		case <-c.notify:
		case <-timer.C:
			return m.expire(c, timeout, nil)
		case <-ctx.Done():
			return m.expire(c, timeout, ctx.Err())
		}
		m.mu.Lock()
		finished, prompted, final := c.finished, c.prompted, c.sawFinal
		if finished {
			resp, err := c.response(), c.err
			if !c.terminated || c.unsure {
				m.stepOut(c, "answer incomplete")
			}
			m.mu.Unlock()
			return resp, err
		}
		m.mu.Unlock()
		if wantPrompt && prompted {
			wantPrompt = false
			if err := m.write(r.data, nil); err != nil {
				return m.abandon(c, fmt.Errorf("%w: writing data of %s: %w", ErrClosed, c.redacted(), err))
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
func (m *Modem) expire(c *inflight, timeout time.Duration, ctxErr error) (response, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.detach(c)
	if c.finished {
		if !c.terminated || c.unsure {
			m.stepOut(c, "answer incomplete")
		}
		return c.response(), c.err
	}
	m.stepOut(c, "no answer in time")
	if c.sawFinal && ctxErr == nil {
		c.finishFinal()
		return c.response(), c.err
	}
	if ctxErr != nil {
		c.finish(fmt.Errorf("%w: %s: %w", ErrTimeout, c.redacted(), ctxErr))
	} else {
		c.finish(fmt.Errorf("%w: %s: no answer within %v", ErrTimeout, c.redacted(), timeout))
	}
	return c.response(), c.err
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
