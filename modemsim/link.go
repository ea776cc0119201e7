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

// errAborted ends a command that waits for prompt data when the modem
// reboots meanwhile: the command gets no answer.
var errAborted = errors.New("modemsim: command aborted by a reboot")

// pacer models the line of one direction of the serial link at a baud rate:
// each byte occupies the line for 10 bit times, and a byte is only "there"
// at the far end once the line has carried it. It is not safe for
// concurrent use; the pipe serialises writers.
type pacer struct {
	baud int        // bits per second; 0 means unlimited
	free time.Time  // when the line finishes sending what it was given
	clk  *lineClock // shared with the other direction; nil: no lateness credit
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

// maxLateCredit bounds the lateness a new transmission is credited with
// (see lineClock): timer granularity and a loaded machine, not a stall.
const maxLateCredit = 20 * time.Millisecond

// lineClock is shared by the two directions of one link. It holds how late
// the pacer delivered the most recent bytes, either way, behind the instant
// the line had carried them: the pacer's own timer oversleeping (about a
// millisecond on Linux, more on a loaded machine). A new transmission is
// booked from that much before the instant it was handed over, never
// before the line is free, so the emulated line does not charge its own
// timer lateness to the conversation: the far end's answer to late bytes
// starts as if they had come on time, plus the real time it took to answer.
// Idle time of the line is never credited.
type lineClock struct {
	mu   sync.Mutex
	late time.Duration
}

func (c *lineClock) lateness() time.Duration {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.late
}

// delivered records that bytes due at due reached the far end at at.
func (c *lineClock) delivered(due, at time.Time) {
	if c == nil {
		return
	}
	late := min(max(at.Sub(due), 0), maxLateCredit)
	c.mu.Lock()
	c.late = late
	c.mu.Unlock()
}

// reserve books the line for n bytes and returns the instant they have all
// been sent. Deadlines are absolute, so sleeping late does not slow the
// long-term rate.
//
// cont says the bytes continue a transmission already under way (the rest
// of one write, the next piece of one output unit): the line was never
// idle, so it catches up however late the writer woke. A new transmission
// starts when it is handed over less the line clock's lateness credit, or
// when the line is free, whichever is later.
func (p *pacer) reserve(n int, cont bool) time.Time {
	if !cont {
		if start := time.Now().Add(-p.clk.lateness()); p.free.Before(start) {
			p.free = start
		}
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

// shareClock makes the two directions of one serial link share a line
// clock (before either is used).
func shareClock(a, b *pipe) {
	clk := &lineClock{}
	a.pace.clk, b.pace.clk = clk, clk
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
		var due time.Time
		if p.pace.baud > 0 {
			due = p.pace.reserve(n, cont || written > 0)
			d := time.Until(due)
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
		if p.pace.baud > 0 {
			p.pace.clk.delivered(due, time.Now())
		}
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
	return p.readOr(b, stop, nil)
}

// readOr is read that also gives up with errAborted when abort closes (a
// nil abort never does).
func (p *pipe) readOr(b []byte, stop, abort <-chan struct{}) (int, error) {
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
		case <-abort:
			return 0, errAborted
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
