package compat

import (
	"bytes"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// killable dials the gateway for paho.mqtt.golang and keeps the socket, so
// the test can cut it as a killed process would: no DISCONNECT.
type killable struct {
	mu   sync.Mutex
	conn net.Conn
}

func (k *killable) open(uri *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
	c, err := net.Dial("tcp", uri.Host)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.conn = c
	k.mu.Unlock()
	return c, nil
}

func (k *killable) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	_ = k.conn.Close()
}

// willClient is a paho.mqtt.golang client of the gateway with a QoS 1 will
// on topic; lost fires when its connection is lost.
func willClient(t *testing.T, addr, id, topic string, k *killable, lost *signal) mqtt.Client {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker("tcp://"+addr).SetClientID(id).SetProtocolVersion(4).
		SetAutoReconnect(false).SetConnectTimeout(waitTimeout).SetWill(topic, "gone: "+id, 1, false)
	if k != nil {
		o.SetCustomOpenConnectionFn(k.open)
	}
	if lost != nil {
		o.SetConnectionLostHandler(func(mqtt.Client, error) { lost.fire() })
	}
	c := mqtt.NewClient(o)
	waitToken(t, c.Connect(), id+" connect")
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

// wantOnly waits for the marker the broker publishes on topic after the
// client left, and fails when anything else (a will) came before it.
func wantOnly(t *testing.T, r *rig, watch *received, topic string) {
	t.Helper()
	if err := r.broker.Publish(topic, []byte("marker"), false, 1); err != nil {
		t.Fatal(err)
	}
	got := watch.wait(t, topic, 1)
	if len(got) != 1 || string(got[0]) != "marker" {
		t.Errorf("%s received %q; want only the marker (no will after a clean DISCONNECT)", topic, got)
	}
}

// wantWill waits for the will of client id on topic, with QoS 1.
func wantWill(t *testing.T, watch *received, topic, id string) {
	t.Helper()
	got := watch.wait(t, topic, 1)
	if string(got[0]) != "gone: "+id {
		t.Errorf("%s received %q, want the will %q", topic, got[0], "gone: "+id)
	}
	watch.mu.Lock()
	qos := watch.qos[topic]
	watch.mu.Unlock()
	if qos != 1 {
		t.Errorf("will delivered with QoS %d, want its QoS 1", qos)
	}
}

// TestWillOnUncleanExit: a local client's will reaches the broker when the
// client goes away without DISCONNECT, as it would with a direct
// connection, on both model families: the adapter publishes it on the
// client's behalf (the modem cannot end a connection without a clean MQTT
// DISCONNECT) with the will's QoS. A clean DISCONNECT discards it.
func TestWillOnUncleanExit(t *testing.T) {
	t.Parallel() // each case waits for the modem and the broker: beside the others
	for _, model := range []simcom.Model{simcom.A7600, simcom.SIM7600} {
		for _, kind := range brokerKinds() {
			t.Run(model.String()+"/"+kind, func(t *testing.T) {
				skipUnlessInterop(t, kind)
				testWillOnUncleanExit(t, model, kind)
			})
		}
	}
}

func testWillOnUncleanExit(t *testing.T, model simcom.Model, kind string) {
	r := newRigOn(t, kind, "", "", model)
	watch := peer(t, r.broker, "", "", "will/#")
	addr := gateway(t, r)

	t.Run("killed client", func(t *testing.T) {
		k := &killable{}
		willClient(t, addr, "will-killed", "will/killed", k, nil)
		k.kill()
		wantWill(t, watch, "will/killed", "will-killed")
	})

	t.Run("clean DISCONNECT discards the will", func(t *testing.T) {
		c := willClient(t, addr, "will-clean", "will/clean", nil, nil)
		c.Disconnect(1000)
		waitIndexesFree(t, r, 2)
		wantOnly(t, r, watch, "will/clean")
	})

	t.Run("MQTT 5 DISCONNECT with will message", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c := paho.NewClient(paho.ClientConfig{Conn: conn})
		ctx := testContext(t)
		if _, err := c.Connect(ctx, &paho.Connect{
			ClientID: "will-v5", KeepAlive: 30, CleanStart: true,
			WillMessage: &paho.WillMessage{Topic: "will/v5", Payload: []byte("gone: will-v5"), QoS: 1},
		}); err != nil {
			t.Fatal(err)
		}
		if err := c.Disconnect(&paho.Disconnect{ReasonCode: 0x04}); err != nil {
			t.Fatal(err)
		}
		wantWill(t, watch, "will/v5", "will-v5")
	})

	t.Run("session taken over", func(t *testing.T) {
		lost := newSignal()
		willClient(t, addr, "will-twice", "will/twice", nil, lost)
		second := willClient(t, addr, "will-twice", "will/twice-2", nil, nil)
		lost.wait(t, 1, "first connection's connection-lost handler")
		wantWill(t, watch, "will/twice", "will-twice")
		waitToken(t, second.Publish("will/twice-2/alive", 1, false, "yes"), "publish on the new connection")
		second.Disconnect(1000)
	})

	t.Run("silent past its keepalive", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(waitTimeout))
		c := connect311("will-silent", 2)
		c.WillFlag, c.WillQos, c.WillTopic, c.WillMessage = true, 1, "will/silent", []byte("gone: will-silent")
		if _, err := conn.Write(encode311(c)); err != nil {
			t.Fatal(err)
		}
		ack := make([]byte, 4)
		if _, err := conn.Read(ack); err != nil || !bytes.Equal(ack, []byte{0x20, 0x02, 0x00, 0x00}) {
			t.Fatalf("CONNACK % x, %v", ack, err)
		}
		wantWill(t, watch, "will/silent", "will-silent")
	})
}

// connect311 is a raw MQTT 3.1.1 CONNECT with a clean session.
func connect311(id string, keepAlive uint16) *packets.ConnectPacket {
	c := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	c.ProtocolName, c.ProtocolVersion, c.ClientIdentifier, c.CleanSession, c.Keepalive = "MQTT", 4, id, true, keepAlive
	return c
}
