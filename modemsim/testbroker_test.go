package modemsim

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// testWait bounds every wait of these tests; a test that hits it fails.
const testWait = 10 * time.Second

// startEmbedded starts an embedded mochi broker closed with the test.
func startEmbedded(t testing.TB, opts EmbeddedOptions) *EmbeddedBroker {
	t.Helper()
	b, err := StartEmbeddedBroker(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// rxMessage is one message a link or a peer received.
type rxMessage struct {
	topic   string
	payload string
	qos     byte
	retain  bool
}

// recorder collects the events of a link.
type recorder struct {
	msgs chan rxMessage
	lost chan int
}

func newRecorder() *recorder {
	return &recorder{msgs: make(chan rxMessage, 1000), lost: make(chan int, 2)}
}

// events are the callbacks for dialBroker.
func (r *recorder) events() linkEvents {
	return linkEvents{
		Message: func(topic string, payload []byte) { r.msgs <- rxMessage{topic: topic, payload: string(payload)} },
		Lost:    func(cause int) { r.lost <- cause },
	}
}

// next returns the next message or fails the test.
func (r *recorder) next(t testing.TB) rxMessage {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case <-time.After(testWait):
		t.Fatal("no message within", testWait)
	}
	return rxMessage{}
}

// nextLost returns the next Lost cause or fails the test.
func (r *recorder) nextLost(t testing.TB) int {
	t.Helper()
	select {
	case c := <-r.lost:
		return c
	case <-time.After(testWait):
		t.Fatal("no connection loss within", testWait)
	}
	return 0
}

// dialTest dials addr with cfg through dialBroker and expects code want;
// a connected link is dropped at the end of the test.
func dialTest(t testing.TB, cfg linkConfig, ev linkEvents, want simcom.ResultCode) brokerLink {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	link, code := dialBroker(ctx, cfg, ev)
	if code != want {
		t.Fatalf("dialBroker(%s) = %d %q, want %d %q", cfg.Addr, code, code, want, want)
	}
	if (link != nil) != (code == simcom.CodeOK) {
		t.Fatalf("dialBroker returned link %v with code %d", link, code)
	}
	if link != nil {
		t.Cleanup(link.Drop)
	}
	return link
}

// plainConfig is a linkConfig for a plain broker connection.
func plainConfig(addr, clientID string) linkConfig {
	return linkConfig{Addr: addr, ClientID: clientID, KeepAlive: 60, CleanSession: true}
}

var peerSeq atomic.Int64

// peer is an independent paho.mqtt.golang client, the other side of the
// broker in these tests.
type peer struct {
	client mqtt.Client
	msgs   chan rxMessage
}

// newPeer connects a peer to the broker at addr (host:port).
func newPeer(t testing.TB, addr string) *peer {
	t.Helper()
	p := &peer{msgs: make(chan rxMessage, 1000)}
	opts := mqtt.NewClientOptions().
		AddBroker("tcp://" + addr).
		SetClientID(fmt.Sprintf("peer-%d", peerSeq.Add(1))).
		SetAutoReconnect(false).
		SetOrderMatters(true).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			p.msgs <- rxMessage{topic: m.Topic(), payload: string(m.Payload()), qos: m.Qos(), retain: m.Retained()}
		})
	p.client = mqtt.NewClient(opts)
	waitToken(t, p.client.Connect())
	t.Cleanup(func() { p.client.Disconnect(100) })
	return p
}

// subscribe subscribes the peer to filter with QoS 2.
func (p *peer) subscribe(t testing.TB, filter string) {
	t.Helper()
	waitToken(t, p.client.Subscribe(filter, 2, nil))
}

// publish publishes from the peer and waits for completion.
func (p *peer) publish(t testing.TB, topic string, qos byte, retain bool, payload []byte) {
	t.Helper()
	waitToken(t, p.client.Publish(topic, qos, retain, payload))
}

// next returns the next message the peer received or fails the test.
func (p *peer) next(t testing.TB) rxMessage {
	t.Helper()
	select {
	case m := <-p.msgs:
		return m
	case <-time.After(testWait):
		t.Fatal("peer: no message within", testWait)
	}
	return rxMessage{}
}

// waitToken waits for a paho token and fails the test on error.
func waitToken(t testing.TB, tok mqtt.Token) {
	t.Helper()
	if !tok.WaitTimeout(testWait) {
		t.Fatal("paho token not done within", testWait)
	}
	if err := tok.Error(); err != nil {
		t.Fatal(err)
	}
}

// fakeBroker is a minimal MQTT server for behaviour a real broker will not
// show on demand: it answers CONNECT with a CONNACK of the test's choice
// and, when accepted, hands the connection to the test.
type fakeBroker struct {
	ln    net.Listener
	conns chan net.Conn
	wg    sync.WaitGroup
}

// startFakeBroker listens on a free loopback port and accepts every CONNECT.
func startFakeBroker(t testing.TB) *fakeBroker { return startFakeBrokerRC(t, 0) }

// startFakeBrokerRC listens on a free loopback port and answers every
// CONNECT with CONNACK return code rc.
func startFakeBrokerRC(t testing.TB, rc byte) *fakeBroker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeBroker{ln: ln, conns: make(chan net.Conn, 1)}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cp, err := packets.ReadPacket(c)
			if _, ok := cp.(*packets.ConnectPacket); err != nil || !ok {
				_ = c.Close()
				continue
			}
			ack := packets.NewControlPacket(packets.Connack).(*packets.ConnackPacket)
			ack.ReturnCode = rc
			if err := ack.Write(c); err != nil || rc != 0 {
				_ = c.Close()
				continue
			}
			f.conns <- c
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		f.wg.Wait()
		close(f.conns)
		for c := range f.conns {
			_ = c.Close()
		}
	})
	return f
}

// Addr is the fake broker's host:port.
func (f *fakeBroker) Addr() string { return f.ln.Addr().String() }

// accepted returns the server side of the connected client.
func (f *fakeBroker) accepted(t testing.TB) net.Conn {
	t.Helper()
	select {
	case c := <-f.conns:
		t.Cleanup(func() { _ = c.Close() })
		return c
	case <-time.After(testWait):
		t.Fatal("fake broker: no client within", testWait)
	}
	return nil
}
