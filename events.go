package cellmqtt

import (
	"fmt"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// eventLoop drains the session's events as fast as they come, so the AT
// reader never waits for the application: messages go to the router's
// inbox, losses to the connection they belong to. It ends when the
// session's Events channel is closed (Session.Close, or after EventClosed).
func (c *client) eventLoop(r *run, sess session) {
	defer r.evwg.Done()
	for ev := range sess.Events() {
		if ev.Kind == atmodem.EventMessage {
			if ev.Message != nil {
				c.touch()
				c.router.enqueue(&message{topic: ev.Message.Topic, payload: ev.Message.Payload})
			}
			continue
		}
		err := lossError(ev)
		c.log.Info("cellmqtt: connection event", "index", ev.Index, "err", err)
		c.mu.Lock()
		conn := c.conn
		c.mu.Unlock()
		// A loss the modem reported before the current connection was
		// made belongs to an earlier one.
		if conn != nil && conn.sess == sess && ev.Seq >= conn.seq {
			conn.report(err)
		}
	}
}

// lossError is the error a loss event reports, wrapping atmodem's sentinel.
func lossError(ev atmodem.Event) error {
	if ev.Err != nil {
		return ev.Err
	}
	switch ev.Kind {
	case atmodem.EventConnLost:
		return fmt.Errorf("%w (cause %d)", atmodem.ErrConnectionLost, ev.Cause)
	case atmodem.EventPingFail:
		return fmt.Errorf("%w (result %d)", atmodem.ErrKeepalive, int(ev.Code))
	case atmodem.EventNoNetwork:
		return atmodem.ErrNoNetwork
	case atmodem.EventReset:
		return atmodem.ErrModemReset
	case atmodem.EventClosed:
		return atmodem.ErrClosed
	}
	return fmt.Errorf("cellmqtt: unknown event kind %d", ev.Kind)
}
