package cellmqtt

import (
	"context"
	"errors"
	"fmt"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/queue"
)

// Publish validates the message, then appends it to the queue; the sender
// hands queued messages to the modem in order while connected. The token
// completes when the modem reports +CMQTTPUB: <index>,0, or fails:
//
//   - at once, with nothing queued or written, for a payload of another
//     type (ErrPayloadType) or a topic, payload or QoS the modem would
//     reject (wrapping atmodem.ErrInvalidParameter);
//   - with ErrNotConnected when the client neither is connected nor retrying
//     (paho's IsConnected), and ErrQoS0Dropped for QoS 0 while offline with
//     SetDropQoS0WhenOffline(true);
//   - with queue.ErrQueueFull when the queue is full (Reject, or Block after
//     the WriteTimeout), queue.ErrDropped when DropOldest made room;
//   - with the *atmodem.ResultError of a publish the modem refused.
//
// A publish that finds the connection gone (results 9, 11, 26, a lost
// transport) is not failed: the message stays at the head of the queue, the
// client reconnects and sends it again (with DUP set for QoS 1 and 2).
// With the Block policy Publish itself waits for room.
func (c *client) Publish(topic string, qos byte, retained bool, payload interface{}) Token {
	var id uint16
	if qos > 0 {
		id = c.nextMessageID()
	}
	t := newPublishToken(id)
	b, err := payloadBytes(payload)
	if err != nil {
		t.finish(err)
		return t
	}
	c.mu.Lock()
	accepts, open := c.acceptsLocked(), c.state == stateConnected
	sess, r := c.checker(), c.run
	c.mu.Unlock()
	if !accepts || r == nil {
		t.finish(ErrNotConnected)
		return t
	}
	q, ctx := r.q, r.ctx
	p := atmodem.Publish{Topic: topic, Payload: b, QoS: qos, Retain: retained, Timeout: pubTimeout(c.opts.WriteTimeout)}
	if sess != nil {
		err = sess.CheckPublish(p)
	} else {
		err = atmodem.CheckPublishAnyModel(p)
	}
	if err != nil {
		t.finish(fmt.Errorf("cellmqtt: publish to %q: %w", topic, err))
		return t
	}
	if qos == 0 && !open && c.opts.DropQoS0WhenOffline {
		t.finish(ErrQoS0Dropped)
		return t
	}
	life := ctx
	if c.opts.WriteTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.WriteTimeout)
		defer cancel()
	}
	c.tok.beginPut()
	qid, err := q.Put(ctx, queue.Message{Topic: topic, Payload: b, QoS: qos, Retained: retained})
	if err != nil {
		c.tok.abandon()
		if life.Err() != nil || errors.Is(err, queue.ErrClosed) {
			err = fmt.Errorf("%w: %w", ErrDisconnected, err)
		}
		t.finish(fmt.Errorf("cellmqtt: publish to %q: %w", topic, err))
		return t
	}
	c.tok.register(qid, t)
	return t
}

// nextMessageID numbers QoS 1 and 2 publishes 1..65535, wrapping.
func (c *client) nextMessageID() uint16 {
	for {
		if id := uint16(c.msgID.Add(1)); id != 0 {
			return id
		}
	}
}
