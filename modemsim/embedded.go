package modemsim

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/mochiserver"
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
	ln     *mochiserver.TrackingListener
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
	// mochiserver.New: mochi v2.7.9 mixes the client's and its own packet
	// identifiers, which the server it returns keeps apart.
	s, err := mochiserver.New(&mochi.Options{Logger: logger, InlineClient: true})
	if err != nil {
		return nil, fmt.Errorf("modemsim: embedded broker: %w", err)
	}
	if opts.MinProtocolLevel > 0 {
		s.Options.Capabilities.MinimumProtocolVersion = opts.MinProtocolLevel
	}
	hook := &embeddedAuth{username: opts.Username, password: opts.Password, deny: opts.DenySubscribe}
	if err := s.AddHook(hook, nil); err != nil {
		return nil, fmt.Errorf("modemsim: embedded broker auth: %w", err)
	}
	raw, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("modemsim: embedded broker listen on %s: %w", addr, err)
	}
	tl := mochiserver.Track(raw)
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
	if err := mochiserver.Publish(b.server, topic, payload, retain, qos); err != nil {
		return fmt.Errorf("modemsim: embedded broker publish to %q: %w", topic, err)
	}
	return nil
}

// Close stops the broker and disconnects its clients. It is safe to call
// more than once.
func (b *EmbeddedBroker) Close() error {
	b.once.Do(func() { b.err = mochiserver.Close(b.server, b.ln, time.Second) })
	return b.err
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
