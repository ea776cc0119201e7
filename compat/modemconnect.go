package compat

import (
	"context"
	"fmt"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// modemConnect runs the modem's connect sequence with the client's
// keepalive moved into the model's range (asking the modem its model
// first when it is not known yet).
func (a *adapter) modemConnect(opts atmodem.ConnectOptions, keepAlive uint16) error {
	opts.Broker = a.server
	opts.TLS = a.cfg.tls
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.connectTimeout)
	defer cancel()
	model := a.m.Model()
	if model == atmodem.AutoDetect {
		// Input no model family accepts is refused before the model
		// query: nothing reaches the modem.
		if err := atmodem.CheckConnectAnyModel(a.sess.Index(), withKeepAlive(opts)); err != nil {
			a.log.Warn("compat: refused the connection", "client", opts.ClientID, "err", err)
			return err
		}
		if m, err := a.m.DetectModel(ctx); err == nil {
			model = m
		}
	}
	if want := a.cfg.model; want != atmodem.AutoDetect && model != want {
		err := fmt.Errorf("compat: the modem is %s, WithModel says %s: %w", model, want, atmodem.ErrInvalidParameter)
		a.log.Warn("compat: modem refused the connection", "client", opts.ClientID, "err", err)
		return err
	}
	opts.KeepAlive = clampKeepAlive(keepAlive, model.Limits().KeepAlive)
	// Bad input fails here, before the index is touched, so there is
	// nothing to clean up on the modem afterwards.
	if err := a.sess.CheckConnect(opts); err != nil {
		a.log.Warn("compat: refused the connection", "client", opts.ClientID, "err", err)
		return err
	}
	a.attempted.Store(true)
	err := a.sess.Connect(ctx, opts)
	if err != nil {
		a.log.Warn("compat: modem refused the connection", "client", opts.ClientID, "err", err)
	}
	return err
}

// withKeepAlive gives opts a keepalive inside every model's range, for the
// check made before the model is known (the client's keepalive is moved into
// the model's range, never refused).
func withKeepAlive(opts atmodem.ConnectOptions) atmodem.ConnectOptions {
	opts.KeepAlive = 60 * time.Second
	return opts
}

// beginSession makes the adapter the connection of client ID id (assigned:
// made up by the adapter, unique): a live connection with the same ID is
// taken over first (MQTT-3.1.4-2), and a persistent session gets the
// subscriptions kept from its last connection.
func (a *adapter) beginSession(id string, assigned, persistent bool) error {
	if !assigned {
		ctx, cancel := context.WithTimeout(a.ctx, a.cfg.cleanupTimeout)
		err := takeOverSession(ctx, a.m, id, a)
		cancel()
		if err != nil {
			return err
		}
	}
	a.clientID, a.persistent = id, persistent
	live.register(a)
	a.subs.reset(kept.resume(a.m, id, persistent))
	return nil
}

// credentials sets the user name and password the modem connects with:
// WithBrokerCredentials when given; none when the adapter authenticates
// local clients itself (their credentials stay local); otherwise the
// client's own.
func (a *adapter) credentials(opts *atmodem.ConnectOptions, user string, hasUser bool, pass []byte, hasPass bool) {
	switch {
	case a.cfg.brokerCreds:
		opts.Username, opts.Password = a.cfg.brokerUser, a.cfg.brokerPassword
	case a.cfg.auth != nil:
	default:
		if hasUser {
			opts.Username = user
		}
		if hasPass {
			opts.Password = string(pass)
		}
	}
}

// mayPass reports whether a failed connect sequence failed for a reason
// that may pass (the network, a socket, DNS, the broker unavailable, no
// answer in time): atmodem.FateOf says the link is down or the outcome
// unknown. The client is then not told a CONNACK refusal, which would end
// most clients for good (MQTT.js, mosquitto_sub), but sees the connection
// close and tries again, as after a failed TCP connect to a broker that is
// down (MQTT 3.1.1 section 3.2.2.3 allows closing without CONNACK).
func mayPass(err error) bool { return atmodem.FateOf(err) != atmodem.FateRefused }

// modemConnected records that the modem connected, before the CONNACK
// goes out: from then on the client may send packets, and the readers of
// the modem's other connections wait for this one's (arrival.go).
func (a *adapter) modemConnected() {
	a.connected.Store(true)
	a.progress.reading.Store(true)
}
