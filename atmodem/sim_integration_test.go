package atmodem_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// TestSessionAgainstEmulator runs the session against the emulated modem
// (package modemsim) backed by an embedded broker: both dialects, auto
// detection, will, subscribe, publish to self, receive, SUBTOPIC refusal,
// disconnect.
func TestSessionAgainstEmulator(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  modemsim.Config
	}{
		{"A7600", modemsim.Config{Model: atmodem.A7600, RefuseSubTopic: true}},
		{"SIM7600", modemsim.Config{Model: atmodem.SIM7600, ResultBeforeOK: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broker, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer broker.Close()
			cfg := tc.cfg
			cfg.Broker = broker.URL()
			sim, err := modemsim.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer sim.Close()
			m := atmodem.New(sim.Conn())
			defer m.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			s, err := m.Session(0)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			opts := atmodem.ConnectOptions{Broker: "mqtt://broker.example.com", ClientID: "it-" + tc.name,
				Will: &atmodem.Will{Topic: "it/status", Payload: []byte("gone"), QoS: 1}}
			if err := s.Connect(ctx, opts); err != nil {
				t.Fatal(err)
			}
			if m.Model() != tc.cfg.Model {
				t.Errorf("model %v, want %v", m.Model(), tc.cfg.Model)
			}
			if ok, err := s.Connected(ctx); err != nil || !ok {
				t.Fatalf("Connected = %v, %v", ok, err)
			}
			subs := []atmodem.Subscription{{Topic: "it/a", QoS: 1}, {Topic: "it/b/#", QoS: 0}}
			if err := s.SubscribeMultiple(ctx, subs); err != nil {
				t.Fatal(err)
			}
			payload := []byte("bin\r\nOK\r\n\x00+CMQTTRXEND: 0\r\n")
			if err := s.Publish(ctx, atmodem.Publish{Topic: "it/a", Payload: payload, QoS: 1}); err != nil {
				t.Fatal(err)
			}
			if err := s.Publish(ctx, atmodem.Publish{Topic: "it/b/c", QoS: 0}); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for len(got) < 2 {
				select {
				case ev := <-s.Events():
					if ev.Kind != atmodem.EventMessage {
						t.Fatalf("event %+v", ev)
					}
					got[ev.Message.Topic] = string(ev.Message.Payload)
				case <-ctx.Done():
					t.Fatalf("messages: got %q", got)
				}
			}
			if got["it/a"] != string(payload) || got["it/b/c"] != "" {
				t.Errorf("messages %q", got)
			}
			if err := s.Unsubscribe(ctx, "it/a", "it/b/#"); err != nil {
				t.Fatal(err)
			}
			if err := s.Disconnect(ctx, 60*time.Second); err != nil {
				t.Fatal(err)
			}
			if ok, err := s.Connected(ctx); err == nil && ok {
				t.Error("still connected after Disconnect")
			}
		})
	}
}

// simSession starts an embedded broker, an emulator of model and a Modem
// with a session on index 0.
func simSession(t *testing.T, cfg modemsim.Config) (*modemsim.Sim, *atmodem.Modem, *atmodem.Session) {
	t.Helper()
	broker, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Close() })
	cfg.Broker = broker.URL()
	sim, err := modemsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	m := atmodem.New(sim.Conn(), atmodem.WithModel(cfg.Model))
	t.Cleanup(func() { _ = m.Close() })
	s, err := m.Session(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return sim, m, s
}

// waitEvent returns the next event of s that is not a message.
func waitEvent(ctx context.Context, t *testing.T, s *atmodem.Session) atmodem.Event {
	t.Helper()
	for {
		select {
		case ev := <-s.Events():
			if ev.Kind != atmodem.EventMessage {
				return ev
			}
		case <-ctx.Done():
			t.Fatal("no event")
		}
	}
}

// TestSessionEmulatorFaults: every loss the emulator can inject is reported
// as its event, and Connect brings the session back each time.
func TestSessionEmulatorFaults(t *testing.T) {
	for _, model := range []atmodem.Model{atmodem.A7600, atmodem.SIM7600} {
		t.Run(model.String(), func(t *testing.T) {
			sim, _, s := simSession(t, modemsim.Config{Model: model, BootNUL: true})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			opts := atmodem.ConnectOptions{Broker: "mqtt://broker.example.com", ClientID: "faults",
				Will: &atmodem.Will{Topic: "faults/status", Payload: []byte("gone")}}
			reconnect := func(step string) {
				t.Helper()
				if err := s.Connect(ctx, opts); err != nil {
					t.Fatalf("%s: connect: %v", step, err)
				}
				if err := s.Publish(ctx, atmodem.Publish{Topic: "faults/x", Payload: []byte(step), QoS: 1}); err != nil {
					t.Fatalf("%s: publish: %v", step, err)
				}
			}
			reconnect("first")

			if err := sim.DropConnection(0, 2); err != nil {
				t.Fatal(err)
			}
			if ev := waitEvent(ctx, t, s); ev.Kind != atmodem.EventConnLost || ev.Cause != atmodem.CauseSocketReset {
				t.Fatalf("drop: event %+v", ev)
			}
			reconnect("after drop")

			if err := sim.KeepaliveFail(0); err != nil {
				t.Fatal(err)
			}
			if ev := waitEvent(ctx, t, s); ev.Kind != atmodem.EventPingFail {
				t.Fatalf("keepalive: event %+v", ev)
			}
			reconnect("after keepalive failure")

			sim.NoNetwork()
			if ev := waitEvent(ctx, t, s); ev.Kind != atmodem.EventNoNetwork {
				t.Fatalf("no network: event %+v", ev)
			}
			if err := s.Connect(ctx, opts); err == nil {
				t.Fatal("connect without network succeeded")
			}
			sim.RestoreNetwork()
			reconnect("after network back")

			sim.Reboot()
			if ev := waitEvent(ctx, t, s); ev.Kind != atmodem.EventReset {
				t.Fatalf("reboot: event %+v", ev)
			}
			reconnect("after reboot")
			if err := s.Disconnect(ctx, 0); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSessionEmulatorProcessRestart: a new Modem on a modem whose service
// runs and whose index is acquired and connected (the previous process
// died) recovers by asking the modem, without STOP/START.
func TestSessionEmulatorProcessRestart(t *testing.T) {
	for _, model := range []atmodem.Model{atmodem.A7600, atmodem.SIM7600} {
		t.Run(model.String(), func(t *testing.T) {
			sim, m1, s1 := simSession(t, modemsim.Config{Model: model})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			opts := atmodem.ConnectOptions{Broker: "mqtt://broker.example.com", ClientID: "restart"}
			if err := s1.Connect(ctx, opts); err != nil {
				t.Fatal(err)
			}
			_ = s1.Close()
			_ = m1.Close()

			m2 := atmodem.New(sim.Conn(), atmodem.WithModel(model))
			defer m2.Close()
			s2, err := m2.Session(0)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			if err := s2.Connect(ctx, opts); err != nil {
				t.Fatal(err)
			}
			if err := s2.Publish(ctx, atmodem.Publish{Topic: "restart/x", Payload: []byte("y"), QoS: 1}); err != nil {
				t.Fatal(err)
			}
			if err := s2.Disconnect(ctx, 0); err != nil {
				t.Fatal(err)
			}
			var host []byte
			for _, e := range sim.Transcript() {
				if e.Dir == modemsim.ToModem {
					host = append(host, e.Data...)
				}
			}
			// no blind STOP/START: the only STOP is the final Disconnect's
			if n := strings.Count(string(host), "AT+CMQTTSTOP\r"); n != 1 {
				t.Errorf("AT+CMQTTSTOP sent %d times, want once", n)
			}
			if !strings.Contains(string(host), "AT+CMQTTACCQ?\r") {
				t.Error("the restarted Modem did not ask AT+CMQTTACCQ?")
			}
		})
	}
}
