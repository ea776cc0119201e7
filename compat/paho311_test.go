package compat

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// pahoOptions are paho.mqtt.golang options for a client over the modem;
// the line marked cellmqtt is the only change an application makes.
func pahoOptions(r *rig, id string, opts ...Option) *mqtt.ClientOptions {
	o := mqtt.NewClientOptions().AddBroker(r.broker.URL()).SetClientID(id).
		SetConnectTimeout(waitTimeout).SetWriteTimeout(waitTimeout).
		SetConnectRetryInterval(50 * time.Millisecond).SetMaxReconnectInterval(200 * time.Millisecond)
	o.SetCustomOpenConnectionFn(OpenConnectionFn(r.modem, append([]Option{WithLogger(testLogger())}, opts...)...)) // cellmqtt
	return o
}

func TestPaho311(t *testing.T) {
	for _, kind := range brokerKinds() {
		t.Run(kind, func(t *testing.T) {
			skipUnlessInterop(t, kind)
			testPaho311(t, kind)
		})
	}
}

func testPaho311(t *testing.T, kind string) {
	r := newRigOn(t, kind, "user", "secret", simcom.A7600)
	watch := peer(t, r.broker, "user", "secret", "#")

	lost, connected := newSignal(), newSignal()
	got := newReceived()
	o := pahoOptions(r, "paho311").SetUsername("user").SetPassword("secret").
		SetWill("will/paho311", "gone", 1, false).
		SetConnectionLostHandler(func(mqtt.Client, error) { lost.fire() }).
		SetOnConnectHandler(func(c mqtt.Client) { connected.fire() }).
		SetAutoReconnect(true)
	c := mqtt.NewClient(o)
	waitToken(t, c.Connect(), "connect")
	connected.wait(t, 1, "on connect")

	t.Run("publish QoS 0, 1, 2", func(t *testing.T) {
		for qos := byte(0); qos <= 2; qos++ {
			topic := "out/qos" + string('0'+qos)
			waitToken(t, c.Publish(topic, qos, false, []byte{qos, 0x0D, 0x0A}), "publish "+topic)
			if m := watch.wait(t, topic, 1); !bytes.Equal(m[0], []byte{qos, 0x0D, 0x0A}) {
				t.Errorf("%s: broker got % x", topic, m[0])
			}
		}
	})

	t.Run("subscribe with wildcards and a 10240-byte binary payload", func(t *testing.T) {
		waitToken(t, c.SubscribeMultiple(map[string]byte{"in/+/x": 1, "deep/#": 2}, got.handler), "subscribe")
		payload := make([]byte, 10240)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range payload {
			payload[i] = byte(rng.UintN(256))
		}
		if err := r.broker.Publish("in/a/x", []byte("one"), false, 1); err != nil {
			t.Fatal(err)
		}
		if err := r.broker.Publish("deep/a/b/c", payload, false, 1); err != nil {
			t.Fatal(err)
		}
		if m := got.wait(t, "in/a/x", 1); string(m[0]) != "one" {
			t.Errorf("in/a/x: %q", m[0])
		}
		if m := got.wait(t, "deep/a/b/c", 1); !bytes.Equal(m[0], payload) {
			t.Errorf("10240-byte payload changed on the way (%d bytes arrived)", len(m[0]))
		}
		got.mu.Lock()
		q1, q2 := got.qos["in/a/x"], got.qos["deep/a/b/c"]
		got.mu.Unlock()
		if q1 != 1 || q2 != 2 {
			t.Errorf("delivered with QoS %d and %d, want the subscriptions' 1 and 2", q1, q2)
		}
	})

	t.Run("unsubscribe", func(t *testing.T) {
		waitToken(t, c.Unsubscribe("in/+/x"), "unsubscribe")
		// A message on the dropped filter, then one on the kept filter: when
		// the second arrived, the first would have arrived before it.
		_ = r.broker.Publish("in/b/x", []byte("late"), false, 0)
		_ = r.broker.Publish("deep/marker", []byte("m"), false, 0)
		got.wait(t, "deep/marker", 1)
		if n := got.count("in/b/x"); n != 0 {
			t.Errorf("%d messages arrived after unsubscribing", n)
		}
	})

	t.Run("reconnect after a connection loss", func(t *testing.T) {
		if err := r.sim.DropConnection(0, modemsim.CauseSocketReset); err != nil {
			t.Fatal(err)
		}
		lost.wait(t, 1, "connection-lost handler")
		connected.wait(t, 2, "reconnect")
		if m := watch.wait(t, "will/paho311", 1); string(m[0]) != "gone" {
			t.Errorf("will: %q", m[0])
		}
		// QoS 0: paho.mqtt.golang races with itself when a QoS 1/2 publish
		// is issued from the moment OnConnect fires until its resume
		// finished (eclipse-paho/paho.mqtt.golang#703).
		waitToken(t, c.Publish("out/after-loss", 0, false, "x"), "publish after reconnect")
		watch.wait(t, "out/after-loss", 1)
	})

	t.Run("reconnect after a reboot", func(t *testing.T) {
		r.sim.Reboot()
		lost.wait(t, 2, "connection-lost handler")
		connected.wait(t, 3, "reconnect")
		waitToken(t, c.Publish("out/after-reboot", 0, false, "y"), "publish after reboot")
		watch.wait(t, "out/after-reboot", 1)
	})

	// The loss and the reboot dropped the broker connection without
	// DISCONNECT (the will went each time); a clean disconnect sends none.
	wills := watch.count("will/paho311")
	c.Disconnect(1000)
	_ = r.broker.Publish("will/marker", []byte("m"), false, 0)
	watch.wait(t, "will/marker", 1)
	if n := watch.count("will/paho311"); n != wills {
		t.Errorf("will published on a clean disconnect (%d times before, %d after)", wills, n)
	}
}

// directReturnCode is the CONNACK return code the broker gives a client
// that connects straight to it (no modem) with these credentials.
func directReturnCode(t *testing.T, r *rig, user, pass string) byte {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(r.broker.URL()).SetClientID("direct").
		SetProtocolVersion(4).SetUsername(user).SetPassword(pass).SetAutoReconnect(false))
	tok := c.Connect()
	if !tok.WaitTimeout(waitTimeout) {
		t.Fatal("direct connect: no CONNACK")
	}
	return tok.(*mqtt.ConnectToken).ReturnCode()
}

func TestPaho311BadCredentials(t *testing.T) {
	for _, kind := range brokerKinds() {
		t.Run(kind, func(t *testing.T) {
			skipUnlessInterop(t, kind)
			testPaho311BadCredentials(t, kind)
		})
	}
}

func testPaho311BadCredentials(t *testing.T, kind string) {
	r := newRigOn(t, kind, "user", "secret", simcom.SIM7600)
	// The broker's verdict travels: mochi refuses bad credentials with 5
	// (not authorized) to a 3.1.1 client, the modem reports 31, and paho
	// gets 5 back; whatever the broker says, the adapter says the same.
	want := directReturnCode(t, r, "user", "wrong")
	if want == 0 {
		t.Fatal("the broker accepted bad credentials")
	}
	c := mqtt.NewClient(pahoOptions(r, "bad").SetProtocolVersion(4).
		SetUsername("user").SetPassword("wrong").SetAutoReconnect(false))
	tok := c.Connect()
	if !tok.WaitTimeout(waitTimeout) {
		t.Fatal("no CONNACK")
	}
	ct := tok.(*mqtt.ConnectToken)
	if ct.ReturnCode() != want || tok.Error() == nil {
		t.Fatalf("return code %d, error %v; want %d as from the broker directly", ct.ReturnCode(), tok.Error(), want)
	}
	// The refused connection gave its index back: the next one connects.
	c = mqtt.NewClient(pahoOptions(r, "good").SetUsername("user").SetPassword("secret").SetAutoReconnect(false))
	waitToken(t, c.Connect(), "connect after a refusal")
	c.Disconnect(1000)
}
