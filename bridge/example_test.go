package bridge_test

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/bridge"
	"github.com/cellmqtt/cellmqtt/modemsim"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// ExampleParseConfig reads the bridge section of a mosquitto.conf.
func ExampleParseConfig() {
	cfg, err := bridge.ParseConfig(strings.NewReader(`
connection cloud
address broker.example.com:8883
bridge_cafile ca.pem
topic sensors/# out 1
topic cmd/# in 1
topic # both 2 local/ gateways/gw1/
`), "bridge.conf")
	if err != nil {
		fmt.Println(err)
		return
	}
	urls, _ := cfg.BrokerURLs()
	fmt.Println(urls)
	for _, r := range cfg.Rules {
		fmt.Printf("%-5s local %-10s remote %s\n", r.Direction, r.LocalTopic(), r.RemoteTopic())
	}

	_, err = bridge.ParseConfig(strings.NewReader("connection c\naddress a\ntopic x\nbridge_insecure true\n"), "other.conf")
	fmt.Println(err)
	// Output:
	// [ssl://broker.example.com:8883]
	// out   local sensors/#  remote sensors/#
	// in    local cmd/#      remote cmd/#
	// both  local local/#    remote gateways/gw1/#
	// other.conf:4: bridge_insecure: the modem's TLS has no setting to skip the check of the server's host name: bridge: invalid configuration: not supported over the modem
}

// ExampleStart runs a bridge on an emulated modem: a local client's message
// reaches the remote broker.
func ExampleStart() {
	remote, _ := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	defer remote.Close()
	sim, _ := modemsim.New(modemsim.Config{Model: atmodem.A7600})
	defer sim.Close()
	modem := atmodem.New(sim.Conn(), atmodem.WithModel(atmodem.A7600))
	defer modem.Close()

	cfg, _ := bridge.ParseConfig(strings.NewReader("connection demo\naddress "+remote.Addr()+"\ntopic sensors/# out 1\n"), "demo.conf")
	ln, _ := net.Listen("tcp", "127.0.0.1:0") // the local broker's address
	b, err := bridge.Start(cfg, bridge.Options{Modem: modem, Listener: ln})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	got := make(chan string, 1)
	far := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(remote.URL()).SetClientID("far").SetAutoReconnect(false))
	far.Connect().Wait()
	defer far.Disconnect(0)
	far.Subscribe("sensors/#", 1, func(_ mqtt.Client, m mqtt.Message) { got <- m.Topic() + " " + string(m.Payload()) }).Wait()

	local := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID("local").SetAutoReconnect(false))
	local.Connect().Wait()
	defer local.Disconnect(0)
	local.Publish("sensors/temp", 1, false, "21.5").Wait() // acknowledged once queued

	select {
	case m := <-got:
		fmt.Println(m)
	case <-time.After(20 * time.Second):
		fmt.Println("timed out")
	}
	// Output: sensors/temp 21.5
}

// ExampleListenerConfig_Check: mosquitto's listener keywords in the file
// set the local broker's listener; one that other machines reach needs a
// password file or TLS, or allow_anonymous true, since every local client
// acts with the device's identity.
func ExampleListenerConfig_Check() {
	for _, listener := range []string{
		"listener 1883 127.0.0.1",
		"listener 1883",
		"listener 1883\npassword_file /etc/cellmqtt/passwd",
		"listener 8883\ncertfile gw.pem\nkeyfile gw.key",
		"listener 1883\nallow_anonymous true",
	} {
		cfg, err := bridge.ParseConfig(strings.NewReader(listener+"\nconnection c\naddress a\ntopic x\n"), "bridge.conf")
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%-40q accepted: %v\n", listener, cfg.Listener.Check() == nil)
	}
	// Output:
	// "listener 1883 127.0.0.1"                accepted: true
	// "listener 1883"                          accepted: false
	// "listener 1883\npassword_file /etc/cellmqtt/passwd" accepted: true
	// "listener 8883\ncertfile gw.pem\nkeyfile gw.key" accepted: true
	// "listener 1883\nallow_anonymous true"    accepted: true
}
