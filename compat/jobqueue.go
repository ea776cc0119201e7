package compat

import (
	"context"
	"sync"
)

// queueLimit bounds the bytes of client packets waiting for the modem on
// one connection. The adapter keeps reading the client (and answering its
// PINGREQ at once) while less than this waits; beyond it, it reads no more
// until the modem has caught up.
const queueLimit = 8 << 20

// job is one piece of modem work of a client packet, run by the worker in
// the order the packets arrived.
type job struct {
	run    func(ctx context.Context)
	size   int    // bytes of the packet, counted against queueLimit
	ticket uint64 // its place in the modem's arrival order (arrival.go)
}

// jobQueue is the adapter's FIFO of modem work: the reader pushes, the
// worker pops. It is bounded by bytes, not by count, so that a client that
// hands over many small messages at once is read through to its PINGREQ.
type jobQueue struct {
	mu      sync.Mutex
	jobs    []job
	bytes   int
	limit   int
	closed  bool
	waiting bool          // a push waits for room
	wake    chan struct{} // closed and replaced on every change
}

func newJobQueue(limit int) *jobQueue {
	return &jobQueue{limit: limit, wake: make(chan struct{})}
}

// changed wakes the waiters; q.mu must be held.
func (q *jobQueue) changed() {
	close(q.wake)
	q.wake = make(chan struct{})
}

// push appends j, waiting while the queue holds limit bytes or more (a
// job larger than the limit waits for an empty queue). It returns false
// when the queue was closed or abort closed first.
func (q *jobQueue) push(j job, abort <-chan struct{}) bool {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return false
		}
		if len(q.jobs) == 0 || q.bytes+j.size <= q.limit {
			q.jobs = append(q.jobs, j)
			q.bytes += j.size
			q.changed()
			q.mu.Unlock()
			return true
		}
		q.waiting = true
		wake := q.wake
		q.mu.Unlock()
		select {
		case <-wake:
		case <-abort:
			q.mu.Lock()
			q.waiting = false
			q.mu.Unlock()
			return false
		}
		q.mu.Lock()
		q.waiting = false
		q.mu.Unlock()
	}
}

// full reports whether a push waits for room.
func (q *jobQueue) full() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting
}

// pop returns the oldest job, waiting for one; false once the queue is
// closed and empty.
func (q *jobQueue) pop() (job, bool) {
	for {
		q.mu.Lock()
		if len(q.jobs) > 0 {
			j := q.jobs[0]
			q.jobs[0] = job{}
			q.jobs = q.jobs[1:]
			q.bytes -= j.size
			q.changed()
			q.mu.Unlock()
			return j, true
		}
		if q.closed {
			q.mu.Unlock()
			return job{}, false
		}
		wake := q.wake
		q.mu.Unlock()
		<-wake
	}
}

// close ends the queue: push fails, pop returns what is left, then false.
func (q *jobQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		q.changed()
	}
}
