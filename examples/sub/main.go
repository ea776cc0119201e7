// Command sub subscribes through a SIMCom modem's built-in MQTT client and
// prints messages until -n arrived or Ctrl-C. The connection is kept up by
// the client: after a loss it reconnects and subscribes again by itself.
//
// Without -port it runs against the modem emulator and an embedded broker,
// where a plain MQTT client (standing for the rest of the world) publishes
// the messages:
//
//	go run ./examples/sub
//
// With a modem:
//
//	go run ./examples/sub -port /dev/ttyUSB2 -broker tcp://test.mosquitto.org:1883 -topic 'cellmqtt/#' -n 0
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
	"github.com/cellmqtt/cellmqtt/examples/internal/emulated"
)

// config is what the flags choose.
type config struct {
	port   string
	baud   int
	apn    string
	broker string
	topic  string
	count  int // stop after this many messages; 0: until Ctrl-C
}

func main() {
	var cfg config
	flag.StringVar(&cfg.port, "port", "", "the modem's AT port, e.g. /dev/ttyUSB2, or tcp://HOST:PORT (cellmqtt sim --listen) (empty: the emulator)")
	flag.IntVar(&cfg.baud, "baud", 115200, "serial baud rate")
	flag.StringVar(&cfg.apn, "apn", "", "APN of the SIM's operator")
	flag.StringVar(&cfg.broker, "broker", "tcp://test.mosquitto.org:1883", "broker URL (with -port)")
	flag.StringVar(&cfg.topic, "topic", "cellmqtt/examples/#", "topic filter")
	flag.IntVar(&cfg.count, "n", 3, "stop after n messages (0: run until Ctrl-C)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run subscribes and prints what arrives.
func run(ctx context.Context, cfg config, out io.Writer) error {
	opts := cellmqtt.NewClientOptions().
		SetClientID(fmt.Sprintf("sub-example-%d", os.Getpid())).
		SetAutoReconnect(true).
		SetResumeSubs(true).
		SetConnectionLostHandler(func(_ cellmqtt.Client, err error) {
			fmt.Fprintf(out, "connection lost (%v); reconnecting\n", err)
		})
	var world *emulated.Observer
	if cfg.port != "" {
		opts.AddBroker(cfg.broker).SetSerialPort(cfg.port, cfg.baud).SetAPN(cfg.apn).SetWaitNetwork(time.Minute)
	} else {
		env, err := emulated.Start(emulated.Options{Redirect: true})
		if err != nil {
			return err
		}
		defer env.Close()
		if world, err = emulated.Observe(env.Broker.URL(), ""); err != nil {
			return err
		}
		defer world.Close()
		opts.AddBroker(env.Broker.URL()).SetTransport(env.Conn())
	}

	got := make(chan cellmqtt.Message, 16)
	c := cellmqtt.NewClient(opts)
	if err := wait(ctx, c.Connect()); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Disconnect(1000)
	if err := wait(ctx, c.Subscribe(cfg.topic, 1, func(_ cellmqtt.Client, m cellmqtt.Message) { got <- m })); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	fmt.Fprintf(out, "subscribed to %s\n", cfg.topic)

	if world != nil { // the rest of the world publishes a few messages
		for i := 1; i <= cfg.count; i++ {
			if err := world.Publish(fmt.Sprintf("cellmqtt/examples/%d", i), 1, fmt.Sprintf("message %d", i)); err != nil {
				return err
			}
		}
	}
	for n := 0; cfg.count == 0 || n < cfg.count; n++ {
		select {
		case m := <-got:
			// The modem does not report QoS, retain or dup of received messages.
			fmt.Fprintf(out, "%s: %s\n", m.Topic(), m.Payload())
		case <-ctx.Done():
			return nil
		}
	}
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
