package modemsim

import (
	"strconv"
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// TestStartWhenStarted: SIM7600 answers "+CMQTTSTART: 23" then ERROR, the
// A7600 family a bare ERROR (docs/architecture.md, How real firmware behaves).
func TestStartWhenStarted(t *testing.T) {
	for _, tc := range []struct {
		model  simcom.Model
		answer string
	}{
		{simcom.A7600, erro},
		{simcom.SIM7600, "\r\n+CMQTTSTART: 23\r\n" + erro},
	} {
		t.Run(tc.model.String(), func(t *testing.T) {
			s, h, _ := startFake(t, Config{Model: tc.model})
			h.cmd("AT+CMQTTSTART", ok+"\r\n+CMQTTSTART: 0\r\n")
			h.cmd("AT+CMQTTSTART", tc.answer)
			h.cmd("AT+CMQTTSTART?", erro)
			h.quiet(s)
		})
	}
}

// TestResultOrder: the A7600 writes OK before the START/STOP/DISC result;
// the SIM7600 can be set to write the result first.
func TestResultOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		seq  func(result string) string
	}{
		{"A7600", Config{Model: simcom.A7600, ResultBeforeOK: true}, func(r string) string { return ok + "\r\n" + r + "\r\n" }},
		{"SIM7600-ok-first", Config{Model: simcom.SIM7600}, func(r string) string { return ok + "\r\n" + r + "\r\n" }},
		{"SIM7600-result-first", Config{Model: simcom.SIM7600, ResultBeforeOK: true}, func(r string) string { return "\r\n" + r + "\r\n" + ok }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, h, _ := startFake(t, tc.cfg)
			h.cmd("AT+CMQTTSTART", tc.seq("+CMQTTSTART: 0"))
			h.connect("1")
			h.cmd("AT+CMQTTDISC=1,60", tc.seq("+CMQTTDISC: 1,0"))
			h.cmd("AT+CMQTTREL=1", ok)
			h.cmd("AT+CMQTTSTOP", tc.seq("+CMQTTSTOP: 0"))
			h.quiet(s)
		})
	}
}

// TestConnectResultCodes: the back-end's codes reach the host; codes the
// SIM7600 family does not define (34, 35) become 1 there.
func TestConnectResultCodes(t *testing.T) {
	for _, model := range []simcom.Model{simcom.A7600, simcom.SIM7600} {
		t.Run(model.String(), func(t *testing.T) {
			s, h, d := startFake(t, Config{Model: model})
			h.start()
			h.cmd(`AT+CMQTTACCQ=0,"c"`, ok)
			for _, code := range []simcom.ResultCode{3, 25, 27, 28, 29, 30, 31, 32, 33, 34} {
				d.mu.Lock()
				d.code = code
				d.mu.Unlock()
				want := code
				if model == simcom.SIM7600 && code > 33 {
					want = 1
				}
				h.cmd(`AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",60,1`, ok+"\r\n+CMQTTCONNECT: 0,"+itoaCode(want)+"\r\n")
			}
			h.cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,1\r\n+CMQTTDISC: 1,1\r\n"+ok)
			d.mu.Lock()
			d.code, d.pubCode, d.discCode = 0, simcom.CodeTimeout, simcom.CodeFailed
			d.mu.Unlock()
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",60,1`, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
			h.cmd("AT+CMQTTTOPIC=0,1", promp)
			h.send("t")
			h.expect(ok)
			h.cmd("AT+CMQTTPUB=0,1,60", ok+"\r\n+CMQTTPUB: 0,17\r\n")
			disc := "35"
			if model == simcom.SIM7600 {
				disc = "1"
			}
			h.cmd("AT+CMQTTDISC=0,60", ok+"\r\n+CMQTTDISC: 0,"+disc+"\r\n")
			h.quiet(s)
		})
	}
}

func itoaCode(c simcom.ResultCode) string { return strconv.Itoa(int(c)) }

// TestSSLCfgClearing: the A7600 keeps AT+CMQTTSSLCFG after a successful
// CONNECT and clears it after DISC or a failed CONNECT; the SIM7600 clears
// it after every CONNECT.
func TestSSLCfgClearing(t *testing.T) {
	for _, tc := range []struct {
		model       simcom.Model
		afterOK     string
		afterFailed string
	}{
		{simcom.A7600, "5", ""},
		{simcom.SIM7600, "", ""},
	} {
		t.Run(tc.model.String(), func(t *testing.T) {
			s, h, d := startFake(t, Config{Model: tc.model})
			h.start()
			h.cmd(`AT+CMQTTACCQ=0,"c",1`, ok)
			h.cmd(`AT+CSSLCFG="authmode",5,0`, ok)
			h.cmd(`AT+CSSLCFG="sslversion",5,3`, ok)
			h.cmd("AT+CMQTTSSLCFG=0,5", ok)
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://a.b.c:8883",60,1`, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
			if cfg := d.lastConfig(t); !cfg.TLS || cfg.SSL.Version != 3 {
				t.Errorf("dialed with TLS=%v SSL=%+v, want context 5 (TLS 1.2)", cfg.TLS, cfg.SSL)
			}
			h.cmd("AT+CMQTTSSLCFG?", "\r\n+CMQTTSSLCFG: 0,"+tc.afterOK+"\r\n+CMQTTSSLCFG: 1,\r\n"+ok)
			h.cmd("AT+CMQTTDISC=0,60", ok+"\r\n+CMQTTDISC: 0,0\r\n")
			h.cmd("AT+CMQTTSSLCFG?", "\r\n+CMQTTSSLCFG: 0,\r\n+CMQTTSSLCFG: 1,\r\n"+ok)
			// Without AT+CMQTTSSLCFG the context of the client index is used.
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://a.b.c:8883",60,1`, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
			if cfg := d.lastConfig(t); cfg.SSL.Version != 4 {
				t.Errorf("dialed with SSL=%+v, want context 0 (defaults)", cfg.SSL)
			}
			h.cmd("AT+CMQTTDISC=0,60", ok+"\r\n+CMQTTDISC: 0,0\r\n")
			d.mu.Lock()
			d.code = simcom.CodeHandshakeFail
			d.mu.Unlock()
			h.cmd("AT+CMQTTSSLCFG=0,5", ok)
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://a.b.c:8883",60,1`, ok+"\r\n+CMQTTCONNECT: 0,32\r\n")
			h.cmd("AT+CMQTTSSLCFG?", "\r\n+CMQTTSSLCFG: 0,"+tc.afterFailed+"\r\n+CMQTTSSLCFG: 1,\r\n"+ok)
			h.quiet(s)
		})
	}
}

// TestRefuseSubTopic: with the A7670 quirk on, AT+CMQTTSUBTOPIC answers
// ERROR and the one-topic AT+CMQTTSUB still works.
func TestRefuseSubTopic(t *testing.T) {
	s, h, d := startFake(t, Config{Model: simcom.A7600, RefuseSubTopic: true})
	h.start()
	h.connect("0")
	h.cmd("AT+CMQTTSUBTOPIC=0,3,1", erro)
	h.cmd("AT+CMQTTSUBTOPIC=?", "\r\n+CMQTTSUBTOPIC: (0-1),(1-1024),(0-2)\r\n"+ok)
	h.cmd("AT+CMQTTSUB=0,3,1", promp)
	h.send("a/b")
	h.expect(ok + "\r\n+CMQTTSUB: 0,0\r\n")
	l := d.last(t)
	l.mu.Lock()
	subs := l.subs
	l.mu.Unlock()
	if len(subs) != 1 || len(subs[0]) != 1 || subs[0][0] != "a/b" {
		t.Errorf("subscriptions %q, want [[a/b]]", subs)
	}
	h.quiet(s)
}

// TestBusyIndex: a second operation on an index whose PUB waits for the
// broker gets 14 (client is busy); the first result follows later.
func TestBusyIndex(t *testing.T) {
	s, h, d := startFake(t, Config{Model: simcom.SIM7600})
	h.start()
	h.connect("0")
	block := make(chan struct{})
	d.mu.Lock()
	d.block = block
	d.mu.Unlock()
	h.cmd("AT+CMQTTTOPIC=0,1", promp)
	h.send("t")
	h.expect(ok)
	h.cmd("AT+CMQTTPUB=0,2,60,1,1", ok)
	h.cmd("AT+CMQTTTOPIC=0,1", promp)
	h.send("u")
	h.expect(ok)
	h.cmd("AT+CMQTTPUB=0,1,60", codeErr("+CMQTTPUB", 0, 14))
	h.cmd("AT+CMQTTSUB=0", codeErr("+CMQTTSUB", 0, 14))
	close(block)
	h.expect("\r\n+CMQTTPUB: 0,0\r\n")
	l := d.last(t)
	l.mu.Lock()
	pubs := l.pubs
	l.mu.Unlock()
	if len(pubs) != 1 || pubs[0].topic != "t" || pubs[0].qos != 2 || !pubs[0].retain || !pubs[0].dup || pubs[0].timeout.Seconds() != 60 {
		t.Errorf("publishes %+v, want one on t with QoS 2, retain, dup, 60 s", pubs)
	}
	h.quiet(s)
}
