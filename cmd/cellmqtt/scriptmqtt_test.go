package main

import (
	"fmt"
	"os"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rogpeppe/go-internal/testscript"
)

// cmdMQTTPub publishes a retained QoS 1 message with a plain MQTT client
// (paho.mqtt.golang over TCP, no modem) to a broker or gateway on a
// loopback port: "mqttpub PORT TOPIC MESSAGE".
func cmdMQTTPub(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: mqttpub PORT TOPIC MESSAGE")
	}
	opts := mqtt.NewClientOptions().
		AddBroker("tcp://127.0.0.1:" + args[0]).
		SetClientID(fmt.Sprintf("script-%d", os.Getpid())).
		SetConnectTimeout(20 * time.Second).
		SetAutoReconnect(false)
	c := mqtt.NewClient(opts)
	err := func() error {
		t := c.Connect()
		if !t.WaitTimeout(30 * time.Second) {
			return fmt.Errorf("connect timed out")
		}
		if t.Error() != nil {
			return t.Error()
		}
		defer c.Disconnect(250)
		t = c.Publish(args[1], 1, true, args[2])
		if !t.WaitTimeout(30 * time.Second) {
			return fmt.Errorf("publish timed out")
		}
		return t.Error()
	}()
	switch {
	case err != nil && !neg:
		ts.Fatalf("mqttpub: %v", err)
	case err == nil && neg:
		ts.Fatalf("mqttpub succeeded unexpectedly")
	}
}
