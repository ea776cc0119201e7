package compat

import (
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// waitTimeout bounds every wait of the integration tests; nothing waits
// for a fixed time.
const waitTimeout = 20 * time.Second

// rig is an embedded mochi broker, an emulated modem connected to it and
// the atmodem engine on the emulator's port.
type rig struct {
	broker testBroker
	sim    *modemsim.Sim
	modem  *atmodem.Modem
}

// newRig starts the embedded broker with bo.
func newRig(t testing.TB, bo modemsim.EmbeddedOptions, model simcom.Model) *rig {
	t.Helper()
	b, err := modemsim.StartEmbeddedBroker(bo)
	if err != nil {
		t.Fatal(err)
	}
	return rigWith(t, b, model)
}

// newRigOn starts the broker of the given kind ("mochi" or "mosquitto"),
// letting in only user and pass when user is not empty.
func newRigOn(t testing.TB, kind, user, pass string, model simcom.Model) *rig {
	t.Helper()
	if kind == "mosquitto" {
		return rigWith(t, startMosquitto(t, user, pass), model)
	}
	return newRig(t, modemsim.EmbeddedOptions{Username: user, Password: pass}, model)
}

// rigWith puts the emulated modem in front of broker b.
func rigWith(t testing.TB, b testBroker, model simcom.Model) *rig {
	t.Helper()
	return rigWithConfig(t, b, modemsim.Config{Model: model})
}

// newRigConfig starts an embedded broker and puts an emulated modem
// configured by cfg in front of it.
func newRigConfig(t testing.TB, cfg modemsim.Config) *rig {
	t.Helper()
	b, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rigWithConfig(t, b, cfg)
}

// rigWithConfig puts an emulated modem configured by cfg in front of
// broker b.
func rigWithConfig(t testing.TB, b testBroker, cfg modemsim.Config) *rig {
	t.Helper()
	cfg.Broker = b.URL()
	sim, err := modemsim.New(cfg)
	if err != nil {
		_ = b.Close()
		t.Fatal(err)
	}
	var opts []atmodem.Option
	if os.Getenv("COMPAT_TRACE") != "" {
		opts = append(opts, atmodem.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	m := atmodem.New(sim.Conn(), append(opts, atmodem.WithModel(cfg.Model))...)
	t.Cleanup(func() {
		_ = m.Close()
		_ = sim.Close()
		_ = b.Close()
	})
	return &rig{broker: b, sim: sim, modem: m}
}

// testLogger logs the adapter's decisions when COMPAT_TRACE is set.
func testLogger() *slog.Logger {
	if os.Getenv("COMPAT_TRACE") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// received collects messages by topic.
type received struct {
	mu   sync.Mutex
	msgs map[string][][]byte
	qos  map[string]byte
	wake chan struct{}
}

func newReceived() *received {
	return &received{msgs: map[string][][]byte{}, qos: map[string]byte{}, wake: make(chan struct{})}
}

func (r *received) add(topic string, payload []byte, qos byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs[topic] = append(r.msgs[topic], append([]byte(nil), payload...))
	r.qos[topic] = qos
	close(r.wake)
	r.wake = make(chan struct{})
}

// handler is a paho.mqtt.golang message handler that records.
func (r *received) handler(_ mqtt.Client, m mqtt.Message) { r.add(m.Topic(), m.Payload(), m.Qos()) }

// wait waits until topic has n messages and returns them.
func (r *received) wait(t testing.TB, topic string, n int) [][]byte {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		r.mu.Lock()
		got, wake := r.msgs[topic], r.wake
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("waiting for %d messages on %q: have %d", n, topic, len(got))
		}
	}
}

func (r *received) count(topic string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs[topic])
}

// peer connects an ordinary paho.mqtt.golang client straight to the broker
// (no modem) that subscribes filter and records what arrives.
func peer(t testing.TB, b testBroker, user, pass, filter string) *received {
	t.Helper()
	rec := newReceived()
	o := mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("peer-" + t.Name()).
		SetUsername(user).SetPassword(pass).SetAutoReconnect(false)
	c := mqtt.NewClient(o)
	waitToken(t, c.Connect(), "peer connect")
	waitToken(t, c.Subscribe(filter, 2, rec.handler), "peer subscribe")
	t.Cleanup(func() { c.Disconnect(0) })
	return rec
}

func waitToken(t testing.TB, tok mqtt.Token, what string) {
	t.Helper()
	if !tok.WaitTimeout(waitTimeout) {
		t.Fatalf("%s: no answer within %v", what, waitTimeout)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// signal is a channel-backed counter for handler calls.
type signal struct {
	mu sync.Mutex
	n  int
	ch chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

func (s *signal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	close(s.ch)
	s.ch = make(chan struct{})
}

// wait waits until the signal fired at least n times.
func (s *signal) wait(t testing.TB, n int, what string) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		s.mu.Lock()
		got, ch := s.n, s.ch
		s.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%s: fired %d times, want %d", what, got, n)
		}
	}
}
