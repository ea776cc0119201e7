package compat

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestServeIndexOnlyAfterConnect: connections that never send a valid
// CONNECT take no client index, and are closed after a few seconds; an
// MQTT client connecting meanwhile is served at once.
func TestServeIndexOnlyAfterConnect(t *testing.T) {
	t.Parallel() // waits for the CONNECT timeout
	r := newRig(t, modemsim.EmbeddedOptions{}, simcom.A7600)
	addr := gateway(t, r)

	var idle []net.Conn
	for i := range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if i == 2 {
			// Not MQTT: an HTTP request.
			_, _ = c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		}
		idle = append(idle, c)
	}
	for i := range 2 {
		c := localClient(t, addr, fmt.Sprintf("after-idle-%d", i), nil)
		tok := c.Connect()
		if !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
			t.Fatalf("client %d next to idle sockets: %v (return code %d)", i, tok.Error(), tok.(*mqtt.ConnectToken).ReturnCode())
		}
		defer c.Disconnect(250)
	}
	for i, c := range idle {
		_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
		if n, err := c.Read(make([]byte, 64)); err != io.EOF {
			t.Errorf("idle socket %d: read %d bytes, %v; want the gateway to close it", i, n, err)
		}
	}
}

// TestServeReconnectRightAfterDisconnect: a client that disconnects and
// reconnects at once, while the other client index is taken, is served
// every time (the new CONNECT takes the old session over, or waits for
// its index), never refused with "server unavailable".
func TestServeReconnectRightAfterDisconnect(t *testing.T) {
	r := newRig(t, modemsim.EmbeddedOptions{}, simcom.SIM7600)
	addr := gateway(t, r)
	other := localClient(t, addr, "reconnect-other", nil)
	waitToken(t, other.Connect(), "client on the other index")
	defer other.Disconnect(250)

	c := localClient(t, addr, "reconnect-again", nil)
	for i := range 25 {
		tok := c.Connect()
		if !tok.WaitTimeout(waitTimeout) {
			t.Fatalf("connect %d: no CONNACK", i)
		}
		if err := tok.Error(); err != nil {
			t.Fatalf("connect %d right after a clean disconnect: %v (return code %d)", i, err, tok.(*mqtt.ConnectToken).ReturnCode())
		}
		waitToken(t, c.Publish("reconnect/x", 1, false, fmt.Sprint(i)), "publish")
		c.Disconnect(250)
	}
}

// TestDisconnectAfterQueuedPublishes: a client that hands over many QoS 1
// messages and DISCONNECT at once gets its connection closed at once (as a
// broker closes it), and every message still reaches the broker, before
// the modem's DISC.
func TestDisconnectAfterQueuedPublishes(t *testing.T) {
	r := newRigConfig(t, modemsim.Config{Model: simcom.A7600, Latency: time.Millisecond})
	b := r.broker
	watch := peer(t, b, "", "", "queued/#")
	addr := gateway(t, r)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(waitTimeout))
	burst := encode311(connect311("queued", 30))
	const n = 50
	for i := range n {
		burst = append(burst, publish311("queued/x", 1, uint16(i+1), 8)...)
	}
	burst = append(burst, 0xE0, 0x00) // DISCONNECT
	if _, err := conn.Write(burst); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatalf("the gateway did not close the connection after DISCONNECT: %v", err)
	}
	watch.wait(t, "queued/x", n)
	waitIndexesFree(t, r, 2)
	var sent strings.Builder
	for _, e := range r.sim.Transcript() {
		if e.Dir == modemsim.ToModem {
			sent.Write(e.Data)
		}
	}
	s := sent.String()
	if pubs, disc := strings.Count(s, "AT+CMQTTPUB=0,1"), strings.LastIndex(s, "AT+CMQTTDISC=0"); pubs != n || disc < strings.LastIndex(s, "AT+CMQTTPUB=0,1") {
		t.Errorf("%d PUB sent, DISC at %d after the last PUB at %d; want %d PUB, then DISC", pubs, disc, strings.LastIndex(s, "AT+CMQTTPUB=0,1"), n)
	}
}

// TestPahoOversizePublishNotAcknowledged: paho.mqtt.golang (MQTT 3.1.1)
// publishing at QoS 1 a payload the modem cannot carry is not told the
// message was delivered: the connection ends and the token fails.
func TestPahoOversizePublishNotAcknowledged(t *testing.T) {
	r := newRig(t, modemsim.EmbeddedOptions{}, simcom.SIM7600)
	addr := gateway(t, r)
	lost := newSignal()
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("oversize").SetProtocolVersion(4).
		SetAutoReconnect(false).SetConnectTimeout(waitTimeout).
		SetConnectionLostHandler(func(mqtt.Client, error) { lost.fire() })
	c := mqtt.NewClient(o)
	waitToken(t, c.Connect(), "connect")
	defer c.Disconnect(0)
	tok := c.Publish("oversize/x", 1, false, make([]byte, 10241))
	if !tok.WaitTimeout(waitTimeout) {
		t.Fatal("publish: no outcome")
	}
	if tok.Error() == nil {
		t.Fatal("a 10241-byte QoS 1 message the modem cannot carry was acknowledged")
	}
	lost.wait(t, 1, "connection-lost handler")
}

// TestServeSubscribeThenOtherPublishes: a client subscribes without
// waiting for its SUBACK and another client publishes right after: the
// gateway carries out the packets in the order they arrived on its
// connections, as a broker does, so the message is delivered (paho's FVT
// relies on it). The publisher starts once the SUBSCRIBE was written to the
// subscriber's socket, that is once it arrived at the gateway: paho writes
// from its own goroutine, which on a loaded machine can run after the
// publisher's CONNECT and PUBLISH were written, and then no broker could
// deliver the message.
func TestServeSubscribeThenOtherPublishes(t *testing.T) {
	r := newRig(t, modemsim.EmbeddedOptions{}, simcom.SIM7600)
	addr := gateway(t, r)
	for i := range 20 {
		got := make(chan struct{}, 1)
		subscribed := make(chan struct{}, 1)
		o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("order-sub").
			SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(waitTimeout).
			SetCustomOpenConnectionFn(func(*url.URL, mqtt.ClientOptions) (net.Conn, error) {
				c, err := net.DialTimeout("tcp", addr, waitTimeout)
				return &sawSubscribe{Conn: c, written: subscribed}, err
			})
		sub := mqtt.NewClient(o)
		waitToken(t, sub.Connect(), "subscriber connect")
		sub.Subscribe("order/x", 1, func(mqtt.Client, mqtt.Message) {
			select {
			case got <- struct{}{}:
			default:
			}
		}) // no Wait, as paho's Test_Ack_After_Disconnect
		select {
		case <-subscribed:
		case <-time.After(waitTimeout):
			t.Fatalf("round %d: paho did not write the SUBSCRIBE", i)
		}
		pub := localClient(t, addr, "order-pub", nil)
		waitToken(t, pub.Connect(), "publisher connect")
		pub.Publish("order/x", 1, false, "x")
		select {
		case <-got:
		case <-time.After(waitTimeout):
			t.Fatalf("round %d: the message published after the SUBSCRIBE was not delivered", i)
		}
		pub.Disconnect(0)
		sub.Disconnect(0)
	}
}

// sawSubscribe is a client's connection that signals written once a write
// that begins with a SUBSCRIBE packet returned (paho writes a packet in one
// write).
type sawSubscribe struct {
	net.Conn
	written chan<- struct{}
}

func (c *sawSubscribe) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if len(b) > 0 && b[0] == 0x82 && err == nil {
		select {
		case c.written <- struct{}{}:
		default:
		}
	}
	return n, err
}
