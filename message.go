package cellmqtt

// Message is a message received from the broker, as paho's Message.
//
// The modem's receive URCs (+CMQTTRXSTART .. +CMQTTRXEND) carry only the
// topic and the payload: no QoS, retain or duplicate flag and no packet
// identifier. Duplicate, Qos, Retained and MessageID therefore report
// false, 0, false and 0; they do not describe the message as the broker
// sent it. The modem acknowledges QoS 1 and 2 messages itself, so Ack does
// nothing.
type Message interface {
	Duplicate() bool
	Qos() byte
	Retained() bool
	Topic() string
	MessageID() uint16
	Payload() []byte
	Ack()
}

// MessageHandler is called for a received message, as paho's MessageHandler.
type MessageHandler func(Client, Message)

// message is the Message of a received +CMQTTRX sequence.
type message struct {
	topic   string
	payload []byte
}

// Duplicate returns false: the modem does not report the DUP flag.
func (m *message) Duplicate() bool { return false }

// Qos returns 0: the modem does not report the QoS of a received message.
func (m *message) Qos() byte { return 0 }

// Retained returns false: the modem does not report the retain flag.
func (m *message) Retained() bool { return false }

// Topic is the topic the message was published to.
func (m *message) Topic() string { return m.topic }

// MessageID returns 0: the modem does not report packet identifiers.
func (m *message) MessageID() uint16 { return 0 }

// Payload is the message's payload, byte for byte.
func (m *message) Payload() []byte { return m.payload }

// Ack does nothing: the modem acknowledges received messages itself.
func (m *message) Ack() {}
