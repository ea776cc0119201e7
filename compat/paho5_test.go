package compat

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/autopaho/queue/memory"
	"github.com/eclipse/paho.golang/paho"
)

// record5 is a paho.golang OnPublishReceived callback that records.
func (r *received) record5(pr paho.PublishReceived) (bool, error) {
	r.add(pr.Packet.Topic, pr.Packet.Payload, pr.Packet.QoS)
	return true, nil
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

func TestPaho5(t *testing.T) {
	for _, kind := range brokerKinds() {
		t.Run(kind, func(t *testing.T) {
			skipUnlessInterop(t, kind)
			testPaho5(t, kind)
		})
	}
}

func testPaho5(t *testing.T, kind string) {
	r := newRigOn(t, kind, "user", "secret", simcom.SIM7600)
	watch := peer(t, r.broker, "user", "secret", "#")
	ctx := testContext(t)

	conn, err := Dial(ctx, r.modem, r.broker.URL(), WithLogger(testLogger())) // cellmqtt
	if err != nil {
		t.Fatal(err)
	}
	got := newReceived()
	c := paho.NewClient(paho.ClientConfig{
		Conn:              conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){got.record5},
	})
	ca, err := c.Connect(ctx, &paho.Connect{
		ClientID: "paho5", KeepAlive: 30, CleanStart: true,
		Username: "user", UsernameFlag: true, Password: []byte("secret"), PasswordFlag: true,
		WillMessage: &paho.WillMessage{Topic: "will/paho5", Payload: []byte("bye"), QoS: 1},
	})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if ca.ReasonCode != 0 || ca.SessionPresent {
		t.Errorf("CONNACK reason 0x%02X, session present %t", ca.ReasonCode, ca.SessionPresent)
	}
	if p := ca.Properties; p == nil || (p.TopicAliasMaximum != nil && *p.TopicAliasMaximum != 0) || p.SubIDAvailable || p.SharedSubAvailable ||
		p.MaximumPacketSize == nil || *p.MaximumPacketSize != maxPacketSize {
		t.Errorf("CONNACK properties %+v: want no topic aliases, subscription IDs or shared subscriptions, and the maximum packet size", p)
	}

	t.Run("publish QoS 0, 1, 2", func(t *testing.T) {
		for qos := byte(0); qos <= 2; qos++ {
			topic := "out5/qos" + string('0'+qos)
			resp, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: qos, Payload: []byte{qos, 0}})
			if err != nil {
				t.Fatalf("publish %s: %v", topic, err)
			}
			if qos > 0 && (resp == nil || resp.ReasonCode != 0) {
				t.Errorf("publish %s: response %+v", topic, resp)
			}
			if m := watch.wait(t, topic, 1); !bytes.Equal(m[0], []byte{qos, 0}) {
				t.Errorf("%s: broker got % x", topic, m[0])
			}
		}
	})

	t.Run("subscribe: wildcards granted, unsupported options refused", func(t *testing.T) {
		sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
			{Topic: "in5/+/x", QoS: 1},
			{Topic: "big/#", QoS: 2},
			{Topic: "nolocal", QoS: 1, NoLocal: true},
			{Topic: "rap", QoS: 1, RetainAsPublished: true},
		}})
		if err != nil && sa == nil {
			t.Fatal(err)
		}
		// ($share/ filters never get here: paho.golang itself refuses them
		// once the CONNACK said shared subscriptions are not available.)
		want := []byte{1, 2, 0x83, 0x83}
		if !bytes.Equal(sa.Reasons, want) {
			t.Errorf("SUBACK % x, want % x", sa.Reasons, want)
		}
	})

	t.Run("10240-byte binary payload", func(t *testing.T) {
		payload := bytes.Repeat([]byte{0, 0xFF, '\r', '\n', 'O', 'K'}, 10240/6+1)[:10240]
		_ = r.broker.Publish("in5/a/x", []byte("small"), false, 1)
		_ = r.broker.Publish("big/blob", payload, false, 0)
		if m := got.wait(t, "in5/a/x", 1); string(m[0]) != "small" {
			t.Errorf("in5/a/x: %q", m[0])
		}
		if m := got.wait(t, "big/blob", 1); !bytes.Equal(m[0], payload) {
			t.Errorf("payload changed on the way (%d bytes arrived)", len(m[0]))
		}
		got.mu.Lock()
		q := got.qos["big/blob"]
		got.mu.Unlock()
		if q != 2 {
			t.Errorf("delivered with QoS %d, want the subscription's 2", q)
		}
	})

	t.Run("unsubscribe", func(t *testing.T) {
		ua, err := c.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{"in5/+/x"}})
		if err != nil || !bytes.Equal(ua.Reasons, []byte{0}) {
			t.Fatalf("unsubscribe: %+v, %v", ua, err)
		}
		_ = r.broker.Publish("in5/b/x", []byte("late"), false, 0)
		_ = r.broker.Publish("big/marker", []byte("m"), false, 0)
		got.wait(t, "big/marker", 1)
		if n := got.count("in5/b/x"); n != 0 {
			t.Errorf("%d messages arrived after unsubscribing", n)
		}
	})

	if err := c.Disconnect(&paho.Disconnect{ReasonCode: 0}); err != nil {
		t.Fatal(err)
	}
	_ = r.broker.Publish("will/marker", []byte("m"), false, 0)
	watch.wait(t, "will/marker", 1)
	if n := watch.count("will/paho5"); n != 0 {
		t.Errorf("will published on a clean disconnect")
	}
}

func TestPaho5BadCredentials(t *testing.T) {
	for _, kind := range brokerKinds() {
		t.Run(kind, func(t *testing.T) {
			skipUnlessInterop(t, kind)
			testPaho5BadCredentials(t, kind)
		})
	}
}

func testPaho5BadCredentials(t *testing.T, kind string) {
	r := newRigOn(t, kind, "user", "secret", simcom.A7600)
	ctx := testContext(t)
	want := connackV5[directReturnCode(t, r, "user", "wrong")]
	conn, err := Dial(ctx, r.modem, r.broker.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn})
	ca, err := c.Connect(ctx, &paho.Connect{ClientID: "bad5", KeepAlive: 30, CleanStart: true,
		Username: "user", UsernameFlag: true, Password: []byte("wrong"), PasswordFlag: true})
	if err == nil || ca == nil || ca.ReasonCode != want {
		t.Fatalf("CONNACK %+v, %v; want reason 0x%02X", ca, err, want)
	}
	if ca.Properties == nil || ca.Properties.ReasonString == "" {
		t.Error("no reason string naming the modem's result")
	}
	<-c.Done()
}

func TestAutopaho(t *testing.T) {
	for _, kind := range brokerKinds() {
		t.Run(kind, func(t *testing.T) {
			skipUnlessInterop(t, kind)
			testAutopaho(t, kind)
		})
	}
}

func testAutopaho(t *testing.T, kind string) {
	r := newRigOn(t, kind, "", "", simcom.A7600)
	watch := peer(t, r.broker, "", "", "#")
	// The connection manager lives as long as the test: it stops
	// reconnecting when its context ends, so a single waitTimeout for the
	// four faults in a row would end it early on a loaded machine. Each
	// wait below has a deadline of its own.
	life, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	ctx := testContext(t)
	u, err := url.Parse(r.broker.URL())
	if err != nil {
		t.Fatal(err)
	}
	up, down, subscribed := newSignal(), newSignal(), newSignal()
	got := newReceived()
	cm, err := autopaho.NewConnection(life, autopaho.ClientConfig{
		ServerUrls:        []*url.URL{u},
		KeepAlive:         30,
		ConnectTimeout:    waitTimeout,
		ReconnectBackoff:  func(int) time.Duration { return 50 * time.Millisecond },
		Queue:             memory.New(),
		AttemptConnection: AttemptConnectionFn(r.modem, WithLogger(testLogger())), // cellmqtt
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			up.fire()
			go func() {
				ctx, cancel := context.WithTimeout(life, waitTimeout)
				defer cancel()
				if _, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "cmd/#", QoS: 1}}}); err != nil {
					t.Logf("subscribe: %v", err)
				} else {
					subscribed.fire()
				}
			}()
		},
		OnConnectionDown: func() bool { down.fire(); return true },
		ClientConfig: paho.ClientConfig{
			ClientID:          "auto5",
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){got.record5},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cm.AwaitConnection(ctx); err != nil {
		t.Fatal(err)
	}
	up.wait(t, 1, "connection up")
	subscribed.wait(t, 1, "subscribed")

	faults := []struct {
		name    string
		inject  func() error
		restore func() // after the connection went down
	}{
		{"connection loss", func() error { return r.sim.DropConnection(0, modemsim.CauseSocketClosed) }, nil},
		{"keepalive failure", func() error { return r.sim.KeepaliveFail(0) }, nil},
		{"no network", func() error { r.sim.NoNetwork(); return nil }, r.sim.RestoreNetwork},
		{"reboot", func() error { r.sim.Reboot(); return nil }, nil},
	}
	for i, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			if err := f.inject(); err != nil {
				t.Fatal(err)
			}
			down.wait(t, i+1, "connection down")
			// Published while the connection is down: queued by autopaho,
			// sent after it reconnected through the adapter.
			topic := "queued/" + f.name
			for k := range 3 {
				if err := cm.PublishViaQueue(life, &autopaho.QueuePublish{Publish: &paho.Publish{
					Topic: topic, QoS: 1, Payload: []byte{byte('0' + k)}}}); err != nil {
					t.Fatal(err)
				}
			}
			if f.restore != nil {
				f.restore()
			}
			up.wait(t, i+2, "reconnect")
			msgs := watch.wait(t, topic, 3)
			for k, m := range msgs[:3] {
				if string(m) != string(rune('0'+k)) {
					t.Errorf("queued message %d: %q", k, m)
				}
			}
			// The subscription made on reconnect works.
			subscribed.wait(t, i+2, "subscribed after reconnect")
			_ = r.broker.Publish("cmd/"+f.name, []byte("go"), false, 1)
			got.wait(t, "cmd/"+f.name, 1)
		})
	}

	if err := cm.Disconnect(testContext(t)); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	<-cm.Done()
}
