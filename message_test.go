package cellmqtt

import (
	"bytes"
	"testing"
)

func TestMessageReportsNoFlags(t *testing.T) {
	m := &message{topic: "a/b", payload: []byte{0, '\r', '\n'}}
	m.Ack()
	if m.Duplicate() || m.Qos() != 0 || m.Retained() || m.MessageID() != 0 {
		t.Errorf("flags = %v %d %v %d, want false 0 false 0", m.Duplicate(), m.Qos(), m.Retained(), m.MessageID())
	}
	if m.Topic() != "a/b" || !bytes.Equal(m.Payload(), []byte{0, '\r', '\n'}) {
		t.Errorf("topic/payload = %q/%q", m.Topic(), m.Payload())
	}
}
