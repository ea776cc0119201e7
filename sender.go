package cellmqtt

import (
	"fmt"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/queue"
)

// retryPause is the wait before sending a message again after an answer
// that left its fate unknown while the link was found alive.
const retryPause = time.Second

// maxUncertain is how often one message is sent again after such answers
// before its token fails with the last error.
const maxUncertain = 5

// maxPoison is how many connections in a row may be lost while one message
// is in flight before the message is taken as the cause (the broker closes
// the connection for it) and fails with ErrPoisonMessage.
const maxPoison = 3

// sender hands the head of the queue to the modem while connected, one
// message at a time, in order. What each answer means for the message is
// atmodem.FateOf's: done (token succeeds), refused (token fails), link down
// or unknown (the message stays at the head, marked DUP for QoS 1 and 2,
// and is sent again; an unknown fate on a live link up to maxUncertain
// times).
type sender struct {
	c *client
	r *run

	// Owned by the sender goroutine.
	retries   int      // unknown-fate attempts of retryID on live links
	retryID   queue.ID //
	poisonID  queue.ID // the message in flight at the last losses
	poisonHit int      // connections lost in a row while poisonID was in flight
}

// loop runs until the client disconnects.
func (s *sender) loop() {
	c, r := s.c, s.r
	for {
		if r.ctx.Err() != nil {
			return
		}
		conn := c.current()
		if conn == nil || conn.ctx.Err() != nil {
			select {
			case <-r.ctx.Done():
				return
			case <-r.wake:
			}
			continue
		}
		e, ok := r.q.Peek()
		if !ok {
			select {
			case <-r.ctx.Done():
				return
			case <-r.q.Ready():
			case <-r.wake:
			}
			continue
		}
		s.send(conn, e)
	}
}

// send sends entry e on conn and decides its fate.
func (s *sender) send(conn *connection, e queue.Entry) {
	c := s.c
	if !s.r.ownQ {
		c.tok.completeBefore(e.ID, fmt.Errorf("cellmqtt: publish: %w", queue.ErrDropped))
	}
	m := e.Message
	p := atmodem.Publish{
		Topic:   m.Topic,
		Payload: m.Payload,
		QoS:     m.QoS,
		Retain:  m.Retained,
		Dup:     m.QoS > 0 && c.isDup(e.ID),
		Timeout: pubTimeout(c.opts.WriteTimeout),
	}
	c.sending.Store(true)
	err := conn.sess.Publish(conn.ctx, p)
	c.sending.Store(false)
	if err == nil {
		c.touch()
		s.retries = 0
		if s.poisonID == e.ID {
			s.poisonHit = 0
		}
		s.settle(e, nil)
		return
	}
	fate := atmodem.FateOf(err)
	switch {
	case conn.ctx.Err() != nil || fate == atmodem.FateLinkDown:
		// The connection ended under the message (a loss reported
		// meanwhile) or the answer says it is gone: the message stays
		// at the head and goes again, with DUP, on the next one.
		c.markDup(e)
		if fate == atmodem.FateLinkDown {
			conn.report(fmt.Errorf("cellmqtt: publish to %q: %w", m.Topic, err))
		}
		if conn.lost() != nil {
			s.suspect(e, err)
		}
	case fate == atmodem.FateUnknown:
		// The message may or may not have reached the broker (no answer,
		// result 6 or 17, busy after every retry, a bare ERROR): ask the
		// modem whether the link still stands before sending it again.
		c.markDup(e)
		if lerr := c.checkLink(conn); lerr != nil {
			conn.report(fmt.Errorf("%w (after publish: %w)", lerr, err))
			s.suspect(e, err)
			return
		}
		if s.retryID != e.ID {
			s.retryID, s.retries = e.ID, 0
		}
		s.retries++
		if s.retries < maxUncertain {
			sleepCtx(conn.ctx, retryPause)
			return
		}
		c.log.Warn("cellmqtt: publish keeps failing on a live link, giving up on the message", "topic", m.Topic, "err", err)
		s.retries = 0
		s.settle(e, fmt.Errorf("cellmqtt: publish to %q: %w", m.Topic, err))
	default:
		c.log.Warn("cellmqtt: publish refused by the modem", "topic", m.Topic, "err", err)
		s.retries = 0
		s.settle(e, fmt.Errorf("cellmqtt: publish to %q: %w", m.Topic, err))
	}
}

// suspect counts a connection lost while e was in flight; after maxPoison
// in a row, e fails with ErrPoisonMessage and leaves the queue, so the
// messages behind it move on.
func (s *sender) suspect(e queue.Entry, err error) {
	if s.r.ctx.Err() != nil {
		return // Disconnect, not a loss
	}
	if s.poisonID != e.ID {
		s.poisonID, s.poisonHit = e.ID, 0
	}
	s.poisonHit++
	if s.poisonHit < maxPoison {
		return
	}
	s.poisonHit = 0
	s.c.log.Error("cellmqtt: the connection was lost each time this message was sent: giving up on it",
		"topic", e.Message.Topic, "times", maxPoison, "err", err)
	s.settle(e, fmt.Errorf("cellmqtt: publish to %q: %w (%d times in a row; last: %w)", e.Message.Topic, ErrPoisonMessage, maxPoison, err))
}

// settle removes e from the queue and completes its token with err.
func (s *sender) settle(e queue.Entry, err error) {
	c := s.c
	c.dupClear(e.ID)
	if rerr := s.r.q.Remove(e.ID); rerr != nil {
		c.log.Error("cellmqtt: remove a message from the queue", "err", rerr)
	}
	c.tok.complete(e.ID, err)
	kick(s.r.sent)
}

// markDup remembers that a QoS 1 or 2 entry went (maybe partly) to the modem.
func (c *client) markDup(e queue.Entry) {
	if e.Message.QoS > 0 {
		c.dupSet(e.ID)
	}
}

// isDup reports whether entry id is to be sent with DUP set.
func (c *client) isDup(id queue.ID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dup[id]
}

// dupSet marks entry id to be sent with DUP set.
func (c *client) dupSet(id queue.ID) {
	c.mu.Lock()
	if c.dup == nil {
		c.dup = make(map[queue.ID]bool)
	}
	c.dup[id] = true
	c.mu.Unlock()
}

// dupClear forgets the DUP mark of entry id.
func (c *client) dupClear(id queue.ID) {
	c.mu.Lock()
	delete(c.dup, id)
	c.mu.Unlock()
}
