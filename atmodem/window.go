package atmodem

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// The publish window (docs/architecture.md, "The publish window").
//
// A QoS 1 publish is confirmed by "+CMQTTPUB: i,0" once the broker's PUBACK
// came back: a cellular round trip of 50-600 ms, against about 6 ms of line
// time for a 100-byte message at 115200 baud. With a window of n, up to n
// publishes of an index are on their way at once: the next message's TOPIC,
// PAYLOAD and PUB go out after the previous PUB's OK, while its result is
// pending. Results are matched in order (results.go).
//
// Whether firmware accepts that is not documented. The first time a
// command written while results of its index are pending gets result 14,
// ERROR or another answer than the window expects, the modem sends one
// publish at a time on every index from then on, the log says why once,
// and the message fails with ErrPipelineRefused (fate unknown: it is sent
// again with DUP). The messages whose results were pending keep waiting for
// them; if their results can no longer be told apart, the index is fenced
// (results.go) and they end with ErrResultsUnmatched (link down: sent
// again with DUP after the connection is made again).

// window counts the publishes of a Session whose result is pending.
type window struct {
	mu      sync.Mutex
	max     int           // SetMaxInflight; 1 by default
	pending int           // publishes accepted (or being sent) whose result is not in
	changed chan struct{} // closed and replaced when pending drops
}

// SetMaxInflight sets how many publishes of this client index may wait for
// their +CMQTTPUB result at once (paho's name for the same idea; MQTT 5
// calls it Receive Maximum). The default, 1, sends the next message only
// after the result of the one before: safe on every firmware. With n > 1
// the next message goes out after the previous PUB's OK, which on a
// cellular link multiplies the QoS 1 rate (BENCHMARKS.md); firmware that
// refuses it is detected and the modem falls back to 1 (ErrPipelineRefused).
// Values below 1 are taken as 1.
func (s *Session) SetMaxInflight(n int) {
	s.win.mu.Lock()
	s.win.max = max(n, 1)
	s.win.signal()
	s.win.mu.Unlock()
}

// MaxInflight is the number of publishes that may wait for their result at
// once now: SetMaxInflight's, or 1 once the firmware refused a publish
// while results were pending (PipelineRefused).
func (s *Session) MaxInflight() int {
	if s.m.PipelineRefused() {
		return 1
	}
	s.win.mu.Lock()
	defer s.win.mu.Unlock()
	return max(s.win.max, 1)
}

// PipelineRefused reports whether the firmware refused a command written
// while results of its client index were pending: every Session of the
// modem then sends one publish at a time.
func (m *Modem) PipelineRefused() bool { return m.noPipeline.Load() }

// refusePipelining makes the modem send one publish at a time from now on,
// and says why in the log once.
func (m *Modem) refusePipelining(err error) {
	if m.noPipeline.Swap(true) {
		return
	}
	m.trace.problem("the firmware refused a publish while results were pending: one publish in flight per client index from now on", err)
}

// signal wakes the waiters for a change. w.mu is held.
func (w *window) signal() {
	if w.changed != nil {
		close(w.changed)
		w.changed = nil
	}
}

// wait returns a channel closed at the next change. w.mu is held.
func (w *window) wait() <-chan struct{} {
	if w.changed == nil {
		w.changed = make(chan struct{})
	}
	return w.changed
}

// reserveSlot waits until fewer than limit() publishes are pending and counts
// one more. pipelined says whether others were pending.
func (s *Session) reserveSlot(ctx context.Context) (pipelined bool, err error) {
	for {
		limit := s.MaxInflight()
		s.win.mu.Lock()
		if s.win.pending < limit {
			pipelined = s.win.pending > 0
			s.win.pending++
			s.win.mu.Unlock()
			return pipelined, nil
		}
		ch := s.win.wait()
		s.win.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return false, fmt.Errorf("%w: waiting for room in the publish window: %w", ErrTimeout, ctx.Err())
		case <-s.m.done:
			return false, s.m.Err()
		}
	}
}

// releaseSlot counts one publish fewer pending.
func (s *Session) releaseSlot() {
	s.win.mu.Lock()
	s.win.pending--
	s.win.signal()
	s.win.mu.Unlock()
}

// idle waits until no publish of the index is pending, when the window is
// 1: an operation then follows the results before it, as the firmware's
// one-operation-at-a-time expects. With a larger window it does not wait.
func (s *Session) idle(ctx context.Context) error {
	if s.MaxInflight() > 1 {
		return nil
	}
	return s.drain(ctx)
}

// drain waits until no publish of the index is pending.
func (s *Session) drain(ctx context.Context) error {
	for {
		s.win.mu.Lock()
		if s.win.pending == 0 {
			s.win.mu.Unlock()
			return nil
		}
		ch := s.win.wait()
		s.win.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for the results of publishes: %w", ErrTimeout, ctx.Err())
		case <-s.m.done:
			return s.m.Err()
		}
	}
}

// Pending is the number of publishes of the index whose result is pending.
func (s *Session) Pending() int {
	s.win.mu.Lock()
	defer s.win.mu.Unlock()
	return s.win.pending
}

// pubResult delivers the outcome of one publish of PublishAsync once.
type pubResult struct {
	s    *Session
	ch   chan error // capacity 1
	sent atomic.Bool
}

// result is finish as the engine's resultSink: it runs under Modem.mu
// when the result comes, and only takes the window's lock.
func (r *pubResult) result(err error) { r.finish(err) }

// finish releases the publish's place in the window and delivers err,
// once; it never blocks.
func (r *pubResult) finish(err error) {
	if r.sent.Swap(true) {
		return
	}
	r.s.releaseSlot()
	if err != nil {
		if linkDownResult(err) {
			// The modem has no working connection on the index whatever
			// AT+CMQTTDISC? says (noteLinkDown): Connect sends DISC first.
			r.s.linkLost.Store(true)
		}
		err = r.s.wrap("publish", err)
	}
	r.ch <- err
}

// linkDownResult reports a *ResultError whose fate is link down (9, 11,
// 26 ...). A function of its own, like isBusy, so that what errors.As
// needs escapes to the heap only on this error path.
func linkDownResult(err error) bool {
	var re *ResultError
	return errors.As(err, &re) && ResultFate(re.Model, re.Code) == FateLinkDown
}

// PublishAsync sends one message like Publish but returns once the modem
// accepted its PUB with OK, with a channel that gets its result
// (nil for +CMQTTPUB: i,0) when it comes; meanwhile the AT port serves other
// commands and, within the window (SetMaxInflight), the next publishes of
// the index. It waits while the window is full. An error returned here,
// or later on the channel, means the same as Publish's: ask FateOf. When
// the firmware refuses a publish written while results were pending, the
// error wraps ErrPipelineRefused (fate unknown: send it again, with DUP).
func (s *Session) PublishAsync(ctx context.Context, p Publish) (<-chan error, error) {
	if err := s.CheckPublish(p); err != nil {
		return nil, err
	}
	s.op.Lock()
	defer s.op.Unlock()
	if err := s.usable("publish"); err != nil {
		return nil, err
	}
	pipelined, err := s.reserveSlot(ctx)
	if err != nil {
		return nil, s.wrap("publish", err)
	}
	if err := s.usable("publish"); err != nil { // fenced while it waited for room
		s.releaseSlot()
		return nil, err
	}
	r := &pubResult{s: s, ch: make(chan error, 1)}
	accepted, err := s.sendPublish(ctx, p, pipelined, r)
	if err != nil && pipelined && ctx.Err() == nil && FateOf(err) != FateLinkDown {
		// Not the answer a command written while results were pending
		// may get: the firmware does not take publishes that way.
		s.m.refusePipelining(err)
		err = &refusedError{err: err}
	}
	if !accepted {
		r.finish(err)
		if err != nil {
			return nil, s.wrap("publish", err)
		}
	}
	return r.ch, nil
}

// sendPublish writes TOPIC, PAYLOAD (left out for an empty payload) and
// PUB. accepted is true when the PUB waits for its result, which then goes
// to done; otherwise err is the outcome. Commands written while results
// are pending are not retried on result 14: the window decides.
func (s *Session) sendPublish(ctx context.Context, p Publish, pipelined bool, done resultSink) (accepted bool, err error) {
	model := s.m.Model()
	line, secs, err := pubLine(model, s.index, p)
	if err != nil {
		return false, err
	}
	topic := request{line: atLine("AT+CMQTTTOPIC", s.index, len(p.Topic)), data: []byte(p.Topic), index: s.index, noBusyRetry: pipelined}
	if _, err := s.m.exec(ctx, topic); err != nil {
		return false, fmt.Errorf("topic: %w", err)
	}
	if len(p.Payload) > 0 {
		payload := request{line: atLine("AT+CMQTTPAYLOAD", s.index, len(p.Payload)), data: p.Payload, index: s.index, noBusyRetry: pipelined}
		if _, err := s.m.exec(ctx, payload); err != nil {
			return false, fmt.Errorf("payload: %w", err)
		}
	}
	pub := pubRequest(line, s.index, secs)
	pub.noBusyRetry = pipelined
	pub.sink = done
	_, c, err := s.m.start(ctx, pub)
	return c != nil, err
}

// refusedError is a publish the firmware refused while results of its
// index were pending. It matches ErrPipelineRefused (fate unknown) and
// nothing of its cause, whose fate says nothing about the message: sent
// one at a time, it may well be taken.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return ErrPipelineRefused.Error() + ": " + e.err.Error() }

// Unwrap returns ErrPipelineRefused.
func (e *refusedError) Unwrap() error { return ErrPipelineRefused }
