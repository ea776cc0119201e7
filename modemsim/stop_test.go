package modemsim

import (
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// TestStopWithClients: AT+CMQTTSTOP with a client still acquired fails
// with "+CMQTTSTOP: <code>" then ERROR, no OK. SIM7600: 21 (client not
// released), the service keeps running (a SIM7600 log shows STOP -> 21
// ERROR, then START -> 23 ERROR: still started). A7600 family: 19 (client
// is used); with no client connected the service stops anyway and the
// client stays acquired (a SIM7670G log: STOP -> 19 ERROR, then START -> OK
// +CMQTTSTART: 0, then ACCQ on the old index -> ERROR). Nothing to stop is
// a bare ERROR (both manuals).
func TestStopWithClients(t *testing.T) {
	t.Run("SIM7600", func(t *testing.T) {
		s, h, _ := startFake(t, Config{Model: simcom.SIM7600})
		h.start()
		h.cmd(`AT+CMQTTACCQ=1,"c1"`, ok)
		h.cmd("AT+CMQTTSTOP", "\r\n+CMQTTSTOP: 21\r\n"+erro)
		h.cmd("AT+CMQTTSTART", "\r\n+CMQTTSTART: 23\r\n"+erro) // still started
		h.connect("0")
		h.cmd("AT+CMQTTSTOP", "\r\n+CMQTTSTOP: 21\r\n"+erro)
		h.cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,1\r\n"+ok)
		h.cmd("AT+CMQTTDISC=0,60", ok+"\r\n+CMQTTDISC: 0,0\r\n")
		h.cmd("AT+CMQTTREL=0", ok)
		h.cmd("AT+CMQTTREL=1", ok)
		h.send("AT+CMQTTSTOP\r")
		h.expectAnyOrder(ok, "\r\n+CMQTTSTOP: 0\r\n")
		h.cmd("AT+CMQTTSTOP", erro)
		h.quiet(s)
	})
	t.Run("A7600", func(t *testing.T) {
		s, h, _ := startFake(t, Config{Model: simcom.A7600})
		h.cmd("AT+CMQTTSTOP", erro) // never started
		h.start()
		h.connect("0")
		// A connected client: refused, nothing changes.
		h.cmd("AT+CMQTTSTOP", "\r\n+CMQTTSTOP: 19\r\n"+erro)
		h.cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,1\r\n"+ok)
		h.cmd("AT+CMQTTDISC=0,60", ok+"\r\n+CMQTTDISC: 0,0\r\n")
		// Acquired, not connected: refused, but the service stops.
		h.cmd("AT+CMQTTSTOP", "\r\n+CMQTTSTOP: 19\r\n"+erro)
		h.cmd("AT+CMQTTACCQ?", erro)
		h.cmd("AT+CMQTTSTOP", erro)
		h.cmd("AT+CMQTTSTART", ok+"\r\n+CMQTTSTART: 0\r\n")
		h.cmd(`AT+CMQTTACCQ=0,"id0"`, erro) // the index is still in use
		h.cmd("AT+CMQTTACCQ?", "\r\n+CMQTTACCQ: 0,\"id0\",0\r\n+CMQTTACCQ: 1,\"\",0\r\n"+ok)
		h.cmd("AT+CMQTTREL=0", ok)
		h.cmd("AT+CMQTTSTOP", ok+"\r\n+CMQTTSTOP: 0\r\n")
		h.quiet(s)
	})
}
