package compat

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// wire is the client-facing byte stream of an adapter: the far end of a
// Conn, or an accepted TCP connection in Serve.
type wire interface {
	io.Reader // what the client wrote
	// send writes one or more whole packets for the client; it gives up
	// once the adapter stops.
	send(b []byte) error
	// shutdown closes the stream; the client reads what was sent, then err.
	shutdown(err error)
	// stopReading makes a pending and every later Read fail at once (the
	// adapter gave up); what is written still reaches the client.
	stopReading()
	// takeover makes Read fail once the client has sent nothing for
	// grace: what it sent before (a DISCONNECT, say) is still read.
	takeover(grace time.Duration)
	// received is the number of bytes read so far; pending the bytes that
	// arrived and are not read yet (0 when unknown). See arrival.go.
	received() int64
	pending() int
}

// protocol is the broker side of one MQTT protocol version: it decodes the
// client's packets with that version's packet library and encodes the
// answers. broker311.go and broker5.go implement it.
type protocol interface {
	// connect answers the CONNECT frame. It returns nil once the modem
	// connected and CONNACK 0 went out, an error after a refusal (or,
	// when the broker cannot be reached for a reason that may pass,
	// after closing without CONNACK).
	connect(frame []byte) error
	// handle decodes one packet after CONNECT and answers it inline
	// (PINGREQ, acknowledgements of delivered messages) or queues it for
	// the worker (everything that goes to the modem, in order).
	handle(frame []byte) error
	// encodePublish encodes a message the modem received; ok is false when
	// the client cannot take it (larger than its Maximum Packet Size).
	encodePublish(topic string, payload []byte, qos byte, id uint16) (b []byte, ok bool)
	// refuseOversize ends the connection over a packet larger than the
	// adapter takes (the header is read, the body is not): it returns the
	// error that ends the adapter, or nil when the packet was skipped and
	// the connection goes on.
	refuseOversize(big *oversize) error
	// takenOver tells the client that a new connection with its client ID
	// took its session over (MQTT 5: DISCONNECT 0x8E).
	takenOver()
}

// adapter plays the broker for one client connection on one client index
// of the modem.
type adapter struct {
	cfg    config
	log    *slog.Logger
	m      *atmodem.Modem
	sess   *atmodem.Session
	server string // broker URL for the modem
	wire   wire
	// first is the CONNECT frame Serve read before it claimed the index;
	// nil for Dial, whose adapter reads it from the wire.
	first []byte

	proto     protocol
	keepAlive uint16 // the client's, from its CONNECT
	clientID  string // the client's (or the assigned) client ID, set at CONNECT
	will      *atmodem.Will
	// persistent: the client's session outlives the connection (3.1.1
	// clean session 0, MQTT 5 session expiry > 0).
	persistent bool
	subs       subscriptions
	out        *inflight // messages delivered with QoS 1/2; set before delivery starts

	ctx    context.Context // modem operations; cancelled when the adapter aborts
	cancel context.CancelFunc
	queue  *jobQueue // modem work of the client's packets, in order
	// progress is how far the reader got, for the readers of the modem's
	// other connections (arrival.go).
	progress *readProgress
	pubs     chan pendingPub // publishes whose answer the acker gives (acks.go); closed by the worker

	stopOnce    sync.Once
	stopped     chan struct{}
	releaseOnce sync.Once
	reason      error // why it stopped; set before stopped closes

	alive        atomic.Bool // connected and no loss reported since
	attempted    atomic.Bool // Connect was called (the index may be acquired)
	connected    atomic.Bool // the modem connected (CONNACK 0 was due)
	disconnected atomic.Bool // DISC and REL were sent for the client's DISCONNECT
	lost         atomic.Bool // the modem reported the end (loss, reset, closed)
	connectDone  atomic.Bool // the CONNECT was answered
	left         atomic.Bool // the client ended the connection (DISCONNECT, gone, silent)
	cleanExit    atomic.Bool // the client sent DISCONNECT: its will is discarded
	// disconnecting: the client sent DISCONNECT; its connection is closed
	// and nothing more is written to it.
	disconnecting atomic.Bool
	takenOver     atomic.Bool // a new connection with the same client ID takes over
	willSent      atomic.Bool // the will was published on the client's behalf

	ops  sync.WaitGroup // the connect phase and the worker: modem operations
	wg   sync.WaitGroup // reader and deliverer
	done chan struct{}  // closed when the adapter has finished
}

func newAdapter(cfg config, m *atmodem.Modem, sess *atmodem.Session, server string) *adapter {
	ctx, cancel := context.WithCancel(context.Background())
	log := cfg.logger.With("index", sess.Index(), "broker", server)
	sess.SetMaxInflight(cfg.maxInflight)
	return &adapter{
		cfg:      cfg,
		log:      log,
		m:        m,
		sess:     sess,
		server:   server,
		ctx:      ctx,
		cancel:   cancel,
		queue:    newJobQueue(queueLimit),
		progress: newReadProgress(),
		pubs:     make(chan pendingPub, ackQueueSize),
		stopped:  make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// start runs the adapter on w until the client leaves, disconnects or the
// modem reports the end of the connection.
func (a *adapter) start(w wire) {
	a.wire = w
	a.ops.Add(1) // the connect phase of the reader
	a.wg.Add(1)
	go a.readLoop()
	go a.supervise()
}

// stop ends the adapter with reason (what the client reads last); the first
// reason wins. Work still queued for the modem is abandoned: the client
// does not get its answers (and sends its messages again after it
// reconnected).
func (a *adapter) stop(reason error) {
	a.stopOnce.Do(func() {
		a.reason = reason
		close(a.stopped)
	})
}

// clientLeft ends the adapter because the client ended the connection (a
// DISCONNECT, a closed connection, a silent client, a takeover): what it
// sent before is still carried out, in order.
func (a *adapter) clientLeft(reason error) {
	a.left.Store(true)
	a.stop(reason)
}

// supervise waits for the end, lets the modem work the client handed over
// finish (or abandons it when the adapter aborted), publishes the client's
// will on its behalf when it left without DISCONNECT, gives the client
// index back and then closes the client's stream, so a client that
// reconnects at once finds the index free.
func (a *adapter) supervise() {
	defer close(a.done)
	<-a.stopped
	a.releasing()
	a.alive.Store(false)
	if a.lost.Load() || !a.connectDone.Load() || !a.left.Load() {
		// The modem connection is gone, the client left during the
		// connect sequence, or the adapter gave up: abort what runs and
		// stop reading the client. Otherwise the work the client handed
		// over before it left (the DISC of its DISCONNECT, say) finishes.
		a.cancel()
		a.wire.stopReading()
	}
	a.ops.Wait()
	a.cancel()
	if a.attempted.Load() && !a.disconnected.Load() && !a.lost.Load() {
		// The client left without DISCONNECT (or its CONNECT was refused):
		// publish its will as the broker would have, then free the index
		// on the modem. After a loss the modem keeps the index acquired,
		// so the client's reconnect only sends CONNECT, and the broker
		// publishes the will itself.
		ctx, cancel := context.WithTimeout(context.Background(), a.cfg.cleanupTimeout)
		if a.connected.Load() && !a.cleanExit.Load() {
			a.publishWill(ctx)
		}
		if err := a.sess.Disconnect(ctx, a.cfg.disconnectTimeout); err != nil {
			a.log.Debug("compat: disconnect after the client left", "err", err)
		}
		cancel()
	}
	live.unregister(a)
	_ = a.sess.Close()
	releases.end(a.m)
	a.log.Debug("compat: connection ended", "reason", a.reason)
	a.wire.shutdown(a.reason)
	a.wg.Wait()
}

// releasing marks the client index as on its way back (see claimSession),
// from the moment the client sent DISCONNECT or left.
func (a *adapter) releasing() { a.releaseOnce.Do(func() { releases.begin(a.m) }) }
