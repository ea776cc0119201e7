package cellmqtt

import (
	"errors"
	"fmt"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// supervise handles connection losses: it calls the ConnectionLostHandler
// and, with AutoReconnect, reconnects; without it, the client shuts down
// (queued messages stay in the queue, their tokens fail).
func (c *client) supervise() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case cause := <-c.evLoss:
			if !c.lost(cause) {
				return
			}
		case cause := <-c.lossCh:
			// A command often meets the loss just before the modem's
			// report of it arrives; that report says more.
			t := time.NewTimer(lossGrace)
			select {
			case ev := <-c.evLoss:
				cause = ev
			case <-t.C:
			case <-c.ctx.Done():
			}
			t.Stop()
			if !c.lost(cause) {
				return
			}
		}
	}
}

// lossGrace is how long a loss found by a command waits for the modem's
// own report of it.
const lossGrace = 250 * time.Millisecond

// lost handles one connection loss; it reports whether the supervisor
// goes on.
func (c *client) lost(cause error) bool {
	c.mu.Lock()
	if c.state != stateConnected {
		c.mu.Unlock()
		return true // a loss reported while (re)connecting: the attempt sees it
	}
	if c.opts.AutoReconnect {
		c.state = stateReconnecting
	}
	c.sendHold = true
	if c.sendCancel != nil {
		c.sendCancel() // its result may never come on a lost connection
	}
	c.mu.Unlock()
	c.log.Warn("cellmqtt: connection lost", "err", cause)
	if h := c.opts.OnConnectionLost; h != nil {
		c.callback(func() { h(c, cause) })
	}
	if !c.opts.AutoReconnect {
		c.abort(cause)
		return false
	}
	return c.reconnect()
}

// reconnect retries the connection with exponential backoff and jitter from
// ConnectRetryInterval to MaxReconnectInterval until it is back (true), the
// client is disconnected, or the modem is gone for good (false).
func (c *client) reconnect() bool {
	for n := 0; ; n++ {
		if h := c.opts.OnReconnecting; h != nil {
			c.reconnecting(h)
		}
		c.drainLoss()
		err := c.attempt(c.ctx)
		if err == nil {
			err = c.online()
		}
		if err == nil {
			c.log.Info("cellmqtt: reconnected", "attempts", n+1)
			return true
		}
		if c.ctx.Err() != nil {
			return false
		}
		if permanent(err) || (errors.Is(err, atmodem.ErrClosed) && !c.canReopen()) {
			c.log.Error("cellmqtt: giving up reconnecting", "err", err)
			c.abort(err)
			return false
		}
		d := backoff(n, c.opts.ConnectRetryInterval, c.opts.MaxReconnectInterval, jitter)
		c.log.Info("cellmqtt: reconnect failed", "err", err, "retry_in", d)
		if !sleepCtx(c.ctx, d) {
			return false
		}
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
}

// abort shuts the client down from one of its own goroutines (a failed
// Connect, a loss without AutoReconnect, a modem gone for good). Pending
// tokens fail with ErrDisconnected wrapping cause.
func (c *client) abort(cause error) {
	c.mu.Lock()
	done, ok := c.beginShutdownLocked()
	c.mu.Unlock()
	if !ok {
		return
	}
	go c.finishShutdown(done, fmt.Errorf("%w: %w", ErrDisconnected, cause))
}
