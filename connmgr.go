package cellmqtt

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// The connection manager (docs/architecture.md, "The client"): one
// goroutine per run owns the connection state. It makes the first
// connection and every reconnection with the same loop, and gets exactly
// one loss per connection (the first connection.report). paho.golang's
// autopaho mainLoop is the model.

// stableAfter is how long a connection must have lived for the reconnect
// backoff to start again from its first step: a connection the broker
// closes again at once (a message it refuses, a flapping link) does not
// make the client reconnect without backing off.
const stableAfter = 10 * time.Second

// maxResetRetries bounds the immediate retries of an attempt that a modem
// reboot interrupted (nothing was set up, so nothing can be lost: the
// command the booting modem never saw is sent again at once).
const maxResetRetries = 3

// manage is the connection manager of run r.
func (c *client) manage(r *run) {
	failures := 0 // attempts failed since the last stable connection
	resets := 0
	reconnecting := false
	for {
		if reconnecting {
			if h := c.opts.OnReconnecting; h != nil {
				c.reconnecting(h)
			}
		}
		conn, err := c.dial(r)
		if err == nil {
			resets = 0
			cause := c.serve(r, conn)
			if cause == nil {
				return // Disconnect
			}
			if time.Since(conn.since) >= stableAfter {
				failures = 0
			}
			if !c.lose(r, conn, cause) {
				return
			}
			reconnecting = true
			if !c.pause(r, c.reconnectDelay(failures)) {
				return
			}
			failures++
			continue
		}
		if r.ctx.Err() != nil {
			c.finishFirst(r, fmt.Errorf("%w: %w", ErrDisconnected, err))
			return
		}
		if errors.Is(err, atmodem.ErrModemReset) && resets < maxResetRetries {
			resets++
			c.log.Info("cellmqtt: the modem rebooted during the connect sequence; trying again", "err", err)
			continue
		}
		resets = 0
		if final := c.finalError(err); final != nil {
			c.log.Error("cellmqtt: giving up", "err", final)
			c.finishFirst(r, final)
			if reconnecting {
				if h := c.opts.OnConnectionLost; h != nil {
					c.callback(func() { h(c, final) })
				}
			}
			c.abort(r, final)
			return
		}
		if r.first != nil && !reconnecting {
			if !c.opts.ConnectRetry {
				c.log.Warn("cellmqtt: connect failed", "err", err)
				c.finishFirst(r, err)
				c.abort(r, err)
				return
			}
			c.log.Info("cellmqtt: connect failed, retrying", "err", err, "in", c.opts.ConnectRetryInterval)
			if !c.pause(r, c.opts.ConnectRetryInterval) {
				return
			}
			continue
		}
		d := c.reconnectDelay(failures)
		failures++
		c.log.Info("cellmqtt: reconnect failed", "err", err, "retry_in", d)
		if !c.pause(r, d) {
			return
		}
	}
}

// serve makes conn the live connection and waits for its one loss. It
// returns nil when the client is disconnecting instead.
func (c *client) serve(r *run, conn *connection) error {
	c.mu.Lock()
	c.state = stateConnected
	c.conn = conn
	c.mu.Unlock()
	c.touch()
	c.log.Info("cellmqtt: connected", "broker", conn.broker, "index", conn.sess.Index())
	c.finishFirst(r, nil)
	if h := c.opts.OnConnect; h != nil {
		c.callback(func() { h(c) })
	}
	kick(r.wake)
	<-conn.ctx.Done()
	cause := conn.lost()
	c.mu.Lock()
	c.conn = nil
	c.mu.Unlock()
	if r.ctx.Err() != nil || cause == nil {
		conn.end()
		return nil
	}
	return cause
}

// lose handles the loss of conn: the ConnectionLostHandler runs and, with
// AutoReconnect, the client reconnects (true); without it, or when the
// modem is gone for good, the client shuts down (false).
func (c *client) lose(r *run, conn *connection, cause error) bool {
	final := c.finalError(cause)
	if final != nil {
		cause = final
	}
	c.mu.Lock()
	if c.state == stateConnected {
		c.state = stateReconnecting
	}
	c.mu.Unlock()
	c.log.Warn("cellmqtt: connection lost", "err", cause)
	if h := c.opts.OnConnectionLost; h != nil {
		c.callback(func() { h(c, cause) })
	}
	if !c.opts.AutoReconnect || final != nil {
		c.abort(r, cause)
		return false
	}
	return true
}

// finalError returns the error that ends the client when err means
// retrying cannot help: a configuration error (bad options found before
// anything was written), or a modem port that closed and that the client
// cannot open again (SetTransport, SetModem). It returns nil otherwise.
func (c *client) finalError(err error) error {
	switch {
	case configError(err):
		return err
	case errors.Is(err, atmodem.ErrClosed) && !c.canReopen():
		return fmt.Errorf("%w: %w", ErrModemGone, err)
	}
	return nil
}

// configError reports a configuration error that retrying cannot fix: bad
// options or parameters, found before anything reached the modem.
func configError(err error) bool {
	return errors.Is(err, atmodem.ErrInvalidParameter) || errors.Is(err, ErrNoTransport) ||
		errors.Is(err, ErrBadBroker) || errors.Is(err, ErrWillRetained)
}

// reconnectDelay is the wait before reconnection attempt n+1 (n >= 0
// attempts failed since the loss), as paho does: about 1 s at first,
// doubling up to MaxReconnectInterval (honoured even below 1 s or below
// ConnectRetryInterval).
func (c *client) reconnectDelay(n int) time.Duration {
	return backoff(n, firstReconnectDelay, c.opts.MaxReconnectInterval, jitter)
}

// firstReconnectDelay is the wait before the first reconnection attempt.
const firstReconnectDelay = time.Second

// pause waits d or until the client disconnects; it reports whether d passed.
func (c *client) pause(r *run, d time.Duration) bool { return sleepCtx(r.ctx, d) }

// finishFirst completes the Connect token of the run once.
func (c *client) finishFirst(r *run, err error) {
	if r.first != nil {
		r.first.finishConnect(err)
		r.first = nil
	}
}

// reconnecting calls the ReconnectHandler with a copy of the options and
// takes over the connection settings it changed (brokers, client ID,
// credentials, keepalive, clean session, will, TLS) for the following
// attempts; other fields are read concurrently and stay as they were.
func (c *client) reconnecting(h ReconnectHandler) {
	o := c.opts
	o.Servers = append([]string(nil), c.opts.Servers...)
	h(c, &o)
	c.opts.Servers = o.Servers
	c.opts.ClientID, c.opts.Username, c.opts.Password = o.ClientID, o.Username, o.Password
	c.opts.KeepAlive, c.opts.CleanSession = o.KeepAlive, o.CleanSession
	c.opts.WillEnabled, c.opts.WillTopic, c.opts.WillPayload = o.WillEnabled, o.WillTopic, o.WillPayload
	c.opts.WillQos, c.opts.WillRetained = o.WillQos, o.WillRetained
	c.opts.TLS = o.TLS
	c.opts.ProtocolVersion = o.ProtocolVersion
}

// abort shuts the client down from its own manager (a failed Connect, a
// loss without AutoReconnect, a modem gone for good). Pending tokens fail
// with ErrDisconnected wrapping cause.
func (c *client) abort(r *run, cause error) {
	c.mu.Lock()
	done, ok := c.beginShutdownLocked()
	c.mu.Unlock()
	if !ok {
		return
	}
	go c.finishShutdown(r, done, fmt.Errorf("%w: %w", ErrDisconnected, cause))
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
