package modemsim

import (
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// TestProtocolSelection: A76xx firmware connects with MQTT 3.1 unless the
// host selects 3.1.1 with AT+CMQTTCFG="version",<idx>,4 (A7600 family) or
// a 4th AT+CMQTTACCQ field (both families); firmware without the selection
// answers ERROR to both and connects with its default. The broker sees
// the level ("MQIsdp" 3 or "MQTT" 4); ProtocolLevel and the transcript
// record it.
func TestProtocolSelection(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		setup []exchange
		level byte
	}{
		{"A7600 default", Config{Model: simcom.A7600}, []exchange{
			{cmd: `AT+CMQTTACCQ=0,"v"`, answer: ok}}, 3},
		{"A7600 CFG version 4", Config{Model: simcom.A7600}, []exchange{
			{cmd: `AT+CMQTTACCQ=0,"v"`, answer: ok},
			{cmd: `AT+CMQTTCFG="version",0,4`, answer: ok}}, 4},
		{"A7600 CFG version 3", Config{Model: simcom.A7600}, []exchange{
			{cmd: `AT+CMQTTACCQ=0,"v",0,4`, answer: ok},
			{cmd: `AT+CMQTTCFG="version",0,3`, answer: ok}}, 3},
		{"A7600 ACCQ field", Config{Model: simcom.A7600}, []exchange{
			{cmd: `AT+CMQTTACCQ=0,"v",0,4`, answer: ok}}, 4},
		{"SIM7600 default", Config{Model: simcom.SIM7600}, []exchange{
			{cmd: `AT+CMQTTACCQ=0,"v"`, answer: ok}}, 3},
		{"SIM7600 ACCQ field", Config{Model: simcom.SIM7600}, []exchange{
			{cmd: `AT+CMQTTACCQ=0,"v",0,4`, answer: ok},
			{cmd: `AT+CMQTTCFG="version",0,4`, answer: erro}}, 4},
		{"default 3.1.1", Config{Model: simcom.A7600, DefaultProtocolLevel: 4}, []exchange{
			{cmd: `AT+CMQTTACCQ=0,"v"`, answer: ok}}, 4},
		{"out of range", Config{Model: simcom.A7600}, []exchange{
			{cmd: `AT+CMQTTACCQ=0,"v",0,5`, answer: erro},
			{cmd: `AT+CMQTTACCQ=0,"v",0,4,1`, answer: erro},
			{cmd: `AT+CMQTTACCQ=0,"v"`, answer: ok},
			{cmd: `AT+CMQTTCFG="version",0,5`, answer: erro},
			{cmd: `AT+CMQTTCFG="version",1,4`, answer: erro}}, 3}, // index 1 is not acquired
		{"refused", Config{Model: simcom.A7600, RefuseVersionSelection: true}, []exchange{
			{cmd: `AT+CMQTTACCQ=0,"v",0,4`, answer: erro},
			{cmd: `AT+CMQTTACCQ=0,"v",0`, answer: ok},
			{cmd: `AT+CMQTTCFG="version",0,4`, answer: erro}}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startEmbedded(t, EmbeddedOptions{})
			obs := observe(t, b)
			cfg := tc.cfg
			cfg.Broker, cfg.Echo = b.URL(), EchoOff
			s, h := startSim(t, cfg)
			h.start()
			runExchanges(t, h, tc.setup)
			if got := s.ProtocolLevel(0); got != 0 {
				t.Errorf("ProtocolLevel before CONNECT = %d", got)
			}
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example",60,1`, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
			level, name := obs.lastLevel(t)
			wantName := map[byte]string{3: "MQIsdp", 4: "MQTT"}[tc.level]
			if level != tc.level || name != wantName {
				t.Errorf("broker saw %q level %d, want %q level %d", name, level, wantName, tc.level)
			}
			if got := s.ProtocolLevel(0); got != tc.level {
				t.Errorf("ProtocolLevel(0) = %d, want %d", got, tc.level)
			}
			want := map[byte]string{
				3: "index 0 connected to the broker with MQTT 3.1 (protocol level 3)",
				4: "index 0 connected to the broker with MQTT 3.1.1 (protocol level 4)",
			}[tc.level]
			found := false
			for _, e := range s.Transcript() {
				found = found || (e.Dir == Backend && string(e.Data) == want)
			}
			if !found {
				t.Errorf("no transcript note %q", want)
			}
			// The level is kept for the index until it is acquired again.
			h.cmd("AT+CMQTTDISC=0,60", ok+"\r\n+CMQTTDISC: 0,0\r\n")
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example",60,1`, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
			if level, _ := obs.lastLevel(t); level != tc.level {
				t.Errorf("second CONNECT: level %d, want %d", level, tc.level)
			}
			h.quiet(s)
		})
	}
}

// TestProtocolRefusedByBroker: a broker that speaks only MQTT 3.1.1
// refuses the firmware's default MQTT 3.1 with CONNACK 1, result 27
// (connection refused: unaccepted protocol version); selecting 3.1.1 gets
// through.
func TestProtocolRefusedByBroker(t *testing.T) {
	b := startEmbedded(t, EmbeddedOptions{MinProtocolLevel: 4})
	s, h := startSim(t, Config{Model: simcom.A7600, Broker: b.URL(), Echo: EchoOff})
	h.start()
	h.cmd(`AT+CMQTTACCQ=0,"v"`, ok)
	h.cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example",60,1`, ok+"\r\n+CMQTTCONNECT: 0,27\r\n")
	if got := s.ProtocolLevel(0); got != 0 {
		t.Errorf("ProtocolLevel after a refused CONNECT = %d, want 0", got)
	}
	h.cmd(`AT+CMQTTCFG="version",0,4`, ok)
	h.cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example",60,1`, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
	if got := s.ProtocolLevel(0); got != 4 {
		t.Errorf("ProtocolLevel = %d, want 4", got)
	}
	h.quiet(s)
}

// TestVersionTestForms: firmware with the selection prints its 4th ACCQ
// field and, on the A7600 family, the CFG "version" key.
func TestVersionTestForms(t *testing.T) {
	for _, tc := range []struct {
		model     simcom.Model
		accq, cfg string
	}{
		{simcom.A7600, "+CMQTTACCQ: (0-1),(1-128),(0-1),(3-4)",
			"+CMQTTCFG: \"checkUTF8\",(0-1),(0-1)\r\n+CMQTTCFG: \"optimeout\",(0-1),(20-120)\r\n+CMQTTCFG: \"version\",(0-1),(3-4)"},
		{simcom.SIM7600, "+CMQTTACCQ: (0-1),(1-23),(0-1),(3-4)", "+CMQTTCFG: \"checkUTF8\",(0-1),(0-1)"},
	} {
		t.Run(tc.model.String(), func(t *testing.T) {
			s, h := startSim(t, Config{Model: tc.model, Echo: EchoOff})
			h.cmd("AT+CMQTTACCQ=?", "\r\n"+tc.accq+"\r\n"+ok)
			h.cmd("AT+CMQTTCFG=?", "\r\n"+tc.cfg+"\r\n"+ok)
			h.quiet(s)
		})
	}
	if _, err := New(Config{DefaultProtocolLevel: 5}); err == nil {
		t.Error("protocol level 5: no error")
	}
}

// TestInteropProtocolLevels: mosquitto accepts both levels from the
// emulator and logs which one each client speaks ("p1" MQTT 3.1, "p2"
// MQTT 3.1.1).
func TestInteropProtocolLevels(t *testing.T) {
	requireInterop(t)
	m := startMosquitto(t, mosquittoOptions{})
	s, a := newSimTalk(t, simcom.A7600, "tcp://"+m.Addr)
	atStart(t, a)
	a.cmdOK(`AT+CMQTTACCQ=0,"level31"`)
	a.cmdOK(`AT+CMQTTACCQ=1,"level311"`)
	a.cmdOK(`AT+CMQTTCFG="version",1,4`)
	for i := range 2 {
		idx := itoaCode(simcom.ResultCode(i))
		_, res := a.cmdResult(`AT+CMQTTCONNECT=`+idx+`,"tcp://broker.example",60,1`, nil, "+CMQTTCONNECT:")
		expectResult(t, "CONNECT "+idx, res, "+CMQTTCONNECT: "+idx+",0")
	}
	m.waitLog(t, "as level31 (p1,")
	m.waitLog(t, "as level311 (p2,")
	if s.ProtocolLevel(0) != 3 || s.ProtocolLevel(1) != 4 {
		t.Errorf("ProtocolLevel = %d, %d; want 3, 4", s.ProtocolLevel(0), s.ProtocolLevel(1))
	}
}
