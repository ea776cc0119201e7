package compat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
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
}

// protocol is the broker side of one MQTT protocol version: it decodes the
// client's packets with that version's packet library and encodes the
// answers. broker311.go and broker5.go implement it.
type protocol interface {
	// connect answers the CONNECT frame. It returns nil once the modem
	// connected and CONNACK 0 went out, an error after a refusal.
	connect(frame []byte) error
	// handle decodes one packet after CONNECT and answers it inline
	// (PINGREQ, acknowledgements of delivered messages) or queues it for
	// the worker (everything that goes to the modem, in order).
	handle(frame []byte) error
	// encodePublish encodes a message the modem received; ok is false when
	// the client cannot take it (larger than its Maximum Packet Size).
	encodePublish(topic string, payload []byte, qos byte, id uint16) (b []byte, ok bool)
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

	proto     protocol
	keepAlive uint16 // the client's, from its CONNECT
	subs      subscriptions
	out       *inflight // messages delivered with QoS 1/2; set before delivery starts

	ctx    context.Context // modem operations; cancelled when the adapter stops
	cancel context.CancelFunc
	jobs   chan func(context.Context)

	stopOnce    sync.Once
	stopped     chan struct{}
	releaseOnce sync.Once
	reason      error // why it stopped; set before stopped closes

	alive        atomic.Bool // connected and no loss reported since
	attempted    atomic.Bool // Connect was called (the index may be acquired)
	disconnected atomic.Bool // DISC and REL were sent for the client's DISCONNECT
	lost         atomic.Bool // the modem reported the end (loss, reset, closed)
	connectDone  atomic.Bool // the CONNECT was answered

	ops  sync.WaitGroup // the connect phase and the worker: modem operations
	wg   sync.WaitGroup // reader and deliverer
	done chan struct{}  // closed when the adapter has finished
}

func newAdapter(cfg config, m *atmodem.Modem, sess *atmodem.Session, server string) *adapter {
	ctx, cancel := context.WithCancel(context.Background())
	log := cfg.logger.With("index", sess.Index(), "broker", server)
	return &adapter{
		cfg:     cfg,
		log:     log,
		m:       m,
		sess:    sess,
		server:  server,
		ctx:     ctx,
		cancel:  cancel,
		jobs:    make(chan func(context.Context), 16),
		stopped: make(chan struct{}),
		done:    make(chan struct{}),
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
// reason wins.
func (a *adapter) stop(reason error) {
	a.stopOnce.Do(func() {
		a.reason = reason
		close(a.stopped)
	})
}

// supervise waits for the end, lets the modem operation in progress
// finish, gives the client index back and then closes the client's stream,
// so a client that reconnects at once finds the index free.
func (a *adapter) supervise() {
	defer close(a.done)
	<-a.stopped
	a.releasing()
	a.alive.Store(false)
	if a.lost.Load() || !a.connectDone.Load() {
		// The modem connection is gone, or the client left during the
		// connect sequence: abort what runs. Otherwise the operation in
		// progress (the DISC of the client's DISCONNECT, say) finishes.
		a.cancel()
	}
	a.ops.Wait()
	a.cancel()
	if a.attempted.Load() && !a.disconnected.Load() && !a.lost.Load() {
		// The client left without DISCONNECT (or its CONNECT was refused):
		// free the index on the modem. After a loss the modem keeps the
		// index acquired, so the client's reconnect only sends CONNECT.
		ctx, cancel := context.WithTimeout(context.Background(), a.cfg.cleanupTimeout)
		if err := a.sess.Disconnect(ctx, a.cfg.disconnectTimeout); err != nil {
			a.log.Debug("compat: disconnect after the client left", "err", err)
		}
		cancel()
	}
	_ = a.sess.Close()
	releases.end(a.m)
	a.log.Debug("compat: connection ended", "reason", a.reason)
	a.wire.shutdown(a.reason)
	a.wg.Wait()
}

// releasing marks the client index as on its way back (see claimSession),
// from the moment the client sent DISCONNECT or left.
func (a *adapter) releasing() { a.releaseOnce.Do(func() { releases.begin(a.m) }) }

// readLoop reads the CONNECT, then every packet of the client.
func (a *adapter) readLoop() {
	defer a.wg.Done()
	connected := a.readConnect()
	a.connectDone.Store(true)
	a.ops.Done()
	if !connected {
		return
	}
	for {
		frame, err := readFrame(a.wire, maxPacketSize)
		if err != nil {
			a.releasing()
			switch {
			case errors.Is(err, errMalformed):
				if b5, ok := a.proto.(*broker5); ok {
					rc := byte(0x81) // malformed packet
					if errors.Is(err, errTooLarge) {
						rc = 0x95 // packet too large
					}
					_ = b5.disconnectWith(rc, err.Error())
				}
				a.stop(fmt.Errorf("compat: client sent a malformed packet: %w", err))
			case errors.Is(err, os.ErrDeadlineExceeded):
				a.stop(fmt.Errorf("compat: client silent for one and a half keepalive periods: %w", err))
			default:
				a.stop(fmt.Errorf("compat: client went away: %w", err))
			}
			return
		}
		if packetType(frame) == 14 { // DISCONNECT
			a.releasing()
		}
		if err := a.proto.handle(frame); err != nil {
			a.stop(err)
			return
		}
	}
}

// readConnect reads the first packet, which must be CONNECT, picks the
// protocol by its level and lets it answer. It starts the worker and the
// deliverer when the modem connected.
func (a *adapter) readConnect() bool {
	frame, err := readFrame(a.wire, maxPacketSize)
	if err != nil {
		a.stop(fmt.Errorf("compat: reading CONNECT: %w", err))
		return false
	}
	if w, ok := a.wire.(interface{ connected() }); ok {
		w.connected()
	}
	if packetType(frame) != 1 {
		a.stop(fmt.Errorf("compat: first packet is type %d, not CONNECT: %w", packetType(frame), errMalformed))
		return false
	}
	level, err := connectLevel(frame)
	if err != nil {
		a.stop(err)
		return false
	}
	switch level {
	case 3, 4:
		a.proto = &broker311{a: a}
	case 5:
		a.proto = &broker5{a: a}
	default:
		// An unknown level is answered in 3.1.1, as MQTT 5 servers do.
		_ = a.wire.send(connack311(1))
		a.stop(fmt.Errorf("compat: unsupported MQTT protocol level %d", level))
		return false
	}
	if err := a.proto.connect(frame); err != nil {
		a.stop(err)
		return false
	}
	a.alive.Store(true)
	if w, ok := a.wire.(interface{ watchKeepAlive(time.Duration) }); ok && a.keepAlive > 0 {
		w.watchKeepAlive(time.Duration(a.keepAlive) * time.Second)
	}
	a.ops.Add(1)
	go a.work()
	a.wg.Add(1)
	go a.deliver()
	return true
}

// modemConnect runs the modem's connect sequence with the client's
// keepalive moved into the model's range (asking the modem its model
// first when it is not known yet).
func (a *adapter) modemConnect(opts atmodem.ConnectOptions, keepAlive uint16) error {
	opts.Broker = a.server
	opts.TLS = a.cfg.tls
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.connectTimeout)
	defer cancel()
	model := a.m.Model()
	if model == atmodem.AutoDetect {
		// Input no model family accepts is refused before the model
		// query: nothing reaches the modem.
		if err := atmodem.CheckConnectAnyModel(a.sess.Index(), withKeepAlive(opts)); err != nil {
			a.log.Warn("compat: refused the connection", "client", opts.ClientID, "err", err)
			return err
		}
		if m, err := a.m.DetectModel(ctx); err == nil {
			model = m
		}
	}
	if want := a.cfg.model; want != atmodem.AutoDetect && model != want {
		err := fmt.Errorf("compat: the modem is %s, WithModel says %s: %w", model, want, atmodem.ErrInvalidParameter)
		a.log.Warn("compat: modem refused the connection", "client", opts.ClientID, "err", err)
		return err
	}
	opts.KeepAlive = clampKeepAlive(keepAlive, model.Limits().KeepAlive)
	// Bad input fails here, before the index is touched, so there is
	// nothing to clean up on the modem afterwards.
	if err := a.sess.CheckConnect(opts); err != nil {
		a.log.Warn("compat: refused the connection", "client", opts.ClientID, "err", err)
		return err
	}
	a.attempted.Store(true)
	err := a.sess.Connect(ctx, opts)
	if err != nil {
		a.log.Warn("compat: modem refused the connection", "client", opts.ClientID, "err", err)
	}
	return err
}

// withKeepAlive gives opts a keepalive inside every model's range, for the
// check made before the model is known (the client's keepalive is moved into
// the model's range, never refused).
func withKeepAlive(opts atmodem.ConnectOptions) atmodem.ConnectOptions {
	opts.KeepAlive = 60 * time.Second
	return opts
}

// enqueue hands work that talks to the modem to the worker, in order.
func (a *adapter) enqueue(job func(context.Context)) {
	select {
	case a.jobs <- job:
	case <-a.stopped:
	}
}

// work runs the queued modem operations one after the other.
func (a *adapter) work() {
	defer a.ops.Done()
	for {
		select {
		case job := <-a.jobs:
			job(a.ctx)
		case <-a.stopped:
			return
		}
	}
}

// send writes packets for the client; a failure stops the adapter.
func (a *adapter) send(b []byte) bool {
	if err := a.wire.send(b); err != nil {
		a.stop(fmt.Errorf("compat: writing to the client: %w", err))
		return false
	}
	return true
}

// publish sends one client message through the modem.
func (a *adapter) publish(ctx context.Context, p atmodem.Publish) error {
	p.Timeout = a.cfg.publishTimeout
	err := a.sess.Publish(ctx, p)
	if err != nil {
		a.log.Warn("compat: publish failed", "topic", p.Topic, "qos", p.QoS, "err", err)
	}
	return err
}

// failTransient stops the adapter after a QoS 1 or 2 publish failed for a
// reason that may pass: the client keeps the message unacknowledged and
// sends it again (DUP) after it reconnected.
func (a *adapter) failTransient(what string, err error) {
	a.stop(fmt.Errorf("compat: %s: %w (%w)", what, io.ErrUnexpectedEOF, err))
}

// subscribe subscribes the valid filters through the modem, all in one
// SUBSCRIBE when there are several, and returns the result of each. The
// modem reports one result for a SUBSCRIBE of several filters; when the
// broker refused it, each filter is subscribed on its own to learn which
// ones it takes.
func (a *adapter) subscribe(ctx context.Context, subs []atmodem.Subscription) []error {
	errs := make([]error, len(subs))
	switch len(subs) {
	case 0:
		return errs
	case 1:
		errs[0] = a.sess.Subscribe(ctx, subs[0])
	default:
		err := a.sess.SubscribeMultiple(ctx, subs)
		var re *atmodem.ResultError
		if errors.As(err, &re) {
			for i, s := range subs {
				errs[i] = a.sess.Subscribe(ctx, s)
			}
		} else {
			for i := range errs {
				errs[i] = err
			}
		}
	}
	for i, s := range subs {
		if errs[i] != nil {
			a.log.Warn("compat: subscribe failed", "filter", s.Topic, "err", errs[i])
			continue
		}
		a.subs.add(s.Topic, s.QoS)
	}
	return errs
}

// unsubscribe unsubscribes the valid filters through the modem.
func (a *adapter) unsubscribe(ctx context.Context, topics []string) error {
	if len(topics) == 0 {
		return nil
	}
	if err := a.sess.Unsubscribe(ctx, topics...); err != nil {
		a.log.Warn("compat: unsubscribe failed", "filters", len(topics), "err", err)
		return err
	}
	for _, t := range topics {
		a.subs.remove(t)
	}
	return nil
}

// disconnect handles the client's DISCONNECT: DISC and REL, then the end.
func (a *adapter) disconnect(ctx context.Context) {
	a.alive.Store(false)
	if err := a.sess.Disconnect(ctx, a.cfg.disconnectTimeout); err != nil {
		a.log.Warn("compat: disconnect failed", "err", err)
	} else {
		a.disconnected.Store(true)
	}
	a.stop(io.EOF)
}

// deliver turns the session's events into PUBLISH packets for the client
// and ends the connection when the modem reports it gone.
func (a *adapter) deliver() {
	defer a.wg.Done()
	for ev := range a.sess.Events() {
		switch ev.Kind {
		case atmodem.EventMessage:
			if a.alive.Load() && ev.Message != nil {
				a.deliverMessage(ev.Message)
			}
		case atmodem.EventConnLost, atmodem.EventPingFail, atmodem.EventNoNetwork,
			atmodem.EventReset, atmodem.EventClosed:
			a.log.Info("compat: modem reports the connection gone", "event", ev.Kind, "err", ev.Err)
			a.lost.Store(true)
			a.alive.Store(false)
			a.stop(lostError(ev))
		}
	}
}

// deliverMessage sends one received message to the client with the highest
// QoS of the client's matching subscriptions (0 when none matches; the
// modem does not say with which QoS the broker sent it), with a packet ID
// of the adapter for QoS 1 and 2.
func (a *adapter) deliverMessage(msg *atmodem.Message) {
	qos, _ := a.subs.qos(msg.Topic)
	var id uint16
	if qos > 0 {
		var ok bool
		if id, ok = a.out.acquire(a.stopped, qos); !ok {
			return
		}
	}
	b, ok := a.proto.encodePublish(msg.Topic, msg.Payload, qos, id)
	if !ok {
		a.log.Warn("compat: message dropped: larger than the client's maximum packet size",
			"topic", msg.Topic, "bytes", len(msg.Payload))
		if qos > 0 {
			a.out.release(id)
		}
		return
	}
	a.send(b)
}

// ping answers PINGREQ while the modem reports the connection alive. The
// adapter does not ask the modem on every ping: the modem keeps its own
// keepalive with the broker and reports a failure (+CMQTTPING,
// +CMQTTCONNLOST, +CMQTTNONET, a reboot), which ends the connection.
func (a *adapter) ping(pingresp []byte) {
	if a.alive.Load() {
		a.send(pingresp)
	}
}
