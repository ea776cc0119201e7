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
type client struct {
	opts   ClientOptions
	log    *slog.Logger
	router *router

	mu         sync.Mutex
	state      state
	closing    bool // Disconnect is waiting for the queue (quiesce)
	modem      *atmodem.Modem
	ownModem   bool
	usedTransp bool // the configured Transport was given to a Modem already
	sess       *atmodem.Session
	sessUsed   bool // the session was asked to connect (so Disconnect has something to undo)
	q          queue.Queue
	ownQueue   bool
	broker     string
	subs       []atmodem.Subscription // active subscriptions, in order
	pendingOps []heldOp               // (un)subscribe requests held for the next connection (ResumeSubs)
	sendHold   bool                   // the sender found the link gone; wait for the next connection
	sendCancel context.CancelFunc     // cancels the publish in flight (a loss ends it)
	dup        map[queue.ID]bool      // entries to send with DUP set
	ctx        context.Context
	cancel     context.CancelFunc
	shutDone   chan struct{} // closed when the last shutdown finished

	tok tokenTable

	msgID atomic.Uint32

	wg     sync.WaitGroup // the client's goroutines of one Connect..Disconnect
	evwg   sync.WaitGroup // event loops; they end when their session closes
	lossCh chan error     // capacity 1: a loss a command found
	evLoss chan error     // capacity 1: a loss the modem reported (URC, reboot, EOF)
	wake   chan struct{}  // capacity 1: the sender should look again
	sent   chan struct{}  // capacity 1: a message was confirmed

	lastActive atomic.Int64 // unix nanoseconds of the last sign of life
	retries    int          // sender only: unknown-fate attempts of the head
	retryID    queue.ID     // sender only: the entry retries counts for
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

// IsConnectionOpen reports whether the modem's connection is up now.
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

// session returns the current session and whether the connection is up.
func (c *client) session() (*atmodem.Session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess, c.state == stateConnected
}

// goLocked starts f as one of the client's goroutines unless a shutdown
// began; c.mu must be held.
func (c *client) goLocked(f func()) bool {
	if c.state == stateDisconnecting || c.state == stateDisconnected || c.ctx == nil || c.ctx.Err() != nil {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

// callback runs a user handler on its own goroutine. The client does not
// wait for it: it is the application's code.
func (c *client) callback(f func()) { go f() }

// signalLoss reports a connection loss a command found to the supervisor
// without blocking.
func (c *client) signalLoss(err error) {
	c.mu.Lock()
	ch := c.lossCh
	c.mu.Unlock()
	send(ch, err)
}

// signalEventLoss reports a connection loss the modem reported.
func (c *client) signalEventLoss(err error) {
	c.mu.Lock()
	ch := c.evLoss
	c.mu.Unlock()
	send(ch, err)
}

// send offers err on ch without blocking.
func send(ch chan error, err error) {
	if ch == nil {
		return
	}
	select {
	case ch <- err:
	default:
	}
}

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
