// Package queue holds outgoing messages while the modem link is down or busy:
// one small interface with a memory implementation bounded by message count
// and bytes, and a file implementation that survives a crash and a restart.
//
// NewMemory returns a Memory queue; OpenFile opens a File queue in a
// directory. Both take the same Limits and behave the same way: FIFO, IDs
// that grow, the three policies when full, ErrTooLarge for a message larger
// than MaxBytes whatever the policy, and a Ready channel for the sender.
//
// The intended use is one sender loop that waits on Ready, Peeks the oldest
// entry, publishes it and Removes it once the modem confirmed it (with
// several in flight, PeekAfter the last one sent); any number of goroutines
// may Put concurrently.
package queue

import (
	"context"
	"errors"
	"fmt"
)

// Errors of the queues, usable with errors.Is.
var (
	// ErrQueueFull: the queue is at its limit and the policy is Reject, or
	// Block gave up when its context ended.
	ErrQueueFull = errors.New("queue: full")
	// ErrDropped: the message was removed to make room (policy DropOldest).
	// The queues report drops through Limits.OnDrop; this error is for the
	// caller to fail whatever waited for the dropped message.
	ErrDropped = errors.New("queue: message dropped to make room")
	// ErrClosed: the queue is closed.
	ErrClosed = errors.New("queue: closed")
	// ErrTooLarge: one message is larger than the queue's byte limit.
	ErrTooLarge = errors.New("queue: message larger than the queue")
)

// Policy says what Put does when the queue is full.
type Policy int

// The policies when full.
const (
	// Block waits for room until the context passed to Put ends.
	Block Policy = iota
	// Reject fails Put with ErrQueueFull.
	Reject
	// DropOldest removes the oldest entries to make room and reports each
	// to Limits.OnDrop.
	DropOldest
)

// String names the policy.
func (p Policy) String() string {
	switch p {
	case Block:
		return "block"
	case Reject:
		return "reject"
	case DropOldest:
		return "drop-oldest"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// Message is one outgoing MQTT message. Topic and Payload are opaque to
// the queues (any bytes); QoS and Retained are stored as given.
type Message struct {
	Topic    string
	Payload  []byte
	QoS      byte
	Retained bool
}

// ID identifies an entry for the life of the queue (for the file queue:
// across restarts). IDs grow in order of Put.
type ID uint64

// Entry is a queued message with its ID.
type Entry struct {
	ID      ID
	Message Message
}

// Limits bound a queue. A zero (or negative) MaxMessages or MaxBytes means
// no limit of that kind.
type Limits struct {
	MaxMessages int
	MaxBytes    int64 // counted as len(Topic)+len(Payload) per message
	Policy      Policy
	// OnDrop is called (without the queue's lock held) for each entry
	// removed by DropOldest.
	OnDrop func(Entry)
}

// Queue is a FIFO of outgoing messages. The sender peeks the oldest entry,
// sends it, and removes it once the modem confirmed it, so an entry in
// flight when the link drops stays at the head and is sent again.
type Queue interface {
	// Put appends m, applying the policy when full, and returns its ID.
	// The queue keeps its own copy of the payload. Errors: ErrTooLarge
	// (whatever the policy), ErrQueueFull (Reject, or Block when ctx ended
	// first; it then also wraps ctx.Err()), ErrClosed, and for File a
	// write error.
	Put(ctx context.Context, m Message) (ID, error)
	// Peek returns the oldest entry without removing it; ok is false when
	// the queue is empty or closed. The entry's payload is the queue's own
	// copy and must not be modified.
	Peek() (e Entry, ok bool)
	// PeekAfter returns the oldest entry whose ID is greater than id,
	// without removing it (PeekAfter(0) is Peek): a sender that keeps
	// several messages in flight takes the next one after the last it
	// sent. ok is false when there is none or the queue is closed.
	PeekAfter(id ID) (e Entry, ok bool)
	// Remove deletes the entry with id; removing an unknown id is not an error.
	Remove(id ID) error
	// Ready is signalled (capacity 1, never blocks Put) whenever an entry is
	// added. Close does not close it.
	Ready() <-chan struct{}
	// Len is the number of entries; Bytes their size as counted by Limits.
	Len() int
	Bytes() int64
	// Close releases the queue; pending Put calls fail with ErrClosed.
	// Closing twice is not an error.
	Close() error
}
