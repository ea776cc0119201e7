package modemsim

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// TestBasicCommands covers the general commands a driver needs, on both
// models, as raw AT text.
func TestBasicCommands(t *testing.T) {
	for _, tc := range []struct {
		model             simcom.Model
		product, firmware string
	}{
		{simcom.A7600, "A7670E-LASE", "A011B07A7670M7"},
		{simcom.SIM7600, "SIMCOM_SIM7600E-H", "LE20B04SIM7600M22"},
	} {
		t.Run(tc.model.String(), func(t *testing.T) {
			s, h, _ := startFake(t, Config{Model: tc.model, IMEI: "861234567890123"})
			runExchanges(t, h, []exchange{
				{cmd: "AT", answer: ok},
				{cmd: "at", answer: ok},
				{cmd: "AT ", answer: ok},
				{cmd: "ATZ", answer: ok},
				{cmd: "AT&F", answer: ok},
				{cmd: "ATV1", answer: ok},
				{cmd: "ATV0", answer: erro},
				{cmd: "ATE2", answer: erro},
				{cmd: "ATI", answer: "\r\nManufacturer: SIMCOM INCORPORATED\r\nModel: " + tc.product + "\r\nRevision: " + tc.firmware +
					"\r\nIMEI: 861234567890123\r\n+GCAP: +CGSM\r\n" + ok},
				{cmd: "AT+CGMM", answer: "\r\n" + tc.product + "\r\n" + ok},
				{cmd: "AT+CGMM=?", answer: ok},
				{cmd: "AT+CGMR", answer: "\r\n+CGMR: " + tc.firmware + "\r\n" + ok},
				{cmd: "AT+CGSN", answer: "\r\n861234567890123\r\n" + ok},
				{cmd: "AT+SIMEI?", answer: "\r\n+SIMEI: 861234567890123\r\n" + ok},
				{cmd: "AT+CPIN?", answer: "\r\n+CPIN: READY\r\n" + ok},
				{cmd: "AT+CSQ", answer: "\r\n+CSQ: 23,0\r\n" + ok},
				{cmd: "AT+CSQ=?", answer: "\r\n+CSQ: (0-31,99),(0-7,99)\r\n" + ok},
				{cmd: "AT+CREG?", answer: "\r\n+CREG: 0,1\r\n" + ok},
				{cmd: "AT+CREG=2", answer: ok},
				{cmd: "AT+CREG?", answer: "\r\n+CREG: 2,1\r\n" + ok},
				{cmd: "AT+CREG=3", answer: erro},
				{cmd: "AT+CGREG?", answer: "\r\n+CGREG: 0,1\r\n" + ok},
				{cmd: "AT+CEREG?", answer: "\r\n+CEREG: 0,1\r\n" + ok},
				{cmd: "AT+CEREG=?", answer: "\r\n+CEREG: (0-2)\r\n" + ok},
				{cmd: `AT+CGDCONT=1,"IP","internet"`, answer: ok},
				{cmd: `AT+CGDCONT=2,"IPV6","v6.example"`, answer: ok},
				{cmd: `AT+CGDCONT=25,"IP","x"`, answer: erro},
				{cmd: `AT+CGDCONT=3,"X25","x"`, answer: erro},
				{cmd: `AT+CGDCONT=3,IP,"x"`, answer: erro},
				{cmd: "AT+CGDCONT?", answer: "\r\n+CGDCONT: 1,\"IP\",\"internet\",\"0.0.0.0\",0,0,0,0\r\n+CGDCONT: 2,\"IPV6\",\"v6.example\",\"0.0.0.0\",0,0,0,0\r\n" + ok},
				{cmd: `AT+CGSOCKCONT=4,"IP","CMNET"`, answer: ok},
				{cmd: "AT+CGSOCKCONT?", answer: "\r\n+CGSOCKCONT: 1,\"IP\",\"internet\",\"0.0.0.0\",0,0\r\n+CGSOCKCONT: 2,\"IPV6\",\"v6.example\",\"0.0.0.0\",0,0\r\n+CGSOCKCONT: 4,\"IP\",\"CMNET\",\"0.0.0.0\",0,0\r\n" + ok},
				{cmd: "AT+CGDCONT=2", answer: ok},
				{cmd: "AT+CGPADDR", answer: "\r\n+CGPADDR: 1,10.49.14.68\r\n+CGPADDR: 4,0.0.0.0\r\n" + ok},
				{cmd: "AT+CGPADDR=4", answer: "\r\n+CGPADDR: 4,0.0.0.0\r\n" + ok},
				{cmd: "AT+CGPADDR=2", answer: erro},
				{cmd: "AT+CGPADDR=?", answer: "\r\n+CGPADDR: (1-24)\r\n" + ok},
				{cmd: "AT+NOSUCH", answer: erro},
				{cmd: "AT+CSQ;+CREG?", answer: erro},
				{cmd: "AT+CRESET?", answer: erro},
				{cmd: "ATX", answer: erro},
			})
			h.quiet(s)
		})
	}
}

// TestEchoAndLineEditing: echo is on at power-up, ATE0 is still echoed,
// lines without AT are ignored, backspace edits, LF and NUL are dropped,
// over-long lines answer ERROR.
func TestEchoAndLineEditing(t *testing.T) {
	s, h := startSim(t, Config{})
	h.cmd("AT", "AT\r"+ok)
	h.send("\nAT+CSQ\r\n")
	h.expect("AT+CSQ\r\r\n+CSQ: 23,0\r\n" + ok)
	h.cmd("hello", "hello\r") // echoed, not answered
	h.cmd("AT+CPX\bIN?", "AT+CPIN?\r\r\n+CPIN: READY\r\n"+ok)
	h.cmd("A\x00T", "AT\r"+ok)
	long := "AT+" + strings.Repeat("X", maxCommandLine)
	h.cmd(long, long[:maxCommandLine]+"\r"+erro)
	h.cmd("ATE0", "ATE0\r"+ok)
	h.cmd("AT", ok)
	h.cmd("ATE1", ok)
	h.cmd("AT", "AT\r"+ok)
	h.quiet(s)
}

// TestLatency delays every answer by Config.Latency.
func TestLatency(t *testing.T) {
	s, h := startSim(t, Config{Echo: EchoOff, Latency: 30 * time.Millisecond})
	start := time.Now()
	h.cmd("AT", ok)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("answer after %v, want at least the 30ms latency", d)
	}
	h.quiet(s)
}

// TestSSLCommands covers AT+CSSLCFG (every key and form, the ranges) and
// the certificate commands with the manual's file-name rules.
func TestSSLCommands(t *testing.T) {
	for _, model := range []simcom.Model{simcom.A7600, simcom.SIM7600} {
		t.Run(model.String(), func(t *testing.T) {
			s, h, _ := startFake(t, Config{Model: model})
			def := `4,0,1,300,"","",""`
			var all strings.Builder
			all.WriteString("\r\n")
			for i := range 10 {
				if i == 2 {
					all.WriteString(`+CSSLCFG: 2,3,2,0,10,"ca.pem","c.der","k.pem"` + "\r\n")
					continue
				}
				all.WriteString("+CSSLCFG: " + itoaCode(simcom.ResultCode(i)) + "," + def + "\r\n")
			}
			all.WriteString(ok)
			nonASCII := "{non-ascii}" + strings.ToUpper(hex.EncodeToString([]byte("中华.pem")))
			runExchanges(t, h, []exchange{
				{cmd: "AT+CSSLCFG=0", answer: "\r\n+CSSLCFG: 0," + def + "\r\n" + ok},
				{cmd: "AT+CSSLCFG=10", answer: erro},
				{cmd: `AT+CSSLCFG="sslversion",2,5`, answer: erro},
				{cmd: `AT+CSSLCFG="sslversion",10,3`, answer: erro},
				{cmd: `AT+CSSLCFG="sslversion",2,3`, answer: ok},
				{cmd: `AT+CSSLCFG="authmode",2,4`, answer: erro},
				{cmd: `AT+CSSLCFG="authmode",2,2`, answer: ok},
				{cmd: `AT+CSSLCFG="ignorelocaltime",2,2`, answer: erro},
				{cmd: `AT+CSSLCFG="ignorlocaltime",2,0`, answer: ok}, // the A7600 manual's spelling
				{cmd: `AT+CSSLCFG="negotiatetime",2,9`, answer: erro},
				{cmd: `AT+CSSLCFG="negotiatetime",2,301`, answer: erro},
				{cmd: `AT+CSSLCFG="negotiatetime",2,10`, answer: ok},
				{cmd: `AT+CSSLCFG="cacert",2,"a.pe"`, answer: erro},
				{cmd: `AT+CSSLCFG="cacert",2,"ca.txt"`, answer: erro},
				{cmd: `AT+CSSLCFG="cacert",2,ca.pem`, answer: erro},
				{cmd: `AT+CSSLCFG="cacert",2,"` + strings.Repeat("a", 125) + `.pem"`, answer: erro},
				{cmd: `AT+CSSLCFG="cacert",2,"ca.pem"`, answer: ok},
				{cmd: `AT+CSSLCFG="clientcert",2,"c.der"`, answer: ok},
				{cmd: `AT+CSSLCFG="CLIENTKEY",2,"k.pem"`, answer: ok},
				{cmd: `AT+CSSLCFG="nokey",2,1`, answer: erro},
				{cmd: `AT+CSSLCFG=sslversion,2,1`, answer: erro},
				{cmd: "AT+CSSLCFG?", answer: all.String()},
				{cmd: `AT+CCERTDOWN="ca.pem",0`, answer: erro},
				{cmd: `AT+CCERTDOWN="ca.pem",10241`, answer: erro},
				{cmd: `AT+CCERTDOWN="ca.crt",5`, answer: erro},
				{cmd: `AT+CCERTDOWN="dir/ca.pem",5`, answer: erro},
				{cmd: `AT+CCERTDOWN="中华.pem",5`, answer: erro},
				{cmd: `AT+CCERTDOWN=ca.pem,5`, answer: erro},
				{cmd: `AT+CCERTDOWN="` + nonASCII + `",3`, answer: promp, data: "abc", more: ok},
				{cmd: `AT+CCERTDOWN="z.DER",3`, answer: promp, data: "\r\n>", more: ok},
				{cmd: `AT+CCERTDOWN="` + strings.Repeat("a", 124) + `.pem",10240`, answer: promp, data: strings.Repeat("k", 10240), more: ok},
				{cmd: "AT+CCERTLIST", answer: "\r\n+CCERTLIST: \"" + strings.Repeat("a", 124) + ".pem\"\r\n+CCERTLIST: \"z.DER\"\r\n+CCERTLIST: \"中华.pem\"\r\n" + ok},
				{cmd: "AT+CCERTLIST?", answer: erro},
				{cmd: "AT+CCERTDOWN?", answer: erro},
			})
			if b, ok := s.certs.get("z.DER"); !ok || string(b) != "\r\n>" {
				t.Errorf("z.DER = %q, %v", b, ok)
			}
			h.quiet(s)
		})
	}
}

// TestPromptSpaceAndStuckEcho: the field variants of the prompt ("> ") and
// of the echo (still on after ATE0).
func TestPromptSpaceAndStuckEcho(t *testing.T) {
	s, h := startSim(t, Config{PromptSpace: true, EchoStuck: true})
	h.cmd("ATE0", "ATE0\r"+ok)
	h.cmd("AT", "AT\r"+ok)
	h.cmd(`AT+CCERTDOWN="a.pem",1`, `AT+CCERTDOWN="a.pem",1`+"\r\r\n> ")
	h.send("x")
	h.expect(ok)
	h.quiet(s)
}

// TestEchoData: with EchoData the prompt data comes back too, while echo is on.
func TestEchoData(t *testing.T) {
	s, h := startSim(t, Config{EchoData: true})
	h.cmd(`AT+CCERTDOWN="a.pem",3`, `AT+CCERTDOWN="a.pem",3`+"\r\r\n>")
	h.send("x\ry")
	h.expect("x\ry" + ok)
	h.cmd("ATE0", "ATE0\r"+ok)
	h.data(`AT+CCERTDOWN="b.pem",3`, "abc", ok)
	h.quiet(s)
}
