package cellmqtt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/internal/topic"
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
		err = checkPublishShared(p)
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

// checkPublishShared checks the limits both model families share; it is
// used before the modem (and so its model) is known.
func checkPublishShared(p atmodem.Publish) error {
	switch {
	case p.QoS > 2:
		return fmt.Errorf("qos %d out of range 0-2: %w", p.QoS, atmodem.ErrInvalidParameter)
	case len(p.Topic) < 1 || len(p.Topic) > 1024:
		return fmt.Errorf("topic length %d out of range 1-1024 bytes: %w", len(p.Topic), atmodem.ErrInvalidParameter)
	case !utf8.ValidString(p.Topic):
		return fmt.Errorf("topic is not valid UTF-8: %w", atmodem.ErrInvalidParameter)
	case strings.ContainsAny(p.Topic, "+#"):
		return fmt.Errorf("topic %q contains a wildcard: %w", p.Topic, atmodem.ErrInvalidParameter)
	case hasControl(p.Topic):
		return fmt.Errorf("topic %q contains a control character: %w", p.Topic, atmodem.ErrInvalidParameter)
	case len(p.Payload) > 10240:
		return fmt.Errorf("payload length %d out of range 0-10240 bytes: %w", len(p.Payload), atmodem.ErrInvalidParameter)
	}
	return nil
}

// checkSubscribeShared checks a topic filter against the shared limits; it
// is used before the modem is known.
func checkSubscribeShared(s atmodem.Subscription) error {
	switch {
	case s.QoS > 2:
		return fmt.Errorf("qos %d out of range 0-2: %w", s.QoS, atmodem.ErrInvalidParameter)
	case len(s.Topic) < 1 || len(s.Topic) > 1024:
		return fmt.Errorf("topic filter length %d out of range 1-1024 bytes: %w", len(s.Topic), atmodem.ErrInvalidParameter)
	case !utf8.ValidString(s.Topic):
		return fmt.Errorf("topic filter is not valid UTF-8: %w", atmodem.ErrInvalidParameter)
	case hasControl(s.Topic):
		return fmt.Errorf("topic filter %q contains a control character: %w", s.Topic, atmodem.ErrInvalidParameter)
	case !ValidFilter(s.Topic):
		return fmt.Errorf("topic filter %q: '+' and '#' must each take a whole level, '#' only the last: %w", s.Topic, atmodem.ErrInvalidParameter)
	}
	return nil
}

// hasControl reports a control character in a topic (internal/topic).
func hasControl(s string) bool {
	_, _, found := topic.ControlChar(s)
	return found
}
