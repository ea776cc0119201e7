package compat

import (
	"context"
	"fmt"
	"net"
	"net/url"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/eclipse/paho.golang/autopaho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Dial claims a client index of the modem (WithClientIndex, or the lowest
// free one) and returns a net.Conn on which an MQTT 3.1.1 or 5 client
// speaks to the broker at server through the modem. server is tcp:// or
// mqtt:// for plain MQTT, ssl://, tls:// or mqtts:// for TLS with the SSL
// context of WithTLS. The modem connects when the client's CONNECT
// arrives; Close (or the client's DISCONNECT) disconnects it, and Close
// returns once the modem has answered.
//
// Use it for paho.golang's ClientConfig.Conn. While an earlier connection
// of this package on the same modem is still giving its index back, Dial
// waits for it until ctx ends.
func Dial(ctx context.Context, m *atmodem.Modem, server string, opts ...Option) (net.Conn, error) {
	cfg := newConfig(opts)
	if m == nil {
		return nil, fmt.Errorf("compat: Dial %s: nil modem: %w", server, atmodem.ErrInvalidParameter)
	}
	if err := checkServer(server); err != nil {
		return nil, fmt.Errorf("compat: Dial: %w", err)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	sess, err := claimSession(ctx, m, cfg.index, false)
	if err != nil {
		return nil, fmt.Errorf("compat: Dial %s: %w", server, err)
	}
	c, end := newConn(Addr{Name: "modem", Index: sess.Index()}, Addr{Name: server, Index: -1})
	a := newAdapter(cfg, m, sess, server)
	end.abort = a.stopped
	c.onClose = a.releasing
	c.ended, c.endWait = a.done, cfg.cleanupTimeout
	a.start(end)
	return c, nil
}

// OpenConnectionFn returns the function for paho.mqtt.golang's
// ClientOptions.SetCustomOpenConnectionFn: every connection attempt of the
// client (the first and each reconnect) dials through the modem to the
// broker URL the client was given with AddBroker. The client's
// ConnectTimeout bounds the wait for a client index.
func OpenConnectionFn(m *atmodem.Modem, opts ...Option) mqtt.OpenConnectionFunc {
	return func(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
		ctx := context.Background()
		if o.ConnectTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, o.ConnectTimeout)
			defer cancel()
		}
		return Dial(ctx, m, brokerURL(uri), opts...)
	}
}

// AttemptConnectionFn returns the function for autopaho's
// ClientConfig.AttemptConnection: every connection attempt dials through
// the modem to the server URL autopaho picked from ServerUrls.
func AttemptConnectionFn(m *atmodem.Modem, opts ...Option) func(context.Context, autopaho.ClientConfig, *url.URL) (net.Conn, error) {
	return func(ctx context.Context, _ autopaho.ClientConfig, u *url.URL) (net.Conn, error) {
		return Dial(ctx, m, brokerURL(u), opts...)
	}
}

// brokerURL reduces a client's broker URL to scheme://host[:port], which is
// all the modem takes.
func brokerURL(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
}
