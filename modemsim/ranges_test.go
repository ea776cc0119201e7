package modemsim

import (
	"strconv"
	"strings"
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// exchange is one command line and its exact answer; data, when set, is
// written after the answer (a prompt) and then more is expected.
type exchange struct {
	cmd, answer string
	data, more  string
}

func runExchanges(t *testing.T, h *atHost, xs []exchange) {
	t.Helper()
	for _, x := range xs {
		h.cmd(x.cmd, x.answer)
		if x.data != "" {
			h.send(x.data)
			h.expect(x.more)
		}
	}
}

const (
	ok    = "\r\nOK\r\n"
	erro  = "\r\nERROR\r\n"
	promp = "\r\n>"
)

func codeErr(name string, idx, code int) string {
	return "\r\n" + name + ": " + strconv.Itoa(idx) + "," + strconv.Itoa(code) + "\r\n" + erro
}

// TestBeforeStart: before AT+CMQTTSTART the read and write forms of every
// MQTT command answer ERROR at once (the manual's note in 2.1.1).
func TestBeforeStart(t *testing.T) {
	for _, model := range []simcom.Model{simcom.A7600, simcom.SIM7600} {
		t.Run(model.String(), func(t *testing.T) {
			s, h, _ := startFake(t, Config{Model: model})
			for _, c := range []string{
				`AT+CMQTTACCQ=0,"a"`, "AT+CMQTTACCQ?", "AT+CMQTTREL=0", "AT+CMQTTREL?",
				"AT+CMQTTSSLCFG=0,0", "AT+CMQTTSSLCFG?", "AT+CMQTTWILLTOPIC=0,5", "AT+CMQTTWILLMSG=0,5,0",
				`AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",60,1`, "AT+CMQTTCONNECT?", "AT+CMQTTDISC=0,60",
				"AT+CMQTTDISC?", "AT+CMQTTTOPIC=0,5", "AT+CMQTTPAYLOAD=0,5", "AT+CMQTTPUB=0,0,60",
				"AT+CMQTTSUBTOPIC=0,5,0", "AT+CMQTTSUB=0", "AT+CMQTTSUB=0,5,0", "AT+CMQTTUNSUBTOPIC=0,5",
				"AT+CMQTTUNSUB=0,0", `AT+CMQTTCFG="checkUTF8",0,0`, "AT+CMQTTCFG?", "AT+CMQTTSTOP",
			} {
				h.cmd(c, erro)
			}
			h.quiet(s)
		})
	}
}

// TestParameterRanges checks the limits of docs/architecture.md, The two model
// families, on both models: the last value inside a range is accepted, the
// first outside is ERROR, and state errors give the manuals' result codes.
func TestParameterRanges(t *testing.T) {
	id := func(n int) string { return `"` + strings.Repeat("c", n) + `"` }
	setup := []exchange{
		// ACCQ
		{cmd: `AT+CMQTTACCQ=2,"a"`, answer: erro},
		{cmd: `AT+CMQTTACCQ=0,""`, answer: erro},
		{cmd: `AT+CMQTTACCQ=0,a`, answer: erro},
		{cmd: `AT+CMQTTACCQ=0,"a",2`, answer: erro},
		{cmd: `AT+CMQTTACCQ=0`, answer: erro},
		{cmd: `AT+CMQTTACCQ=0,"a",0,1`, answer: erro},
		{cmd: `AT+CMQTTACCQ=1,"b",1`, answer: ok},
		{cmd: `AT+CMQTTACCQ=1,"b",1`, answer: erro}, // index in use: bare ERROR
		{cmd: `AT+CMQTTACCQ?`, answer: "\r\n+CMQTTACCQ: 0,\"\",0\r\n+CMQTTACCQ: 1,\"b\",1\r\n" + ok},
		{cmd: `AT+CMQTTREL=1`, answer: ok},
		{cmd: `AT+CMQTTREL=1`, answer: codeErr("+CMQTTREL", 1, 20)},
		{cmd: `AT+CMQTTREL=2`, answer: erro},
		{cmd: `AT+CMQTTREL?`, answer: ok},
		// Input commands on an index not acquired: 20.
		{cmd: `AT+CMQTTWILLTOPIC=0,5`, answer: codeErr("+CMQTTWILLTOPIC", 0, 20)},
		{cmd: `AT+CMQTTTOPIC=1,5`, answer: codeErr("+CMQTTTOPIC", 1, 20)},
		{cmd: `AT+CMQTTPAYLOAD=0,5`, answer: codeErr("+CMQTTPAYLOAD", 0, 20)},
		{cmd: `AT+CMQTTSUBTOPIC=0,5,0`, answer: codeErr("+CMQTTSUBTOPIC", 0, 20)},
		{cmd: `AT+CMQTTUNSUBTOPIC=0,5`, answer: codeErr("+CMQTTUNSUBTOPIC", 0, 20)},
		{cmd: `AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",60,1`, answer: codeErr("+CMQTTCONNECT", 0, 20)},
		{cmd: `AT+CMQTTPUB=0,0,60`, answer: codeErr("+CMQTTPUB", 0, 20)},
		{cmd: `AT+CMQTTSUB=0`, answer: codeErr("+CMQTTSUB", 0, 20)},
		{cmd: `AT+CMQTTUNSUB=0,0`, answer: codeErr("+CMQTTUNSUB", 0, 20)},
		{cmd: `AT+CMQTTDISC=0,60`, answer: codeErr("+CMQTTDISC", 0, 20)},
		{cmd: `AT+CMQTTCFG="checkUTF8",0,0`, answer: erro},
	}
	// rest runs after the model's own part, which leaves index 0 acquired
	// as "client" with a publish topic set.
	rest := []exchange{
		// Topic and payload lengths.
		{cmd: `AT+CMQTTTOPIC=0,0`, answer: erro},
		{cmd: `AT+CMQTTTOPIC=0,1025`, answer: erro},
		{cmd: `AT+CMQTTTOPIC=0,x`, answer: erro},
		{cmd: `AT+CMQTTPAYLOAD=0,0`, answer: erro},
		{cmd: `AT+CMQTTPAYLOAD=0,10241`, answer: erro},
		{cmd: `AT+CMQTTWILLTOPIC=0,1025`, answer: erro},
		{cmd: `AT+CMQTTSUBTOPIC=0,1025,0`, answer: erro},
		{cmd: `AT+CMQTTSUBTOPIC=0,3,3`, answer: erro},
		{cmd: `AT+CMQTTUNSUBTOPIC=0,1025`, answer: erro},
		{cmd: `AT+CMQTTWILLMSG=0,1,3`, answer: erro},
		{cmd: `AT+CMQTTWILLMSG=0,0,0`, answer: erro},
		// PUB before CONNECT: no connection (11).
		{cmd: `AT+CMQTTPUB=0,0,60`, answer: codeErr("+CMQTTPUB", 0, 11)},
		{cmd: `AT+CMQTTPUB=0,3,60`, answer: erro},
		{cmd: `AT+CMQTTPUB=0,0,59`, answer: erro},
		{cmd: `AT+CMQTTPUB=0,0,181`, answer: erro},
		{cmd: `AT+CMQTTPUB=0,0,60,2`, answer: erro},
		{cmd: `AT+CMQTTPUB=0,0,60,0,2`, answer: erro},
		{cmd: `AT+CMQTTSUB=0,0`, answer: codeErr("+CMQTTSUB", 0, 11)},
		{cmd: `AT+CMQTTSUB=0,3,1`, answer: codeErr("+CMQTTSUB", 0, 11)},
		{cmd: `AT+CMQTTDISC=0,60`, answer: codeErr("+CMQTTDISC", 0, 11)},
		{cmd: `AT+CMQTTDISC=0,59`, answer: erro},
		{cmd: `AT+CMQTTDISC=0,181`, answer: erro},
		{cmd: `AT+CMQTTDISC?`, answer: "\r\n+CMQTTDISC: 0,1\r\n+CMQTTDISC: 1,1\r\n" + ok},
		// SSLCFG
		{cmd: `AT+CMQTTSSLCFG=0,10`, answer: erro},
		{cmd: `AT+CMQTTSSLCFG=2,0`, answer: erro},
		{cmd: `AT+CMQTTSSLCFG=0,9`, answer: ok},
		{cmd: `AT+CMQTTSSLCFG?`, answer: "\r\n+CMQTTSSLCFG: 0,9\r\n+CMQTTSSLCFG: 1,\r\n" + ok},
		// CONNECT parameters.
		{cmd: `AT+CMQTTCONNECT=0,"http://a.b.c:1883",60,1`, answer: erro},
		{cmd: `AT+CMQTTCONNECT=0,"tcp://ab",60,1`, answer: erro}, // 8 bytes
		{cmd: `AT+CMQTTCONNECT=0,"tcp://` + strings.Repeat("a", 251) + `",60,1`, answer: erro},
		{cmd: `AT+CMQTTCONNECT=0,tcp://a.b.c:1883,60,1`, answer: erro},
		{cmd: `AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",64801,1`, answer: erro},
		{cmd: `AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",60,2`, answer: erro},
		{cmd: `AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",60,1,""`, answer: erro},
		{cmd: `AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",60,1,"u",""`, answer: erro},
		{cmd: `AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",60,1,"` + strings.Repeat("u", 257) + `"`, answer: erro},
		{cmd: `AT+CMQTTCONNECT=0,"tcp://a.b.c:99999",60,1`, answer: erro},
		{cmd: `AT+CMQTTCONNECT?`, answer: "\r\n+CMQTTCONNECT: 0\r\n+CMQTTCONNECT: 1\r\n" + ok},
		{cmd: `AT+CMQTTCONNECT=0,"tcp://a.b.c",60,1,"` + strings.Repeat("u", 256) + `","p"`,
			answer: ok + "\r\n+CMQTTCONNECT: 0,0\r\n"},
		{cmd: `AT+CMQTTCONNECT=0,"tcp://a.b.c",60,1`, answer: codeErr("+CMQTTCONNECT", 0, 13)},
		{cmd: `AT+CMQTTCONNECT?`, answer: "\r\n+CMQTTCONNECT: 0,\"tcp://a.b.c\",60,1,\"" + strings.Repeat("u", 256) + "\",\"p\"\r\n+CMQTTCONNECT: 1\r\n" + ok},
		{cmd: `AT+CMQTTDISC?`, answer: "\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,1\r\n" + ok},
		{cmd: `AT+CMQTTREL=0`, answer: codeErr("+CMQTTREL", 0, 19)},
		{cmd: `AT+CMQTTSUB=0`, answer: codeErr("+CMQTTSUB", 0, 18)},
		{cmd: `AT+CMQTTUNSUB=0,0`, answer: codeErr("+CMQTTUNSUB", 0, 18)},
		{cmd: `AT+CMQTTPUB=0,1,60`, answer: ok + "\r\n+CMQTTPUB: 0,0\r\n"},
		{cmd: `AT+CMQTTPUB=0,1,60`, answer: codeErr("+CMQTTPUB", 0, 18)}, // the topic was cleared
		{cmd: `AT+CMQTTDISC=0`, answer: ok + "\r\n+CMQTTDISC: 0,0\r\n"},
		{cmd: `AT+CMQTTDISC=0,0`, answer: codeErr("+CMQTTDISC", 0, 11)},
		{cmd: `AT+CMQTTREL=0`, answer: ok},
		{cmd: `AT+CMQTTSTOP`, answer: ok + "\r\n+CMQTTSTOP: 0\r\n"},
		{cmd: `AT+CMQTTSTOP`, answer: erro},
	}
	for _, tc := range []struct {
		model simcom.Model
		own   []exchange
	}{
		{simcom.A7600, []exchange{
			{cmd: `AT+CMQTTACCQ=0,` + id(129), answer: erro},
			{cmd: `AT+CMQTTACCQ=0,` + id(128), answer: ok},
			{cmd: `AT+CMQTTWILLMSG=0,1025,0`, answer: erro},
			{cmd: `AT+CMQTTWILLMSG=0,1024,2`, answer: promp, data: strings.Repeat("w", 1024), more: ok},
			{cmd: `AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",0,1`, answer: erro},
			{cmd: `AT+CMQTTCFG="optimeout",0,19`, answer: erro},
			{cmd: `AT+CMQTTCFG="optimeout",0,121`, answer: erro},
			{cmd: `AT+CMQTTCFG="optimeout",0,20`, answer: ok},
			{cmd: `AT+CMQTTCFG="checkUTF8",0,2`, answer: erro},
			{cmd: `AT+CMQTTCFG="checkutf8",0,0`, answer: ok},
			{cmd: `AT+CMQTTCFG?`, answer: "\r\n+CMQTTCFG: 0,0,20\r\n+CMQTTCFG: 1,1,120\r\n" + ok},
			{cmd: `AT+CMQTTREL=0`, answer: ok},
			{cmd: `AT+CMQTTACCQ=0,"keep1"`, answer: ok},
			{cmd: `AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",1,1`, answer: ok + "\r\n+CMQTTCONNECT: 0,0\r\n"},
			{cmd: `AT+CMQTTDISC=0,60`, answer: ok + "\r\n+CMQTTDISC: 0,0\r\n"},
			{cmd: `AT+CMQTTREL=0`, answer: ok},
			{cmd: `AT+CMQTTACCQ=0,"client"`, answer: ok},
			{cmd: `AT+CMQTTTOPIC=0,1`, answer: promp, data: "t", more: ok},
		}},
		{simcom.SIM7600, []exchange{
			{cmd: `AT+CMQTTACCQ=0,` + id(24), answer: erro},
			{cmd: `AT+CMQTTACCQ=0,` + id(23), answer: ok},
			{cmd: `AT+CMQTTWILLMSG=0,10241,0`, answer: erro},
			{cmd: `AT+CMQTTWILLMSG=0,10240,2`, answer: promp, data: strings.Repeat("w", 10240), more: ok},
			{cmd: `AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",59,1`, answer: erro},
			{cmd: `AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",1,1`, answer: erro},
			{cmd: `AT+CMQTTCFG="optimeout",0,20`, answer: erro},
			{cmd: `AT+CMQTTCFG="checkUTF8",0,0`, answer: ok},
			{cmd: `AT+CMQTTCFG?`, answer: "\r\n+CMQTTCFG: 0,0\r\n+CMQTTCFG: 1,1\r\n" + ok},
			{cmd: `AT+CMQTTREL=0`, answer: ok},
			{cmd: `AT+CMQTTACCQ=0,"client"`, answer: ok},
			{cmd: `AT+CMQTTTOPIC=0,1`, answer: promp, data: "t", more: ok},
		}},
	} {
		t.Run(tc.model.String(), func(t *testing.T) {
			s, h, _ := startFake(t, Config{Model: tc.model})
			h.start()
			runExchanges(t, h, setup)
			runExchanges(t, h, tc.own)
			runExchanges(t, h, rest)
			h.quiet(s)
		})
	}
}
