package atmodem

import "sync"

// EventKind says what happened on a client index.
type EventKind int

// The event kinds of a Session.
const (
	// EventMessage: a message arrived (RXSTART..RXEND); Event.Message is set.
	EventMessage EventKind = iota + 1
	// EventConnLost: +CMQTTCONNLOST; Event.Cause is set; Event.Err wraps ErrConnectionLost.
	EventConnLost
	// EventPingFail: +CMQTTPING (keepalive failed); Event.Code is set; Err wraps ErrKeepalive.
	EventPingFail
	// EventNoNetwork: +CMQTTNONET; Err wraps ErrNoNetwork. Sent to every session.
	EventNoNetwork
	// EventReset: the modem rebooted; Err wraps ErrModemReset. Sent to every session.
	EventReset
	// EventClosed: the transport closed; Err wraps ErrClosed. The last event.
	EventClosed
)

// ConnLostCause is the <cause> of +CMQTTCONNLOST.
type ConnLostCause int

// The causes of +CMQTTCONNLOST.
const (
	CauseSocketClosed  ConnLostCause = 1 // socket is closed passively
	CauseSocketReset   ConnLostCause = 2 // socket is reset
	CauseNetworkClosed ConnLostCause = 3 // network is closed
)

// Message is a message the modem received for a client index. The modem's
// URCs carry no QoS, retain or dup flag, so none is reported.
type Message struct {
	Index   int
	Topic   string
	Payload []byte
}

// Event is one thing that happened on a client index, in the order the modem
// reported it.
type Event struct {
	Kind    EventKind
	Index   int
	Message *Message      // EventMessage
	Cause   ConnLostCause // EventConnLost
	Code    ResultCode    // EventPingFail
	Err     error         // loss kinds: says which, wraps the sentinel
	// Seq is the position of the event in the modem's output: events and
	// command answers read later have a higher Seq. A loss with a Seq below
	// Session.ConnectedSeq happened before the current connection was made.
	Seq uint64
}

// eventQueue is the unbounded, ordered queue between the AT reader (push,
// which never blocks) and a Session's Events channel (fed by one goroutine).
// The channel is closed after an EventClosed was delivered or when the queue
// is stopped.
type eventQueue struct {
	mu      sync.Mutex
	pending []Event
	wake    chan struct{} // capacity 1: something was pushed
	stop    chan struct{} // closed by close
	out     chan Event
	done    chan struct{} // closed when the pump goroutine has ended
	closed  bool

	stopOnce sync.Once
}

func newEventQueue() *eventQueue {
	q := &eventQueue{
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		out:  make(chan Event),
		done: make(chan struct{}),
	}
	go q.pump()
	return q
}

// push appends ev; it never blocks.
func (q *eventQueue) push(ev Event) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.pending = append(q.pending, ev)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pump delivers the queued events in order until stopped or until an
// EventClosed was delivered, then closes out.
func (q *eventQueue) pump() {
	defer close(q.done)
	defer close(q.out)
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.pending = nil // let a burst's backing array go
			q.mu.Unlock()
			select {
			case <-q.wake:
				continue
			case <-q.stop:
				return
			}
		}
		ev := q.pending[0]
		q.pending[0] = Event{}
		q.pending = q.pending[1:]
		q.mu.Unlock()
		select {
		case q.out <- ev:
		case <-q.stop:
			return
		}
		if ev.Kind == EventClosed {
			q.mu.Lock()
			q.closed = true
			q.pending = nil
			q.mu.Unlock()
			return
		}
	}
}

// close stops the pump, drops undelivered events and waits until the
// channel is closed. It may be called more than once.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.pending = nil
	q.mu.Unlock()
	q.stopOnce.Do(func() { close(q.stop) })
	<-q.done
}
