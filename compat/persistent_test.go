package compat

import (
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestPersistentSessionQueuedQoS: a client with a persistent session
// gets the messages the broker queued while it was away with the QoS of
// its subscription, although they arrive before it has subscribed again
// (and the modem reports no QoS).
func TestPersistentSessionQueuedQoS(t *testing.T) {
	for _, kind := range brokerKinds() {
		t.Run(kind, func(t *testing.T) {
			skipUnlessInterop(t, kind)
			r := newRigOn(t, kind, "", "", simcom.SIM7600)
			addr := gateway(t, r)
			got := newReceived()
			client := func() mqtt.Client {
				o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("persist").SetProtocolVersion(4).
					SetCleanSession(false).SetAutoReconnect(false).SetConnectTimeout(waitTimeout).
					SetDefaultPublishHandler(got.handler)
				return mqtt.NewClient(o)
			}
			c := client()
			waitToken(t, c.Connect(), "first connect")
			waitToken(t, c.Subscribe("persist/#", 1, nil), "subscribe")
			c.Disconnect(1000)
			waitIndexesFree(t, r, 2)

			if err := r.broker.Publish("persist/queued", []byte("while away"), false, 1); err != nil {
				t.Fatal(err)
			}
			c = client() // no SUBSCRIBE: the session has it
			waitToken(t, c.Connect(), "reconnect")
			defer c.Disconnect(250)
			got.wait(t, "persist/queued", 1)
			got.mu.Lock()
			defer got.mu.Unlock()
			if q := got.qos["persist/queued"]; q != 1 {
				t.Errorf("queued message delivered with QoS %d, want 1 (the subscription's)", q)
			}
		})
	}
}
