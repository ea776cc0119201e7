// Command durable-queue shows the durable outgoing queue: QoS 1 and 2
// messages published while the link is down are kept in files, survive the
// process stopping, and are sent by the next process that opens the same
// queue directory.
//
// Without -port it plays both processes against the modem emulator and an
// embedded broker: the first takes the network away (+CMQTTNONET),
// publishes three messages and stops; the second starts on the same
// directory with the network back and delivers them.
//
//	go run ./examples/durable-queue
//
// With a modem, each run publishes -n messages; whatever the modem did not
// confirm stays in -queue for the next run:
//
//	go run ./examples/durable-queue -port /dev/ttyUSB2 -broker tcp://test.mosquitto.org:1883 -queue /var/lib/app/queue
package main

import (
	"context"
	"errors"
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
	queue  string // queue directory
	topic  string
	count  int
}

func main() {
	var cfg config
	flag.StringVar(&cfg.port, "port", "", "the modem's AT port (empty: the emulator, playing two processes)")
	flag.IntVar(&cfg.baud, "baud", 115200, "serial baud rate")
	flag.StringVar(&cfg.apn, "apn", "", "APN of the SIM's operator")
	flag.StringVar(&cfg.broker, "broker", "tcp://test.mosquitto.org:1883", "broker URL (with -port)")
	flag.StringVar(&cfg.queue, "queue", "", "queue directory (default: a new temporary directory)")
	flag.StringVar(&cfg.topic, "topic", "cellmqtt/examples/durable", "topic")
	flag.IntVar(&cfg.count, "n", 3, "messages to publish")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run publishes through a durable queue: against a modem once, against the
// emulator as two processes.
func run(ctx context.Context, cfg config, out io.Writer) error {
	if cfg.queue == "" {
		dir, err := os.MkdirTemp("", "cellmqtt-queue-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.queue = dir
	}
	if cfg.port != "" {
		return publishOnce(ctx, cfg, out)
	}
	return twoProcesses(ctx, cfg, out)
}

// options are the client options both modes share.
func options(cfg config) *cellmqtt.ClientOptions {
	return cellmqtt.NewClientOptions().
		SetClientID("durable-example").
		SetCleanSession(false).
		SetAutoReconnect(true).
		SetConnectRetryInterval(200 * time.Millisecond).
		SetMaxReconnectInterval(2 * time.Second).
		SetQueueDir(cfg.queue)
}

// publishOnce is one run on a real modem.
func publishOnce(ctx context.Context, cfg config, out io.Writer) error {
	opts := options(cfg).AddBroker(cfg.broker).SetSerialPort(cfg.port, cfg.baud).
		SetAPN(cfg.apn).SetWaitNetwork(time.Minute).SetConnectRetry(true)
	c := cellmqtt.NewClient(opts)
	if err := wait(ctx, c.Connect()); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	for i := 1; i <= cfg.count; i++ {
		c.Publish(cfg.topic, 1, false, fmt.Sprintf("reading %d at %s", i, time.Now().Format(time.RFC3339)))
	}
	c.Disconnect(10000) // up to 10 s to deliver; the rest stays queued
	fmt.Fprintf(out, "published %d messages; any the modem did not confirm stay in %s for the next run\n", cfg.count, cfg.queue)
	return nil
}

// twoProcesses plays a process that stops with messages queued and the
// next one that delivers them, on one emulated modem.
func twoProcesses(ctx context.Context, cfg config, out io.Writer) error {
	env, err := emulated.Start(emulated.Options{Redirect: true})
	if err != nil {
		return err
	}
	defer env.Close()
	world, err := emulated.Observe(env.Broker.URL(), cfg.topic)
	if err != nil {
		return err
	}
	defer world.Close()
	fmt.Fprintf(out, "queue directory %s\n", cfg.queue)

	// The first process: connected, then the network goes away.
	lost := make(chan error, 1)
	first := cellmqtt.NewClient(options(cfg).AddBroker(env.Broker.URL()).SetTransport(env.Conn()).
		SetConnectionLostHandler(func(_ cellmqtt.Client, err error) {
			select {
			case lost <- err:
			default:
			}
		}))
	if err := wait(ctx, first.Connect()); err != nil {
		return fmt.Errorf("first process: connect: %w", err)
	}
	env.Sim.NoNetwork()
	select {
	case err := <-lost:
		fmt.Fprintf(out, "first process: connection lost: %v\n", err)
	case <-ctx.Done():
		return ctx.Err()
	}
	for i := 1; i <= cfg.count; i++ {
		first.Publish(cfg.topic, 1, false, fmt.Sprintf("reading %d", i))
	}
	fmt.Fprintf(out, "first process: published %d messages while offline, then stops\n", cfg.count)
	first.Disconnect(0)

	// The second process: same queue directory, network back.
	env.Sim.RestoreNetwork()
	second := cellmqtt.NewClient(options(cfg).AddBroker(env.Broker.URL()).SetTransport(env.Conn()))
	if err := wait(ctx, second.Connect()); err != nil {
		return fmt.Errorf("second process: connect: %w", err)
	}
	defer second.Disconnect(1000)
	fmt.Fprintln(out, "second process: connected; sending what the first one left")
	for i := 0; i < cfg.count; i++ {
		select {
		case m := <-world.C:
			fmt.Fprintf(out, "broker received %s: %s\n", m.Topic, m.Payload)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(30 * time.Second):
			return errors.New("the queued messages did not arrive")
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
