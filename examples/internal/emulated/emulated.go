// Package emulated gives the examples a modem and a broker without
// hardware: an embedded MQTT broker on a free loopback port and the modem
// emulator on an in-memory serial link, plus a plain MQTT observer on the
// broker that shows what arrives there.
package emulated

import (
	"crypto/tls"
	"fmt"
	"io"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// Env is an emulated modem with its broker.
type Env struct {
	Sim    *modemsim.Sim
	Broker *modemsim.EmbeddedBroker
}

// Options configure Start.
type Options struct {
	// Model is the emulated family; AutoDetect means A7600.
	Model atmodem.Model
	// TLS, when set, makes the broker speak TLS with this configuration.
	TLS *tls.Config
	// Redirect sends every AT+CMQTTCONNECT to this broker whatever address
	// it names; false dials the address the client gives.
	Redirect bool
}

// Start starts the broker and the emulated modem.
func Start(o Options) (*Env, error) {
	b, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{TLS: o.TLS})
	if err != nil {
		return nil, err
	}
	cfg := modemsim.Config{Model: o.Model}
	if o.Redirect {
		cfg.Broker = b.URL()
	}
	sim, err := modemsim.New(cfg)
	if err != nil {
		b.Close()
		return nil, err
	}
	return &Env{Sim: sim, Broker: b}, nil
}

// Conn is the host end of the emulated serial link (the AT port).
func (e *Env) Conn() io.ReadWriteCloser { return e.Sim.Conn() }

// Close stops the modem and the broker.
func (e *Env) Close() {
	e.Sim.Close()
	e.Broker.Close()
}

// Message is what an Observer received.
type Message struct {
	Topic   string
	Payload []byte
}

// Observer is a plain MQTT client (paho.mqtt.golang over TCP) subscribed on
// a broker, standing for the other side of the application.
type Observer struct {
	C      <-chan Message
	client mqtt.Client
}

// Observe connects to the broker at url (tcp://host:port) and, unless
// filter is empty, subscribes to filter at QoS 1.
func Observe(url, filter string) (*Observer, error) {
	ch := make(chan Message, 64)
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("observer-%d", time.Now().UnixNano()%1e6))
	c := mqtt.NewClient(opts)
	if t := c.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return nil, fmt.Errorf("observer: connect %s: %v", url, t.Error())
	}
	if filter == "" {
		return &Observer{C: ch, client: c}, nil
	}
	t := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		ch <- Message{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...)}
	})
	if !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		c.Disconnect(0)
		return nil, fmt.Errorf("observer: subscribe %s: %v", filter, t.Error())
	}
	return &Observer{C: ch, client: c}, nil
}

// Publish sends a message from the observer's side.
func (o *Observer) Publish(topic string, qos byte, payload string) error {
	t := o.client.Publish(topic, qos, false, payload)
	if !t.WaitTimeout(10 * time.Second) {
		return fmt.Errorf("observer: publish %s: timed out", topic)
	}
	return t.Error()
}

// Close disconnects the observer.
func (o *Observer) Close() { o.client.Disconnect(100) }
