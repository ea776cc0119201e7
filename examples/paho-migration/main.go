// Command paho-migration is an ordinary paho.mqtt.golang program moved onto
// the MQTT client of a SIMCom modem. It keeps its client, options, tokens,
// handlers and reconnect logic; the lines marked "cellmqtt:" are the whole
// change: open the modem, and let paho dial through compat.
//
// The program subscribes to a topic filter, publishes a few messages with
// QoS 1, prints them as they come back, and disconnects. Without -port it
// runs against the modem emulator and an embedded broker:
//
//	go run ./examples/paho-migration
//
// With a modem on a serial port:
//
//	go run ./examples/paho-migration -port /dev/ttyUSB2 -broker tcp://test.mosquitto.org:1883
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

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/cellmqtt/cellmqtt/atmodem" // cellmqtt:
	"github.com/cellmqtt/cellmqtt/compat"  // cellmqtt:
	"github.com/cellmqtt/cellmqtt/examples/internal/emulated"
)

// config is what the flags choose.
type config struct {
	port   string
	baud   int
	broker string
	topic  string
	count  int
}

func main() {
	var cfg config
	flag.StringVar(&cfg.port, "port", "", "the modem's AT port, e.g. /dev/ttyUSB2, or tcp://HOST:PORT (cellmqtt sim --listen) (empty: the emulator)")
	flag.IntVar(&cfg.baud, "baud", 115200, "serial baud rate")
	flag.StringVar(&cfg.broker, "broker", "tcp://test.mosquitto.org:1883", "broker URL (with -port)")
	flag.StringVar(&cfg.topic, "topic", "cellmqtt/examples/paho", "topic prefix")
	flag.IntVar(&cfg.count, "n", 3, "messages to send and receive")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// openModem opens the modem (or the emulator and its broker) and returns
// the broker URL to use.
func openModem(cfg config) (*atmodem.Modem, string, func(), error) {
	if cfg.port != "" {
		m, err := atmodem.Open(cfg.port, cfg.baud) // cellmqtt: the modem's AT port
		if err != nil {
			return nil, "", nil, err
		}
		return m, cfg.broker, func() { m.Close() }, nil
	}
	env, err := emulated.Start(emulated.Options{Redirect: true})
	if err != nil {
		return nil, "", nil, err
	}
	m := atmodem.New(env.Conn())
	return m, env.Broker.URL(), func() { m.Close(); env.Close() }, nil
}

// run is the paho program.
func run(ctx context.Context, cfg config, out io.Writer) error {
	modem, broker, closeModem, err := openModem(cfg) // cellmqtt:
	if err != nil {
		return err
	}
	defer closeModem()

	received := make(chan mqtt.Message, cfg.count)
	opts := mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID(fmt.Sprintf("paho-migration-%d", os.Getpid())).
		SetKeepAlive(60 * time.Second).
		SetAutoReconnect(true).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			fmt.Fprintf(out, "connection lost (%v); paho reconnects\n", err)
		})
	opts.SetCustomOpenConnectionFn(compat.OpenConnectionFn(modem)) // cellmqtt: paho dials through the modem

	client := mqtt.NewClient(opts)
	if err := wait(ctx, client.Connect()); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer client.Disconnect(1000)
	fmt.Fprintf(out, "connected to %s through the modem\n", broker)

	filter := cfg.topic + "/#"
	if err := wait(ctx, client.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) { received <- m })); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	fmt.Fprintf(out, "subscribed to %s\n", filter)
	for i := 1; i <= cfg.count; i++ {
		topic := fmt.Sprintf("%s/%d", cfg.topic, i)
		if err := wait(ctx, client.Publish(topic, 1, false, fmt.Sprintf("message %d", i))); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	for i := 0; i < cfg.count; i++ {
		select {
		case m := <-received:
			fmt.Fprintf(out, "%s: %s\n", m.Topic(), m.Payload())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// wait waits for a paho token or the end of ctx.
func wait(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}
