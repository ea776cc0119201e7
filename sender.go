package cellmqtt

import (
	"errors"
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

// sender hands the queue to the modem while connected, in order, with up to
// the session's window (SetMaxInflight) of messages waiting for their
// result at once (docs/architecture.md, "The client's publish window").
// What each answer means for its message is atmodem.FateOf's, decided in
// the order the messages were sent: done (token succeeds), refused (token
// fails), link down or unknown (the message stays in the queue, marked DUP
// for QoS 1 and 2, and is sent again; an unknown fate on a live link up to
// maxUncertain times).
//
// Messages stay in the queue until their fate is decided. The sender takes
// the next after the last it sent (queue.PeekAfter); when a message is to
// be sent again, it lets the window empty and starts again from the head
// of the queue, which then holds exactly the messages still to send.
type sender struct {
	c *client
	r *run

	// Owned by the sender goroutine.
	conn     *connection // the connection flights belong to
	flights  []flight    // sent on conn, fate not decided yet, oldest first
	last     queue.ID    // the last entry sent on conn; 0: none
	restart  bool        // send nothing more until the window is empty, then from the head
	pause    bool        // wait retryPause before that
	lossSeen bool        // the loss of conn was counted (noteLoss)
	// probe: the last connection was lost with messages in flight; the
	// next sends one at a time until one is confirmed, so a message the
	// broker closes the connection for is found alone in flight.
	probe     bool
	retries   int      // unknown-fate attempts of retryID on live links
	retryID   queue.ID //
	poisonID  queue.ID // the message in flight at the last losses
	poisonHit int      // connections lost in a row while poisonID was alone in flight
}

// errAbandoned marks a flight whose result had not come when its
// connection ended.
var errAbandoned = errors.New("cellmqtt: connection ended before the result")

// flight is a message handed to the modem whose fate is not decided.
type flight struct {
	e      queue.Entry
	result <-chan error // its result; nil when err is already known
	err    error
}

// loop runs until the client disconnects.
func (s *sender) loop() {
	c, r := s.c, s.r
	defer c.sending.Store(false)
	for {
		if r.ctx.Err() != nil {
			return
		}
		conn := c.current()
		if conn != s.conn {
			s.switchTo(conn)
		}
		if conn == nil || conn.ctx.Err() != nil {
			select {
			case <-r.ctx.Done():
				return
			case <-r.wake:
			}
			continue
		}
		if len(s.flights) > 0 {
			if err, ok := s.headResult(); ok {
				s.decide(conn, s.flights[0].e, err)
				s.flights = s.flights[1:]
				c.sending.Store(len(s.flights) > 0)
				continue
			}
		}
		if s.restart && len(s.flights) == 0 {
			s.restart, s.last = false, 0
			if s.pause {
				s.pause = false
				sleepCtx(conn.ctx, retryPause)
			}
			continue
		}
		room := !s.restart && len(s.flights) < s.window(conn)
		if room {
			if e, ok := r.q.PeekAfter(s.last); ok {
				s.send(conn, e)
				continue
			}
		}
		var result <-chan error
		if len(s.flights) > 0 {
			result = s.flights[0].result
		}
		var ready <-chan struct{}
		if room {
			ready = r.q.Ready()
		}
		select {
		case <-r.ctx.Done():
			return
		case <-conn.ctx.Done():
		case <-r.wake:
		case <-ready:
		case err := <-result:
			s.flights[0].result, s.flights[0].err = nil, err
		}
	}
}

// window is how many messages may wait for their result now.
func (s *sender) window(conn *connection) int {
	if s.probe {
		return 1
	}
	return max(conn.sess.MaxInflight(), 1)
}

// headResult returns the result of the oldest flight if it is in.
func (s *sender) headResult() (error, bool) {
	f := &s.flights[0]
	if f.result == nil {
		return f.err, true
	}
	select {
	case err := <-f.result:
		f.result, f.err = nil, err
		return err, true
	default:
		return nil, false
	}
}

// switchTo starts over on a new connection (nil: none yet). Messages in
// flight on the old one are sent again, with DUP for QoS 1 and 2; when one
// was alone in flight at the loss, it counts towards ErrPoisonMessage.
func (s *sender) switchTo(conn *connection) {
	if old := s.conn; old != nil && len(s.flights) > 0 {
		if lost := old.lost(); lost != nil {
			s.noteLoss(lost)
		}
		for i := range s.flights {
			f := &s.flights[i]
			if f.result != nil {
				select {
				case err := <-f.result: // came in meanwhile: it counts
					f.result, f.err = nil, err
				default:
					f.err = errAbandoned
				}
			}
			if f.result == nil && f.err == nil {
				s.c.touch()
				s.settle(f.e, nil)
				continue
			}
			s.c.markDup(f.e)
		}
	}
	s.conn, s.flights, s.last = conn, nil, 0
	s.restart, s.pause, s.lossSeen = false, false, false
	s.c.sending.Store(false)
}

// noteLoss counts the loss of the connection once, with the messages in
// flight at that moment: the next connection probes with one message at a
// time, and a message that was alone in flight counts towards
// ErrPoisonMessage.
func (s *sender) noteLoss(err error) {
	if s.lossSeen || len(s.flights) == 0 {
		return
	}
	s.lossSeen, s.probe = true, true
	if len(s.flights) == 1 {
		s.suspect(s.flights[0].e, err)
	}
}

// send hands entry e to the modem on conn: it returns once the modem
// accepted its PUB (the result comes later) or failed it.
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
	ch, err := conn.sess.PublishAsync(conn.ctx, p)
	if err != nil {
		// Failed before the modem took it: nothing more goes out until
		// its fate is decided.
		ch = nil
		s.restart = true
	}
	s.flights = append(s.flights, flight{e: e, result: ch, err: err})
	s.last = e.ID
}

// decide acts on the fate of e, sent on conn, whose result is err.
func (s *sender) decide(conn *connection, e queue.Entry, err error) {
	c := s.c
	m := e.Message
	if err == nil {
		c.touch()
		s.retries = 0
		s.probe = false
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
		// in the queue and goes again, with DUP, on the next one
		// (switchTo, once the manager made it).
		c.markDup(e)
		if fate == atmodem.FateLinkDown {
			conn.report(fmt.Errorf("cellmqtt: publish to %q: %w", m.Topic, err))
		}
		if lost := conn.lost(); lost != nil {
			s.noteLoss(lost)
		}
		s.again(false)
	case fate == atmodem.FateUnknown:
		// The message may or may not have reached the broker (no answer,
		// result 6 or 17, busy after every retry, a bare ERROR): ask the
		// modem whether the link still stands before sending it again.
		// Refused pipelining is not a question of the link: the modem
		// sends one at a time now, and the message goes again at once.
		c.markDup(e)
		if errors.Is(err, atmodem.ErrPipelineRefused) {
			s.again(false)
			return
		}
		if lerr := c.checkLink(conn); lerr != nil {
			conn.report(fmt.Errorf("%w (after publish: %w)", lerr, err))
			s.noteLoss(conn.lost())
			s.again(false)
			return
		}
		if s.retryID != e.ID {
			s.retryID, s.retries = e.ID, 0
		}
		s.retries++
		if s.retries < maxUncertain {
			s.again(true)
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

// again sends the messages not yet confirmed once more, from the head of
// the queue, when the window has emptied (after retryPause with pause).
func (s *sender) again(pause bool) {
	s.restart = true
	s.pause = s.pause || pause
}

// suspect counts a connection lost while e was alone in flight; after
// maxPoison in a row, e fails with ErrPoisonMessage and leaves the queue,
// so the messages behind it move on.
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
