package queue

import "sort"

// slot is one position of a ring: an entry, its size as counted by Limits,
// and for the file queue the segment that holds its PUT record.
type slot struct {
	entry Entry
	size  int64  // len(Topic)+len(Payload)
	seg   uint64 // file queue: segment number of the PUT record; 0 in memory
	rec   int64  // file queue: bytes of the PUT record on disk
	dead  bool   // removed out of order; skipped and reclaimed later
}

// ring is a FIFO of slots sorted by ID, backed by a power-of-two circular
// buffer. Removing the head is O(1); removing another entry marks its slot
// dead (found by binary search) and dead slots are reclaimed when they reach
// either end or when they outnumber the live ones, so every operation is
// O(1) amortised (O(log n) for an out-of-order Remove).
type ring struct {
	buf   []slot
	head  int   // index of the oldest slot; always live when n > 0
	n     int   // slots in use, live and dead
	live  int   // live entries
	bytes int64 // sum of live sizes
}

const minRingSize = 16

func (r *ring) at(i int) *slot { return &r.buf[(r.head+i)&(len(r.buf)-1)] }

// push appends s, whose ID must be greater than every ID in the ring.
func (r *ring) push(s slot) {
	if r.n == len(r.buf) {
		r.grow()
	}
	*r.at(r.n) = s
	r.n++
	r.live++
	r.bytes += s.size
}

// grow doubles the buffer (or reclaims dead slots when they dominate).
func (r *ring) grow() {
	size := len(r.buf) * 2
	if size < minRingSize {
		size = minRingSize
	}
	if r.live*2 < r.n { // enough dead slots: reclaim instead of growing
		size = len(r.buf)
	}
	nb := make([]slot, size)
	j := 0
	for i := 0; i < r.n; i++ {
		if s := r.at(i); !s.dead {
			nb[j] = *s
			j++
		}
	}
	r.buf, r.head, r.n = nb, 0, j
}

// front returns the oldest live slot, or nil when empty.
func (r *ring) front() *slot {
	if r.n == 0 {
		return nil
	}
	return r.at(0)
}

// after returns the oldest live slot whose ID is greater than id, or nil.
func (r *ring) after(id ID) *slot {
	if r.n == 0 {
		return nil
	}
	i := 0
	if r.at(0).entry.ID <= id {
		i = sort.Search(r.n, func(i int) bool { return r.at(i).entry.ID > id })
	}
	for ; i < r.n; i++ {
		if s := r.at(i); !s.dead {
			return s
		}
	}
	return nil
}

// popFront removes and returns the oldest live slot; ok is false when empty.
func (r *ring) popFront() (s slot, ok bool) {
	if r.n == 0 {
		return slot{}, false
	}
	p := r.at(0)
	s = *p
	r.kill(p)
	r.trim()
	return s, true
}

// remove deletes the live entry with id and returns its slot.
func (r *ring) remove(id ID) (s slot, ok bool) {
	if r.n == 0 {
		return slot{}, false
	}
	var p *slot
	if h := r.at(0); h.entry.ID == id { // the usual case: FIFO consumer
		p = h
	} else {
		i := sort.Search(r.n, func(i int) bool { return r.at(i).entry.ID >= id })
		if i == r.n {
			return slot{}, false
		}
		p = r.at(i)
		if p.entry.ID != id || p.dead {
			return slot{}, false
		}
	}
	s = *p
	r.kill(p)
	r.trim()
	if r.n > minRingSize && r.live*2 < r.n {
		r.grow() // reclaims dead slots in place
	}
	return s, true
}

// kill marks p dead and drops its references so the payload can be freed.
func (r *ring) kill(p *slot) {
	r.live--
	r.bytes -= p.size
	*p = slot{entry: Entry{ID: p.entry.ID}, dead: true}
}

// trim releases dead slots at both ends.
func (r *ring) trim() {
	for r.n > 0 && r.at(0).dead {
		*r.at(0) = slot{}
		r.head = (r.head + 1) & (len(r.buf) - 1)
		r.n--
	}
	for r.n > 0 && r.at(r.n-1).dead {
		*r.at(r.n - 1) = slot{}
		r.n--
	}
	if r.n == 0 {
		r.head = 0
	}
}

// each calls f for every live slot, oldest first.
func (r *ring) each(f func(*slot)) {
	for i := 0; i < r.n; i++ {
		if s := r.at(i); !s.dead {
			f(s)
		}
	}
}
