package queue

import "context"

// Memory is a Queue held in memory, bounded by Limits. It is safe for
// concurrent use. Entries are lost when the process ends; use File for a
// queue that survives a crash.
//
// Put copies the payload, so the caller may reuse its buffer; the Entry
// returned by Peek shares the queue's copy, which must not be modified.
// Put, Peek and removing the oldest entry are O(1) amortised; removing
// another entry is O(log n). Put allocates only the payload copy.
//
// With the Block policy, Put calls waiting for room are woken when an entry
// is removed; which of several waiting Put calls goes first is not defined.
type Memory struct {
	b bounded
}

// NewMemory returns an empty memory queue bounded by lim.
func NewMemory(lim Limits) *Memory {
	m := &Memory{}
	m.b.init(lim, 1, nil)
	return m
}

var _ Queue = (*Memory)(nil)

// Put appends msg, applying the policy when the queue is full. It fails
// with ErrTooLarge when msg alone exceeds Limits.MaxBytes (whatever the
// policy), ErrQueueFull (Reject, or Block when ctx ends first) or ErrClosed.
func (q *Memory) Put(ctx context.Context, msg Message) (ID, error) { return q.b.put(ctx, msg) }

// Peek returns the oldest entry without removing it; ok is false when the
// queue is empty or closed.
func (q *Memory) Peek() (Entry, bool) { return q.b.peek() }

// PeekAfter returns the oldest entry whose ID is greater than id.
func (q *Memory) PeekAfter(id ID) (Entry, bool) { return q.b.peekAfter(id) }

// Remove deletes the entry with id; an unknown id is not an error. It fails
// only with ErrClosed.
func (q *Memory) Remove(id ID) error { return q.b.remove(id) }

// Ready returns a channel (capacity 1) that receives a value after each Put.
func (q *Memory) Ready() <-chan struct{} { return q.b.ready }

// Len is the number of queued entries.
func (q *Memory) Len() int { return q.b.lockedLen() }

// Bytes is the size of the queued entries as counted by Limits.MaxBytes.
func (q *Memory) Bytes() int64 { return q.b.lockedBytes() }

// Close closes the queue: pending and later Put calls fail with ErrClosed,
// Peek reports nothing and Remove fails with ErrClosed. Closing twice is
// not an error.
func (q *Memory) Close() error {
	q.b.mu.Lock()
	defer q.b.mu.Unlock()
	q.b.shut()
	return nil
}
