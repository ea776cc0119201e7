package compat

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// TestConnectWhileBrokerUnreachable: while the modem cannot reach the
// broker for a reason that may pass (no network here), a CONNECT is not
// answered with a CONNACK refusal, which ends most clients for good; the
// connection closes without CONNACK, and the client's next attempt works
// once the network is back.
func TestConnectWhileBrokerUnreachable(t *testing.T) {
	for _, model := range []simcom.Model{simcom.A7600, simcom.SIM7600} {
		t.Run(model.String(), func(t *testing.T) {
			r := newRig(t, modemsim.EmbeddedOptions{}, model)
			addr := gateway(t, r)
			r.sim.NoNetwork()
			for _, v := range []struct {
				name    string
				connect []byte
			}{
				{"MQTT 3.1.1", encode311(connect311("unreachable-311", 30))},
				{"MQTT 5", encode5(connect5("unreachable-5", nil))},
			} {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				_ = conn.SetDeadline(time.Now().Add(waitTimeout))
				if _, err := conn.Write(v.connect); err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(conn)
				conn.Close()
				if err != nil || len(got) != 0 {
					t.Errorf("%s: read % x, %v; want the connection closed without CONNACK", v.name, got, err)
				}
			}
			r.sim.RestoreNetwork()
			c := localClient(t, addr, "unreachable-after", nil)
			waitToken(t, c.Connect(), "connect once the network is back")
			c.Disconnect(250)
		})
	}
}
