package cellmqtt

import (
	"context"
	"time"
)

// Timeouts of the disconnect sequence.
const (
	// discTimeout is the DISC <timeout> given to the modem (60-180 s).
	discTimeout = 60 * time.Second
	// discBudget bounds the whole DISC + REL (+ STOP) sequence.
	discBudget = discTimeout + 15*time.Second
)

// Disconnect waits up to quiesce milliseconds for the queue to empty (only
// while connected), then stops the client's goroutines, disconnects the
// modem's client (DISC, REL; the MQTT service stops only when no other
// client index uses it), gives the index back, closes the modem if the
// client opened it and its own queue. Pending tokens fail with
// ErrDisconnected; their messages stay in the queue (a durable queue keeps
// them for the next process). Disconnect returns when everything is done.
// Handlers must not call it synchronously (see the package doc).
func (c *client) Disconnect(quiesce uint) {
	c.mu.Lock()
	if c.state == stateDisconnected || c.state == stateDisconnecting {
		done := c.shutDone
		c.mu.Unlock()
		if done != nil {
			<-done
		}
		return
	}
	c.closing = true
	connected := c.state == stateConnected
	r := c.run
	c.mu.Unlock()
	if connected && quiesce > 0 {
		c.waitDrained(r, time.Duration(quiesce)*time.Millisecond)
	}
	c.mu.Lock()
	done, ok := c.beginShutdownLocked()
	c.mu.Unlock()
	if !ok {
		<-done
		return
	}
	c.finishShutdown(r, done, ErrDisconnected)
}

// waitDrained waits until the queue is empty or d has passed.
func (c *client) waitDrained(r *run, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for r.q.Len() > 0 {
		select {
		case <-t.C:
			return
		case <-r.sent:
		case <-r.ctx.Done():
			return
		}
	}
}

// beginShutdownLocked moves to stateDisconnecting and stops the run's
// goroutines; c.mu must be held. ok is false when a shutdown already
// began (done is then the one to wait for).
func (c *client) beginShutdownLocked() (done chan struct{}, ok bool) {
	if c.state == stateDisconnecting || c.state == stateDisconnected {
		if c.shutDone == nil {
			c.shutDone = make(chan struct{})
			close(c.shutDone)
		}
		return c.shutDone, false
	}
	c.state = stateDisconnecting
	c.shutDone = make(chan struct{})
	c.run.cancel()
	return c.shutDone, true
}

// finishShutdown waits for the run's goroutines, then disconnects and
// releases the session, closes what the client opened and fails the
// tokens still waiting with cause. It closes done at the end.
func (c *client) finishShutdown(r *run, done chan struct{}, cause error) {
	r.wg.Wait()
	// The manager is gone: its fields are the shutdown's now.
	if c.sess != nil {
		if c.sessUsed && (c.modem == nil || !isClosed(c.modem.Done())) {
			ctx, cancel := context.WithTimeout(context.Background(), discBudget)
			if err := c.sess.Disconnect(ctx, discTimeout); err != nil {
				c.log.Info("cellmqtt: disconnect", "err", err)
			}
			cancel()
		}
	}
	c.closeSession()
	r.evwg.Wait()
	c.finishFirst(r, cause)
	c.tok.failAll(cause)
	c.mu.Lock()
	held := c.pendingOps
	c.pendingOps = nil
	c.mu.Unlock()
	for _, h := range held {
		h.fail(cause)
	}
	if r.ownQ {
		c.closeQuietly("queue", r.q)
	}
	c.mu.Lock()
	c.run, c.conn = nil, nil
	c.subs = nil // as in paho, a new Connect does not restore them
	c.state = stateDisconnected
	c.closing = false
	c.dup = nil
	c.mu.Unlock()
	c.log.Info("cellmqtt: disconnected")
	close(done)
}
