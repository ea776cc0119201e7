package modemsim

import (
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// TestNoUncleanDisconnectCommand: neither model family has a command that
// ends one client's broker connection without a clean MQTT DISCONNECT.
// AT+CMQTTREL on a connected index is refused with 19 (client is used; the
// manuals: REL "must be called after AT+CMQTTDISC"); the connection stays
// up and no will is published. (AT+CMQTTSTOP fails too while a client is
// acquired: ranges_test.go.) So compat publishes a local client's will on
// its behalf: TOPIC, PAYLOAD and PUB with the will's QoS, then DISC and
// REL, which the broker sees as one message and a clean DISCONNECT (the
// will set on the modem is discarded, not published a second time).
func TestNoUncleanDisconnectCommand(t *testing.T) {
	for _, model := range []simcom.Model{simcom.A7600, simcom.SIM7600} {
		t.Run(model.String(), func(t *testing.T) {
			b := startEmbedded(t, EmbeddedOptions{})
			p := newPeer(t, b.Addr())
			p.subscribe(t, "will/#")
			s, h := startSim(t, Config{Model: model, Broker: b.URL(), Echo: EchoOff})
			h.cmd("AT+CMQTTSTART", ok+"\r\n+CMQTTSTART: 0\r\n")
			h.cmd(`AT+CMQTTACCQ=0,"will-onbehalf"`, ok)
			h.cmd("AT+CMQTTWILLTOPIC=0,6", promp)
			h.send("will/x")
			h.expect(ok)
			h.cmd("AT+CMQTTWILLMSG=0,4,1", promp)
			h.send("gone")
			h.expect(ok)
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://broker.invalid",60,1`, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")

			h.cmd("AT+CMQTTREL=0", codeErr("+CMQTTREL", 0, 19))
			h.cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,1\r\n"+ok)

			// The will, published on the client's behalf.
			h.cmd("AT+CMQTTTOPIC=0,6", promp)
			h.send("will/x")
			h.expect(ok)
			h.cmd("AT+CMQTTPAYLOAD=0,4", promp)
			h.send("gone")
			h.expect(ok)
			h.cmd("AT+CMQTTPUB=0,1,60", ok+"\r\n+CMQTTPUB: 0,0\r\n")
			if m := p.next(t); m.topic != "will/x" || m.payload != "gone" {
				t.Fatalf("peer got %q %q, want the will", m.topic, m.payload)
			}
			h.cmd("AT+CMQTTDISC=0,60", ok+"\r\n+CMQTTDISC: 0,0\r\n")
			h.cmd("AT+CMQTTREL=0", ok)
			h.cmd("AT+CMQTTSTOP", ok+"\r\n+CMQTTSTOP: 0\r\n")
			p.publish(t, "will/marker", 1, false, []byte("after"))
			if m := p.next(t); m.topic != "will/marker" {
				t.Errorf("peer got %q %q after the clean DISC, want only the marker (the broker discards the will)", m.topic, m.payload)
			}
			h.quiet(s)
		})
	}
}
