// Command tls-mutual connects to a broker over TLS with mutual
// authentication: the modem checks the broker's certificate against a CA,
// and shows its own client certificate. The certificates and the key are
// uploaded to the modem (AT+CCERTDOWN) by the client; the SSL context is
// set with AT+CSSLCFG and bound with AT+CMQTTSSLCFG.
//
// Without -port it makes a throw-away CA, broker and client certificate,
// and runs against the modem emulator and an embedded TLS broker that
// requires client certificates:
//
//	go run ./examples/tls-mutual
//
// With a modem and your own files:
//
//	go run ./examples/tls-mutual -port /dev/ttyUSB2 -broker ssl://broker.example.com:8883 \
//	    -cafile ca.pem -cert client.pem -key client.key
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/examples/internal/emulated"
)

// config is what the flags choose.
type config struct {
	port              string
	baud              int
	apn               string
	broker            string
	cafile, cert, key string
	topic             string
	ignoreModemTime   bool
}

func main() {
	var cfg config
	flag.StringVar(&cfg.port, "port", "", "the modem's AT port (empty: the emulator with generated certificates)")
	flag.IntVar(&cfg.baud, "baud", 115200, "serial baud rate")
	flag.StringVar(&cfg.apn, "apn", "", "APN of the SIM's operator")
	flag.StringVar(&cfg.broker, "broker", "", "broker URL, ssl://host:8883 (with -port)")
	flag.StringVar(&cfg.cafile, "cafile", "", "CA certificate (PEM) that signed the broker's certificate")
	flag.StringVar(&cfg.cert, "cert", "", "client certificate (PEM)")
	flag.StringVar(&cfg.key, "key", "", "client private key (PEM)")
	flag.StringVar(&cfg.topic, "topic", "cellmqtt/examples/tls", "topic to publish to")
	flag.BoolVar(&cfg.ignoreModemTime, "ignore-modem-time", true, "do not check certificate dates against the modem's clock (often unset)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run connects over mutual TLS, publishes one message and disconnects.
func run(ctx context.Context, cfg config, out io.Writer) error {
	var caPEM, certPEM, keyPEM []byte
	opts := cellmqtt.NewClientOptions().SetClientID(fmt.Sprintf("tls-example-%d", os.Getpid()))
	if cfg.port != "" {
		if cfg.broker == "" || cfg.cafile == "" || cfg.cert == "" || cfg.key == "" {
			return errors.New("with -port give -broker, -cafile, -cert and -key")
		}
		var err error
		if caPEM, err = os.ReadFile(cfg.cafile); err != nil {
			return err
		}
		if certPEM, err = os.ReadFile(cfg.cert); err != nil {
			return err
		}
		if keyPEM, err = os.ReadFile(cfg.key); err != nil {
			return err
		}
		opts.AddBroker(cfg.broker).SetSerialPort(cfg.port, cfg.baud).SetAPN(cfg.apn).SetWaitNetwork(time.Minute)
	} else {
		pki, err := newPKI()
		if err != nil {
			return err
		}
		caPEM, certPEM, keyPEM = pki.caPEM, pki.clientCertPEM, pki.clientKeyPEM
		serverCert, err := tls.X509KeyPair(pki.serverCertPEM, pki.serverKeyPEM)
		if err != nil {
			return err
		}
		clients := x509.NewCertPool()
		clients.AppendCertsFromPEM(pki.caPEM)
		env, err := emulated.Start(emulated.Options{TLS: &tls.Config{
			Certificates: []tls.Certificate{serverCert},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    clients,
			MinVersion:   tls.VersionTLS12,
		}})
		if err != nil {
			return err
		}
		defer env.Close()
		fmt.Fprintf(out, "no -port: emulated modem, embedded broker at %s requiring client certificates\n", env.Broker.URL())
		opts.AddBroker(env.Broker.URL()).SetTransport(env.Conn())
	}
	opts.SetTLS(cellmqtt.TLSConfig{
		Context:         0,
		SSLVersion:      4, // let the modem negotiate
		AuthMode:        atmodem.AuthServerClient,
		IgnoreLocalTime: cfg.ignoreModemTime,
		CACert:          cellmqtt.CertPEM("example-ca.pem", caPEM),
		ClientCert:      cellmqtt.CertPEM("example-cert.pem", certPEM),
		ClientKey:       cellmqtt.CertPEM("example-key.pem", keyPEM),
	})

	c := cellmqtt.NewClient(opts)
	if err := wait(ctx, c.Connect()); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Disconnect(1000)
	fmt.Fprintln(out, "connected over TLS with a client certificate")
	if err := wait(ctx, c.Publish(cfg.topic, 1, false, "over mutual TLS")); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	fmt.Fprintf(out, "published to %s\n", cfg.topic)
	return nil
}

// wait waits for a token or the context.
func wait(ctx context.Context, t cellmqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}
