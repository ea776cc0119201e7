package bridge

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/cellmqtt/cellmqtt"
)

// errNotCarried: a local message matched an out rule but the bridge could
// not queue it for the remote broker (wrapped with the reason).
var errNotCarried = errors.New("bridge: message not queued for the remote broker")

// forward queues a local message for the remote broker when an out rule
// matches its topic; it returns once the message is in the out queue (on
// disk, with a durable queue), or with an error wrapping errNotCarried that
// says why it is not: the modem cannot carry it (atmodem.ErrInvalidParameter:
// topic over 1024 or payload over 10240 bytes), the queue is full
// (queue.ErrQueueFull, policy reject) or the bridge is closing. A message no
// out rule matches is not for the bridge: nil.
func (b *Bridge) forward(topic string, payload []byte, qos byte, retain bool) error {
	outQoS, ok := outQoS(b.cfg.Rules, topic, qos)
	if !ok {
		return nil
	}
	remote := remapOut(b.cfg.Rules, topic)
	retain = retain && b.cfg.OutgoingRetain
	b.full.check(b, len(remote)+len(payload))
	// The echo is expected before the Put: the sender may send the message
	// and the echo come back before Publish returns.
	var echo string
	if b.echoExpected(remote) {
		echo = echoKey(remote, payload)
		b.echo.expect(echo)
	}
	tok := b.client.Publish(remote, outQoS, retain, payload)
	// Publish returns after the queue's Put: a token already failed means
	// the message was not queued (or, rarely, that the modem already
	// refused it).
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			if echo != "" {
				b.echo.cancel(echo)
			}
			return fmt.Errorf("%w: %q: %w", errNotCarried, remote, err)
		}
	default:
	}
	b.sent.add(tok, echo)
	return nil
}

// echoExpected reports whether the remote broker will send a message on
// remote back to the bridge: an in rule subscribes a filter that matches it.
func (b *Bridge) echoExpected(remote string) bool {
	for _, r := range b.cfg.Rules {
		if r.Direction.in() && cellmqtt.TopicMatches(r.RemoteTopic(), remote) {
			return true
		}
	}
	return false
}

// fullLog logs once when the out queue becomes full, and again after it
// had room.
type fullLog struct {
	full atomic.Bool
}

// check looks at the queue before a Put of size bytes.
func (f *fullLog) check(b *Bridge, size int) {
	o := b.opts
	n, bytes := b.outQ.Len(), b.outQ.Bytes()
	isFull := (o.QueueMaxMessages > 0 && n >= o.QueueMaxMessages) ||
		(o.QueueMaxBytes > 0 && bytes+int64(size) > o.QueueMaxBytes)
	if isFull && !f.full.Swap(true) {
		b.log.Warn("out queue full", "messages", n, "bytes", bytes,
			"max_messages", o.QueueMaxMessages, "max_bytes", o.QueueMaxBytes, "policy", o.QueuePolicy.String())
	} else if !isFull && f.full.Load() {
		f.full.Store(false)
		b.log.Info("out queue has room again", "messages", n, "bytes", bytes)
	}
}
