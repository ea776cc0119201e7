package compat

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// wantModemIdle checks, right after the application closed the modem,
// that the emulated modem had answered the DISC of the connection and
// stopped the MQTT service (no client index left acquired): the
// application did not close the modem with an answer in flight, which the
// next program on the port would read as its own.
func wantModemIdle(t *testing.T, sim *modemsim.Sim) {
	t.Helper()
	var out strings.Builder
	for _, e := range sim.Transcript() {
		if e.Dir == modemsim.ToHost {
			out.Write(e.Data)
		}
	}
	s := out.String()
	disc, stop := strings.LastIndex(s, "+CMQTTDISC: 0,0"), strings.LastIndex(s, "+CMQTTSTOP: 0")
	if disc < 0 || stop < disc {
		t.Errorf("when the modem was closed it had not answered DISC and STOP (index left acquired, or an answer in flight); modem output ends with:\n%q",
			s[max(0, len(s)-300):])
	}
}

// TestCloseLeavesModemClean: after a compat connection ends cleanly (the
// client's Disconnect returned), closing the modem leaves no client index
// acquired and no answer in flight, for each of the paho clients as the
// examples use them.
func TestCloseLeavesModemClean(t *testing.T) {
	clients := []struct {
		name string
		run  func(t *testing.T, r *rig)
	}{
		{"paho.mqtt.golang Disconnect (examples/paho-migration)", func(t *testing.T, r *rig) {
			o := mqtt.NewClientOptions().AddBroker(r.broker.URL()).SetClientID("close-paho").SetAutoReconnect(true)
			o.SetCustomOpenConnectionFn(OpenConnectionFn(r.modem, WithLogger(testLogger())))
			c := mqtt.NewClient(o)
			waitToken(t, c.Connect(), "connect")
			waitToken(t, c.Subscribe("close/#", 1, nil), "subscribe")
			waitToken(t, c.Publish("close/x", 1, false, "x"), "publish")
			c.Disconnect(1000)
		}},
		{"autopaho Disconnect (examples/autopaho)", func(t *testing.T, r *rig) {
			u, _ := url.Parse(r.broker.URL())
			ctx := testContext(t)
			cm, err := autopaho.NewConnection(ctx, autopaho.ClientConfig{
				ServerUrls:        []*url.URL{u},
				KeepAlive:         60,
				AttemptConnection: AttemptConnectionFn(r.modem, WithLogger(testLogger())),
				ClientConfig:      paho.ClientConfig{ClientID: "close-autopaho"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := cm.AwaitConnection(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := cm.Publish(ctx, &paho.Publish{Topic: "close/y", QoS: 1, Payload: []byte("y")}); err != nil {
				t.Fatal(err)
			}
			dctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if err := cm.Disconnect(dctx); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, model := range []simcom.Model{simcom.A7600, simcom.SIM7600} {
		for _, c := range clients {
			t.Run(model.String()+"/"+c.name, func(t *testing.T) {
				r := newRig(t, modemsim.EmbeddedOptions{}, model)
				c.run(t, r)
				_ = r.modem.Close()
				wantModemIdle(t, r.sim)
			})
		}
	}
}
