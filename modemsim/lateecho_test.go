package modemsim

import (
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// TestLateEcho: the echo of a command line comes after the command's answer
// and its result URC, while the host waits for its next command (issue
// 13.6), including the echo of AT+CMQTTCONNECT with its user name and
// password. Lines after the armed ones are echoed on time again.
func TestLateEcho(t *testing.T) {
	const connect = `AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",60,1,"user","password"`
	s, h, _ := startFake(t, Config{Model: simcom.A7600, Echo: EchoOn})
	h.send("AT+CMQTTSTART\r")
	h.expect("AT+CMQTTSTART\r" + ok + "\r\n+CMQTTSTART: 0\r\n")
	h.cmd(`AT+CMQTTACCQ=0,"c"`, `AT+CMQTTACCQ=0,"c"`+"\r"+ok)
	if err := s.Inject("lateecho"); err != nil {
		t.Fatal(err)
	}
	h.cmd(connect, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
	h.cmd("AT+CMQTTDISC?", connect+"\r"+"AT+CMQTTDISC?\r\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,1\r\n"+ok)
	// Two lines: each echo comes with the next line.
	if err := s.Inject("lateecho 2"); err != nil {
		t.Fatal(err)
	}
	h.cmd("AT", ok)
	h.cmd("AT+CSQ", "AT\r\r\n+CSQ: 23,0\r\n"+ok)
	h.cmd("AT+CPIN?", "AT+CSQ\rAT+CPIN?\r\r\n+CPIN: READY\r\n"+ok)
	h.quiet(s)
}

// TestLateEchoOff: with echo off there is no echo to come late.
func TestLateEchoOff(t *testing.T) {
	s, h := startSim(t, Config{Echo: EchoOff})
	s.LateEcho(1)
	h.cmd("AT", ok)
	h.cmd("AT", ok)
	h.quiet(s)
	for _, tc := range []struct{ cmd, want string }{
		{"lateecho 0", "modemsim: lateecho: LINES 0: want 1 or more"},
		{"lateecho x", `modemsim: lateecho: LINES "x" is not a number`},
		{"lateecho 1 2", `modemsim: lateecho: unexpected argument "2"`},
	} {
		if err := s.Inject(tc.cmd); err == nil || err.Error() != tc.want {
			t.Errorf("Inject(%q) = %v, want %q", tc.cmd, err, tc.want)
		}
	}
}
