package compat

import (
	"context"
	"errors"
	"sync"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// The answers to the client's publishes (docs/architecture.md, "The
// publish window"). The worker hands each message to the modem and goes on
// to the next packet as soon as the modem accepted its PUB; the acker
// waits for the results, in the order the messages came, and answers the
// client (PUBACK, PUBREC, or the end of the connection for a message that
// did not go through). With the session's window (WithMaxInflight) several
// publishes of the client are on their way at once, as paho clients keep
// them; with the default window of 1 the worker waits for each result as
// before, and the AT port is still free for the other index meanwhile.

// pendingPub is a publish the acker answers once its outcome is known.
type pendingPub struct {
	result <-chan error // its result; nil when err is the outcome already
	err    error
	done   func(err error) // answers the client
}

// ackQueueSize bounds the publishes waiting for the acker; the session's
// window bounds those whose result is pending.
const ackQueueSize = 256

// publishAsync hands p to the modem and queues its answer: done runs on the
// acker with the outcome, after the answers of the client's earlier
// publishes.
func (a *adapter) publishAsync(ctx context.Context, p atmodem.Publish, done func(error)) {
	p.Timeout = a.cfg.publishTimeout
	ch, err := a.sess.PublishAsync(ctx, p)
	pp := pendingPub{result: ch, err: err, done: func(err error) {
		if errors.Is(err, atmodem.ErrPipelineRefused) {
			// The firmware does not take publishes while results are
			// pending; the session sends one at a time from now on. The
			// message goes again, with DUP (its fate is unknown).
			again := p
			again.Dup = p.QoS > 0
			err = a.sess.Publish(a.ctx, again)
		}
		if err != nil {
			a.log.Warn("compat: publish failed", "topic", logTopic(p.Topic), "qos", p.QoS, "bytes", len(p.Payload), "err", err)
		}
		done(err)
	}}
	if err != nil {
		pp.result = nil
	}
	a.queueAnswer(pp)
}

// queueAnswer hands pp to the acker, after the publishes before it.
func (a *adapter) queueAnswer(pp pendingPub) {
	select {
	case a.pubs <- pp:
	case <-a.stopped:
	}
}

// acks is the acker goroutine: it answers the client's publishes in order
// until the worker is done (it closes a.pubs). After the adapter aborted,
// the answers are dropped: the client sends its messages again.
func (a *adapter) acks() {
	defer a.ops.Done()
	for p := range a.pubs {
		err := p.err
		if p.result != nil {
			select {
			case err = <-p.result:
			case <-a.ctx.Done():
				continue
			}
		}
		if a.ctx.Err() != nil {
			continue
		}
		p.done(err)
	}
}

// qos2IDs are the packet IDs of QoS 2 messages from the client that were
// published and answered with PUBREC, until their PUBREL. The acker adds,
// the worker looks up and removes.
type qos2IDs struct {
	mu  sync.Mutex
	ids map[uint16]bool
}

func (s *qos2IDs) has(id uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id]
}

func (s *qos2IDs) add(id uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[uint16]bool{}
	}
	s.ids[id] = true
}

// remove deletes id and reports whether it was there.
func (s *qos2IDs) remove(id uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.ids[id]
	delete(s.ids, id)
	return was
}
