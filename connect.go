package cellmqtt

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/queue"
)

// Connect opens the modem and connects to the first broker that accepts,
// in the order of AddBroker. Each broker gets ConnectTimeout. With
// ConnectRetry the whole round is repeated every ConnectRetryInterval until
// it succeeds or Disconnect is called; without it the token fails with the
// last error (ReturnCode 1-5 for a refused CONNACK). Configuration errors
// (no broker, bad URL, retained will, an out-of-range or unquotable
// parameter) fail the token at once, with nothing written to the modem.
func (c *client) Connect() Token {
	t := newConnectToken()
	c.mu.Lock()
	for c.state == stateDisconnecting && c.shutDone != nil {
		done := c.shutDone // the previous connection is still closing things
		c.mu.Unlock()
		<-done
		c.mu.Lock()
	}
	if c.state != stateDisconnected {
		st := c.state
		c.mu.Unlock()
		if c.opts.AutoReconnect && (st == stateConnected || st == stateReconnecting) {
			t.finishConnect(nil) // as paho: not an error while reconnection is active
			return t
		}
		t.finishConnect(ErrAlreadyConnected)
		return t
	}
	c.mu.Unlock()
	if err := c.checkOptions(); err != nil {
		t.finishConnect(err)
		return t
	}
	q, own, err := c.openQueue()
	if err != nil {
		t.finishConnect(err)
		return t
	}
	c.mu.Lock()
	if c.state != stateDisconnected {
		c.mu.Unlock()
		if own {
			c.closeQuietly("queue", q)
		}
		t.finishConnect(ErrAlreadyConnected)
		return t
	}
	c.q, c.ownQueue = q, own
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.state = stateConnecting
	c.closing = false
	c.sendHold = false
	c.lossCh = make(chan error, 1)
	c.evLoss = make(chan error, 1)
	c.wake = make(chan struct{}, 1)
	c.sent = make(chan struct{}, 1)
	c.shutDone = nil
	c.tok.open()
	ctx := c.ctx
	c.goLocked(func() { c.router.run(ctx, c) })
	c.goLocked(c.sender)
	c.goLocked(c.supervise)
	if c.opts.LivenessInterval > 0 {
		c.goLocked(c.liveness)
	}
	c.goLocked(func() { c.firstConnect(t) })
	c.mu.Unlock()
	return t
}

// checkOptions finds configuration errors before anything is opened.
func (c *client) checkOptions() error {
	o := &c.opts
	if len(o.Servers) == 0 {
		return ErrNoBroker
	}
	for _, s := range o.Servers {
		if _, err := atmodem.ParseBroker(s); err != nil {
			return fmt.Errorf("%w %q: %w", ErrBadBroker, s, err)
		}
	}
	if o.WillEnabled && o.WillRetained {
		return ErrWillRetained
	}
	if o.Modem == nil && o.Transport == nil && o.OpenTransport == nil && o.SerialPort == "" {
		return ErrNoTransport
	}
	if o.ClientIndex < -1 || o.ClientIndex > 1 {
		return fmt.Errorf("cellmqtt: client index %d out of range 0-1: %w", o.ClientIndex, atmodem.ErrInvalidParameter)
	}
	if o.TLS != nil && (o.TLS.Context < 0 || o.TLS.Context > 9) {
		return fmt.Errorf("cellmqtt: SSL context %d out of range 0-9: %w", o.TLS.Context, atmodem.ErrInvalidParameter)
	}
	return nil
}

// openQueue returns the configured queue, or creates the client's own.
func (c *client) openQueue() (queue.Queue, bool, error) {
	if c.opts.Queue != nil {
		return c.opts.Queue, false, nil
	}
	lim := queue.Limits{
		MaxMessages: c.opts.QueueMaxMessages,
		MaxBytes:    c.opts.QueueMaxBytes,
		Policy:      c.opts.QueuePolicy,
		OnDrop: func(e queue.Entry) {
			c.tok.complete(e.ID, fmt.Errorf("cellmqtt: publish to %q: %w", e.Message.Topic, queue.ErrDropped))
		},
	}
	if c.opts.QueueDir == "" {
		return queue.NewMemory(lim), true, nil
	}
	f, err := queue.OpenFile(c.opts.QueueDir, lim, queue.FileOptions{Logger: c.log, OnDamage: c.opts.QueueDamageHandler})
	if err != nil {
		return nil, false, fmt.Errorf("cellmqtt: open queue: %w", err)
	}
	if e, ok := f.Peek(); ok && e.Message.QoS > 0 {
		// Left by an earlier process: it may have been in flight.
		c.dupSet(e.ID)
	}
	return f, true, nil
}

// firstConnect runs the first connection of Connect, with ConnectRetry.
func (c *client) firstConnect(t *ConnectToken) {
	for {
		err := c.attempt(c.ctx)
		if err == nil {
			err = c.online()
		}
		if err == nil {
			t.finishConnect(nil)
			return
		}
		if c.ctx.Err() != nil {
			t.finishConnect(fmt.Errorf("%w: %w", ErrDisconnected, err))
			return
		}
		if !c.opts.ConnectRetry || permanent(err) {
			c.log.Warn("cellmqtt: connect failed", "err", err)
			t.finishConnect(err)
			c.abort(err)
			return
		}
		c.log.Info("cellmqtt: connect failed, retrying", "err", err, "in", c.opts.ConnectRetryInterval)
		if !sleepCtx(c.ctx, c.opts.ConnectRetryInterval) {
			t.finishConnect(fmt.Errorf("%w: %w", ErrDisconnected, err))
			return
		}
	}
}

// permanent reports a configuration error that retrying cannot fix.
func permanent(err error) bool {
	return errors.Is(err, atmodem.ErrInvalidParameter) || errors.Is(err, ErrNoTransport) ||
		errors.Is(err, ErrBadBroker) || errors.Is(err, ErrWillRetained)
}

// attempt makes one connection round: the modem and the session are opened
// when needed, then each broker is tried in order.
func (c *client) attempt(ctx context.Context) error {
	sess, err := c.ensureSession(ctx)
	if err != nil {
		return err
	}
	var last error
	for _, b := range c.opts.Servers {
		co := c.connectOptions(b)
		if err := sess.CheckConnect(co); err != nil {
			return fmt.Errorf("cellmqtt: connect to %s: %w", b, err)
		}
		c.mu.Lock()
		c.sessUsed = true
		c.mu.Unlock()
		actx, cancel := ctx, context.CancelFunc(func() {})
		if c.opts.ConnectTimeout > 0 {
			actx, cancel = context.WithTimeout(ctx, c.opts.ConnectTimeout)
		}
		err := sess.Connect(actx, co)
		timedOut := errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		cancel()
		if err == nil {
			c.mu.Lock()
			c.broker = b
			c.mu.Unlock()
			c.log.Info("cellmqtt: connected", "broker", b, "index", sess.Index())
			return nil
		}
		if timedOut {
			err = fmt.Errorf("%w after %v: %w", ErrConnectTimeout, c.opts.ConnectTimeout, err)
		}
		last = fmt.Errorf("cellmqtt: connect to %s: %w", b, err)
		c.log.Info("cellmqtt: broker failed", "broker", b, "err", err)
		if ctx.Err() != nil || errors.Is(err, atmodem.ErrClosed) {
			break
		}
	}
	return last
}

// connectOptions builds what Session.Connect needs for broker b.
func (c *client) connectOptions(b string) atmodem.ConnectOptions {
	o := &c.opts
	co := atmodem.ConnectOptions{
		Broker:       b,
		ClientID:     o.ClientID,
		KeepAlive:    o.KeepAlive,
		CleanSession: o.CleanSession,
		Username:     o.Username,
		Password:     o.Password,
		TLS:          o.TLS.atmodem(),
	}
	if o.WillEnabled {
		co.Will = &atmodem.Will{Topic: o.WillTopic, Payload: o.WillPayload, QoS: o.WillQos}
	}
	return co
}

// ensureSession opens the modem (or reopens a serial port that went away),
// detects the model, sets the APN, waits for the network and claims the
// client index, as needed.
func (c *client) ensureSession(ctx context.Context) (*atmodem.Session, error) {
	c.mu.Lock()
	m, sess, own := c.modem, c.sess, c.ownModem
	c.mu.Unlock()
	if m != nil && isClosed(m.Done()) {
		if sess != nil {
			c.closeQuietly("session", sess)
			sess = nil
		}
		if own {
			c.closeQuietly("modem", m)
		}
		m = nil
		c.mu.Lock()
		c.modem, c.sess = nil, nil
		c.mu.Unlock()
	}
	if sess != nil {
		return sess, nil
	}
	if m == nil {
		var err error
		m, own, err = c.openModem(ctx)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.modem, c.ownModem = m, own
		c.mu.Unlock()
	}
	if c.opts.APN != "" {
		if err := atmodem.CheckPDP(1, "IP", c.opts.APN); err != nil {
			return nil, fmt.Errorf("cellmqtt: set APN: %w", err)
		}
	}
	if m.Model() == atmodem.AutoDetect {
		// Input no model family accepts fails before the model query.
		for _, b := range c.opts.Servers {
			if err := atmodem.CheckConnectAnyModel(max(c.opts.ClientIndex, 0), c.connectOptions(b)); err != nil {
				return nil, fmt.Errorf("cellmqtt: connect to %s: %w", b, err)
			}
		}
		if _, err := m.DetectModel(ctx); err != nil {
			return nil, fmt.Errorf("cellmqtt: detect the modem model: %w", err)
		}
	}
	var err error
	if c.opts.ClientIndex >= 0 {
		sess, err = m.Session(c.opts.ClientIndex)
	} else {
		sess, err = m.FreeSession()
	}
	if err != nil {
		return nil, fmt.Errorf("cellmqtt: claim a client index: %w", err)
	}
	// Bad connect parameters fail here, before the APN and the network
	// wait write anything to the modem.
	for _, b := range c.opts.Servers {
		if err := sess.CheckConnect(c.connectOptions(b)); err != nil {
			_ = sess.Close()
			return nil, fmt.Errorf("cellmqtt: connect to %s: %w", b, err)
		}
	}
	if c.opts.APN != "" {
		if err := m.SetAPN(ctx, 1, "IP", c.opts.APN); err != nil {
			_ = sess.Close()
			return nil, fmt.Errorf("cellmqtt: set APN: %w", err)
		}
	}
	if c.opts.NetworkWait > 0 {
		wctx, cancel := context.WithTimeout(ctx, c.opts.NetworkWait)
		err := m.WaitNetwork(wctx)
		cancel()
		if err != nil {
			_ = sess.Close()
			return nil, fmt.Errorf("cellmqtt: wait for the network: %w", err)
		}
	}
	c.mu.Lock()
	c.sess = sess
	c.sessUsed = false
	c.evwg.Add(1)
	c.mu.Unlock()
	go c.eventLoop(sess)
	return sess, nil
}

// openModem opens the configured modem: shared (not owned), or from the
// transport or the serial port (owned).
func (c *client) openModem(ctx context.Context) (*atmodem.Modem, bool, error) {
	o := &c.opts
	mopts := []atmodem.Option{atmodem.WithLogger(c.log)}
	if o.Model != atmodem.AutoDetect {
		mopts = append(mopts, atmodem.WithModel(o.Model))
	}
	switch {
	case o.Modem != nil:
		if isClosed(o.Modem.Done()) {
			return nil, false, fmt.Errorf("cellmqtt: the shared modem is closed: %w", atmodem.ErrClosed)
		}
		return o.Modem, false, nil
	case o.Transport != nil:
		c.mu.Lock()
		used := c.usedTransp
		c.usedTransp = true
		c.mu.Unlock()
		if used {
			return nil, false, fmt.Errorf("cellmqtt: the transport was closed and cannot be reopened: %w", atmodem.ErrClosed)
		}
		return atmodem.New(o.Transport, mopts...), true, nil
	case o.OpenTransport != nil:
		rw, err := o.OpenTransport(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("cellmqtt: open the transport: %w", err)
		}
		return atmodem.New(rw, mopts...), true, nil
	case o.SerialPort != "":
		baud := o.SerialBaud
		if baud == 0 {
			baud = DefaultSerialBaud
		}
		m, err := atmodem.Open(o.SerialPort, baud, mopts...)
		if err != nil {
			return nil, false, fmt.Errorf("cellmqtt: open %s: %w", o.SerialPort, err)
		}
		return m, true, nil
	}
	return nil, false, ErrNoTransport
}

// canReopen reports whether a closed modem can be opened again.
func (c *client) canReopen() bool {
	o := &c.opts
	return o.Modem == nil && o.Transport == nil && (o.OpenTransport != nil || o.SerialPort != "")
}

// online finishes a connection: active subscriptions are renewed, held
// (un)subscribe requests carried out, then the client is connected, the
// OnConnectHandler runs and the sender starts on the queue.
func (c *client) online() error {
	c.mu.Lock()
	sess := c.sess
	subs := append([]atmodem.Subscription(nil), c.subs...)
	ops := c.pendingOps
	c.pendingOps = nil
	c.mu.Unlock()
	for _, s := range subs {
		err := sess.Subscribe(c.ctx, s)
		if err != nil {
			if linkGone(err) || c.ctx.Err() != nil {
				c.mu.Lock()
				c.pendingOps = append(ops, c.pendingOps...)
				c.mu.Unlock()
				return fmt.Errorf("cellmqtt: resubscribe %q: %w", s.Topic, err)
			}
			c.log.Warn("cellmqtt: resubscribe failed", "topic", s.Topic, "err", err)
		}
	}
	for i, op := range ops {
		if err := op.op(sess); err != nil && (linkGone(err) || c.ctx.Err() != nil) {
			c.mu.Lock()
			c.pendingOps = append(ops[i+1:], c.pendingOps...)
			c.mu.Unlock()
			return err
		}
	}
	c.mu.Lock()
	if c.ctx.Err() != nil || c.state == stateDisconnecting {
		c.mu.Unlock()
		return fmt.Errorf("cellmqtt: connect: %w", ErrDisconnected)
	}
	c.state = stateConnected
	c.sendHold = false
	c.mu.Unlock()
	c.touch()
	if h := c.opts.OnConnect; h != nil {
		c.callback(func() { h(c) })
	}
	kick(c.wake)
	return nil
}

// drainLoss forgets a loss reported before the connection was (re)made.
func (c *client) drainLoss() {
	for _, ch := range []chan error{c.lossCh, c.evLoss} {
		select {
		case <-ch:
		default:
		}
	}
}

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// sleepCtx waits d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
