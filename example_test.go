package cellmqtt_test

import (
	"fmt"
	"os"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// Connect, subscribe and publish through an emulated A7600 modem whose MQTT
// connections go to an in-process broker. With a real modem, replace
// SetTransport with SetSerialPort("/dev/ttyUSB2", 115200) and give the
// broker's real address.
func ExampleNewClient() {
	broker, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		panic(err)
	}
	defer broker.Close()
	modem, err := modemsim.New(modemsim.Config{Model: atmodem.A7600, Broker: broker.URL()})
	if err != nil {
		panic(err)
	}
	defer modem.Close()

	opts := cellmqtt.NewClientOptions().
		AddBroker("tcp://broker.example.com:1883").
		SetClientID("sensor-17").
		SetTransport(modem.Conn())
	c := cellmqtt.NewClient(opts)
	if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
		panic(tok.Error())
	}
	defer c.Disconnect(250)

	received := make(chan string, 1)
	c.Subscribe("greetings/#", 1, func(_ cellmqtt.Client, m cellmqtt.Message) {
		received <- fmt.Sprintf("%s: %s", m.Topic(), m.Payload())
	}).Wait()

	tok := c.Publish("greetings/sensor-17", 1, false, "hello over cellular")
	tok.Wait()
	fmt.Println("publish error:", tok.Error())
	fmt.Println(<-received)
	// Output:
	// publish error: <nil>
	// greetings/sensor-17: hello over cellular
}

// TLS with certificates uploaded to the modem (AT+CCERTDOWN) on connect: the
// CA certificate and the client's certificate and key as PEM bytes, and
// mutual authentication. Files already stored on the modem are named with
// CertOnModem instead.
func ExampleClientOptions_SetTLS() {
	ca, _ := os.ReadFile("ca.pem")
	cert, _ := os.ReadFile("client.pem")
	key, _ := os.ReadFile("client-key.pem")
	opts := cellmqtt.NewClientOptions().
		AddBroker("mqtts://broker.example.com:8883").
		SetClientID("sensor-17").
		SetSerialPort("/dev/ttyUSB2", 115200).
		SetTLS(cellmqtt.TLSConfig{
			Context:          1,
			AuthMode:         atmodem.AuthServerClient,
			SSLVersion:       3, // TLS 1.2
			NegotiateTimeout: 60 * time.Second,
			CACert:           cellmqtt.CertPEM("ca.pem", ca),
			ClientCert:       cellmqtt.CertPEM("client.pem", cert),
			ClientKey:        cellmqtt.CertPEM("client-key.pem", key),
		})
	c := cellmqtt.NewClient(opts)
	if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
		fmt.Println("connect:", tok.Error())
		return
	}
	defer c.Disconnect(250)
	c.Publish("telemetry", 1, false, `{"t":21.5}`).Wait()
}

// A durable queue keeps messages on disk until the modem confirmed them:
// here a first client queues a message while the network is down and is
// closed; a second client on the same directory sends it.
func ExampleClientOptions_SetQueueDir() {
	broker, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		panic(err)
	}
	defer broker.Close()
	modem, err := modemsim.New(modemsim.Config{Broker: broker.URL()})
	if err != nil {
		panic(err)
	}
	defer modem.Close()
	dir, err := os.MkdirTemp("", "cellmqtt-queue")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	// A subscriber on the broker, to see what arrives.
	got := make(chan string, 1)
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL()).SetClientID("watcher"))
	sub.Connect().Wait()
	defer sub.Disconnect(100)
	sub.Subscribe("meter/#", 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }).Wait()

	opts := func() *cellmqtt.ClientOptions {
		return cellmqtt.NewClientOptions().AddBroker("tcp://broker.example.com:1883").
			SetClientID("meter-3").SetTransport(modem.Conn()).
			SetConnectRetry(true).SetConnectRetryInterval(50 * time.Millisecond).
			SetQueueDir(dir)
	}

	modem.NoNetwork()
	first := cellmqtt.NewClient(opts())
	first.Connect() // keeps retrying: no network
	tok := first.Publish("meter/3", 1, false, "reading 1042")
	first.Disconnect(0)
	fmt.Println("first client:", tok.Error() != nil, "(the message stays on disk)")

	modem.RestoreNetwork()
	second := cellmqtt.NewClient(opts())
	second.Connect().Wait()
	defer second.Disconnect(250)
	fmt.Println("received:", <-got)
	// Output:
	// first client: true (the message stays on disk)
	// received: reading 1042
}
