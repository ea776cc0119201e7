package modemsim

// Subscribed reports whether some client of the broker holds a
// subscription whose filter matches topic, so that a test publishes only
// once the subscriber it is waiting for is in place.
func (b *EmbeddedBroker) Subscribed(topic string) bool {
	return len(b.server.Topics.Subscribers(topic).Subscriptions) > 0
}
