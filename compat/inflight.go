package compat

import "sync"

// outbound is the state of a message the adapter delivered to the client
// with QoS 1 or 2: which acknowledgement it waits for.
type outbound byte

const (
	awaitPuback  outbound = iota + 1 // QoS 1, PUBLISH sent
	awaitPubrec                      // QoS 2, PUBLISH sent
	awaitPubcomp                     // QoS 2, PUBREL sent
)

// inflight hands out packet IDs for messages delivered to the client with
// QoS 1 or 2 and consumes the client's acknowledgements. At most `limit`
// are unacknowledged at a time (the client's MQTT 5 Receive Maximum).
type inflight struct {
	slots chan struct{} // one token per unacknowledged message
	mu    sync.Mutex
	state map[uint16]outbound
	next  uint16
}

func newInflight(limit int) *inflight {
	return &inflight{
		slots: make(chan struct{}, min(max(limit, 1), 65535)),
		state: map[uint16]outbound{},
	}
}

// acquire waits for a free slot and returns a packet ID not in use; false
// when stop closes first.
func (f *inflight) acquire(stop <-chan struct{}, qos byte) (uint16, bool) {
	select {
	case f.slots <- struct{}{}:
	case <-stop:
		return 0, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		f.next++
		if f.next == 0 {
			f.next = 1
		}
		if _, used := f.state[f.next]; !used {
			break
		}
	}
	if qos == 1 {
		f.state[f.next] = awaitPuback
	} else {
		f.state[f.next] = awaitPubrec
	}
	return f.next, true
}

// release frees an ID that was acquired but not sent.
func (f *inflight) release(id uint16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.state[id]; ok {
		delete(f.state, id)
		<-f.slots
	}
}

// acked consumes the client's PUBACK, PUBREC or PUBCOMP (want names which
// state the ID must be in). It reports whether the ID was waiting for it.
// A PUBREC moves the ID on to awaitPubcomp; the caller sends PUBREL.
func (f *inflight) acked(id uint16, want outbound) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.state[id]
	if !ok || st != want {
		return false
	}
	if want == awaitPubrec {
		f.state[id] = awaitPubcomp
		return true
	}
	delete(f.state, id)
	<-f.slots
	return true
}
