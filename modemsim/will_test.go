package modemsim

import (
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// TestWillOnFaults: every fault that drops the broker connection drops it
// without an MQTT DISCONNECT, so the real broker publishes the will that
// AT+CMQTTWILLTOPIC/AT+CMQTTWILLMSG set.
func TestWillOnFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(s *Sim) error
		urc   string
	}{
		{"DropConnection", func(s *Sim) error { return s.DropConnection(0, CauseSocketReset) }, "\r\n+CMQTTCONNLOST: 0,2\r\n"},
		{"KeepaliveFail", func(s *Sim) error { return s.KeepaliveFail(0) }, "\r\n+CMQTTPING: 0,17\r\n"},
		{"NoNetwork", func(s *Sim) error { s.NoNetwork(); return nil }, "\r\n+CMQTTNONET\r\n"},
		{"Reboot", func(s *Sim) error { s.Reboot(); return nil }, "\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startEmbedded(t, EmbeddedOptions{})
			p := newPeer(t, b.Addr())
			p.subscribe(t, "will/#")
			s, h := startSim(t, Config{Model: simcom.SIM7600, Broker: b.URL(), Echo: EchoOff})
			h.cmd("AT+CMQTTSTART", ok+"\r\n+CMQTTSTART: 0\r\n")
			h.cmd(`AT+CMQTTACCQ=0,"will-`+tc.name+`"`, ok)
			h.cmd("AT+CMQTTWILLTOPIC=0,6", promp)
			h.send("will/x")
			h.expect(ok)
			h.cmd("AT+CMQTTWILLMSG=0,4,1", promp)
			h.send("gone")
			h.expect(ok)
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://broker.invalid",60,1`, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
			if err := tc.fault(s); err != nil {
				t.Fatal(err)
			}
			h.expect(tc.urc)
			if m := p.next(t); m.topic != "will/x" || m.payload != "gone" {
				t.Errorf("peer got %q %q, want the will", m.topic, m.payload)
			}
			h.quiet(s)
		})
	}
}
