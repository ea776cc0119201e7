package cellmqtt

import (
	"context"
	"errors"
	"fmt"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// dial makes one connection for the manager: the modem and the session are
// opened when needed, each broker is tried in order, then the active
// subscriptions are renewed and the held (un)subscribe requests carried
// out. The connection is returned live (its loss may already be reported).
func (c *client) dial(r *run) (*connection, error) {
	sess, err := c.ensureSession(r.ctx)
	if err != nil {
		return nil, err
	}
	var last error
	for _, b := range c.opts.Servers {
		co := c.connectOptions(b)
		if err := sess.CheckConnect(co); err != nil {
			return nil, fmt.Errorf("cellmqtt: connect to %s: %w", b, err)
		}
		c.sessUsed = true
		actx, cancel := r.ctx, context.CancelFunc(func() {})
		if c.opts.ConnectTimeout > 0 {
			actx, cancel = context.WithTimeout(r.ctx, c.opts.ConnectTimeout)
		}
		err := sess.Connect(actx, co)
		timedOut := errors.Is(actx.Err(), context.DeadlineExceeded) && r.ctx.Err() == nil
		cancel()
		if err == nil {
			conn := newConnection(r.ctx, sess, b)
			if err := c.renew(r, conn); err != nil {
				conn.end()
				return nil, err
			}
			return conn, nil
		}
		if timedOut {
			err = fmt.Errorf("%w after %v: %w", ErrConnectTimeout, c.opts.ConnectTimeout, err)
		}
		last = fmt.Errorf("cellmqtt: connect to %s: %w", b, err)
		c.log.Info("cellmqtt: broker failed", "broker", b, "err", err)
		if r.ctx.Err() != nil || errors.Is(err, atmodem.ErrClosed) || errors.Is(err, atmodem.ErrModemReset) {
			break
		}
	}
	return nil, last
}

// renew renews the active subscriptions on a new connection, then carries
// out the held (un)subscribe requests. The connection is registered first
// (not yet open) so that a loss reported meanwhile ends it.
func (c *client) renew(r *run, conn *connection) error {
	c.mu.Lock()
	c.conn = conn
	subs := append([]atmodem.Subscription(nil), c.subs...)
	ops := c.pendingOps
	c.pendingOps = nil
	c.mu.Unlock()
	hold := func(rest []heldOp) {
		c.mu.Lock()
		c.pendingOps = append(rest, c.pendingOps...)
		c.conn = nil
		c.mu.Unlock()
	}
	for _, s := range subs {
		err := conn.sess.Subscribe(conn.ctx, s)
		switch {
		case err == nil:
		case conn.ctx.Err() != nil || atmodem.FateOf(err) != atmodem.FateRefused:
			hold(ops)
			if cause := conn.lost(); cause != nil {
				err = cause
			}
			return fmt.Errorf("cellmqtt: resubscribe %q: %w", s.Topic, err)
		default:
			c.log.Warn("cellmqtt: resubscribe refused", "topic", s.Topic, "err", err)
		}
	}
	for i, op := range ops {
		if !c.do(conn, op) {
			hold(ops[i:])
			err := conn.lost()
			if err == nil {
				err = ErrDisconnected
			}
			return fmt.Errorf("cellmqtt: held request: %w", err)
		}
	}
	if err := conn.lost(); err != nil {
		hold(nil)
		return err
	}
	return nil
}

// connectOptions builds what Session.Connect needs for broker b.
func (c *client) connectOptions(b string) atmodem.ConnectOptions {
	o := &c.opts
	co := atmodem.ConnectOptions{
		Broker:          b,
		ClientID:        o.ClientID,
		KeepAlive:       o.KeepAlive,
		CleanSession:    o.CleanSession,
		Username:        o.Username,
		Password:        o.Password,
		TLS:             o.TLS.atmodem(),
		ProtocolVersion: int(o.ProtocolVersion),
	}
	if o.WillEnabled {
		co.Will = &atmodem.Will{Topic: o.WillTopic, Payload: o.WillPayload, QoS: o.WillQos}
	}
	return co
}

// ensureSession returns the session of the client index, opening the modem
// (or reopening a port that went away) and claiming the index as needed.
func (c *client) ensureSession(ctx context.Context) (session, error) {
	if c.sess != nil && c.modem != nil && isClosed(c.modem.Done()) {
		c.closeSession()
	}
	if c.sess != nil {
		return c.sess, nil
	}
	sess, err := c.newSession(ctx)
	if err != nil {
		return nil, err
	}
	c.sess, c.sessUsed = sess, false
	c.mu.Lock()
	r := c.run
	c.mu.Unlock()
	r.evwg.Add(1)
	go c.eventLoop(r, sess)
	return sess, nil
}

// closeSession closes the session and, when the client opened it, the
// modem (after its port went away).
func (c *client) closeSession() {
	if c.sess != nil {
		c.closeQuietly("session", c.sess)
		c.sess = nil
	}
	if c.modem != nil && c.ownModem {
		c.closeQuietly("modem", c.modem)
	}
	c.modem, c.ownModem = nil, false
}

// openSession opens the modem when needed, detects the model, sets the APN,
// waits for the network and claims the client index.
func (c *client) openSession(ctx context.Context) (session, error) {
	m := c.modem
	if m == nil {
		var own bool
		var err error
		m, own, err = c.openModem(ctx)
		if err != nil {
			return nil, err
		}
		c.modem, c.ownModem = m, own
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
	var sess *atmodem.Session
	var err error
	if c.opts.ClientIndex >= 0 {
		sess, err = m.Session(c.opts.ClientIndex)
	} else {
		sess, err = m.ClaimFreeSession()
	}
	if err != nil {
		return nil, fmt.Errorf("cellmqtt: claim a client index: %w", err)
	}
	sess.SetMaxInflight(c.opts.MaxInflight)
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
			return nil, false, fmt.Errorf("cellmqtt: the shared modem is closed: %w", o.Modem.Err())
		}
		return o.Modem, false, nil
	case o.Transport != nil:
		if c.usedTransp {
			return nil, false, fmt.Errorf("cellmqtt: the transport was closed and cannot be reopened: %w", atmodem.ErrClosed)
		}
		c.usedTransp = true
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

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
