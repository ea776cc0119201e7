package atmodem

import (
	"bytes"
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
}

// maxAnswerLines bounds the information lines kept for one command.
const maxAnswerLines = 1024

// inflight is the state of the command in flight. Its fields are guarded by
// Modem.mu; the channels are closed once each.
type inflight struct {
	req      request
	name     string // the command's result name, e.g. "+CMQTTPUB"
	model    Model  // the model family when the command was sent (gives result codes their fate)
	needInfo bool   // resynchronisation: OK/ERROR count only after an info line

	lines    []string
	infoSeen bool
	sawOK    bool
	sawFinal bool
	code     ResultCode // of the final line
	ownCode  ResultCode // of the last "<name>: [<idx>,]<err>" line (final == "")
	hasOwn   bool
	prompted bool
	echoed   bool // the modem echoed the command line (ATE1): it echoes data too
	finished bool
	err      error

	// notify (capacity 1) is signalled whenever prompted, sawFinal or
	// finished changes; the waiting exec reads them under Modem.mu. It is
	// the Modem's one notify channel (commands run one at a time), not one
	// channel per state and command.
	notify chan struct{}
}

func newInflight(r request, needInfo bool) *inflight {
	return &inflight{
		req:      r,
		name:     commandName(r.line),
		needInfo: needInfo,
	}
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
func (c *inflight) response() response { return response{lines: c.lines, code: c.code} }

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
		if c.needInfo && !c.infoSeen {
			return true // a late OK of the command that timed out
		}
		c.sawOK = true
		if c.req.final == "" || c.sawFinal {
			c.finishFinal()
		}
		return true
	case isErrorLine(line):
		if c.needInfo && !c.infoSeen {
			return true
		}
		switch {
		case c.sawFinal && c.code != simcom.CodeOK:
			c.finish(c.resultError(c.code))
		case c.hasOwn && c.ownCode != simcom.CodeOK:
			c.code = c.ownCode
			c.finish(c.resultError(c.ownCode))
		default:
			c.finish(fmt.Errorf("%w: %s: %s", ErrCommandFailed, c.redacted(), line))
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
					c.finishFinal()
				} else if first {
					c.signal()
				}
				return true
			}
			c.ownCode, c.hasOwn = code, true
		}
	}
	if c.needInfo && strings.HasPrefix(line, "+") {
		return true // not the resynchronisation answer
	}
	c.infoSeen = true
	if len(c.lines) < maxAnswerLines {
		c.lines = append(c.lines, line)
	}
	return true
}

// exec runs one command with one command in flight for the whole modem.
//
// It writes r.line and "\r"; when r.data is not nil it waits for the '>'
// prompt and writes r.data. It completes by the rules of DESIGN.md section
// 4 (see inflight.onLine). Result 14 (client is busy) sends the whole
// command again with a doubling backoff, up to the configured number of
// attempts; after the last the error wraps the *ResultError and ErrBusy.
func (m *Modem) exec(ctx context.Context, r request) (response, error) {
	if strings.ContainsAny(r.line, "\r\n") {
		return response{}, &ParamError{Param: "command", Model: m.Model(), Reason: "contains CR or LF"}
	}
	if err := m.acquire(ctx, r); err != nil {
		return response{}, err
	}
	defer func() { <-m.sem }()
	backoff := m.cfg.busyBackoff
	for attempt := 1; ; attempt++ {
		if err := m.resyncIfNeeded(ctx); err != nil {
			return response{}, err
		}
		resp, err := m.run(ctx, r, false)
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

// acquire takes the one-command-in-flight token.
func (m *Modem) acquire(ctx context.Context, r request) error {
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

// run sends one attempt of r and waits for its answer.
func (m *Modem) run(ctx context.Context, r request, needInfo bool) (response, error) {
	timeout := r.timeout
	if timeout <= 0 {
		timeout = m.cfg.defaultTimeout
	}
	if err := m.waitRXIdle(ctx, r); err != nil {
		return response{}, err
	}
	deadline := time.Now().Add(timeout)
	timer := m.cmdTimer(timeout)
	defer timer.Stop()

	c := newInflight(r, needInfo)
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
			m.mu.Unlock()
			return resp, err
		}
		m.mu.Unlock()
		if wantPrompt && prompted {
			wantPrompt = false
			if err := m.write(r.data, nil); err != nil {
				return m.abandon(c, fmt.Errorf("%w: writing data of %s: %w", ErrClosed, c.redacted(), err))
			}
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
// result; otherwise it fails with ErrTimeout and the next command first
// resynchronises, so a late answer is not taken for the next one's.
func (m *Modem) expire(c *inflight, timeout time.Duration, ctxErr error) (response, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.detach(c)
	if c.finished {
		return c.response(), c.err
	}
	if c.sawFinal && ctxErr == nil {
		c.finishFinal()
		return c.response(), c.err
	}
	if !c.needInfo {
		m.resync = true
		if c.req.data != nil && !c.prompted {
			// The prompt may be lost rather than never sent: then the
			// modem still waits for the data, and would take the next
			// command line for it.
			m.orphanData = len(c.req.data)
		}
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

// resyncIfNeeded runs the resynchronisation command after a timeout: its
// answer must contain an information line before OK, so a late OK or ERROR
// of the command that timed out is not mistaken for it, nor for the answer
// of the command that comes next. It gives up silently (the command is sent
// anyway) unless the transport closed or ctx ended.
func (m *Modem) resyncIfNeeded(ctx context.Context) error {
	m.mu.Lock()
	need, orphan := m.resync, m.orphanData
	m.resync, m.orphanData = false, 0
	m.mu.Unlock()
	if !need {
		return nil
	}
	if orphan > 0 {
		// A data command timed out before its prompt: a modem that sent
		// the prompt (lost on the way) waits for exactly that many bytes.
		// Give them, then a CR: a waiting modem takes the filler as the
		// data and ignores the empty line; a modem that never saw the
		// command answers ERROR to the filler line. Either way it listens
		// for commands again, and the resynchronisation below sorts the
		// late answers out.
		filler := append(bytes.Repeat([]byte{'x'}, orphan), '\r')
		if err := m.write(filler, nil); err != nil {
			return fmt.Errorf("%w: resynchronising after a timeout: %w", ErrClosed, err)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, m.cfg.resyncTimeout)
	defer cancel()
	_, err := m.run(rctx, request{line: m.cfg.resyncCommand, index: -1, timeout: m.cfg.resyncTimeout}, true)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrClosed):
		return err
	case ctx.Err() != nil:
		return fmt.Errorf("%w: resynchronising after a timeout: %w", ErrTimeout, ctx.Err())
	}
	m.trace.problem("resynchronisation failed", err)
	return nil
}
