package modemsim

import (
	"errors"
	"io"
	"sync"
	"time"
)

// bitsPerByte is what one byte costs on the emulated UART: a start bit,
// eight data bits and a stop bit (8N1).
const bitsPerByte = 10

// errDetached is returned by a read or write whose attachment (the host end
// of the link) was closed or unplugged.
var errDetached = errors.New("modemsim: link detached")

// pacer models the line of one direction of the serial link at a baud rate:
// each byte occupies the line for 10 bit times, and a byte is only "there"
// at the far end once the line has carried it. It is not safe for
// concurrent use; the pipe serialises writers.
type pacer struct {
	baud int       // bits per second; 0 means unlimited
	free time.Time // when the line finishes sending what it was given
}

// chunk is how many bytes the pacer moves at once: about one millisecond of
// line time, so the far end sees bytes trickle in like from a real UART.
func (p *pacer) chunk() int {
	if p.baud <= 0 {
		return 1 << 16
	}
	n := p.baud / bitsPerByte / 1000
	if n < 1 {
		n = 1
	}
	return n
}

// idleSlack is how far behind its schedule the line may fall and still
// count as continuously busy. A writer that wakes late (timer granularity,
// a loaded machine) then catches up instead of losing the time, so the
// long-term rate stays at the baud rate; a longer pause is an idle line.
const idleSlack = 20 * time.Millisecond

// reserve books the line for n bytes and returns the instant they have all
// been sent. Deadlines are absolute, so sleeping late does not slow the
// long-term rate.
//
// cont says the bytes continue a transmission already under way (the rest
// of one write, the next piece of one output unit): the line was never
// idle, so it catches up however late the writer woke.
func (p *pacer) reserve(n int, cont bool) time.Time {
	now := time.Now()
	if !cont && p.free.Before(now.Add(-idleSlack)) {
		p.free = now
	}
	p.free = p.free.Add(time.Duration(int64(n) * bitsPerByte * int64(time.Second) / int64(p.baud)))
	return p.free
}

// pipe is one direction of the serial link: an unbounded byte buffer whose
// writer is paced at the baud rate and whose reader sees the bytes the line
// has carried so far. One reader at a time.
type pipe struct {
	wmu   sync.Mutex // serialises writers (and owns pace)
	pace  pacer
	mu    sync.Mutex
	buf   []byte
	ready chan struct{} // signalled (capacity 1) when buf grows
}

func newPipe(baud int) *pipe {
	return &pipe{pace: pacer{baud: baud}, ready: make(chan struct{}, 1)}
}

// write sends b over the line, blocking as long as a UART with a one-chunk
// FIFO would. It gives up with errDetached when stop is closed.
func (p *pipe) write(b []byte, stop <-chan struct{}) (int, error) {
	return p.send(b, stop, false)
}

// send is write; cont says b continues the previous send without a pause.
func (p *pipe) send(b []byte, stop <-chan struct{}, cont bool) (int, error) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	written := 0
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for len(b) > 0 {
		n := min(len(b), p.pace.chunk())
		if p.pace.baud > 0 {
			d := time.Until(p.pace.reserve(n, cont || written > 0))
			if d > 0 {
				if timer == nil {
					timer = time.NewTimer(d)
				} else {
					timer.Reset(d)
				}
				select {
				case <-timer.C:
				case <-stop:
					return written, errDetached
				}
			}
		}
		select {
		case <-stop:
			return written, errDetached
		default:
		}
		p.mu.Lock()
		p.buf = append(p.buf, b[:n]...)
		p.mu.Unlock()
		select {
		case p.ready <- struct{}{}:
		default:
		}
		written += n
		b = b[n:]
	}
	return written, nil
}

// read returns what the line has carried, blocking until there is at least
// one byte or stop is closed (errDetached).
func (p *pipe) read(b []byte, stop <-chan struct{}) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		p.mu.Lock()
		if len(p.buf) > 0 {
			n := copy(b, p.buf)
			p.buf = p.buf[n:]
			if len(p.buf) == 0 {
				p.buf = nil
			}
			p.mu.Unlock()
			return n, nil
		}
		p.mu.Unlock()
		select {
		case <-p.ready:
		case <-stop:
			return 0, errDetached
		}
	}
}

// discard drops what the line carried but nobody read (a new host attaches).
func (p *pipe) discard() {
	p.mu.Lock()
	p.buf = nil
	p.mu.Unlock()
}

// attachment is one host connected to the AT port: the in-memory Conn, a
// pty or one TCP connection. Closing it (host Close, Unplug, Sim Close)
// makes the host see EOF.
type attachment struct {
	done chan struct{}
	once sync.Once
	kind string
}

func newAttachment(kind string) *attachment {
	return &attachment{done: make(chan struct{}), kind: kind}
}

func (a *attachment) close() { a.once.Do(func() { close(a.done) }) }

func (a *attachment) closed() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// hostConn is the host end of the in-memory link returned by Sim.Conn.
type hostConn struct {
	s   *Sim
	att *attachment
}

// Read reads what the modem sent; io.EOF once the link is closed or unplugged.
func (c *hostConn) Read(b []byte) (int, error) {
	n, err := c.s.toHost.read(b, c.att.done)
	if err != nil {
		return n, io.EOF
	}
	return n, nil
}

// Write sends b to the modem at the link's baud rate.
func (c *hostConn) Write(b []byte) (int, error) {
	if c.att.closed() {
		return 0, io.ErrClosedPipe
	}
	n, err := c.s.fromHost.write(b, c.att.done)
	if err != nil {
		return n, io.ErrClosedPipe
	}
	return n, nil
}

// Close detaches the host end; the emulator keeps running.
func (c *hostConn) Close() error {
	c.s.detach(c.att)
	return nil
}
