package modemsim

import (
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

const payload60 = "012345678901234567890123456789012345678901234567890123456789"

// okThen is an answer of OK and a result line, in the order of the model:
// the result first when resultFirst (SIM7600 firmware that does so).
func okThen(resultFirst bool, result string) string {
	if resultFirst {
		return "\r\n" + result + "\r\n\r\nOK\r\n"
	}
	return "\r\nOK\r\n\r\n" + result + "\r\n"
}

// exampleWill sets the will of the manuals' examples: topic "0123456789",
// message "qwerty" at QoS 1.
func exampleWill(h *atHost) {
	h.t.Helper()
	h.data("AT+CMQTTWILLTOPIC=0,10", "0123456789", "\r\nOK\r\n")
	h.data("AT+CMQTTWILLMSG=0,6,1", "qwerty", "\r\nOK\r\n")
}

// exampleEnd is the end of every example of the manuals: disconnect,
// release index 0, stop the service.
func exampleEnd(h *atHost, resultFirst bool) {
	h.t.Helper()
	h.cmd("AT+CMQTTDISC=0,120", okThen(resultFirst, "+CMQTTDISC: 0,0"))
	h.cmd("AT+CMQTTREL=0", "\r\nOK\r\n")
	h.cmd("AT+CMQTTSTOP", okThen(resultFirst, "+CMQTTSTOP: 0"))
}

// TestExampleSession31 drives the manual's example 3.1 (MQTT without
// SSL/TLS) as raw AT text for both models against an embedded broker and
// checks every byte of the answers.
func TestExampleSession31(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"A7600", Config{Model: simcom.A7600}},
		{"SIM7600", Config{Model: simcom.SIM7600}},
		{"SIM7600-result-first", Config{Model: simcom.SIM7600, ResultBeforeOK: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startEmbedded(t, EmbeddedOptions{})
			cfg := tc.cfg
			cfg.Broker = b.URL()
			cfg.Echo = EchoOff
			s, h := startSim(t, cfg)
			resultFirst := tc.cfg.ResultBeforeOK
			h.cmd("AT+CSQ", "\r\n+CSQ: 23,0\r\n\r\nOK\r\n")
			h.cmd("AT+CREG?", "\r\n+CREG: 0,1\r\n\r\nOK\r\n")
			h.cmd("AT+CGREG?", "\r\n+CGREG: 0,1\r\n\r\nOK\r\n")
			h.cmd(`AT+CGSOCKCONT=1,"IP","CMNET"`, "\r\nOK\r\n")
			h.cmd("AT+CGPADDR", "\r\n+CGPADDR: 1,10.49.14.68\r\n\r\nOK\r\n")

			h.cmd("AT+CMQTTSTART", okThen(resultFirst, "+CMQTTSTART: 0"))
			h.cmd(`AT+CMQTTACCQ=0,"client test0"`, "\r\nOK\r\n")
			exampleWill(h)
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://test.mosquitto.org:1883",60,1`, "\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n")
			h.data("AT+CMQTTSUB=0,9,1", "simcommsg", "\r\nOK\r\n\r\n+CMQTTSUB: 0,0\r\n")
			h.data("AT+CMQTTTOPIC=0,9", "simcommsg", "\r\nOK\r\n")
			h.data("AT+CMQTTPAYLOAD=0,60", payload60, "\r\nOK\r\n")
			h.send("AT+CMQTTPUB=0,1,60\r")
			h.expect("\r\nOK\r\n")
			h.expectAnyOrder("\r\n+CMQTTPUB: 0,0\r\n",
				"\r\n+CMQTTRXSTART: 0,9,60\r\n+CMQTTRXTOPIC: 0,9\r\nsimcommsg\r\n+CMQTTRXPAYLOAD: 0,60\r\n"+payload60+"\r\n+CMQTTRXEND: 0\r\n")
			h.data("AT+CMQTTSUBTOPIC=0,9,1", "123456789", "\r\nOK\r\n")
			h.cmd("AT+CMQTTSUB=0", "\r\nOK\r\n\r\n+CMQTTSUB: 0,0\r\n")
			h.data("AT+CMQTTUNSUB=0,9,0", "simcommsg", "\r\nOK\r\n\r\n+CMQTTUNSUB: 0,0\r\n")
			exampleEnd(h, resultFirst)
			h.quiet(s)
		})
	}
}

// TestExampleSession35 is example 3.5: the UTF-8 check off, a message
// without payload (RXSTART 0,9,0 and no RXPAYLOAD). The manual's topic is
// GBK text, which an MQTT broker refuses (topics must be UTF-8), so the
// binary part here is a payload, opaque to the broker but refused by the
// modem while the check is on; the topic is 9 bytes of UTF-8.
func TestExampleSession35(t *testing.T) {
	for _, model := range []simcom.Model{simcom.A7600, simcom.SIM7600} {
		t.Run(model.String(), func(t *testing.T) {
			b := startEmbedded(t, EmbeddedOptions{})
			s, h := startSim(t, Config{Model: model, Broker: b.URL(), Echo: EchoOff})
			topic := "\u9f22\u9f22\u9f22"          // 9 bytes of UTF-8
			binary := "\xb6\xf4\xb6\xf4\r\nOK\r\n" // not UTF-8
			h.cmd("AT+CMQTTSTART", "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n")
			h.cmd(`AT+CMQTTACCQ=0,"client test0"`, "\r\nOK\r\n")
			h.data("AT+CMQTTPAYLOAD=0,10", binary, "\r\n+CMQTTPAYLOAD: 0,2\r\n\r\nERROR\r\n")
			h.cmd(`AT+CMQTTCFG="checkUTF8",0,0`, "\r\nOK\r\n")
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://test.mosquitto.org:1883",60,1`, "\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n")
			h.data("AT+CMQTTSUB=0,9,1", topic, "\r\nOK\r\n\r\n+CMQTTSUB: 0,0\r\n")
			h.data("AT+CMQTTTOPIC=0,9", topic, "\r\nOK\r\n")
			h.send("AT+CMQTTPUB=0,1,60\r")
			h.expect("\r\nOK\r\n")
			h.expectAnyOrder("\r\n+CMQTTPUB: 0,0\r\n",
				"\r\n+CMQTTRXSTART: 0,9,0\r\n+CMQTTRXTOPIC: 0,9\r\n"+topic+"\r\n+CMQTTRXEND: 0\r\n")
			h.data("AT+CMQTTTOPIC=0,9", topic, "\r\nOK\r\n")
			h.data("AT+CMQTTPAYLOAD=0,10", binary, "\r\nOK\r\n")
			h.send("AT+CMQTTPUB=0,0,60\r")
			h.expect("\r\nOK\r\n")
			h.expectAnyOrder("\r\n+CMQTTPUB: 0,0\r\n",
				"\r\n+CMQTTRXSTART: 0,9,10\r\n+CMQTTRXTOPIC: 0,9\r\n"+topic+"\r\n+CMQTTRXPAYLOAD: 0,10\r\n"+binary+"\r\n+CMQTTRXEND: 0\r\n")
			exampleEnd(h, false)
			h.quiet(s)
		})
	}
}
