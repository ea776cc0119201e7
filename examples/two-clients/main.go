// Command two-clients runs the modem's two MQTT client indexes at the same
// time on one AT port: client 0 on broker A, client 1 on broker B, and
// bridges messages from A to B (what arrives on bridge/in at A is
// republished on bridge/out at B).
//
// Without -port it runs against the modem emulator and two embedded
// brokers:
//
//	go run ./examples/two-clients
//
// With a modem:
//
//	go run ./examples/two-clients -port /dev/ttyUSB2 -broker-a tcp://a.example.com:1883 -broker-b tcp://b.example.com:1883 -n 0
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/examples/internal/emulated"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// config is what the flags choose.
type config struct {
	port             string
	baud             int
	brokerA, brokerB string
	count            int // messages to bridge before stopping; 0: until Ctrl-C
}

func main() {
	var cfg config
	flag.StringVar(&cfg.port, "port", "", "the modem's AT port (empty: the emulator and two embedded brokers)")
	flag.IntVar(&cfg.baud, "baud", 115200, "serial baud rate")
	flag.StringVar(&cfg.brokerA, "broker-a", "", "broker of client index 0 (with -port)")
	flag.StringVar(&cfg.brokerB, "broker-b", "", "broker of client index 1 (with -port)")
	flag.IntVar(&cfg.count, "n", 3, "stop after bridging n messages (0: until Ctrl-C)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run connects both client indexes and bridges messages from A to B.
func run(ctx context.Context, cfg config, out io.Writer) error {
	var (
		modem        *atmodem.Modem
		atA, atB     *emulated.Observer // the other side of each broker, emulated only
		bridgedCount = make(chan struct{}, 16)
	)
	if cfg.port != "" {
		m, err := atmodem.Open(cfg.port, cfg.baud)
		if err != nil {
			return err
		}
		modem = m
	} else {
		env, err := emulated.Start(emulated.Options{}) // broker A
		if err != nil {
			return err
		}
		defer env.Close()
		b, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{}) // broker B
		if err != nil {
			return err
		}
		defer b.Close()
		cfg.brokerA, cfg.brokerB = env.Broker.URL(), b.URL()
		if atA, err = emulated.Observe(cfg.brokerA, ""); err != nil {
			return err
		}
		defer atA.Close()
		if atB, err = emulated.Observe(cfg.brokerB, "bridge/out"); err != nil {
			return err
		}
		defer atB.Close()
		modem = atmodem.New(env.Conn())
		fmt.Fprintf(out, "no -port: one emulated modem, broker A at %s, broker B at %s\n", cfg.brokerA, cfg.brokerB)
	}
	defer modem.Close()

	// Both clients share the modem; each has its own client index.
	b := cellmqtt.NewClient(cellmqtt.NewClientOptions().
		AddBroker(cfg.brokerB).SetModem(modem).SetClientIndex(1).SetClientID("bridge-b"))
	if err := wait(ctx, b.Connect()); err != nil {
		return fmt.Errorf("client 1 to %s: %w", cfg.brokerB, err)
	}
	defer b.Disconnect(1000)
	fmt.Fprintf(out, "client index 1 connected to broker B\n")

	a := cellmqtt.NewClient(cellmqtt.NewClientOptions().
		AddBroker(cfg.brokerA).SetModem(modem).SetClientIndex(0).SetClientID("bridge-a"))
	if err := wait(ctx, a.Connect()); err != nil {
		return fmt.Errorf("client 0 to %s: %w", cfg.brokerA, err)
	}
	defer a.Disconnect(1000)
	fmt.Fprintf(out, "client index 0 connected to broker A\n")

	bridge := func(_ cellmqtt.Client, m cellmqtt.Message) {
		t := b.Publish("bridge/out", 1, false, m.Payload())
		<-t.Done()
		if t.Error() != nil {
			fmt.Fprintf(out, "bridge: %v\n", t.Error())
			return
		}
		bridgedCount <- struct{}{}
	}
	if err := wait(ctx, a.Subscribe("bridge/in", 1, bridge)); err != nil {
		return fmt.Errorf("subscribe on A: %w", err)
	}

	if atA != nil {
		for i := 1; i <= cfg.count; i++ {
			if err := atA.Publish("bridge/in", 1, fmt.Sprintf("reading %d", i)); err != nil {
				return err
			}
		}
	}
	for n := 0; cfg.count == 0 || n < cfg.count; n++ {
		select {
		case <-bridgedCount:
		case <-ctx.Done():
			return nil
		}
		if atB != nil {
			select {
			case m := <-atB.C:
				fmt.Fprintf(out, "A bridge/in -> modem client 0 -> modem client 1 -> B %s: %s\n", m.Topic, m.Payload)
			case <-ctx.Done():
				return ctx.Err()
			}
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
