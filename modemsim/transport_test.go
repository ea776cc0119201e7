package modemsim

import (
	"net"
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"go.bug.st/serial"
)

// publishAndReceive runs a publish that loops back through a subscription
// and checks that a peer on the broker saw it too.
func publishAndReceive(t *testing.T, h *atHost, b *EmbeddedBroker) {
	t.Helper()
	p := newPeer(t, b.Addr())
	p.subscribe(t, "sim/#")
	h.cmd("AT+CMQTTSTART", ok+"\r\n+CMQTTSTART: 0\r\n")
	h.cmd(`AT+CMQTTACCQ=0,"pty-client"`, ok)
	h.cmd(`AT+CMQTTCONNECT=0,"tcp://broker.invalid:1883",60,1`, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
	h.cmd("AT+CMQTTSUBTOPIC=0,5,1", promp)
	h.send("sim/#")
	h.expect(ok)
	h.cmd("AT+CMQTTSUB=0", ok+"\r\n+CMQTTSUB: 0,0\r\n")
	h.cmd("AT+CMQTTTOPIC=0,5", promp)
	h.send("sim/a")
	h.expect(ok)
	h.cmd("AT+CMQTTPAYLOAD=0,8", promp)
	h.send("hi\r\nOK\r\n")
	h.expect(ok)
	h.send("AT+CMQTTPUB=0,1,60\r")
	h.expect(ok)
	h.expectAnyOrder("\r\n+CMQTTPUB: 0,0\r\n",
		"\r\n+CMQTTRXSTART: 0,5,8\r\n+CMQTTRXTOPIC: 0,5\r\nsim/a\r\n+CMQTTRXPAYLOAD: 0,8\r\nhi\r\nOK\r\n\r\n+CMQTTRXEND: 0\r\n")
	if m := p.next(t); m.topic != "sim/a" || m.payload != "hi\r\nOK\r\n" {
		t.Errorf("peer got %q %q", m.topic, m.payload)
	}
	p.publish(t, "sim/b", 0, false, []byte("from peer"))
	h.expect("\r\n+CMQTTRXSTART: 0,5,9\r\n+CMQTTRXTOPIC: 0,5\r\nsim/b\r\n+CMQTTRXPAYLOAD: 0,9\r\nfrom peer\r\n+CMQTTRXEND: 0\r\n")
	h.cmd("AT+CMQTTDISC=0,60", ok+"\r\n+CMQTTDISC: 0,0\r\n")
}

// TestPTYTransport: the pty path opens with go.bug.st/serial and carries a
// full publish and receive against an embedded broker.
func TestPTYTransport(t *testing.T) {
	b := startEmbedded(t, EmbeddedOptions{})
	s, err := New(Config{Model: simcom.SIM7600, Broker: b.URL(), Echo: EchoOff, Baud: 115200})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	path, err := s.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	port, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatalf("serial.Open(%s): %v", path, err)
	}
	h := newHost(t, port)
	publishAndReceive(t, h, b)
	h.quiet(s)
}

// TestTCPTransport: each TCP connection is the AT port, one at a time; a
// new connection finds the modem's state as the last one left it.
func TestTCPTransport(t *testing.T) {
	b := startEmbedded(t, EmbeddedOptions{})
	s, err := New(Config{Model: simcom.A7600, Broker: b.URL(), Echo: EchoOff})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	addr, err := s.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	h := newHost(t, c)
	publishAndReceive(t, h, b)
	c.Close()
	c2, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	h2 := newHost(t, c2)
	h2.cmd("AT+CMQTTACCQ?", "\r\n+CMQTTACCQ: 0,\"pty-client\",0\r\n+CMQTTACCQ: 1,\"\",0\r\n"+ok)
	s.Unplug()
	h2.waitFor("EOF", func([]byte) bool { return h2.eof })
}
