package queue

import (
	"context"
	"fmt"
	"sync"
)

// journal makes the changes of a bounded queue durable. It is called with
// the queue's lock held; nil for the memory queue.
type journal interface {
	// appendPut writes the PUT record of e before e becomes visible and
	// returns the segment that holds it and the record's size. (Values, not
	// pointers, so that nothing escapes to the heap through the interface.)
	appendPut(e Entry) (seg uint64, rec int64, err error)
	// appendRemove writes the REMOVE record of an entry taken out of the
	// ring, whose PUT record is in segment seg and takes rec bytes.
	appendRemove(id ID, seg uint64, rec int64) error
}

// bounded is the state and the full-queue policies shared by Memory and
// File: a ring of entries under one lock, the limits, the Ready signal and
// the wake-up of Put calls blocked for room.
type bounded struct {
	mu      sync.Mutex
	lim     Limits
	r       ring
	next    ID            // ID of the next Put
	ready   chan struct{} // capacity 1
	space   chan struct{} // closed when room is made; nil when nobody waits
	waiters int
	closed  bool
	done    chan struct{} // closed by Close
	j       journal
}

func (b *bounded) init(lim Limits, next ID, j journal) {
	b.lim = lim
	b.next = next
	b.ready = make(chan struct{}, 1)
	b.done = make(chan struct{})
	b.j = j
}

// messageSize is a message's size as counted by Limits.MaxBytes.
func messageSize(m *Message) int64 { return int64(len(m.Topic)) + int64(len(m.Payload)) }

// fits reports whether a message of size bytes can be added now.
func (b *bounded) fits(size int64) bool {
	if b.lim.MaxMessages > 0 && b.r.live >= b.lim.MaxMessages {
		return false
	}
	return b.lim.MaxBytes <= 0 || b.r.bytes+size <= b.lim.MaxBytes
}

func (b *bounded) put(ctx context.Context, m Message) (ID, error) {
	size := messageSize(&m)
	if b.lim.MaxBytes > 0 && size > b.lim.MaxBytes {
		return 0, fmt.Errorf("%w: %d bytes (topic and payload), limit %d", ErrTooLarge, size, b.lim.MaxBytes)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	var dropped []Entry
	defer func() { b.reportDrops(dropped) }()

	b.mu.Lock()
	for !b.fits(size) && !b.closed {
		switch b.lim.Policy {
		case Reject:
			b.mu.Unlock()
			return 0, fmt.Errorf("%w: %d messages, %d bytes queued", ErrQueueFull, b.len(), b.byteCount())
		case DropOldest:
			s, ok := b.r.popFront()
			if !ok { // unreachable: an empty queue fits any message that passed the size check
				b.mu.Unlock()
				return 0, fmt.Errorf("%w: empty but no room", ErrQueueFull)
			}
			if b.j != nil {
				_ = b.j.appendRemove(s.entry.ID, s.seg, s.rec) // logged by the journal; worst case the entry returns after a restart
			}
			dropped = append(dropped, s.entry)
		default: // Block
			if b.space == nil {
				b.space = make(chan struct{})
			}
			room := b.space
			b.waiters++
			b.mu.Unlock()
			var err error
			select {
			case <-room:
			case <-b.done:
			case <-ctx.Done():
				err = ctx.Err()
			}
			b.mu.Lock()
			b.waiters--
			if err != nil {
				b.mu.Unlock()
				return 0, fmt.Errorf("%w: gave up waiting for room: %w", ErrQueueFull, err)
			}
		}
	}
	if b.closed {
		b.mu.Unlock()
		return 0, ErrClosed
	}
	payload := make([]byte, len(m.Payload))
	copy(payload, m.Payload)
	m.Payload = payload
	s := slot{entry: Entry{ID: b.next, Message: m}, size: size}
	if b.j != nil {
		var err error
		if s.seg, s.rec, err = b.j.appendPut(s.entry); err != nil {
			b.mu.Unlock()
			return 0, err
		}
	}
	b.next++
	b.r.push(s)
	b.mu.Unlock()
	select {
	case b.ready <- struct{}{}:
	default:
	}
	return s.entry.ID, nil
}

// reportDrops calls OnDrop, without the lock, for each dropped entry.
func (b *bounded) reportDrops(dropped []Entry) {
	if b.lim.OnDrop == nil {
		return
	}
	for _, e := range dropped {
		b.lim.OnDrop(e)
	}
}

func (b *bounded) peek() (Entry, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return Entry{}, false
	}
	if s := b.r.front(); s != nil {
		return s.entry, true
	}
	return Entry{}, false
}

func (b *bounded) peekAfter(id ID) (Entry, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return Entry{}, false
	}
	if s := b.r.after(id); s != nil {
		return s.entry, true
	}
	return Entry{}, false
}

func (b *bounded) remove(id ID) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	s, ok := b.r.remove(id)
	if !ok {
		return nil
	}
	var err error
	if b.j != nil {
		err = b.j.appendRemove(s.entry.ID, s.seg, s.rec)
	}
	if b.waiters > 0 && b.space != nil {
		close(b.space)
		b.space = nil
	}
	return err
}

func (b *bounded) len() int         { return b.r.live }
func (b *bounded) byteCount() int64 { return b.r.bytes }

func (b *bounded) lockedLen() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.r.live
}

func (b *bounded) lockedBytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.r.bytes
}

// shut marks the queue closed and wakes blocked Put calls; false if it was
// already closed. The caller holds the lock.
func (b *bounded) shut() bool {
	if b.closed {
		return false
	}
	b.closed = true
	close(b.done)
	return true
}
