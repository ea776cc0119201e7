package compat

import (
	"fmt"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestPingAnsweredUnderLoad: paho.mqtt.golang hands over many QoS 1
// messages at once over a slow modem; its PINGREQ is answered at once,
// not after the queued publishes, so its keepalive does not declare the
// connection lost and every message is delivered.
func TestPingAnsweredUnderLoad(t *testing.T) {
	t.Parallel() // the modem takes some seconds for the messages
	r := newRigConfig(t, modemsim.Config{Model: simcom.SIM7600, Latency: 5 * time.Millisecond})
	b := r.broker
	m := r.modem
	const n = 300
	watch := peer(t, b, "", "", "load/#")
	lost := newSignal()
	o := mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("load").SetAutoReconnect(false).
		SetKeepAlive(time.Second).SetPingTimeout(time.Second).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			t.Logf("connection lost: %v", err)
			lost.fire()
		})
	o.SetCustomOpenConnectionFn(OpenConnectionFn(m, WithLogger(testLogger())))
	c := mqtt.NewClient(o)
	waitToken(t, c.Connect(), "connect")
	defer c.Disconnect(250)
	toks := make([]mqtt.Token, n)
	for i := range toks {
		toks[i] = c.Publish("load/x", 1, false, fmt.Sprintf("%03d %0100d", i, i))
	}
	for i, tok := range toks {
		if !tok.WaitTimeout(2*time.Minute) || tok.Error() != nil {
			t.Fatalf("publish %d: %v", i, tok.Error())
		}
	}
	watch.wait(t, "load/x", n)
	lost.mu.Lock()
	defer lost.mu.Unlock()
	if lost.n != 0 {
		t.Errorf("the connection was declared lost %d times", lost.n)
	}
}
