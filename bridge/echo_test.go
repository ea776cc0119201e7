package bridge

import (
	"testing"
	"time"
)

// TestEchoFilter: an echo is dropped once per message sent, before or
// after the remote broker confirmed it; a failed message expects none; an
// echo that never came is forgotten ttl after the confirmation.
func TestEchoFilter(t *testing.T) {
	now := time.Unix(1000, 0)
	f := newEchoFilter(time.Minute)
	f.now = func() time.Time { return now }
	a, b := echoKey("t", []byte("a")), echoKey("t", []byte("b"))

	f.expect(a)
	f.expect(a)
	if !f.consume(a) { // before the confirmation
		t.Error("the early echo was not recognised")
	}
	f.confirmed(a)
	f.confirmed(a) // a confirmation without a pending message changes nothing
	if !f.consume(a) {
		t.Error("the echo after the confirmation was not recognised")
	}
	if f.consume(a) {
		t.Error("a third copy was taken for an echo of two messages")
	}
	if f.consume(b) {
		t.Error("a message never sent was taken for an echo")
	}

	f.expect(b)
	f.cancel(b)
	if f.consume(b) || f.len() != 0 {
		t.Errorf("a failed message still expects an echo (%d entries)", f.len())
	}

	f.expect(a)
	f.confirmed(a)
	now = now.Add(2 * time.Minute)
	if f.consume(a) || f.len() != 0 {
		t.Errorf("an echo past its ttl was still expected (%d entries)", f.len())
	}
	if echoKey("t", []byte("a")) == echoKey("t2", []byte("a")) || echoKey("t", []byte("a")) == echoKey("t", []byte("ab")) {
		t.Error("different messages share a key")
	}
}
