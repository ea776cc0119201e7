package cellmqtt

import (
	"fmt"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// eventLoop drains the session's events as fast as they come, so the AT
// reader never waits for the application: messages go to the router's
// inbox, losses to the supervisor. It ends when the session's Events
// channel is closed (Session.Close, or after EventClosed).
func (c *client) eventLoop(sess *atmodem.Session) {
	defer c.evwg.Done()
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
		if ev.Kind == atmodem.EventClosed || ev.Kind == atmodem.EventReset {
			c.holdSender()
		}
		c.signalEventLoss(err)
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
