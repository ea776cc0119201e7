package compat

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// pipeLimit bounds the bytes buffered in each direction of a Conn, so a
// client that writes faster than the modem sends blocks (and its write
// deadline means something) instead of growing memory without bound.
const pipeLimit = 64 << 10

// Conn is the net.Conn the paho clients get from Dial, OpenConnectionFn and
// AttemptConnectionFn: an in-memory connection whose far end plays the
// broker and turns the MQTT packets the client writes into AT commands on
// one client index of the modem.
//
// One packet may arrive in several Write calls, and concurrent Write calls
// are serialised (each Write's bytes stay together). Conn is a sync.Locker:
// paho.golang, which writes one packet in several Write calls from several
// goroutines, holds the lock around each packet so packets never mix. Read returns the
// broker's encoded answers; after the modem reports the connection lost, no
// network, a reboot or a closed port, Read returns an error that wraps
// io.EOF and the atmodem sentinel (errors.Is(err, atmodem.ErrConnectionLost)
// ...), so the client's own connection-lost and reconnect logic takes over.
// Deadlines fail with os.ErrDeadlineExceeded, a net.Error whose Timeout
// reports true. Close (like the client's DISCONNECT) makes the adapter send
// DISC and REL to the modem and give the client index back (after a Close
// without DISCONNECT it publishes the client's will first, as a broker
// would); after a loss the index stays acquired on the modem, so that the
// reconnect only sends CONNECT.
type Conn struct {
	toBroker *pipe // written by the client, read by the adapter
	toClient *pipe // written by the adapter, read by the client

	wmu   sync.Mutex // serialises client writers
	pmu   sync.Mutex // Lock/Unlock: one packet's writes at a time
	rdl   *deadline
	wdl   *deadline
	local net.Addr
	peer  net.Addr

	closeOnce sync.Once
	closed    chan struct{}
	onClose   func()          // tells the adapter at once (the index is on its way back)
	ended     <-chan struct{} // closed when the adapter has given the index back
	endWait   time.Duration   // how long Close waits for ended
}

// newConn returns the client end of a fresh in-memory connection and its
// broker end.
func newConn(local, peer net.Addr) (*Conn, *serverEnd) {
	c := &Conn{
		toBroker: newPipe(pipeLimit),
		toClient: newPipe(pipeLimit),
		rdl:      newDeadline(),
		wdl:      newDeadline(),
		local:    local,
		peer:     peer,
		closed:   make(chan struct{}),
	}
	return c, &serverEnd{c: c}
}

// Lock is held by a writer while it writes one packet in several Write
// calls (paho.golang takes it when the connection is a sync.Locker), so
// another goroutine's packet cannot land inside it. Write itself does not
// take it.
func (c *Conn) Lock() { c.pmu.Lock() }

// Unlock ends the packet started by Lock.
func (c *Conn) Unlock() { c.pmu.Unlock() }

// Read reads the broker's answers.
func (c *Conn) Read(b []byte) (int, error) {
	if isClosed(c.closed) {
		return 0, net.ErrClosed
	}
	n, err := c.toClient.read(b, c.rdl.wait())
	if err != nil && isClosed(c.closed) {
		err = net.ErrClosed
	}
	return n, err
}

// Write hands bytes of MQTT packets to the adapter; it blocks while the
// adapter's buffer is full.
func (c *Conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if isClosed(c.closed) {
		return 0, net.ErrClosed
	}
	n, err := c.toBroker.write(b, c.wdl.wait())
	if err != nil && isClosed(c.closed) {
		err = net.ErrClosed
	}
	return n, err
}

// Close closes the connection and waits until the adapter has carried out
// what was written before (a DISCONNECT, say), disconnected the modem's
// client index (publishing the client's will first when it did not send
// DISCONNECT) and given the index back: once Close returns, the modem has
// answered every command of this connection, so the application may close
// the modem. It waits 20 seconds at most. Close is idempotent.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		if c.onClose != nil {
			c.onClose()
		}
		c.toBroker.close(io.EOF)
		c.toClient.close(net.ErrClosed)
		c.toClient.discard()
		c.rdl.stop()
		c.wdl.stop()
		if c.ended != nil {
			t := time.NewTimer(c.endWait)
			defer t.Stop()
			select {
			case <-c.ended:
			case <-t.C:
			}
		}
	})
	return nil
}

// LocalAddr names the modem and client index.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr names the broker the modem connects to.
func (c *Conn) RemoteAddr() net.Addr { return c.peer }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

// SetReadDeadline sets the deadline of pending and future Read calls.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rdl.set(t)
	return nil
}

// SetWriteDeadline sets the deadline of pending and future Write calls.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.wdl.set(t)
	return nil
}

// serverEnd is the adapter's side of a Conn.
type serverEnd struct {
	c     *Conn
	wmu   sync.Mutex
	abort <-chan struct{} // closed when the adapter stops: pending sends give up
	n     atomic.Int64    // bytes read
}

// Read reads what the client wrote; io.EOF after the client closed.
func (s *serverEnd) Read(b []byte) (int, error) {
	n, err := s.c.toBroker.read(b, nil)
	s.n.Add(int64(n))
	return n, err
}

func (s *serverEnd) received() int64 { return s.n.Load() }
func (s *serverEnd) pending() int    { return s.c.toBroker.len() }

// send writes one or more whole packets for the client.
func (s *serverEnd) send(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.c.toClient.write(b, s.abort)
	return err
}

// stopReading ends the adapter's reads at once (it gave up).
func (s *serverEnd) stopReading() {
	s.c.toBroker.close(net.ErrClosed)
	s.c.toBroker.discard()
}

// takeover ends the adapter's reads once it has read what the client
// already wrote: an in-memory client's packets are all there.
func (s *serverEnd) takeover(time.Duration) { s.c.toBroker.close(errSessionTakenOver) }

// errSessionTakenOver ends the reads of a connection whose session a new
// connection with the same client ID took over.
var errSessionTakenOver = errors.New("compat: session taken over by a new connection with the same client ID")

// shutdown ends the connection from the broker's side: the client reads
// what was already sent, then err; its writes fail with err.
func (s *serverEnd) shutdown(err error) {
	s.c.toClient.close(err)
	s.c.toBroker.close(err)
	s.c.toBroker.discard()
}

// Addr is the address of either end of a Conn.
type Addr struct {
	// Modem end: "modem" with the client index; broker end: the broker URL.
	Name  string
	Index int // client index, -1 for the broker end
}

// Network returns "cellmqtt".
func (a Addr) Network() string { return "cellmqtt" }

// String returns "modem/<index>" or the broker URL.
func (a Addr) String() string {
	if a.Index < 0 {
		return a.Name
	}
	return a.Name + "/" + strconv.Itoa(a.Index)
}
