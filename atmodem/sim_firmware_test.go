package atmodem_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// The firmware behaviours of issue 12 through the emulator, which learned
// each as a fault or a mode (modemsim/dying.go, boot.go, faults.go): what the
// session writes is read back from the emulator's transcript. The same
// behaviours on the scripted modem, byte for byte: session_firmware_test.go.

// commandsSent returns the command lines the host wrote, in order.
func commandsSent(sim *modemsim.Sim) []string {
	var b strings.Builder
	for _, e := range sim.Transcript() {
		if e.Dir == modemsim.ToModem {
			b.Write(e.Data)
		}
	}
	var lines []string
	for _, l := range strings.Split(b.String(), "\r") {
		if strings.HasPrefix(l, "AT") {
			lines = append(lines, l)
		}
	}
	return lines
}

// after returns the lines after the last one starting with mark.
func after(lines []string, mark string) []string {
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], mark) {
			return lines[i+1:]
		}
	}
	return nil
}

func firmwareOpts() atmodem.ConnectOptions {
	return atmodem.ConnectOptions{Broker: "mqtt://broker.example.com", ClientID: "fw"}
}

// TestSimDyingPublish: issue 12 point 1 through the emulator: result 6 is
// an unknown fate (the message is kept), the CONNLOST follows as an event,
// and the session connects again.
func TestSimDyingPublish(t *testing.T) {
	for _, model := range []atmodem.Model{atmodem.A7600, atmodem.SIM7600} {
		t.Run(model.String(), func(t *testing.T) {
			sim, _, s := simSession(t, modemsim.Config{Model: model})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.Connect(ctx, firmwareOpts()); err != nil {
				t.Fatal(err)
			}
			if err := sim.DyingLinkOnPublish(0, modemsim.DyingLink{}); err != nil {
				t.Fatal(err)
			}
			err := s.Publish(ctx, atmodem.Publish{Topic: "a", Payload: []byte("x"), QoS: 1})
			var re *atmodem.ResultError
			if !errors.As(err, &re) || re.Code != atmodem.CodeMessageReceiveFail || atmodem.FateOf(err) != atmodem.FateUnknown {
				t.Fatalf("publish: %v, want result 6 with an unknown fate", err)
			}
			if ev := waitEvent(ctx, t, s); ev.Kind != atmodem.EventConnLost {
				t.Fatalf("event %+v, want CONNLOST", ev)
			}
			if err := s.Connect(ctx, firmwareOpts()); err != nil {
				t.Fatal(err)
			}
			if err := s.Publish(ctx, atmodem.Publish{Topic: "a", Payload: []byte("x"), QoS: 1, Dup: true}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSimNoNetRestartsService: issue 12 point 2 through the emulator, whose
// firmware stops the service at +CMQTTNONET and still lists the client in
// AT+CMQTTACCQ?: the first command of the next connect is AT+CMQTTSTART,
// never an AT+CMQTTACCQ= loop.
func TestSimNoNetRestartsService(t *testing.T) {
	for _, model := range []atmodem.Model{atmodem.A7600, atmodem.SIM7600} {
		t.Run(model.String(), func(t *testing.T) {
			sim, _, s := simSession(t, modemsim.Config{Model: model, NoNetListsClients: true})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.Connect(ctx, firmwareOpts()); err != nil {
				t.Fatal(err)
			}
			sim.NoNetwork()
			if ev := waitEvent(ctx, t, s); ev.Kind != atmodem.EventNoNetwork {
				t.Fatalf("event %+v", ev)
			}
			for range 3 {
				if err := s.Connect(ctx, firmwareOpts()); err == nil {
					t.Fatal("connected without a network")
				}
			}
			sim.RestoreNetwork()
			if err := s.Connect(ctx, firmwareOpts()); err != nil {
				t.Fatal(err)
			}
			sent := commandsSent(sim)
			sinceFirst := sent[indexOf(sent, "AT+CMQTTCONNECT")+1:]
			if len(sinceFirst) == 0 || sinceFirst[0] != "AT+CMQTTSTART" {
				t.Fatalf("after +CMQTTNONET the session wrote %q first, want AT+CMQTTSTART", sinceFirst)
			}
			if n := countPrefix(sinceFirst, "AT+CMQTTACCQ="); n > 1 {
				t.Fatalf("AT+CMQTTACCQ= written %d times after +CMQTTNONET: %q", n, sinceFirst)
			}
		})
	}
}

func indexOf(lines []string, prefix string) int {
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return i
		}
	}
	return -1
}

func countPrefix(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// TestSimPingDisconnectsFirst: issue 12 point 3 through the emulator,
// whose firmware keeps the index connected after +CMQTTPING and answers 13
// to a CONNECT on it: the session disconnects first.
func TestSimPingDisconnectsFirst(t *testing.T) {
	for _, model := range []atmodem.Model{atmodem.A7600, atmodem.SIM7600} {
		t.Run(model.String(), func(t *testing.T) {
			sim, _, s := simSession(t, modemsim.Config{Model: model})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.Connect(ctx, firmwareOpts()); err != nil {
				t.Fatal(err)
			}
			if err := sim.KeepaliveFail(0); err != nil {
				t.Fatal(err)
			}
			if ev := waitEvent(ctx, t, s); ev.Kind != atmodem.EventPingFail {
				t.Fatalf("event %+v", ev)
			}
			if err := s.Connect(ctx, firmwareOpts()); err != nil {
				t.Fatal(err)
			}
			rest := after(commandsSent(sim), "AT+CMQTTCONNECT")
			last := after(commandsSent(sim)[:len(commandsSent(sim))-len(rest)-1], "AT+CMQTTCONNECT")
			if indexOf(last, "AT+CMQTTDISC=0") < 0 {
				t.Fatalf("between the two CONNECTs the session wrote %q: no AT+CMQTTDISC", last)
			}
		})
	}
}

// TestSimBootingAtStart: issue 12 point 4 through the emulator: the modem
// is still booting when the program starts; the first command gets no
// answer, the boot burst comes, and the connect succeeds.
func TestSimBootingAtStart(t *testing.T) {
	for _, model := range []atmodem.Model{atmodem.A7600, atmodem.SIM7600} {
		t.Run(model.String(), func(t *testing.T) {
			broker, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer broker.Close()
			sim, err := modemsim.New(modemsim.Config{Model: model, Broker: broker.URL(),
				Booting: &modemsim.Booting{Lines: 1}, Boot: modemsim.BootA7672})
			if err != nil {
				t.Fatal(err)
			}
			defer sim.Close()
			m := atmodem.New(sim.Conn()) // AutoDetect: the first real command is the model query
			defer m.Close()
			s, err := m.Session(0)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.Connect(ctx, firmwareOpts()); err != nil {
				t.Fatal(err)
			}
			if m.Model() != model {
				t.Fatalf("model %v, want %v", m.Model(), model)
			}
		})
	}
}

// TestSimProtocolLevel: issue 12 point 5 through the emulator, which
// connects its broker link with the protocol level the firmware was told:
// 4 (MQTT 3.1.1) by default, 3 on request, the firmware's default (3.1)
// when it refuses the selection.
func TestSimProtocolLevel(t *testing.T) {
	for _, model := range []atmodem.Model{atmodem.A7600, atmodem.SIM7600} {
		for _, tc := range []struct {
			name    string
			refuse  bool
			version int
			want    byte
		}{
			{"default", false, 0, 4},
			{"3.1 asked", false, 3, 3},
			{"refused", true, 0, 3},
		} {
			t.Run(model.String()+"/"+tc.name, func(t *testing.T) {
				sim, _, s := simSession(t, modemsim.Config{Model: model, RefuseVersionSelection: tc.refuse})
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				opts := firmwareOpts()
				opts.ProtocolVersion = tc.version
				if err := s.Connect(ctx, opts); err != nil {
					t.Fatal(err)
				}
				if got := sim.ProtocolLevel(0); got != tc.want {
					t.Fatalf("the emulator connected with protocol level %d, want %d", got, tc.want)
				}
			})
		}
	}
}

// TestSimStopWithClientAcquired: issue 12 point 7 through the emulator:
// with a client still acquired, AT+CMQTTSTOP answers as real firmware does
// (SIM7600 "+CMQTTSTOP: 21" / ERROR, A7600 "+CMQTTSTOP: 19" / ERROR). The
// engine reports the result code (refused: not sent again) once; and a
// session's Disconnect that sees another client acquired leaves the
// service without a STOP.
func TestSimStopWithClientAcquired(t *testing.T) {
	for _, tc := range []struct {
		model atmodem.Model
		code  atmodem.ResultCode
	}{{atmodem.A7600, atmodem.CodeClientUsed}, {atmodem.SIM7600, atmodem.CodeClientNotReleased}} {
		t.Run(tc.model.String(), func(t *testing.T) {
			sim, m, s := simSession(t, modemsim.Config{Model: tc.model})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.Connect(ctx, firmwareOpts()); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Command(ctx, `AT+CMQTTACCQ=1,"other"`); err != nil {
				t.Fatal(err)
			}
			if err := s.Disconnect(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if n := countPrefix(commandsSent(sim), "AT+CMQTTSTOP"); n != 0 {
				t.Fatalf("STOP sent %d times with another client acquired", n)
			}
			err := m.StopService(ctx)
			var re *atmodem.ResultError
			if !errors.As(err, &re) || re.Code != tc.code || atmodem.FateOf(err) != atmodem.FateRefused {
				t.Fatalf("STOP with a client acquired: %v, want result %d (refused)", err, tc.code)
			}
			if n := countPrefix(commandsSent(sim), "AT+CMQTTSTOP"); n != 1 {
				t.Fatalf("STOP sent %d times, want once", n)
			}
		})
	}
}
