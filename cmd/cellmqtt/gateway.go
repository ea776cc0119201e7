package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/compat"
)

func init() {
	register(command{
		name:    "gateway",
		summary: "a local MQTT 3.1.1/5 endpoint over the modem, for any MQTT client",
		run:     runGateway,
	})
}

// gatewayFlags are the flags of "cellmqtt gateway".
type gatewayFlags struct {
	modem  modemFlags
	listen listenFlags
	broker string
	user   string // the broker's credentials, instead of the clients'
	pw     string
	cafile string
	cert   string
	key    string
	// indexWait: how long a CONNECT waits for a client index (compat.WithIndexWait).
	indexWait time.Duration
	// maxInflight is each client's publish window on the modem.
	maxInflight int
}

func newGatewayFlags() (*flagSet, *gatewayFlags) {
	fs := newFlagSet("gateway", "cellmqtt gateway (--port PATH | --sim) [--broker URL] [--listen ADDR] [flags]", `
Serves MQTT 3.1.1 and MQTT 5 on a local TCP address and carries every
connection over the modem's MQTT client to the broker: mosquitto_pub,
mosquitto_sub, Python paho, MQTT.js, Node-RED or any other MQTT client uses
the cellular link without knowing it. The listen address is printed on
stdout once the gateway accepts connections; Ctrl-C stops it.

Every local client acts at the broker with the device's identity: its
client certificate (--cert/--key), its network, and --username/--pw when
given. The gateway listens on 127.0.0.1 by default; an address other
machines can reach needs --password-file or --local-user/--local-password
(checked by the gateway, not passed on) or --listen-cert/--listen-key (TLS),
or --insecure-listen.

What a local client can expect:
  - Each connection takes one of the modem's two client indexes once it
    sent a valid CONNECT (within 5 s, or it is closed). When both are
    taken, a CONNECT waits up to --index-wait (30 s) for one (a client
    that left gives its index back once the messages it handed over went
    to the modem), then gets CONNACK "server unavailable". A CONNECT with the client ID of a connection
    still served takes its session over (the old connection is closed).
  - QoS 0, 1 and 2 both ways, retained messages and clean and persistent
    sessions pass through; a PUBACK or PUBREC means the modem confirmed
    the message. Messages arrive with the QoS of the client's matching
    subscription (the modem reports none; messages a persistent session
    gets before it subscribed again are QoS 0 after a gateway restart),
    never with the retain or dup flag.
  - The modem carries topics of up to 1024 bytes and payloads of up to
    10240: a larger QoS 1 or 2 message from an MQTT 3.1.1 client closes its
    connection unacknowledged (MQTT 5: reason code 0x90 or 0x83), a larger
    QoS 0 message is dropped; both are logged. A larger incoming message is
    dropped and logged.
  - A will passes through (not retained: the modem's will has no retain
    flag); when the client goes away without DISCONNECT the gateway
    publishes it on the client's behalf with its QoS, then disconnects.
  - While the broker cannot be reached (network, DNS, broker down) a
    CONNECT is closed without CONNACK, so the client tries again; bad
    credentials and other final refusals are answered with their CONNACK.
  - MQTT 5 features the modem cannot carry are refused or dropped as the
    compat package documents.

With --sim the gateway runs against the built-in modem emulator (at the
line speed of --baud when given) and, unless --broker is given, an
embedded broker: try it without hardware.

Exit status: 0 stopped by a signal, 1 the modem, the listener or the link
failed, 2 bad flags.`)
	g := &gatewayFlags{}
	const gw = "Gateway"
	fs.String(&g.broker, "b,broker", "URL", "", gw, "the broker the modem connects to: tcp://HOST[:PORT] or mqtt://; ssl://, tls:// or mqtts:// for TLS (default with --sim: an embedded broker)")
	fs.String(&g.user, "u,username", "USER", "", gw, "user name the modem connects to the broker with, instead of the clients' own")
	fs.String(&g.pw, "P,pw", "PASSWORD", "", gw, "password for --username")
	fs.String(&g.cafile, "cafile", "FILE|modem:NAME", "", gw, "CA certificate for a TLS broker: a local file (uploaded to the modem) or a file already on the modem")
	fs.String(&g.cert, "cert", "FILE|modem:NAME", "", gw, "client certificate for a TLS broker")
	fs.String(&g.key, "key", "FILE|modem:NAME", "", gw, "client key for a TLS broker")
	fs.Seconds(&g.indexWait, "index-wait", "DURATION", compat.DefaultIndexWait, gw, "how long a CONNECT waits for one of the modem's two client indexes when both are taken")
	fs.Int(&g.maxInflight, "max-inflight", "N", 1, gw, "publishes of a client that may wait for the modem's result at once; above 1 the next goes out after the previous PUB's OK (faster over a cellular round trip; firmware that refuses it is detected and falls back to 1)")
	g.listen.register(fs, "127.0.0.1:1883")
	g.modem.register(fs, false)
	fs.example(
		"cellmqtt gateway --sim --listen 127.0.0.1:1883 &",
		"mosquitto_sub -h 127.0.0.1 -t 'demo/#' -v &",
		"mosquitto_pub -h 127.0.0.1 -t demo/hello -m 'over the emulated modem'",
		"cellmqtt gateway --port /dev/ttyUSB2 --broker tcp://test.mosquitto.org:1883",
		"cellmqtt gateway --port auto --broker ssl://broker.example.com:8883 --cafile ca.pem --cert dev1.pem --key dev1.key",
		"cellmqtt gateway --port auto --broker tcp://broker:1883 --listen 0.0.0.0:8883 --listen-cert gw.pem --listen-key gw.key --password-file passwd",
	)
	return fs, g
}

// tls reports whether certificate flags were given.
func (g *gatewayFlags) tls() bool { return g.cafile != "" || g.cert != "" || g.key != "" }

// check validates the flags; nothing is opened yet. set reports whether
// a flag was given.
func (g *gatewayFlags) check(set func(name string) bool) error {
	if err := g.modem.check(); err != nil {
		return err
	}
	if g.maxInflight < 1 {
		return badInput("--max-inflight %d: must be 1 or more", g.maxInflight)
	}
	if g.modem.sim && set("port") {
		return badInput("--port and --sim exclude each other: --sim runs the built-in emulator instead of a modem")
	}
	if g.modem.sim && set("baud") {
		// With --sim, --baud is the emulated line speed.
		g.modem.simBaud = g.modem.baud
	}
	if g.broker == "" && !g.modem.sim {
		return badInput("no broker: give --broker URL (the modem connects to it over the cellular network), or --sim to try without hardware")
	}
	if g.broker != "" {
		b, err := atmodem.ParseBroker(g.broker)
		if err != nil {
			return badInput("--broker: %w", err)
		}
		// The address travels in quotes in AT+CMQTTCONNECT: what no model
		// takes is refused now, not at every client's CONNECT.
		if err := atmodem.CheckConnectAnyModel(0, atmodem.ConnectOptions{Broker: g.broker, ClientID: "gateway", KeepAlive: 60 * time.Second}); err != nil {
			return badInput("--broker %q: %w", g.broker, err)
		}
		if g.tls() && b.Type != atmodem.ServerTLS {
			return badInput("--cafile, --cert and --key need a TLS broker (ssl://, tls:// or mqtts://), not %q", g.broker)
		}
	} else if g.tls() {
		return badInput("--cafile, --cert and --key need --broker with a TLS broker URL")
	}
	if (g.cert == "") != (g.key == "") {
		return badInput("--cert and --key go together")
	}
	if g.pw != "" && g.user == "" {
		return badInput("--pw needs --username")
	}
	for _, f := range []struct{ flag, v string }{{"--username", g.user}, {"--pw", g.pw}} {
		if err := checkQuoted(f.flag, f.v); err != nil {
			return err
		}
	}
	return g.listen.check()
}

// tlsConfig is the SSL context for the certificate flags.
func (g *gatewayFlags) tlsConfig() (*atmodem.TLSConfig, error) {
	cfg := &atmodem.TLSConfig{SSLVersion: 4}
	var err error
	if g.cafile != "" {
		if cfg.CACert, err = certFrom("cafile", g.cafile, "ca"); err != nil {
			return nil, err
		}
	}
	if g.cert != "" {
		if cfg.ClientCert, err = certFrom("cert", g.cert, "cert"); err != nil {
			return nil, err
		}
		if cfg.ClientKey, err = certFrom("key", g.key, "key"); err != nil {
			return nil, err
		}
	}
	switch {
	case g.cafile != "" && g.cert != "":
		cfg.AuthMode = atmodem.AuthServerClient
	case g.cafile != "":
		cfg.AuthMode = atmodem.AuthServer
	case g.cert != "":
		cfg.AuthMode = atmodem.AuthClient
	}
	return cfg, nil
}

func runGateway(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs, g := newGatewayFlags()
	if _, err := fs.parse(args, stdout, stderr); err != nil {
		return parseExit(err)
	}
	if err := g.check(fs.isSet); err != nil {
		return fail(stderr, "gateway", err)
	}
	if err := serveGateway(ctx, g, stdout, stderr); err != nil {
		return fail(stderr, "gateway", err)
	}
	return exitOK
}

// serveGateway opens the modem, listens and serves until ctx ends.
func serveGateway(ctx context.Context, g *gatewayFlags, stdout, stderr io.Writer) error {
	level := slog.LevelInfo
	if g.modem.trace {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	opts := []compat.Option{compat.WithLogger(logger), compat.WithIndexWait(g.indexWait), compat.WithMaxInflight(g.maxInflight)}
	if g.tls() {
		cfg, err := g.tlsConfig()
		if err != nil {
			return err
		}
		opts = append(opts, compat.WithTLS(*cfg))
	}
	if g.user != "" {
		opts = append(opts, compat.WithBrokerCredentials(g.user, g.pw))
	}
	auth, err := g.listen.authenticator()
	if err != nil {
		return err
	}
	if auth != nil {
		opts = append(opts, compat.WithAuthenticator(auth))
	}

	// The engine's warnings (a received message it had to drop, say) are
	// logged without --trace too.
	g.modem.warnings = logger
	l, err := g.modem.open(ctx, stderr, g.broker == "")
	if err != nil {
		return err
	}
	defer l.Close()
	broker := g.broker
	if broker == "" {
		broker = l.Broker.URL()
	}
	ln, err := g.listen.cfg.Listen(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	fmt.Fprintf(stderr, "cellmqtt gateway: serving MQTT on %s%s, carried by %s to %s\n", ln.Addr(), g.listen.describe(), l.Where, broker)

	served := make(chan error, 1)
	go func() { served <- compat.Serve(ln, l.Modem, broker, opts...) }()
	select {
	case <-ctx.Done():
		_ = ln.Close()
		err = <-served
	case <-l.Modem.Done():
		_ = ln.Close()
		<-served
		err = errors.New("the modem's port closed")
	case err = <-served:
		_ = ln.Close()
	}
	return err
}
