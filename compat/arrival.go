package compat

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// Arrival order across connections.
//
// A broker carries out the packets of all its clients in the order they
// arrive: a client that subscribes and, a moment later, another client that
// publishes to the topic get the message delivered, even when the first did
// not wait for its SUBACK (paho.mqtt.golang's own tests rely on it). The
// modem's AT port does one thing at a time, and each connection has its own
// reader and worker, so without care the work of a connection whose
// goroutines happen to run first would overtake packets that arrived
// earlier on another. Two things keep the order:
//
//   - every packet that needs the modem takes a ticket of its modem when it
//     is read, and the workers of all the modem's connections carry out
//     their work in ticket order (arrivalOrder);
//   - before taking a ticket, a reader lets the readers of the modem's other
//     connections take theirs for the bytes that had already arrived on
//     their connections, and those that read a packet earlier take their
//     ticket first (awaitEarlierArrivals), waiting a bounded time.

// arrivalWait bounds how long a reader waits for another connection's
// reader to take in the bytes that arrived there first.
const arrivalWait = 100 * time.Millisecond

// arrivalOrder hands out the tickets of one modem and lets the work of
// each ticket run in turn.
type arrivalOrder struct {
	mu      sync.Mutex
	next    uint64          // the next ticket to hand out
	serving uint64          // the ticket whose work may run
	given   map[uint64]bool // tickets given back unused, not yet reached
	turn    chan struct{}   // closed and replaced when serving moves
}

var arrivals = struct {
	sync.Mutex
	modems map[*atmodem.Modem]*arrivalOrder
}{modems: map[*atmodem.Modem]*arrivalOrder{}}

// orderOf returns the arrival order of m.
func orderOf(m *atmodem.Modem) *arrivalOrder {
	arrivals.Lock()
	defer arrivals.Unlock()
	o := arrivals.modems[m]
	if o == nil {
		o = &arrivalOrder{given: map[uint64]bool{}, turn: make(chan struct{})}
		arrivals.modems[m] = o
	}
	return o
}

// take hands out the next ticket.
func (o *arrivalOrder) take() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := o.next
	o.next++
	return t
}

// await waits until it is ticket t's turn.
func (o *arrivalOrder) await(t uint64) {
	for {
		o.mu.Lock()
		serving, turn := o.serving, o.turn
		o.mu.Unlock()
		if serving == t {
			return
		}
		<-turn
	}
}

// done ends ticket t's turn (t must be serving) or gives an unused ticket
// back; the turn moves past every ticket given back.
func (o *arrivalOrder) done(t uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t != o.serving {
		o.given[t] = true
		return
	}
	o.serving++
	for o.given[o.serving] {
		delete(o.given, o.serving)
		o.serving++
	}
	close(o.turn)
	o.turn = make(chan struct{})
}

// readProgress is how far a connection's reader got: the bytes it has
// taken in (read and, for modem work, ticketed), with a signal when that
// moves, and what it does while it holds a packet in awaitEarlierArrivals.
type readProgress struct {
	mu       sync.Mutex
	consumed int64
	moved    chan struct{}

	reading atomic.Bool // connected: the client's packets are (or will be) read
	gating  atomic.Bool // holds a packet read, in awaitEarlierArrivals
	stamp   atomic.Uint64
	// waitingFor is the connection it waits for while gating.
	waitingFor atomic.Pointer[adapter]
}

func newReadProgress() *readProgress { return &readProgress{moved: make(chan struct{})} }

// advance records that the reader took in everything up to n bytes.
func (p *readProgress) advance(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n > p.consumed {
		p.consumed = n
		close(p.moved)
		p.moved = make(chan struct{})
	}
}

// readStamps orders the packets that readers hold in
// awaitEarlierArrivals: a smaller stamp was read earlier.
var readStamps atomic.Uint64

// awaitEarlierArrivals is called by a reader (self; nil for a CONNECT that
// Serve read before the connection has an adapter) that just read a packet
// needing the modem, before the packet takes its ticket. It waits, at most
// arrivalWait for each, until the modem's other connections have taken in
//
//   - the bytes that had arrived on their connection and were not read
//     yet: they arrived before this packet was handled, and
//   - the packet a reader holds here too when it read it earlier, unless
//     that reader waits for this one.
//
// Readers that are not reading or wait for room in their queue are not
// waited for. Two readers do not wait for each other: one that holds a
// packet is only waited for by one that read later and that it does not
// wait for.
func awaitEarlierArrivals(m *atmodem.Modem, self *adapter) {
	stamp := readStamps.Add(1)
	if self != nil {
		self.progress.stamp.Store(stamp)
		self.progress.gating.Store(true)
		defer func() {
			self.progress.waitingFor.Store(nil)
			self.progress.gating.Store(false)
		}()
	}
	for _, y := range live.on(m) {
		yp := y.progress
		if y == self || !yp.reading.Load() || y.queue.full() {
			continue
		}
		var target int64
		if yp.gating.Load() {
			if (self != nil && yp.waitingFor.Load() == self) || yp.stamp.Load() > stamp {
				continue
			}
			target = y.wire.received() // the packet it holds
		} else {
			pending := y.wire.pending()
			if pending == 0 {
				continue
			}
			target = y.wire.received() + int64(pending)
		}
		if self != nil {
			self.progress.waitingFor.Store(y)
		}
		y.awaitConsumed(target)
	}
}

// awaitConsumed waits until the reader took in target bytes, the adapter
// stopped, its queue is full, or arrivalWait passed.
func (a *adapter) awaitConsumed(target int64) {
	deadline := time.NewTimer(arrivalWait)
	defer deadline.Stop()
	for {
		a.progress.mu.Lock()
		consumed, moved := a.progress.consumed, a.progress.moved
		a.progress.mu.Unlock()
		if consumed >= target || a.queue.full() {
			return
		}
		select {
		case <-moved:
		case <-a.stopped:
			return
		case <-deadline.C:
			return
		}
	}
}
