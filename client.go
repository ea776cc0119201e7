// Package cellmqtt is an MQTT client for the MQTT service built into SIMCom
// cellular modems (the A7600 series and the SIM7500/SIM7600/SIM7800
// series), driven over the modem's AT command port. Its Client has the
// method set and the semantics of paho.mqtt.golang's mqtt.Client, so a paho
// program moves to a cellular link by changing how it builds its options.
//
// On top of paho's behaviour it keeps outgoing messages in a bounded queue
// (in memory, or durable in files with SetQueueDir) while the link is down,
// reconnects after everything real modems do (+CMQTTCONNLOST, +CMQTTNONET,
// +CMQTTPING, a reboot, a silently dead radio) and resends a QoS 1 or 2
// message in flight at the loss with DUP set.
//
// Where the modem cannot do what paho does, the client says so rather than
// invent values:
//
//   - received messages carry no QoS, retain or duplicate flag and no
//     packet identifier (the modem's URCs do not report them);
//   - ConnectToken.SessionPresent is always false (not reported);
//   - SubscribeToken.Result gives the requested QoS on success (the granted
//     QoS is not reported) and 0x80 on failure;
//   - PublishToken.MessageID is a client-local number, not the packet
//     identifier the modem chose;
//   - a retained will fails Connect with ErrWillRetained;
//   - the default keepalive is 60 s (the SIM7600 family's minimum), and QoS
//     0 messages published while offline are queued unless
//     SetDropQoS0WhenOffline(true).
//
// Handlers (message, OnConnect, ConnectionLost, Reconnecting) must not call
// Disconnect synchronously: call it on a new goroutine, as with paho.
package cellmqtt

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/queue"
)

// Client is an MQTT client on one client index of a modem. Its methods are
// those of paho.mqtt.golang's mqtt.Client and are safe for concurrent use.
type Client interface {
	// IsConnected reports whether the client is connected, or is retrying
	// the first connection (ConnectRetry) or reconnecting (AutoReconnect):
	// the states in which Publish accepts messages. As in paho.
	IsConnected() bool
	// IsConnectionOpen reports whether the modem's connection is up now.
	IsConnectionOpen() bool
	// Connect opens the modem (when configured by serial port or
	// transport) and connects to the first broker that accepts.
	Connect() Token
	// Disconnect waits up to quiesce milliseconds for queued and in-flight
	// messages, then disconnects (DISC, REL), gives the client index back
	// and closes what the client opened. Tokens still pending fail with
	// ErrDisconnected.
	Disconnect(quiesce uint)
	// Publish queues a message; payload is a string, []byte, bytes.Buffer
	// or *bytes.Buffer. Bad input fails the token at once.
	Publish(topic string, qos byte, retained bool, payload interface{}) Token
	// Subscribe subscribes one topic filter; callback (if not nil) becomes
	// the route of the filter.
	Subscribe(topic string, qos byte, callback MessageHandler) Token
	// SubscribeMultiple subscribes several filters in one request.
	SubscribeMultiple(filters map[string]byte, callback MessageHandler) Token
	// Unsubscribe unsubscribes filters and removes their routes.
	Unsubscribe(topics ...string) Token
	// AddRoute adds (or replaces) the handler of messages matching topic
	// without subscribing.
	AddRoute(topic string, callback MessageHandler)
}

// state is where the client is in its life.
type state int

const (
	stateDisconnected state = iota
	stateConnecting         // the first connection of Connect
	stateConnected
	stateReconnecting
	stateDisconnecting
)

// client implements Client.
//
// Goroutines (docs/architecture.md, "The client"): one Connect..Disconnect
// is a run; its goroutines are the connection manager (connmgr.go: the only
// one that changes the connection state, opens the modem and the session,
// connects and reconnects), the sender (sender.go), the router's
// dispatcher (router.go), the liveness check (liveness.go) and one per
// (un)subscribe request; the event loop (events.go) lives as long as its
// session. They report losses to the connection they ran on
// (connection.report); only the manager acts on them.
type client struct {
	opts   ClientOptions // the manager alone changes the connection settings (ReconnectHandler)
	log    *slog.Logger
	router *router
	tok    tokenTable
	msgID  atomic.Uint32

	// lastActive: unix nanoseconds of the last sign of life of the link
	// (written by the sender, the event loop and the liveness check).
	lastActive atomic.Int64
	// sending: a publish is in flight (the liveness check leaves the link
	// to it).
	sending atomic.Bool

	// newSession opens the modem and claims the session of a connection
	// attempt; tests replace it with scripted sessions (dial.go).
	newSession func(ctx context.Context) (session, error)

	mu       sync.Mutex // guards what follows; never held across a modem command
	state    state      // written by the manager, and by Connect and the shutdown at a run's ends
	closing  bool       // Disconnect is waiting for the queue (quiesce)
	run      *run       // the current Connect..Disconnect; nil when disconnected
	conn     *connection
	shutDone chan struct{} // closed when the last shutdown finished
	// subs are the active subscriptions, renewed after every reconnect;
	// pendingOps the (un)subscribe requests waiting for the next
	// connection (ResumeSubs, or interrupted by a loss).
	subs       []atmodem.Subscription
	pendingOps []heldOp
	dup        map[queue.ID]bool // queue entries to send with DUP set

	// Owned by the manager while a run lives, and by the shutdown after.
	modem      *atmodem.Modem
	ownModem   bool
	usedTransp bool    // the configured Transport was given to a Modem already
	sess       session // the session of the index, kept across reconnects
	sessUsed   bool    // the session was asked to connect (Disconnect has something to undo)
}

// run is one Connect..Disconnect: its context, its goroutines and what
// they share.
type run struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the manager, sender, router, liveness and request goroutines
	evwg   sync.WaitGroup // the event loops; they end when their session closes
	q      queue.Queue
	ownQ   bool
	wake   chan struct{} // capacity 1: the sender should look again (a new connection)
	sent   chan struct{} // capacity 1: a message left the queue (Disconnect's quiesce)
	first  *ConnectToken
}

// NewClient returns a client configured by a copy of o. It does not
// connect; call Connect.
func NewClient(o *ClientOptions) Client {
	if o == nil {
		o = NewClientOptions()
	}
	c := &client{opts: *o}
	c.opts.Servers = append([]string(nil), o.Servers...)
	c.log = o.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.router = newRouter(c.log, o.Order, o.MessageBufferLimit, o.DefaultPublishHandler)
	c.tok.init()
	c.newSession = c.openSession
	return c
}

// IsConnected reports paho's IsConnected: connected, or retrying the first
// connection with ConnectRetry, or reconnecting with AutoReconnect.
func (c *client) IsConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acceptsLocked()
}

// acceptsLocked reports whether Publish queues messages in the current state.
func (c *client) acceptsLocked() bool {
	if c.closing {
		return false
	}
	switch c.state {
	case stateConnected:
		return true
	case stateConnecting:
		return c.opts.ConnectRetry
	case stateReconnecting:
		return c.opts.AutoReconnect
	}
	return false
}

// IsConnectionOpen reports whether the modem's connection is up now: a
// CONNECT (or the modem's answer to AT+CMQTTDISC?) proved it, and no loss
// was reported since.
func (c *client) IsConnectionOpen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateConnected
}

// AddRoute adds or replaces the handler of messages matching topic.
func (c *client) AddRoute(topic string, callback MessageHandler) {
	c.router.addRoute(topic, callback)
}

// touch records a sign of life of the link.
func (c *client) touch() { c.lastActive.Store(time.Now().UnixNano()) }

// current returns the live connection, nil while there is none.
func (c *client) current() *connection {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateConnected {
		return nil
	}
	return c.conn
}

// callback runs a user handler on its own goroutine. The client does not
// wait for it: it is the application's code.
func (c *client) callback(f func()) { go f() }

// kick wakes the sender without blocking.
func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// closeQuietly closes c, logging a failure.
func (c *client) closeQuietly(what string, cl io.Closer) {
	if err := cl.Close(); err != nil {
		c.log.Debug("cellmqtt: close", "what", what, "err", err)
	}
}
