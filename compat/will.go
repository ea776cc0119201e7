package compat

import (
	"context"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// The client's will, published on its behalf.
//
// A broker publishes a client's will when the network connection ends
// without a DISCONNECT. The adapter's client is local and its broker
// connection is the modem's, which has no way to end without a clean MQTT
// DISCONNECT: neither manual has a command that closes one client index's
// socket (AT+CMQTTREL "must be called after AT+CMQTTDISC", AT+CMQTTSTOP
// needs every client released, and deactivating the PDP context drops
// both client indexes and the other local client with them). So when the
// local client leaves without DISCONNECT (its connection closed, it fell
// silent past its keepalive, it broke the protocol, or a new connection
// took its session over), and when an MQTT 5 client disconnects with
// reason 0x04 "disconnect with will message", the adapter publishes the
// will through the modem with the will's topic, payload and QoS, then
// sends DISC. The will set on the modem with AT+CMQTTWILLTOPIC and
// AT+CMQTTWILLMSG stays in place for what only the broker can see: the
// modem's own link dying, where the broker publishes it itself.

// publishWill publishes the client's will through the modem, once.
func (a *adapter) publishWill(ctx context.Context) {
	w := a.will
	if w == nil || !a.willSent.CompareAndSwap(false, true) {
		return
	}
	err := a.sess.Publish(ctx, atmodem.Publish{Topic: w.Topic, Payload: w.Payload, QoS: w.QoS, Timeout: a.cfg.publishTimeout})
	if err != nil {
		a.log.Warn("compat: publishing the client's will on its behalf failed", "topic", w.Topic, "qos", w.QoS, "err", err)
		return
	}
	a.log.Info("compat: published the client's will on its behalf (it left without DISCONNECT)", "client", a.clientID, "topic", w.Topic, "qos", w.QoS)
}
