package cellmqtt

import (
	"context"
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

// sender hands the head of the queue to the modem while connected, one
// message at a time, in order.
//
// Its publishes share one cancellable context, made again only after a loss
// cancelled it (sendCancel is set only while a publish is in flight, so a
// loss between messages cancels nothing): a context per message cost a
// child registration in c.ctx and three allocations each.
func (c *client) sender() {
	sctx, cancel := context.WithCancel(c.ctx)
	defer func() { cancel() }()
	for {
		if c.ctx.Err() != nil {
			return
		}
		if sctx.Err() != nil {
			sctx, cancel = context.WithCancel(c.ctx)
		}
		if !c.sendOne(sctx, cancel) {
			select {
			case <-c.ctx.Done():
				return
			case <-c.q.Ready():
			case <-c.wake:
			}
		}
	}
}

// sendOne sends the head of the queue; it reports false when there was
// nothing it could do (not connected, queue empty). sctx is the publish's
// context and cancel its cancel function, which a loss calls.
func (c *client) sendOne(sctx context.Context, cancel context.CancelFunc) bool {
	c.mu.Lock()
	ok := c.state == stateConnected && !c.sendHold
	sess := c.sess
	c.mu.Unlock()
	if !ok || sess == nil {
		return false
	}
	e, ok := c.q.Peek()
	if !ok {
		return false
	}
	if !c.ownQueue {
		c.tok.completeBefore(e.ID, fmt.Errorf("cellmqtt: publish: %w", queue.ErrDropped))
	}
	m := e.Message
	p := atmodem.Publish{
		Topic:   m.Topic,
		Payload: m.Payload,
		QoS:     m.QoS,
		Retain:  m.Retained,
		Timeout: pubTimeout(c.opts.WriteTimeout),
	}
	c.mu.Lock()
	p.Dup = m.QoS > 0 && c.dup[e.ID]
	c.sendCancel = cancel
	c.mu.Unlock()
	err := sess.Publish(sctx, p)
	c.mu.Lock()
	c.sendCancel = nil
	c.mu.Unlock()
	switch {
	case err == nil:
		c.retries = 0
		c.touch()
		c.dupClear(e.ID)
		if rerr := c.q.Remove(e.ID); rerr != nil {
			c.log.Error("cellmqtt: remove a sent message from the queue", "err", rerr)
		}
		c.tok.complete(e.ID, nil)
		kick(c.sent)
	case sctx.Err() != nil:
		// Disconnect, or a loss the modem reported while the message was
		// in flight (its result may never come): send it again later.
		c.markDup(e)
	case linkGone(err):
		c.markDup(e)
		c.holdSender()
		c.signalLoss(fmt.Errorf("cellmqtt: publish to %q: %w", m.Topic, err))
	case !refused(err):
		// The message may or may not have reached the broker (no answer,
		// the modem's own timeout, a bare ERROR after a state the client
		// has not heard of yet); ask the modem whether the link still
		// stands before sending it again.
		c.markDup(e)
		if lerr := c.checkLink(sess); lerr != nil {
			c.holdSender()
			c.signalLoss(fmt.Errorf("%w (after publish: %w)", lerr, err))
			return true
		}
		if c.retryID != e.ID {
			c.retryID, c.retries = e.ID, 0
		}
		c.retries++
		if c.retries < maxUncertain {
			sleepCtx(c.ctx, retryPause)
			return true
		}
		c.log.Warn("cellmqtt: publish keeps failing on a live link, giving up on the message", "topic", m.Topic, "err", err)
		fallthrough
	default:
		// The modem refused this message: it is not sent again.
		c.log.Warn("cellmqtt: publish refused by the modem", "topic", m.Topic, "err", err)
		c.retries = 0
		c.dupClear(e.ID)
		if rerr := c.q.Remove(e.ID); rerr != nil {
			c.log.Error("cellmqtt: remove a refused message from the queue", "err", rerr)
		}
		c.tok.complete(e.ID, fmt.Errorf("cellmqtt: publish to %q: %w", m.Topic, err))
		kick(c.sent)
	}
	return true
}

// holdSender stops sending until the next connection is made.
func (c *client) holdSender() {
	c.mu.Lock()
	c.sendHold = true
	c.mu.Unlock()
}

// markDup remembers that a QoS 1 or 2 entry went (maybe partly) to the modem.
func (c *client) markDup(e queue.Entry) {
	if e.Message.QoS > 0 {
		c.dupSet(e.ID)
	}
}

// linkGone reports an error whose fate is FateLinkDown: the MQTT
// connection or the modem link is gone.
func linkGone(err error) bool { return atmodem.FateOf(err) == atmodem.FateLinkDown }

// refused reports an error whose fate is FateRefused: sending the message
// again cannot help.
func refused(err error) bool { return atmodem.FateOf(err) == atmodem.FateRefused }

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
