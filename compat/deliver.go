package compat

import "github.com/cellmqtt/cellmqtt/atmodem"

// deliver turns the session's events into PUBLISH packets for the client
// and ends the connection when the modem reports it gone.
func (a *adapter) deliver() {
	defer a.wg.Done()
	for ev := range a.sess.Events() {
		switch ev.Kind {
		case atmodem.EventMessage:
			if a.alive.Load() && ev.Message != nil {
				a.deliverMessage(ev.Message)
			}
		case atmodem.EventConnLost, atmodem.EventPingFail, atmodem.EventNoNetwork,
			atmodem.EventReset, atmodem.EventClosed:
			a.log.Info("compat: modem reports the connection gone", "event", ev.Kind, "err", ev.Err)
			a.lost.Store(true)
			a.alive.Store(false)
			a.stop(lostError(ev))
		}
	}
}

// deliverMessage sends one received message to the client with the highest
// QoS of the client's matching subscriptions (0 when none matches; the
// modem does not say with which QoS the broker sent it), with a packet ID
// of the adapter for QoS 1 and 2.
func (a *adapter) deliverMessage(msg *atmodem.Message) {
	qos, _ := a.subs.qos(msg.Topic)
	var id uint16
	if qos > 0 {
		var ok bool
		if id, ok = a.out.acquire(a.stopped, qos); !ok {
			return
		}
	}
	b, ok := a.proto.encodePublish(msg.Topic, msg.Payload, qos, id)
	if !ok {
		a.log.Warn("compat: message dropped: larger than the client's maximum packet size",
			"topic", msg.Topic, "bytes", len(msg.Payload))
		if qos > 0 {
			a.out.release(id)
		}
		return
	}
	a.send(b)
}

// ping answers PINGREQ while the modem reports the connection alive. The
// adapter does not ask the modem on every ping: the modem keeps its own
// keepalive with the broker and reports a failure (+CMQTTPING,
// +CMQTTCONNLOST, +CMQTTNONET, a reboot), which ends the connection.
func (a *adapter) ping(pingresp []byte) {
	if a.alive.Load() {
		a.send(pingresp)
	}
}
