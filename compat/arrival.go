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
// goroutines happen to run first would overtake a SUBSCRIBE that arrived
// earlier on another. Two things keep that order:
//
//   - every packet that needs the modem takes a ticket of its modem when it
//     is read; a subscription change (SUBSCRIBE, UNSUBSCRIBE) not carried
//     out yet holds back the work of later tickets on the other
//     connections (arrivalOrder), for changeHold at most;
//   - before taking a ticket, a reader lets the readers of the modem's other
//     connections take theirs for the bytes that had already arrived on
//     their connections, and those that read a packet earlier take their
//     ticket first (awaitEarlierArrivals), waiting a bounded time.
//
// Nothing else waits for another connection: publishes from different
// clients have no order to keep with each other, and a client that hands
// over a burst of messages must not hold up the other client's messages
// (or its DISCONNECT) for as long as the modem takes for the burst; the
// workers of the connections take turns on the AT port.

// arrivalWait bounds how long a reader waits for another connection's
// reader to take in the bytes that arrived there first.
const arrivalWait = 100 * time.Millisecond

// changeHold bounds how long a subscription change holds back the work of
// the other connections: one that waits behind a backlog of its own
// connection's messages stops holding the others back after it.
const changeHold = 2 * time.Second

// arrivalOrder hands out the tickets of one modem and holds back the work
// of a ticket while a subscription change with an earlier ticket is not
// carried out.
type arrivalOrder struct {
	mu      sync.Mutex
	next    uint64               // the next ticket to hand out
	hold    time.Duration        // changeHold
	changes map[uint64]time.Time // subscription changes not carried out: when each stops holding back
	turn    chan struct{}        // closed and replaced when a change is carried out
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
		o = newArrivalOrder()
		arrivals.modems[m] = o
	}
	return o
}

func newArrivalOrder() *arrivalOrder {
	return &arrivalOrder{hold: changeHold, changes: map[uint64]time.Time{}, turn: make(chan struct{})}
}

// take hands out the next ticket; change marks a subscription change.
func (o *arrivalOrder) take(change bool) uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := o.next
	o.next++
	if change {
		o.changes[t] = time.Now().Add(o.hold)
	}
	return t
}

// await waits until no subscription change with a ticket before t holds
// the work of ticket t back. A change itself does not wait: the changes of
// one connection run in their order, and those of different connections
// have none to keep.
func (o *arrivalOrder) await(t uint64) {
	for {
		o.mu.Lock()
		_, isChange := o.changes[t]
		var until time.Time
		if !isChange {
			now := time.Now()
			for c, end := range o.changes {
				if c < t && end.After(now) && (until.IsZero() || end.Before(until)) {
					until = end
				}
			}
		}
		turn := o.turn
		o.mu.Unlock()
		if until.IsZero() {
			return
		}
		timer := time.NewTimer(time.Until(until))
		select {
		case <-turn:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// done ends ticket t's work or gives an unused ticket back; a change done
// no longer holds anything back.
func (o *arrivalOrder) done(t uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.changes[t]; !ok {
		return
	}
	delete(o.changes, t)
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
// whose work may be held back (mayBeHeldBack), before it takes its ticket.
// It waits, at most arrivalWait for each, until the modem's other
// connections have taken in
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
//
// A reader with more of its client's bytes waiting behind the packet does
// not wait at all: its client sends a burst, the packet has been waiting
// in the socket for a while, and what arrived meanwhile on another
// connection may be earlier or later; waiting would only slow the burst
// down to the pace of the other readers, and a DISCONNECT at its end would
// take seconds to be read (paho's FVT
// Test_DisconnectWhileProcessingIncomingPublish gives it one). The order is
// kept where it matters: a packet that arrives while the reader keeps up,
// as when one client subscribes and another publishes a moment later.
func awaitEarlierArrivals(m *atmodem.Modem, self *adapter) {
	if self != nil && self.wire.pending() > 0 {
		return
	}
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
