package bridge

import (
	"hash/fnv"
	"strconv"
	"sync"
	"time"
)

// echoFilter is the bridge's loop prevention on the remote side. mosquitto
// marks its bridge connection as a bridge (try_private), so a mosquitto on
// the other side does not send the bridge's own messages back; the modem
// connects as an ordinary MQTT 3.1.1 client and cannot, so a message sent
// out on a topic an in rule subscribes comes back. The filter remembers
// each such message (topic and payload) from the moment it is queued until
// its echo arrives, or echoTTL after the remote broker confirmed it
// (cancelled at once if it failed), and the bridge drops a received
// message that matches one: the echo is never delivered locally and never
// sent out again.
//
// A message from another publisher identical to one whose echo is still
// awaited is indistinguishable from the echo: the count makes the bridge
// deliver as many copies as arrive beyond its own.
type echoFilter struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*echoEntry
	swept   time.Time
}

// echoEntry counts the awaited echoes of one topic and payload.
type echoEntry struct {
	pending   int       // queued, not yet confirmed
	confirmed int       // confirmed, echo awaited until deadline
	deadline  time.Time // of the latest confirmation
}

func newEchoFilter(ttl time.Duration) *echoFilter {
	return &echoFilter{ttl: ttl, now: time.Now, entries: map[string]*echoEntry{}}
}

// echoKey identifies a message by topic and payload.
func echoKey(topic string, payload []byte) string {
	h := fnv.New64a()
	h.Write(payload)
	return topic + "\x00" + strconv.Itoa(len(payload)) + ":" + strconv.FormatUint(h.Sum64(), 16)
}

// expect records a queued message whose echo will come.
func (f *echoFilter) expect(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sweep()
	e := f.entries[key]
	if e == nil {
		e = &echoEntry{}
		f.entries[key] = e
	}
	e.pending++
}

// confirmed records that the remote broker took the message: its echo is
// awaited for ttl more.
func (f *echoFilter) confirmed(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.entries[key]; e != nil && e.pending > 0 {
		e.pending--
		e.confirmed++
		e.deadline = f.now().Add(f.ttl)
	}
}

// cancel forgets a message that was not sent: no echo will come.
func (f *echoFilter) cancel(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.entries[key]; e != nil && e.pending > 0 {
		e.pending--
		f.dropIfEmpty(key, e)
	}
}

// consume reports whether a received message is an awaited echo, and
// forgets it.
func (f *echoFilter) consume(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sweep()
	e := f.entries[key]
	if e == nil {
		return false
	}
	// The echo can come before the modem reported the publish done.
	switch {
	case e.confirmed > 0:
		e.confirmed--
	case e.pending > 0:
		e.pending--
	}
	f.dropIfEmpty(key, e)
	return true
}

// len is the number of topics and payloads awaited.
func (f *echoFilter) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.entries)
}

func (f *echoFilter) dropIfEmpty(key string, e *echoEntry) {
	if e.pending == 0 && e.confirmed == 0 {
		delete(f.entries, key)
	}
}

// sweep forgets confirmed echoes past their deadline, at most once per
// tenth of the ttl.
func (f *echoFilter) sweep() {
	now := f.now()
	if now.Sub(f.swept) < f.ttl/10 {
		return
	}
	f.swept = now
	for k, e := range f.entries {
		if e.confirmed > 0 && now.After(e.deadline) {
			e.confirmed = 0
			f.dropIfEmpty(k, e)
		}
	}
}
