package cellmqtt

import (
	"context"
	"fmt"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// liveness asks the modem whether the connection still stands whenever the
// link has been idle for the LivenessInterval: a radio can die without any
// URC, and then only a question finds out.
func (c *client) liveness() {
	iv := c.opts.LivenessInterval
	t := time.NewTimer(iv)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		idle := time.Since(time.Unix(0, c.lastActive.Load()))
		if idle < iv {
			t.Reset(iv - idle)
			continue
		}
		c.mu.Lock()
		sending := c.sendCancel != nil // a publish in flight finds a dead link itself
		c.mu.Unlock()
		if sess, open := c.session(); open && sess != nil && !sending {
			if err := c.checkLink(sess); err != nil && c.ctx.Err() == nil {
				c.log.Warn("cellmqtt: liveness check failed", "err", err)
				c.signalLoss(err)
			}
		}
		t.Reset(iv)
	}
}

// livenessTimeout bounds one check: the interval itself, at least 2 s and
// at most DefaultLivenessTimeout.
func livenessTimeout(interval time.Duration) time.Duration {
	return min(DefaultLivenessTimeout, max(2*time.Second, interval))
}

// checkLink asks the modem (AT+CMQTTDISC?) whether the session's connection
// stands; the error wraps ErrLiveness.
func (c *client) checkLink(sess *atmodem.Session) error {
	ctx, cancel := context.WithTimeout(c.ctx, livenessTimeout(c.opts.LivenessInterval))
	defer cancel()
	up, err := sess.Connected(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrLiveness, err)
	case !up:
		return fmt.Errorf("%w: the modem reports client index %d disconnected", ErrLiveness, sess.Index())
	}
	c.touch()
	return nil
}
