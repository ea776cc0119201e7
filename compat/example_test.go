package compat_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/compat"
	"github.com/cellmqtt/cellmqtt/modemsim"
	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// emulatedModem starts an embedded broker and the modem emulator and opens
// the emulator's AT port; a real program calls atmodem.Open(port, baud).
func emulatedModem() (*atmodem.Modem, string, func()) {
	b, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		panic(err)
	}
	sim, err := modemsim.New(modemsim.Config{Model: atmodem.A7600, Broker: b.URL()})
	if err != nil {
		panic(err)
	}
	m := atmodem.New(sim.Conn(), atmodem.WithModel(atmodem.A7600))
	return m, b.URL(), func() { m.Close(); sim.Close(); b.Close() }
}

// A paho.mqtt.golang program over the modem: one option more.
func ExampleOpenConnectionFn() {
	modem, broker, done := emulatedModem()
	defer done()

	got := make(chan string, 1)
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID("example-paho")
	opts.SetCustomOpenConnectionFn(compat.OpenConnectionFn(modem)) // the only change
	c := mqtt.NewClient(opts)
	if t := c.Connect(); t.Wait() && t.Error() != nil {
		panic(t.Error())
	}
	c.Subscribe("example/#", 1, func(_ mqtt.Client, m mqtt.Message) {
		got <- fmt.Sprintf("%s: %s", m.Topic(), m.Payload())
	}).Wait()
	c.Publish("example/paho", 1, false, "over the modem").Wait()
	fmt.Println(<-got)
	c.Disconnect(1000)
	// Output: example/paho: over the modem
}

// An autopaho program over the modem: AttemptConnection dials through it.
func ExampleAttemptConnectionFn() {
	modem, broker, done := emulatedModem()
	defer done()
	u, _ := url.Parse(broker)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cm, err := autopaho.NewConnection(ctx, autopaho.ClientConfig{
		ServerUrls:        []*url.URL{u},
		KeepAlive:         60,
		AttemptConnection: compat.AttemptConnectionFn(modem), // the only change
		ClientConfig:      paho.ClientConfig{ClientID: "example-autopaho"},
	})
	if err != nil {
		panic(err)
	}
	if err := cm.AwaitConnection(ctx); err != nil {
		panic(err)
	}
	resp, err := cm.Publish(ctx, &paho.Publish{Topic: "example/autopaho", QoS: 1, Payload: []byte("hi")})
	if err != nil {
		panic(err)
	}
	fmt.Printf("PUBACK reason 0x%02X\n", resp.ReasonCode)
	_ = cm.Disconnect(ctx)
	<-cm.Done()
	// Output: PUBACK reason 0x00
}

// A local MQTT endpoint over the modem, for clients in any language.
func ExampleServe() {
	modem, broker, done := emulatedModem()
	defer done()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	served := make(chan error, 1)
	go func() { served <- compat.Serve(ln, modem, broker) }()

	// Any MQTT client now connects to ln.Addr() as to a broker.
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + ln.Addr().String()).SetClientID("example-local"))
	t := c.Connect()
	t.Wait()
	fmt.Println("connected:", t.Error() == nil)
	c.Disconnect(1000)

	ln.Close()
	fmt.Println("Serve returned:", <-served)
	// Output:
	// connected: true
	// Serve returned: <nil>
}
