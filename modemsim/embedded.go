package modemsim

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// EmbeddedOptions configures an embedded broker started by
// StartEmbeddedBroker. The zero value is a plain MQTT broker on a free
// loopback port that accepts every client.
type EmbeddedOptions struct {
	// Addr is the listen address; empty means "127.0.0.1:0" (a free port).
	Addr string
	// Username and Password, when Username is not empty, are the only
	// credentials the broker accepts; a client without them gets CONNACK
	// "bad user name or password".
	Username, Password string
	// TLS, when not nil, makes the listener speak TLS with this
	// configuration (certificates, client authentication).
	TLS *tls.Config
	// DenySubscribe lists topic filters the broker refuses to subscribe
	// (SUBACK 0x80), for tests of failed subscriptions.
	DenySubscribe []string
	// Logger receives the broker's logs; nil discards them.
	Logger *slog.Logger
	// MinProtocolLevel, when not zero, refuses clients below this MQTT
	// protocol level with CONNACK "unacceptable protocol version": 4 makes
	// a 3.1.1-only broker such as AWS IoT or Azure IoT Hub, which refuse
	// MQTT 3.1 (level 3).
	MinProtocolLevel byte
}

// EmbeddedBroker is an in-process MQTT broker (mochi-mqtt) for tests, the
// demo and `cellmqtt sim --broker embedded`.
type EmbeddedBroker struct {
	server *mochi.Server
	ln     *trackingListener
	addr   string
	tls    bool
	once   sync.Once
	err    error
}

// StartEmbeddedBroker starts an embedded broker and returns once it accepts
// connections. Close it when done.
func StartEmbeddedBroker(opts EmbeddedOptions) (*EmbeddedBroker, error) {
	if opts.Username == "" && opts.Password != "" {
		return nil, errors.New("modemsim: embedded broker: a password needs a user name")
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := mochi.New(&mochi.Options{Logger: logger, InlineClient: true})
	if opts.MinProtocolLevel > 0 {
		s.Options.Capabilities.MinimumProtocolVersion = opts.MinProtocolLevel
	}
	hook := &embeddedAuth{username: opts.Username, password: opts.Password, deny: opts.DenySubscribe}
	if err := s.AddHook(hook, nil); err != nil {
		return nil, fmt.Errorf("modemsim: embedded broker auth: %w", err)
	}
	// mochi v2.7.9 mixes the client's and its own packet identifiers: see
	// packetIDSpaces.
	if err := s.AddHook(new(packetIDSpaces), nil); err != nil {
		return nil, fmt.Errorf("modemsim: embedded broker packet identifiers: %w", err)
	}
	raw, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("modemsim: embedded broker listen on %s: %w", addr, err)
	}
	tl := &trackingListener{Listener: raw}
	var ln net.Listener = tl
	if opts.TLS != nil {
		ln = tls.NewListener(tl, opts.TLS)
	}
	if err := s.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("modemsim: embedded broker listener: %w", err)
	}
	if err := s.Serve(); err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("modemsim: embedded broker: %w", err)
	}
	return &EmbeddedBroker{server: s, ln: tl, addr: raw.Addr().String(), tls: opts.TLS != nil}, nil
}

// Addr is the broker's host:port, e.g. "127.0.0.1:41883".
func (b *EmbeddedBroker) Addr() string { return b.addr }

// URL is the broker's URL: "tcp://127.0.0.1:port", or "ssl://..." with TLS.
func (b *EmbeddedBroker) URL() string {
	if b.tls {
		return "ssl://" + b.addr
	}
	return "tcp://" + b.addr
}

// DropClient closes the connection of the client with the given client ID
// from the broker's side without a DISCONNECT, as a broker going away
// would: it shuts down the sending half first, so the client reads a clean
// end of stream (not a reset), waits up to a second for the client to close
// its side, then releases the connection; the broker publishes the client's
// will. It reports whether such a client was connected.
func (b *EmbeddedBroker) DropClient(clientID string) bool {
	cl, ok := b.server.Clients.Get(clientID)
	if !ok || cl.Closed() {
		return false
	}
	if cw, ok := cl.Net.Conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		limit := time.After(time.Second)
	wait:
		for !cl.Closed() {
			select {
			case <-tick.C:
			case <-limit:
				break wait
			}
		}
	}
	cl.Stop(errors.New("dropped by EmbeddedBroker.DropClient"))
	return true
}

// Publish sends a message from the broker itself to the subscribers of
// topic, as another client would.
func (b *EmbeddedBroker) Publish(topic string, payload []byte, retain bool, qos byte) error {
	if err := b.server.Publish(topic, payload, retain, qos); err != nil {
		return fmt.Errorf("modemsim: embedded broker publish to %q: %w", topic, err)
	}
	return nil
}

// Close stops the broker and disconnects its clients. It is safe to call
// more than once.
func (b *EmbeddedBroker) Close() error {
	b.once.Do(func() {
		// mochi's Close waits for its client goroutines while a connection
		// accepted just before may still be registering with them (a data
		// race in mochi): stop accepting, let every accepted connection
		// reach the broker, then close.
		_ = b.ln.Close()
		b.ln.settle(time.Second)
		// The listeners are closed with closeClients first, so that
		// mochi's Close finds them closed and skips its own closer.
		b.server.Listeners.CloseAll(b.closeClients)
		b.err = b.server.Close()
	})
	return b.err
}

// closeClients disconnects the clients of listener id, as mochi's own
// closer does, without Clients.GetByListener: that takes the clients' read
// lock twice (via Len), and a client leaving in between (Clients.Delete
// waits for the write lock, which blocks new readers) deadlocks Close for
// good (mochi v2.7.9).
func (b *EmbeddedBroker) closeClients(id string) {
	for _, cl := range b.server.Clients.GetAll() {
		if cl.Net.Listener == id && !cl.Closed() {
			_ = b.server.DisconnectClient(cl, packets.ErrServerShuttingDown)
		}
	}
}

// trackingListener counts the accepted connections the broker has not
// started to read yet.
type trackingListener struct {
	net.Listener
	mu      sync.Mutex
	pending int
	changed chan struct{} // closed and replaced whenever pending drops
}

// Accept accepts a connection and counts it until its first use.
func (l *trackingListener) Accept() (net.Conn, error) {
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
func (l *trackingListener) used() {
	l.mu.Lock()
	l.pending--
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	l.mu.Unlock()
}

// settle waits until every accepted connection was used, at most d.
func (l *trackingListener) settle(d time.Duration) {
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
	l    *trackingListener
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

// CloseWrite shuts down the sending half (DropClient).
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("connection cannot close its sending half")
}

// embeddedAuth is the embedded broker's authentication hook: every client,
// or only the configured credentials, and every topic but DenySubscribe.
type embeddedAuth struct {
	mochi.HookBase
	username, password string
	deny               []string
}

// ID names the hook.
func (h *embeddedAuth) ID() string { return "modemsim-auth" }

// Provides reports the hook methods implemented.
func (h *embeddedAuth) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

// OnConnectAuthenticate accepts every client, or only the configured
// credentials.
func (h *embeddedAuth) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	if h.username == "" {
		return true
	}
	return string(pk.Connect.Username) == h.username && string(pk.Connect.Password) == h.password
}

// OnACLCheck allows every topic except the denied subscription filters.
func (h *embeddedAuth) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	if write {
		return true
	}
	for _, f := range h.deny {
		if f == topic {
			return false
		}
	}
	return true
}
