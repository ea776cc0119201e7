package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"

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
	broker string
	listen string
	cafile string
	cert   string
	key    string
}

func newGatewayFlags() (*flagSet, *gatewayFlags) {
	fs := newFlagSet("gateway", "cellmqtt gateway (--port PATH | --sim) [--broker URL] [--listen ADDR] [flags]", `
Serves MQTT 3.1.1 and MQTT 5 on a local TCP address and carries every
connection over the modem's MQTT client to the broker: mosquitto_pub,
mosquitto_sub, Python paho, Node-RED or any other MQTT client uses the
cellular link without knowing it. Each local connection takes one of the
modem's two client indexes; a third is answered "server unavailable" and
closed. Clean disconnects, QoS 0/1/2, retained messages, wills and
credentials pass through; MQTT 5 features the modem cannot carry are
refused or dropped as the compat package documents. The listen address is
printed on stdout once the gateway accepts connections; Ctrl-C stops it.

With --sim the gateway runs against the built-in modem emulator and, unless
--broker is given, an embedded broker: try it without hardware.

Exit status: 0 stopped by a signal, 1 the modem, the listener or the link
failed, 2 bad flags.`)
	g := &gatewayFlags{}
	const gw = "Gateway"
	fs.String(&g.broker, "b,broker", "URL", "", gw, "the broker the modem connects to: tcp://HOST[:PORT] or mqtt://; ssl://, tls:// or mqtts:// for TLS (default with --sim: an embedded broker)")
	fs.String(&g.listen, "l,listen", "ADDR", "127.0.0.1:1883", gw, "local address to serve MQTT on (port 0 picks a free one)")
	fs.String(&g.cafile, "cafile", "FILE|modem:NAME", "", gw, "CA certificate for a TLS broker: a local file (uploaded to the modem) or a file already on the modem")
	fs.String(&g.cert, "cert", "FILE|modem:NAME", "", gw, "client certificate for a TLS broker")
	fs.String(&g.key, "key", "FILE|modem:NAME", "", gw, "client key for a TLS broker")
	g.modem.register(fs, false)
	fs.example(
		"cellmqtt gateway --sim --listen 127.0.0.1:1883 &",
		"mosquitto_sub -h 127.0.0.1 -t 'demo/#' -v &",
		"mosquitto_pub -h 127.0.0.1 -t demo/hello -m 'over the emulated modem'",
		"cellmqtt gateway --port /dev/ttyUSB2 --broker tcp://test.mosquitto.org:1883",
		"cellmqtt gateway --port auto --broker ssl://broker.example.com:8883 --cafile ca.pem --cert dev1.pem --key dev1.key",
	)
	return fs, g
}

// tls reports whether certificate flags were given.
func (g *gatewayFlags) tls() bool { return g.cafile != "" || g.cert != "" || g.key != "" }

// check validates the flags; nothing is opened yet.
func (g *gatewayFlags) check() error {
	if err := g.modem.check(); err != nil {
		return err
	}
	if g.broker == "" && !g.modem.sim {
		return badInput("no broker: give --broker URL (the modem connects to it over the cellular network), or --sim to try without hardware")
	}
	if g.broker != "" {
		b, err := atmodem.ParseBroker(g.broker)
		if err != nil {
			return badInput("--broker: %w", err)
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
	if _, _, err := net.SplitHostPort(g.listen); err != nil {
		return badInput("--listen %q: want HOST:PORT: %w", g.listen, err)
	}
	return nil
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
	if err := g.check(); err != nil {
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
	opts := []compat.Option{compat.WithLogger(logger)}
	if g.tls() {
		cfg, err := g.tlsConfig()
		if err != nil {
			return err
		}
		opts = append(opts, compat.WithTLS(*cfg))
	}

	l, err := g.modem.open(ctx, stderr, g.broker == "")
	if err != nil {
		return err
	}
	defer l.Close()
	broker := g.broker
	if broker == "" {
		broker = l.Broker.URL()
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", g.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", g.listen, err)
	}
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	fmt.Fprintf(stderr, "cellmqtt gateway: serving MQTT on %s, carried by %s to %s\n", ln.Addr(), l.Where, broker)

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
