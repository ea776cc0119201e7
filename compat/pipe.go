package compat

import (
	"os"
	"sync"
)

// pipe is one direction of a Conn: a bounded byte buffer. Writers block
// while it is full, readers while it is empty; close ends both, readers
// after they drained what was written before.
type pipe struct {
	mu    sync.Mutex
	buf   []byte
	limit int
	err   error         // non-nil once closed
	wake  chan struct{} // closed and replaced whenever buf or err change
}

func newPipe(limit int) *pipe {
	return &pipe{limit: limit, wake: make(chan struct{})}
}

// notify wakes every waiter; p.mu must be held.
func (p *pipe) notify() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// read copies buffered bytes into b, waiting until there are some, the pipe
// is closed (the close error once the buffer is drained) or expired closes
// (os.ErrDeadlineExceeded).
func (p *pipe) read(b []byte, expired <-chan struct{}) (int, error) {
	for {
		if isClosed(expired) {
			return 0, os.ErrDeadlineExceeded
		}
		p.mu.Lock()
		if len(p.buf) > 0 {
			if len(b) == 0 {
				p.mu.Unlock()
				return 0, nil
			}
			n := copy(b, p.buf)
			p.buf = p.buf[:copy(p.buf, p.buf[n:])]
			p.notify()
			p.mu.Unlock()
			return n, nil
		}
		if p.err != nil {
			err := p.err
			p.mu.Unlock()
			return 0, err
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-expired:
		}
	}
}

// write appends all of b, waiting for room while the pipe is full. It
// returns early with the close error or os.ErrDeadlineExceeded; n says how
// much was written.
func (p *pipe) write(b []byte, expired <-chan struct{}) (int, error) {
	n := 0
	for {
		if isClosed(expired) {
			return n, os.ErrDeadlineExceeded
		}
		p.mu.Lock()
		if p.err != nil {
			err := p.err
			p.mu.Unlock()
			return n, err
		}
		if room := p.limit - len(p.buf); room > 0 {
			k := min(room, len(b)-n)
			p.buf = append(p.buf, b[n:n+k]...)
			n += k
			p.notify()
		}
		if n == len(b) {
			p.mu.Unlock()
			return n, nil
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-expired:
		}
	}
}

// len returns the bytes buffered.
func (p *pipe) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.buf)
}

// close ends the pipe with err; the first close wins.
func (p *pipe) close(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
		p.notify()
	}
}

// discard drops the buffered bytes (the reading side is gone).
func (p *pipe) discard() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = nil
	p.notify()
}
