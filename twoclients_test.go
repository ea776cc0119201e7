package cellmqtt

import (
	"errors"
	"testing"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// TestIntegrationTwoClients: two clients share one modem (index 0 and 1),
// each connected to its own broker, at the same time; one disconnecting
// leaves the other working (the MQTT service keeps running for it).
func TestIntegrationTwoClients(t *testing.T) {
	var brokers [2]*modemsim.EmbeddedBroker
	for i := range brokers {
		b, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		brokers[i] = b
	}
	sim, err := modemsim.New(modemsim.Config{Model: atmodem.SIM7600}) // no redirect: each CONNECT dials its own broker
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	m := atmodem.New(sim.Conn())
	defer m.Close()

	var clients [2]Client
	var peers [2]*peer
	var inboxes [2]inbox
	for i := range clients {
		peers[i] = peerOn(t, brokers[i], "two/#")
		inboxes[i] = make(inbox, 10)
		o := NewClientOptions().AddBroker(brokers[i].URL()).SetClientID([]string{"first", "second"}[i]).
			SetModem(m).SetClientIndex(i).SetLogger(testLogger(t))
		clients[i] = NewClient(o)
		mustWait(t, "connect", clients[i].Connect())
		mustWait(t, "subscribe", clients[i].Subscribe("in", 1, inboxes[i].handler))
	}
	// A third client finds no free index.
	third := NewClient(NewClientOptions().AddBroker(brokers[0].URL()).SetClientID("third").SetModem(m))
	if err := wait(t, third.Connect()); !errors.Is(err, atmodem.ErrIndexInUse) && !errors.Is(err, atmodem.ErrNoFreeIndex) {
		t.Fatalf("third client: %v, want no free index", err)
	}

	for i, c := range clients {
		mustWait(t, "publish", c.Publish("two/x", byte(1+i), false, []string{"from first", "from second"}[i]))
	}
	peers[0].waitAll(t, []string{"from first"})
	peers[1].waitAll(t, []string{"from second"})
	for i, b := range brokers {
		if err := b.Publish("in", []byte("to "+[]string{"first", "second"}[i]), false, 1); err != nil {
			t.Fatal(err)
		}
	}
	inboxes[0].expect(t, "in", "to first")
	inboxes[1].expect(t, "in", "to second")

	clients[0].Disconnect(100)
	mustWait(t, "publish after the other disconnected", clients[1].Publish("two/y", 1, false, "still here"))
	peers[1].waitAll(t, []string{"still here"})
	if err := brokers[1].Publish("in", []byte("again"), false, 1); err != nil {
		t.Fatal(err)
	}
	inboxes[1].expect(t, "in", "again")
	clients[1].Disconnect(100)
	select {
	case <-m.Done():
		t.Fatal("the client closed a modem it did not open")
	default:
	}
}
