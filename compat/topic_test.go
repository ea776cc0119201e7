package compat

import (
	"testing"
)

func TestSubscriptionsQoS(t *testing.T) {
	var s subscriptions
	s.add("a/#", 1)
	s.add("a/b", 2)
	s.add("x/+", 0)
	tests := []struct {
		topic string
		qos   byte
		found bool
	}{
		{"a/b", 2, true},
		{"a/c", 1, true},
		{"x/y", 0, true},
		{"z", 0, false},
	}
	for _, tt := range tests {
		q, ok := s.qos(tt.topic)
		if q != tt.qos || ok != tt.found {
			t.Errorf("qos(%q) = %d, %t; want %d, %t", tt.topic, q, ok, tt.qos, tt.found)
		}
	}
	s.remove("a/b")
	if q, _ := s.qos("a/b"); q != 1 {
		t.Errorf("after unsubscribing a/b: qos %d, want 1", q)
	}
}

func TestInflight(t *testing.T) {
	f := newInflight(2)
	stop := make(chan struct{})
	id1, ok1 := f.acquire(stop, 1)
	id2, ok2 := f.acquire(stop, 2)
	if !ok1 || !ok2 || id1 == id2 || id1 == 0 || id2 == 0 {
		t.Fatalf("ids %d %d", id1, id2)
	}
	// Receive maximum reached: acquire waits until stop.
	close(stop)
	if _, ok := f.acquire(stop, 1); ok {
		t.Fatal("acquire beyond the receive maximum succeeded")
	}
	if f.acked(id1, awaitPubrec) {
		t.Error("PUBREC accepted for a QoS 1 message")
	}
	if !f.acked(id1, awaitPuback) || f.acked(id1, awaitPuback) {
		t.Error("PUBACK not consumed exactly once")
	}
	if !f.acked(id2, awaitPubrec) || !f.acked(id2, awaitPubcomp) {
		t.Error("QoS 2 exchange not consumed")
	}
	if len(f.slots) != 0 || len(f.state) != 0 {
		t.Errorf("left over: %d slots, %d states", len(f.slots), len(f.state))
	}
}
