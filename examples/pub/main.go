// Command pub is the smallest cellmqtt program: it connects through a
// SIMCom modem's built-in MQTT client, publishes one message at QoS 1 and
// disconnects.
//
// Without flags it runs against the modem emulator and an embedded broker:
//
//	go run ./examples/pub
//
// With a modem on a serial port:
//
//	go run ./examples/pub -port /dev/ttyUSB2 -apn internet -broker tcp://test.mosquitto.org:1883 -topic cellmqtt/hello
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/cellmqtt/cellmqtt"
)

// config is what the flags choose.
type config struct {
	port    string // serial port; empty: emulator
	baud    int
	apn     string
	broker  string
	topic   string
	message string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.port, "port", "", "the modem's AT port, e.g. /dev/ttyUSB2, COM5, or tcp://HOST:PORT (cellmqtt sim --listen) (empty: the emulator)")
	flag.IntVar(&cfg.baud, "baud", 115200, "serial baud rate")
	flag.StringVar(&cfg.apn, "apn", "", "APN of the SIM's operator (empty: the modem's setting)")
	flag.StringVar(&cfg.broker, "broker", "tcp://test.mosquitto.org:1883", "broker URL (with -port)")
	flag.StringVar(&cfg.topic, "topic", "cellmqtt/examples/pub", "topic")
	flag.StringVar(&cfg.message, "message", "hello from a cellular modem", "payload")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run publishes one message as cfg says and reports to out.
func run(ctx context.Context, cfg config, out io.Writer) error {
	opts := cellmqtt.NewClientOptions().
		SetClientID(fmt.Sprintf("pub-example-%d", os.Getpid())).
		SetConnectTimeout(2 * time.Minute)
	if cfg.port != "" {
		opts.AddBroker(cfg.broker).SetSerialPort(cfg.port, cfg.baud).SetAPN(cfg.apn).SetWaitNetwork(time.Minute)
	} else {
		stopEmulator, err := useEmulator(opts, out)
		if err != nil {
			return err
		}
		defer stopEmulator()
	}
	c := cellmqtt.NewClient(opts)
	if err := wait(ctx, c.Connect()); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Disconnect(1000)
	if err := wait(ctx, c.Publish(cfg.topic, 1, false, cfg.message)); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	fmt.Fprintf(out, "published %q to %s\n", cfg.message, cfg.topic)
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
