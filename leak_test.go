package cellmqtt

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/cellmqtt/cellmqtt/modemsim"
)

// TestIntegrationNoGoroutinesLeft: after Disconnect (and the emulator and
// broker closed) nothing the client started is still running, whatever it
// went through: subscriptions, unordered handlers, a reconnect, liveness
// checks.
func TestIntegrationNoGoroutinesLeft(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	func() {
		b, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		sim, err := modemsim.New(modemsim.Config{Broker: b.URL()})
		if err != nil {
			t.Fatal(err)
		}
		defer sim.Close()
		in := make(inbox, 10)
		lost := newLostLog()
		c := NewClient(NewClientOptions().AddBroker("tcp://broker.invalid:1883").SetClientID("leak").
			SetTransport(sim.Conn()).SetOrderMatters(false).SetLivenessInterval(10 * time.Millisecond).
			SetConnectRetryInterval(10 * time.Millisecond).SetConnectionLostHandler(lost.handler))
		mustWait(t, "connect", c.Connect())
		mustWait(t, "subscribe", c.Subscribe("in", 1, in.handler))
		if err := sim.DropConnection(0, 1); err != nil {
			t.Fatal(err)
		}
		lost.await(t)
		mustWait(t, "publish", c.Publish("out", 1, false, "x"))
		if err := b.Publish("in", []byte("y"), false, 1); err != nil {
			t.Fatal(err)
		}
		in.expect(t, "in", "y")
		c.Disconnect(100)
	}()
	goleak.VerifyNone(t, ignore)
}
