// Command testscript is a small device program tested end to end with
// package github.com/cellmqtt/cellmqtt/testscript: it connects through a
// SIMCom modem, answers every message on devices/ID/ping with the same
// payload on devices/ID/pong, and rides out the modem's faults.
//
//	go run ./examples/testscript -port /dev/ttyUSB2 -broker tcp://broker.example.com:1883 -id dev1
//
// main_test.go runs testdata/*.txtar against the modem emulator: each
// script starts this program on the emulator's pseudo-terminal, talks to
// it through the script's broker and injects faults (a dropped broker
// connection, a modem reboot).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cellmqtt/cellmqtt"
)

// config is what the flags choose.
type config struct {
	port   string // the modem's AT port: a serial device or tcp://HOST:PORT
	broker string
	id     string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.port, "port", "/dev/ttyUSB2", "the modem's AT port, or tcp://HOST:PORT")
	flag.StringVar(&cfg.broker, "broker", "tcp://test.mosquitto.org:1883", "broker URL")
	flag.StringVar(&cfg.id, "id", "dev1", "device ID: topics devices/ID/ping and devices/ID/pong")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run answers pings until ctx ends, reporting to out.
func run(ctx context.Context, cfg config, out io.Writer) error {
	ping, pong := "devices/"+cfg.id+"/ping", "devices/"+cfg.id+"/pong"
	opts := cellmqtt.NewClientOptions().
		AddBroker(cfg.broker).
		SetSerialPort(cfg.port, 115200).
		SetClientID("device-" + cfg.id).
		SetAutoReconnect(true).
		SetConnectRetryInterval(time.Second).
		SetConnectionLostHandler(func(_ cellmqtt.Client, err error) {
			fmt.Fprintf(out, "connection lost: %v\n", err)
		})
	answer := func(c cellmqtt.Client, m cellmqtt.Message) {
		// QoS 1: the client keeps it and resends it across faults; its
		// token is not awaited, so the handler never blocks the next ping.
		c.Publish(pong, 1, false, m.Payload())
	}
	opts.SetOnConnectHandler(func(cellmqtt.Client) {
		fmt.Fprintln(out, "connected") // the client renews the subscription after a reconnect
	})
	c := cellmqtt.NewClient(opts)
	if err := wait(ctx, c.Connect()); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Disconnect(1000)
	if err := wait(ctx, c.Subscribe(ping, 1, answer)); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	fmt.Fprintf(out, "answering on %s\n", ping)
	<-ctx.Done()
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
