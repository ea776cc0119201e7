// Package netdelay models a slow network path on a net.Conn: every byte
// takes a fixed one-way delay each way (half a broker round trip over a
// cellular link) and, when a rate is set, each direction carries at most
// that many bytes a second (PPP over a UART: 115200 baud is 11,520 bytes a
// second). The emulator puts it between itself and its broker (so every
// PUBACK and inbound message pays the round trip), and the benchmarks put
// paho.mqtt.golang's TCP connection through the same path.
package netdelay

import (
	"net"
	"os"
	"sync"
	"time"
)

// Path is what a Conn adds each way.
type Path struct {
	// Delay is the one-way delay: a byte written reaches the other end
	// Delay after the line carried it. A round trip pays it twice.
	Delay time.Duration
	// Rate is the most bytes a second each direction carries; 0 means
	// unlimited.
	Rate int
}

// Zero reports whether p adds nothing.
func (p Path) Zero() bool { return p.Delay <= 0 && p.Rate <= 0 }

// Conn is a net.Conn whose bytes take Path each way. Writes never block: they
// queue and a pump hands them on when due. Close sends what was written
// before it (a DISCONNECT, then the close, as a socket does), then closes
// the connection under it. Deadlines apply to its own reads; the
// connection under it keeps none.
type Conn struct {
	net.Conn
	out *lane // what this end writes
	in  *lane // what this end reads

	closeOnce sync.Once
	done      chan struct{} // closed by Close
	pumps     sync.WaitGroup

	dmu      sync.Mutex
	deadline time.Time     // read deadline; zero: none
	dchanged chan struct{} // closed and replaced when the deadline changes
}

// Wrap returns c with p added each way. A zero p returns c itself.
func Wrap(c net.Conn, p Path) net.Conn {
	if p.Zero() {
		return c
	}
	d := &Conn{Conn: c, out: newLane(p), in: newLane(p), done: make(chan struct{}), dchanged: make(chan struct{})}
	d.pumps.Add(2)
	go d.send()
	go d.receive()
	return d
}

// piece is bytes (or, with err set, the end of the stream) due at a time.
type piece struct {
	data []byte
	err  error
	due  time.Time
}

// lane is one direction: pieces in order, each due once the line carried it
// and the delay passed.
type lane struct {
	p    Path
	mu   sync.Mutex
	q    []piece
	free time.Time     // when the line has carried what it was given (Rate)
	wake chan struct{} // capacity 1: a piece was added
}

func newLane(p Path) *lane { return &lane{p: p, wake: make(chan struct{}, 1)} }

// push adds data (or the end of the stream, err) handed over now.
func (l *lane) push(data []byte, err error) {
	now := time.Now()
	l.mu.Lock()
	at := now
	if l.p.Rate > 0 {
		if l.free.After(at) {
			at = l.free
		}
		at = at.Add(time.Duration(len(data)) * time.Second / time.Duration(l.p.Rate))
		l.free = at
	}
	l.q = append(l.q, piece{data: data, err: err, due: at.Add(l.p.Delay)})
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// head returns the first piece, if any.
func (l *lane) head() (piece, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.q) == 0 {
		return piece{}, false
	}
	return l.q[0], true
}

// take removes n bytes of the first piece (all of it when it is used up).
func (l *lane) take(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < len(l.q[0].data) {
		l.q[0].data = l.q[0].data[n:]
		return
	}
	l.q[0] = piece{}
	l.q = l.q[1:]
}

// errClosed is what reads and writes get after Close.
var errClosed = net.ErrClosed

// Write queues p; it never blocks.
func (d *Conn) Write(p []byte) (int, error) {
	select {
	case <-d.done:
		return 0, errClosed
	default:
	}
	d.out.push(append([]byte(nil), p...), nil)
	return len(p), nil
}

// send is the pump that hands what was written to the connection under it
// when due. After Close it sends what is left, then closes it.
func (d *Conn) send() {
	defer d.pumps.Done()
	defer d.Conn.Close()
	for {
		pc, ok := d.out.head()
		if !ok {
			select {
			case <-d.out.wake:
				continue
			case <-d.done:
				return // everything written was sent
			}
		}
		if !sleepUntil(pc.due, nil) {
			return
		}
		if _, err := d.Conn.Write(pc.data); err != nil {
			return
		}
		d.out.take(len(pc.data))
	}
}

// receive is the pump that reads the connection under it and queues what
// comes for Read, due after the path.
func (d *Conn) receive() {
	defer d.pumps.Done()
	buf := make([]byte, 16<<10)
	for {
		n, err := d.Conn.Read(buf)
		if n > 0 {
			d.in.push(append([]byte(nil), buf[:n]...), nil)
		}
		if err != nil {
			d.in.push(nil, err)
			return
		}
	}
}

// Read returns bytes whose time has come, waiting for them.
func (d *Conn) Read(p []byte) (int, error) {
	for {
		pc, ok := d.in.head()
		d.dmu.Lock()
		deadline, changed := d.deadline, d.dchanged
		d.dmu.Unlock()
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return 0, os.ErrDeadlineExceeded
		}
		select {
		case <-d.done:
			return 0, errClosed
		default:
		}
		if ok && !time.Now().Before(pc.due) {
			if pc.err != nil {
				return 0, pc.err
			}
			n := copy(p, pc.data)
			d.in.take(n)
			return n, nil
		}
		wait := time.Hour
		if ok {
			wait = time.Until(pc.due)
		}
		if !deadline.IsZero() {
			wait = min(wait, time.Until(deadline))
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-t.C:
		case <-d.in.wake:
		case <-changed:
		case <-d.done:
		}
		t.Stop()
	}
}

// Close sends what was written before it, then closes the connection under
// it and waits for the pumps.
func (d *Conn) Close() error {
	d.closeOnce.Do(func() { close(d.done) })
	d.pumps.Wait()
	return nil
}

// SetDeadline sets the read deadline (writes never block).
func (d *Conn) SetDeadline(t time.Time) error { return d.SetReadDeadline(t) }

// SetReadDeadline makes Read fail with os.ErrDeadlineExceeded after t
// (zero: never).
func (d *Conn) SetReadDeadline(t time.Time) error {
	d.dmu.Lock()
	d.deadline = t
	close(d.dchanged)
	d.dchanged = make(chan struct{})
	d.dmu.Unlock()
	return nil
}

// SetWriteDeadline does nothing: writes never block.
func (d *Conn) SetWriteDeadline(time.Time) error { return nil }

// sleepUntil waits until t or until stop closes (false).
func sleepUntil(t time.Time, stop <-chan struct{}) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-stop:
		return false
	}
}
