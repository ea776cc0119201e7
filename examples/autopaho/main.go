// Command autopaho is an ordinary paho.golang/autopaho program moved onto
// the MQTT client of a SIMCom modem. autopaho keeps managing the
// connection (reconnects, the publish queue, OnConnectionUp); the lines
// marked "cellmqtt:" are the whole change: open the modem, and let
// autopaho attempt its connections through compat.
//
// The program subscribes in OnConnectionUp (so the subscription is renewed
// after every reconnect), publishes a few messages with QoS 1 through
// autopaho's queue, prints them as they come back, and disconnects.
// Without -port it runs against the modem emulator and an embedded broker:
//
//	go run ./examples/autopaho
//
// With a modem on a serial port:
//
//	go run ./examples/autopaho -port /dev/ttyUSB2 -broker mqtt://test.mosquitto.org:1883
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"os/signal"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/autopaho/queue/memory"
	"github.com/eclipse/paho.golang/paho"

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
	flag.StringVar(&cfg.broker, "broker", "mqtt://test.mosquitto.org:1883", "broker URL (with -port)")
	flag.StringVar(&cfg.topic, "topic", "cellmqtt/examples/autopaho", "topic prefix")
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

// run is the autopaho program.
func run(ctx context.Context, cfg config, out io.Writer) error {
	modem, broker, closeModem, err := openModem(cfg) // cellmqtt:
	if err != nil {
		return err
	}
	defer closeModem()
	u, err := url.Parse(broker)
	if err != nil {
		return err
	}

	filter := cfg.topic + "/#"
	received := make(chan *paho.Publish, cfg.count)
	subscribed := make(chan error, 1)
	cm, err := autopaho.NewConnection(ctx, autopaho.ClientConfig{
		ServerUrls:        []*url.URL{u},
		KeepAlive:         60,
		ConnectTimeout:    2 * time.Minute,
		Queue:             memory.New(),
		AttemptConnection: compat.AttemptConnectionFn(modem), // cellmqtt: autopaho dials through the modem
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			fmt.Fprintf(out, "connected to %s through the modem\n", broker)
			go func() {
				_, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}})
				select {
				case subscribed <- err:
				default:
				}
			}()
		},
		OnConnectError: func(err error) { fmt.Fprintf(out, "connection attempt failed: %v\n", err) },
		ClientConfig: paho.ClientConfig{
			ClientID: fmt.Sprintf("autopaho-example-%d", os.Getpid()),
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
				received <- pr.Packet
				return true, nil
			}},
		},
	})
	if err != nil {
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = cm.Disconnect(dctx)
	}()
	select {
	case err := <-subscribed:
		if err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	fmt.Fprintf(out, "subscribed to %s\n", filter)

	for i := 1; i <= cfg.count; i++ {
		// Queued: sent when the connection is up, also after a reconnect.
		if err := cm.PublishViaQueue(ctx, &autopaho.QueuePublish{Publish: &paho.Publish{
			Topic: fmt.Sprintf("%s/%d", cfg.topic, i), QoS: 1, Payload: fmt.Appendf(nil, "message %d", i),
		}}); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	for i := 0; i < cfg.count; i++ {
		select {
		case p := <-received:
			fmt.Fprintf(out, "%s: %s\n", p.Topic, p.Payload)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
