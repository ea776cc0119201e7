package cellmqtt

import (
	"context"
	"fmt"

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
	r := &run{q: q, ownQ: own, wake: make(chan struct{}, 1), sent: make(chan struct{}, 1), first: t}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	c.run = r
	c.state = stateConnecting
	c.closing = false
	c.shutDone = nil
	c.tok.open()
	s := &sender{c: c, r: r}
	r.wg.Go(func() { c.router.run(r.ctx, c) })
	r.wg.Go(s.loop)
	if c.opts.LivenessInterval > 0 {
		r.wg.Go(func() { c.liveness(r) })
	}
	r.wg.Go(func() { c.manage(r) })
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
	if v := o.ProtocolVersion; v != 0 && v != 3 && v != 4 {
		return fmt.Errorf("cellmqtt: protocol version %d: want 3 (MQTT 3.1) or 4 (MQTT 3.1.1): %w", v, atmodem.ErrInvalidParameter)
	}
	if o.TLS != nil && (o.TLS.Context < 0 || o.TLS.Context > 9) {
		return fmt.Errorf("cellmqtt: SSL context %d out of range 0-9: %w", o.TLS.Context, atmodem.ErrInvalidParameter)
	}
	return nil
}

// openQueue returns the queue of a new run; an entry at its head may have
// been in flight before and is sent with DUP.
func (c *client) openQueue() (queue.Queue, bool, error) {
	q, own, err := c.makeQueue()
	if err != nil {
		return nil, false, err
	}
	if e, ok := q.Peek(); ok && e.Message.QoS > 0 {
		// Left by an earlier connection or process (a durable queue, or
		// one given with SetQueue): it may have been in flight.
		c.dupSet(e.ID)
	}
	return q, own, nil
}

// makeQueue returns the configured queue, or creates the client's own.
func (c *client) makeQueue() (queue.Queue, bool, error) {
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
	return f, true, nil
}
