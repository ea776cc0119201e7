package cellmqtt

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// waitFor is the longest any integration step may take.
const waitFor = 20 * time.Second

// env is one emulated modem in front of an embedded broker, with a real
// MQTT peer on the broker.
type env struct {
	t      *testing.T
	broker *modemsim.EmbeddedBroker
	sim    *modemsim.Sim
}

func newEnv(t *testing.T, cfg modemsim.Config) *env {
	t.Helper()
	return newEnvWith(t, cfg, modemsim.EmbeddedOptions{})
}

// newEnvWith is newEnv with a configured broker.
func newEnvWith(t *testing.T, cfg modemsim.Config, bo modemsim.EmbeddedOptions) *env {
	t.Helper()
	b, err := modemsim.StartEmbeddedBroker(bo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	cfg.Broker = b.URL()
	s, err := modemsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &env{t: t, broker: b, sim: s}
}

// testLogger logs to the test when CELLMQTT_TEST_LOG is set.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("CELLMQTT_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// options are client options for the env's modem, with fast retries.
func (e *env) options(id string) *ClientOptions {
	return NewClientOptions().
		AddBroker("tcp://broker.invalid:1883"). // the emulator redirects to the embedded broker
		SetClientID(id).
		SetTransport(e.sim.Conn()).
		SetConnectRetryInterval(20 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).
		SetConnectTimeout(10 * time.Second).
		SetLogger(testLogger(e.t))
}

// connect connects a client and registers its Disconnect.
func (e *env) connect(o *ClientOptions) Client {
	e.t.Helper()
	c := NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(waitFor) {
		e.t.Fatal("Connect did not complete")
	}
	if err := tok.Error(); err != nil {
		e.t.Fatalf("Connect: %v", err)
	}
	e.t.Cleanup(func() { c.Disconnect(0) })
	return c
}

// peer is a real MQTT client on the embedded broker that records what it
// receives.
type peer struct {
	c    mqtt.Client
	mu   sync.Mutex
	got  map[string]int // payload -> times received
	seen chan string
}

func (e *env) peer(filter string) *peer {
	e.t.Helper()
	return peerOn(e.t, e.broker, filter)
}

// peerOn is a recording subscriber on broker b.
func peerOn(t *testing.T, b *modemsim.EmbeddedBroker, filter string) *peer {
	return peerWith(t, b, filter, nil)
}

// peerWith is peerOn with a TLS configuration for a TLS broker.
func peerWith(t *testing.T, b *modemsim.EmbeddedBroker, filter string, tc *tls.Config) *peer {
	t.Helper()
	e := &env{t: t, broker: b}
	p := &peer{got: map[string]int{}, seen: make(chan string, 100000)}
	o := mqtt.NewClientOptions().AddBroker(e.broker.URL()).SetClientID(fmt.Sprintf("peer-%d", time.Now().UnixNano())).
		SetAutoReconnect(false).SetTLSConfig(tc)
	p.c = mqtt.NewClient(o)
	if tok := p.c.Connect(); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		e.t.Fatalf("peer connect: %v", tok.Error())
	}
	if tok := p.c.Subscribe(filter, 2, func(_ mqtt.Client, m mqtt.Message) {
		p.mu.Lock()
		p.got[string(m.Payload())]++
		p.mu.Unlock()
		p.seen <- string(m.Payload())
	}); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		e.t.Fatalf("peer subscribe: %v", tok.Error())
	}
	e.t.Cleanup(func() { p.c.Disconnect(100) })
	return p
}

// waitAll waits until the peer has every payload of want at least once.
func (p *peer) waitAll(t *testing.T, want []string) (dups int) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		p.mu.Lock()
		missing := 0
		for _, w := range want {
			if p.got[w] == 0 {
				missing++
			}
		}
		dups = 0
		for _, n := range p.got {
			dups += n - 1
		}
		p.mu.Unlock()
		if missing == 0 {
			return dups
		}
		select {
		case <-p.seen:
		case <-deadline:
			t.Fatalf("peer is missing %d of %d messages", missing, len(want))
		}
	}
}

// inbox collects messages a client handler receives.
type inbox chan Message

func (in inbox) handler(_ Client, m Message) { in <- m }

func (in inbox) expect(t *testing.T, topic, payload string) {
	t.Helper()
	select {
	case m := <-in:
		if m.Topic() != topic || string(m.Payload()) != payload {
			t.Fatalf("received %q %q, want %q %q", m.Topic(), m.Payload(), topic, payload)
		}
	case <-time.After(waitFor):
		t.Fatalf("no message on %q", topic)
	}
}

func wait(t *testing.T, tok Token) error {
	t.Helper()
	if !tok.WaitTimeout(waitFor) {
		t.Fatal("token did not complete")
	}
	return tok.Error()
}

func mustWait(t *testing.T, what string, tok Token) {
	t.Helper()
	if err := wait(t, tok); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestIntegrationPublishSubscribe(t *testing.T) {
	for _, model := range []atmodem.Model{atmodem.A7600, atmodem.SIM7600} {
		t.Run(model.String(), func(t *testing.T) {
			e := newEnv(t, modemsim.Config{Model: model})
			p := e.peer("out/#")
			in := make(inbox, 10)
			c := e.connect(e.options("dev1"))
			if !c.IsConnected() || !c.IsConnectionOpen() {
				t.Fatal("not connected after Connect")
			}
			for qos := byte(0); qos <= 2; qos++ {
				mustWait(t, "publish", c.Publish(fmt.Sprintf("out/%d", qos), qos, false, fmt.Sprintf("m%d", qos)))
			}
			p.waitAll(t, []string{"m0", "m1", "m2"})

			mustWait(t, "subscribe", c.Subscribe("in/+", 1, in.handler))
			if err := e.broker.Publish("in/x", []byte("hello"), false, 1); err != nil {
				t.Fatal(err)
			}
			in.expect(t, "in/x", "hello")
			mustWait(t, "unsubscribe", c.Unsubscribe("in/+"))
			c.Disconnect(100)
			if c.IsConnected() {
				t.Fatal("connected after Disconnect")
			}
		})
	}
}
