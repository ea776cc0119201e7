package cellmqtt

import (
	"context"
	"fmt"
	"time"
)

// liveness asks the modem whether the connection still stands whenever the
// link has been idle for the LivenessInterval: a radio can die without any
// URC, and then only a question finds out. A failed check is the
// connection's loss.
func (c *client) liveness(r *run) {
	iv := c.opts.LivenessInterval
	t := time.NewTimer(iv)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		idle := time.Since(time.Unix(0, c.lastActive.Load()))
		if idle < iv {
			t.Reset(iv - idle)
			continue
		}
		// A publish in flight finds a dead link itself.
		if conn := c.current(); conn != nil && !c.sending.Load() {
			if err := c.checkLink(conn); err != nil && conn.ctx.Err() == nil {
				c.log.Warn("cellmqtt: liveness check failed", "err", err)
				conn.report(err)
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

// checkLink asks the modem (AT+CMQTTDISC?) whether conn stands; the error
// wraps ErrLiveness.
func (c *client) checkLink(conn *connection) error {
	ctx, cancel := context.WithTimeout(conn.ctx, livenessTimeout(c.opts.LivenessInterval))
	defer cancel()
	up, err := conn.sess.Connected(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrLiveness, err)
	case !up:
		return fmt.Errorf("%w: the modem reports client index %d disconnected", ErrLiveness, conn.sess.Index())
	}
	c.touch()
	return nil
}
