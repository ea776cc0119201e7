package bridge

import "sync/atomic"

// inCounter counts the messages received from the remote broker.
type inCounter struct {
	delivered atomic.Uint64 // handed to the local broker
	echoes    atomic.Uint64 // the bridge's own messages coming back, dropped
}

// receive takes a message the remote broker delivered to the modem's
// subscription: the bridge's own echo is dropped; anything else is
// remapped by the in rules and published on the local broker, not
// retained (the modem does not say whether it was) and at the QoS of the
// in rules that match it (the modem does not say at which it arrived).
// The local broker never sends it out again (loop prevention).
func (b *Bridge) receive(topic string, payload []byte) {
	if b.echo.consume(echoKey(topic, payload)) {
		b.in.echoes.Add(1)
		b.log.Debug("dropped the remote broker's echo of a message the bridge sent", "topic", topic)
		return
	}
	if !b.waitLocal() {
		b.log.Warn("bridge closing: a message from the remote broker is not delivered", "topic", topic)
		return
	}
	local := remapIn(b.cfg.Rules, topic)
	qos := inQoS(b.cfg.Rules, topic)
	if err := b.local.deliver(local, payload, qos); err != nil {
		b.log.Error("a message from the remote broker could not be handed to the local broker", "topic", local, "bytes", len(payload), "err", err)
		return
	}
	b.in.delivered.Add(1)
}
