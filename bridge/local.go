package bridge

// localBroker is the local side of the bridge: the embedded broker, or an
// existing broker the bridge joins as a client. Messages published there
// reach the bridge through forward.
type localBroker interface {
	// addr is where local clients connect.
	addr() string
	// deliver publishes a message that came in from the remote broker;
	// the local side never sends it out again.
	deliver(topic string, payload []byte, qos byte) error
	// publishState publishes a retained QoS 1 message of the bridge's own
	// (notifications, status); it is not sent out.
	publishState(topic string, payload []byte) error
	// replayRetained sends the local retained messages that match the out
	// rules out again (after each connection to the remote broker).
	replayRetained()
	// close stops the local side.
	close() error
}
