// Package mochiserver holds what the project's embedded mochi-mqtt brokers
// (the emulator's test broker and the bridge's local broker) need around
// mochi v2.7.9 to serve and stop correctly: New, a server whose client
// and broker packet identifiers cannot collide (packetIDSpaces) and whose
// retained store is not read while written (retainGuard, with Publish); a
// listener that counts accepted connections mochi has not registered yet;
// and a Close that waits for them and cannot deadlock with a client
// leaving.
package mochiserver

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// New returns a mochi server with opts and the hooks every embedded broker
// of the project needs whatever else it adds: packetIDSpaces, which keeps
// a client's packet identifiers apart from the broker's (mochi v2.7.9
// mixes them).
//
// It also installs sessionHandover, which keeps the teardown of a clean
// session from deleting a new connection of the same client ID (a third
// mochi v2.7.9 race), and retainGuard, which keeps a retained publish from racing
// with a subscription's read of the retained store (another mochi v2.7.9
// data race); the embedding program publishes retained messages with this
// package's Publish. retainGuard is installed last: a hook added later must
// not reject packets in OnPacketRead.
func New(opts *mochi.Options) (*mochi.Server, error) {
	s := mochi.New(opts)
	if err := s.AddHook(new(packetIDSpaces), nil); err != nil {
		return nil, fmt.Errorf("mochiserver: packet identifier hook: %w", err)
	}
	if err := s.AddHook(&sessionHandover{server: s}, nil); err != nil {
		return nil, fmt.Errorf("mochiserver: session handover hook: %w", err)
	}
	g := newRetainGuard(s)
	if err := s.AddHook(g, nil); err != nil {
		return nil, fmt.Errorf("mochiserver: retain guard hook: %w", err)
	}
	guards.Store(s, g)
	return s, nil
}

// Close stops s, whose listeners accept through ln: it stops accepting,
// lets every accepted connection reach the broker (at most settle), then
// disconnects the clients and closes the broker.
//
// mochi's own Close waits for its client goroutines while a connection
// accepted just before may still be registering with them (a data race in
// mochi), and its closer takes the clients' read lock twice (via Len), so
// a client leaving in between (Clients.Delete waits for the write lock,
// which blocks new readers) deadlocks Close for good (mochi v2.7.9).
func Close(s *mochi.Server, ln *TrackingListener, settle time.Duration) error {
	_ = ln.Close()
	ln.Settle(settle)
	// The listeners are closed with closeClients first, so that mochi's
	// Close finds them closed and skips its own closer.
	s.Listeners.CloseAll(func(id string) { closeClients(s, id) })
	return s.Close()
}

// closeClients disconnects the clients of listener id, as mochi's own
// closer does, without Clients.GetByListener.
func closeClients(s *mochi.Server, id string) {
	for _, cl := range s.Clients.GetAll() {
		if cl.Net.Listener == id && !cl.Closed() {
			_ = s.DisconnectClient(cl, packets.ErrServerShuttingDown)
		}
	}
}

// TrackingListener counts the accepted connections the broker has not
// started to use yet.
type TrackingListener struct {
	net.Listener
	mu      sync.Mutex
	pending int
	changed chan struct{} // closed and replaced whenever pending drops
}

// Track wraps ln.
func Track(ln net.Listener) *TrackingListener { return &TrackingListener{Listener: ln} }

// Accept accepts a connection and counts it until its first use.
func (l *TrackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.pending++
	l.mu.Unlock()
	return &trackedConn{Conn: c, l: l}, nil
}

// used records that the broker started with a connection.
func (l *TrackingListener) used() {
	l.mu.Lock()
	l.pending--
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	l.mu.Unlock()
}

// Settle waits until every accepted connection was used, at most d.
func (l *TrackingListener) Settle(d time.Duration) {
	limit := time.After(d)
	for {
		l.mu.Lock()
		if l.pending <= 0 {
			l.mu.Unlock()
			return
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-limit:
			return
		}
	}
}

// trackedConn tells its listener when the broker first reads, writes,
// sets a deadline on or closes it (all after mochi registered the client).
type trackedConn struct {
	net.Conn
	l    *TrackingListener
	once sync.Once
}

func (c *trackedConn) use() { c.once.Do(c.l.used) }

func (c *trackedConn) Read(b []byte) (int, error)  { c.use(); return c.Conn.Read(b) }
func (c *trackedConn) Write(b []byte) (int, error) { c.use(); return c.Conn.Write(b) }
func (c *trackedConn) Close() error                { c.use(); return c.Conn.Close() }
func (c *trackedConn) SetDeadline(t time.Time) error {
	c.use()
	return c.Conn.SetDeadline(t)
}
func (c *trackedConn) SetReadDeadline(t time.Time) error {
	c.use()
	return c.Conn.SetReadDeadline(t)
}

// CloseWrite shuts down the sending half.
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("connection cannot close its sending half")
}
