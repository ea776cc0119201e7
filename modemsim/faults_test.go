package modemsim

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// TestDropConnection: each cause gives "+CMQTTCONNLOST: i,cause", the link
// is dropped without DISCONNECT, and the index reads as disconnected.
func TestDropConnection(t *testing.T) {
	for _, cause := range []int{CauseSocketClosed, CauseSocketReset, CauseNetworkClosed} {
		t.Run(itoaCode(simcom.ResultCode(cause)), func(t *testing.T) {
			s, h, d := startFake(t, Config{Model: simcom.A7600})
			h.start()
			h.connect("1")
			if err := s.DropConnection(1, cause); err != nil {
				t.Fatal(err)
			}
			h.expect("\r\n+CMQTTCONNLOST: 1," + itoaCode(simcom.ResultCode(cause)) + "\r\n")
			if l := d.last(t); !l.wasDropped() {
				t.Error("link not dropped")
			}
			h.cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,1\r\n+CMQTTDISC: 1,1\r\n"+ok)
			h.cmd("AT+CMQTTPUB=1,0,60", codeErr("+CMQTTPUB", 1, 11))
			// Reconnecting works.
			h.cmd(`AT+CMQTTCONNECT=1,"tcp://a.b.c",60,0`, ok+"\r\n+CMQTTCONNECT: 1,0\r\n")
			h.quiet(s)
		})
	}
}

func TestFaultArgumentErrors(t *testing.T) {
	s, _, _ := startFake(t, Config{})
	for name, err := range map[string]error{
		"cause 0":       s.DropConnection(0, 0),
		"cause 4":       s.DropConnection(0, 4),
		"index 2":       s.DropConnection(2, 1),
		"not connected": s.DropConnection(0, 1),
		"ping index":    s.KeepaliveFail(-1),
		"ping idle":     s.KeepaliveFail(1),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestLostFromBackend: a connection the broker closes becomes CONNLOST
// with the back-end's cause; events of an old connection are ignored.
func TestLostFromBackend(t *testing.T) {
	s, h, d := startFake(t, Config{Model: simcom.SIM7600})
	h.start()
	h.connect("0")
	old := d.last(t)
	old.ev.Lost(CauseSocketReset)
	h.expect("\r\n+CMQTTCONNLOST: 0,2\r\n")
	old.ev.Lost(CauseSocketReset)
	old.ev.Message("stale", []byte("x"))
	h.cmd(`AT+CMQTTCONNECT=0,"tcp://a.b.c",60,0`, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
	old.ev.Message("stale", []byte("x"))
	h.quiet(s)
}

// TestNoNetworkSpellings: "+CMQTTNONET" and "+CMQTTNONET:"; every link
// drops.
func TestNoNetworkSpellings(t *testing.T) {
	for _, tc := range []struct {
		colon bool
		urc   string
	}{{false, "+CMQTTNONET"}, {true, "+CMQTTNONET:"}} {
		t.Run(tc.urc, func(t *testing.T) {
			s, h, d := startFake(t, Config{NoNetColon: tc.colon})
			h.start()
			h.connect("0")
			s.NoNetwork()
			h.expect("\r\n" + tc.urc + "\r\n")
			if l := d.last(t); !l.wasDropped() || l.wasDisconnected() {
				t.Error("link not dropped without DISCONNECT")
			}
			h.cmd("AT+CSQ", "\r\n+CSQ: 99,99\r\n"+ok)
			s.RestoreNetwork()
			h.cmd("AT+CSQ", "\r\n+CSQ: 23,0\r\n"+ok)
			h.quiet(s)
		})
	}
}

// TestNoNetworkStopsService: +CMQTTNONET means the firmware stopped the
// MQTT service. Until AT+CMQTTSTART succeeds, ACCQ=, CONNECT and the other
// MQTT commands answer ERROR; ACCQ? and DISC? answer ERROR too, or still
// list the old client IDs (Config.NoNetListsClients); START fails with
// result 7 (network open fail) while the network is down. The START that
// succeeds gives a fresh service with both indexes released.
func TestNoNetworkStopsService(t *testing.T) {
	for _, model := range []simcom.Model{simcom.A7600, simcom.SIM7600} {
		for _, lists := range []bool{false, true} {
			name := model.String()
			if lists {
				name += "/lists-clients"
			}
			t.Run(name, func(t *testing.T) {
				s, h, _ := startFake(t, Config{Model: model, NoNetListsClients: lists})
				h.start()
				h.connect("0")
				h.cmd(`AT+CMQTTACCQ=1,"id1"`, ok)
				s.NoNetwork()
				h.expect("\r\n+CMQTTNONET\r\n")
				if lists {
					h.cmd("AT+CMQTTACCQ?", "\r\n+CMQTTACCQ: 0,\"id0\",0\r\n+CMQTTACCQ: 1,\"id1\",0\r\n"+ok)
					h.cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,1\r\n+CMQTTDISC: 1,1\r\n"+ok)
				} else {
					h.cmd("AT+CMQTTACCQ?", erro)
					h.cmd("AT+CMQTTDISC?", erro)
				}
				for _, c := range []string{
					`AT+CMQTTACCQ=0,"id0"`, "AT+CMQTTREL=0", "AT+CMQTTCONNECT?",
					`AT+CMQTTCONNECT=0,"tcp://broker.example:1883",60,1`, "AT+CMQTTDISC=0,60",
					"AT+CMQTTTOPIC=0,1", "AT+CMQTTPUB=0,1,60", "AT+CMQTTSUB=0,1,1", "AT+CMQTTSTOP",
				} {
					h.cmd(c, erro)
				}
				h.send("AT+CMQTTSTART\r")
				h.expectAnyOrder(ok, "\r\n+CMQTTSTART: 7\r\n")
				if !lists { // the failed START started nothing
					h.cmd("AT+CMQTTACCQ?", erro)
				} else {
					h.cmd("AT+CMQTTACCQ?", "\r\n+CMQTTACCQ: 0,\"id0\",0\r\n+CMQTTACCQ: 1,\"id1\",0\r\n"+ok)
				}
				s.RestoreNetwork()
				h.start()
				h.cmd("AT+CMQTTACCQ?", "\r\n+CMQTTACCQ: 0,\"\",0\r\n+CMQTTACCQ: 1,\"\",0\r\n"+ok)
				h.cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,1\r\n+CMQTTDISC: 1,1\r\n"+ok)
				h.connect("0")
				h.quiet(s)
			})
		}
	}
}

// TestNoNetworkSilent: a radio that dies without a URC. The broker links
// drop, the service runs on and the connected index stays held as
// connected; a publish gets 11; CONNECT fails while the network is down
// (A7600 34 then ERROR, SIM7600 OK then 3); once it is back the host
// disconnects and connects again.
func TestNoNetworkSilent(t *testing.T) {
	for _, tc := range []struct {
		model  simcom.Model
		answer string
	}{
		{simcom.A7600, "\r\n+CMQTTCONNECT: 1,34\r\n" + erro},
		{simcom.SIM7600, ok + "\r\n+CMQTTCONNECT: 1,3\r\n"},
	} {
		t.Run(tc.model.String(), func(t *testing.T) {
			s, h, d := startFake(t, Config{Model: tc.model})
			h.start()
			h.connect("0")
			h.cmd(`AT+CMQTTACCQ=1,"id1"`, ok)
			if err := s.Inject("nonet silent"); err != nil {
				t.Fatal(err)
			}
			h.cmd("AT+CGREG?", "\r\n+CGREG: 0,2\r\n"+ok) // no URC came before this answer
			if l := d.last(t); !l.wasDropped() || l.wasDisconnected() {
				t.Error("link not dropped without DISCONNECT")
			}
			h.cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,1\r\n"+ok)
			h.data("AT+CMQTTTOPIC=0,1", "t", ok)
			h.cmd("AT+CMQTTPUB=0,1,60", ok+"\r\n+CMQTTPUB: 0,11\r\n")
			h.cmd(`AT+CMQTTCONNECT=1,"tcp://a.b.c:1883",60,1`, tc.answer)
			s.RestoreNetwork()
			h.send("AT+CMQTTDISC=0,60\r")
			h.expectAnyOrder(ok, "\r\n+CMQTTDISC: 0,0\r\n")
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",60,1`, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
			h.cmd(`AT+CMQTTCONNECT=1,"tcp://a.b.c:1883",60,1`, ok+"\r\n+CMQTTCONNECT: 1,0\r\n")
			h.quiet(s)
		})
	}
}

// TestKeepaliveFail: "+CMQTTPING: i,17"; the broker link is dropped
// without DISCONNECT but the firmware still holds the index as connected
// until AT+CMQTTDISC: DISC? says 0, CONNECT answers 13, REL 19, a publish
// gets result 11; DISC frees the index (result 0) and CONNECT works again.
func TestKeepaliveFail(t *testing.T) {
	for _, model := range []simcom.Model{simcom.A7600, simcom.SIM7600} {
		t.Run(model.String(), func(t *testing.T) {
			s, h, d := startFake(t, Config{Model: model})
			h.start()
			h.connect("0")
			if err := s.KeepaliveFail(0); err != nil {
				t.Fatal(err)
			}
			h.expect("\r\n+CMQTTPING: 0,17\r\n")
			dead := d.last(t)
			if !dead.wasDropped() || dead.wasDisconnected() {
				t.Error("link not dropped without DISCONNECT")
			}
			h.cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,1\r\n"+ok)
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example:1883",60,1`, codeErr("+CMQTTCONNECT", 0, 13))
			h.cmd("AT+CMQTTREL=0", codeErr("+CMQTTREL", 0, 19))
			h.data("AT+CMQTTTOPIC=0,1", "t", ok)
			h.cmd("AT+CMQTTPUB=0,1,60", ok+"\r\n+CMQTTPUB: 0,11\r\n")
			if err := s.KeepaliveFail(0); err != nil { // it keeps failing
				t.Fatal(err)
			}
			h.expect("\r\n+CMQTTPING: 0,17\r\n")
			h.send("AT+CMQTTDISC=0,60\r")
			h.expectAnyOrder(ok, "\r\n+CMQTTDISC: 0,0\r\n")
			h.cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,1\r\n+CMQTTDISC: 1,1\r\n"+ok)
			if err := s.KeepaliveFail(0); err == nil {
				t.Error("KeepaliveFail on a disconnected index: no error")
			}
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example:1883",60,1`, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
			if pubs := dead.published(); len(pubs) != 0 {
				t.Errorf("a publish reached the dead link: %+v", pubs)
			}
			h.quiet(s)
		})
	}
}

// TestReboot: the model's boot messages, optionally after a NUL; all MQTT
// state and the echo setting are back to power-up; certificates survive.
func TestReboot(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		boot string
	}{
		{"A7600", Config{Model: simcom.A7600}, "\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n\r\n*ATREADY: 1\r\n"},
		{"SIM7600", Config{Model: simcom.SIM7600}, "\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n"},
		{"A7600-NUL", Config{Model: simcom.A7600, BootNUL: true}, "\x00\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n\r\n*ATREADY: 1\r\n"},
		{"custom", Config{Model: simcom.SIM7600, BootMessages: []string{"QCRDY", "+CGEV: EPS PDN ACT 1"}}, "\r\nQCRDY\r\n\r\n+CGEV: EPS PDN ACT 1\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, h, d := startFake(t, tc.cfg)
			h.cmd(`AT+CCERTDOWN="ca.pem",2`, promp)
			h.send("ca")
			h.expect(ok)
			h.cmd(`AT+CSSLCFG="authmode",1,2`, ok)
			h.start()
			h.connect("0")
			s.Reboot()
			h.expect(tc.boot)
			if !d.last(t).wasDropped() {
				t.Error("link not dropped")
			}
			h.cmd("AT+CMQTTACCQ?", erro) // service stopped
			h.cmd("AT+CSSLCFG=1", "\r\n+CSSLCFG: 1,4,0,1,300,\"\",\"\",\"\"\r\n"+ok)
			h.cmd("AT+CCERTLIST", "\r\n+CCERTLIST: \"ca.pem\"\r\n"+ok)
			h.cmd("AT+CMQTTSTART", ok+"\r\n+CMQTTSTART: 0\r\n")
			h.cmd("AT+CMQTTACCQ?", "\r\n+CMQTTACCQ: 0,\"\",0\r\n+CMQTTACCQ: 1,\"\",0\r\n"+ok)
			h.quiet(s)
		})
	}
}

// TestCRESET answers OK, then reboots; echo is back on (power-up default).
func TestCRESET(t *testing.T) {
	s, h := startSim(t, Config{Model: simcom.SIM7600})
	h.cmd("ATE0", "ATE0\r"+ok)
	h.cmd("AT", ok)
	h.cmd("AT+CRESET", ok+"\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n")
	h.cmd("AT", "AT\r"+ok)
	h.quiet(s)
}

// TestURCNeverInsideAnswer: URCs raised during a prompt exchange (noise, an
// inbound message, a lost connection) come after the final result.
func TestURCNeverInsideAnswer(t *testing.T) {
	s, h, d := startFake(t, Config{})
	h.start()
	h.connect("0")
	h.connect("1")
	h.cmd("AT+CMQTTTOPIC=0,4", promp)
	l1 := d.last(t)
	l1.ev.Message("in", []byte("hi"))
	s.Noise([]byte("\xff\xfe"))
	h.send("a/b")
	waitQueued(t, s, 2) // the message and the noise wait behind the prompt
	h.send("c")
	h.expect(ok + "\r\n+CMQTTRXSTART: 1,2,2\r\n+CMQTTRXTOPIC: 1,2\r\nin\r\n+CMQTTRXPAYLOAD: 1,2\r\nhi\r\n+CMQTTRXEND: 1\r\n\xff\xfe")
	h.quiet(s)
}

// waitQueued waits until n units are held behind the current command.
func waitQueued(t *testing.T, s *Sim, n int) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for {
		s.out.mu.Lock()
		held := len(s.out.held)
		s.out.mu.Unlock()
		if held >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d units held, want %d", held, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDropNextAnswer(t *testing.T) {
	s, h := startSim(t, Config{})
	s.DropNextAnswer()
	h.cmd("AT+CSQ", "AT+CSQ\r") // the echo still comes
	h.cmd("AT+CGMM", "AT+CGMM\r\r\nA7670E-LASE\r\n"+ok)
	h.quiet(s)
}

// waitHostBytesHeld waits until a stall holds what the host wrote: the
// modem's reader has taken bytes off the line and waits for the stall to
// end; what the host writes after them waits behind them. (Waiting for the
// line to be empty failed when the reader took the first of two writes
// before the second came: it holds one read, not the whole line; CI saw
// it once under load.)
func waitHostBytesHeld(t *testing.T, s *Sim) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for !s.out.holdingInput() {
		if time.Now().After(deadline) {
			t.Fatal("the stalled modem holds nothing the host wrote")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStall: a USB hang. Nothing reaches the host, and what the host
// writes reaches the modem only when the stall ends: a URC raised while
// the host's command was held comes before that command's answer (the
// modem never saw the command before the stall ended). A timed stall ends
// by itself.
func TestStall(t *testing.T) {
	s, h, _ := startFake(t, Config{})
	h.start()
	h.connect("1")
	s.Stall(0)
	h.send("AT\r")
	h.send("AT+CPIN?\r")
	waitHostBytesHeld(t, s)
	if err := s.DropConnection(1, 2); err != nil {
		t.Fatal(err)
	}
	if got := s.tr.bytesTo(ToModem); bytes.Contains(got, []byte("CPIN")) {
		t.Fatalf("the modem read %q while stalled", got)
	}
	h.mu.Lock()
	got := len(h.buf)
	h.mu.Unlock()
	if got != 0 {
		t.Fatalf("%d bytes reached the host while stalled", got)
	}
	s.Unstall()
	h.expect("\r\n+CMQTTCONNLOST: 1,2\r\n" + ok + "\r\n+CPIN: READY\r\n" + ok)
	if err := s.Inject("stall 20ms"); err != nil {
		t.Fatal(err)
	}
	h.cmd("AT", ok)
	h.quiet(s)
}

// TestStallReplaysBacklog: the scenario of issue 13.1. The host writes
// AT+CMQTTTOPIC just as the port hangs; no prompt comes, so it gives up
// and writes its next command, AT+CMQTTPAYLOAD. When the port comes back
// both lines reach the modem at once: the TOPIC's prompt comes, the first
// bytes of the PAYLOAD line become the topic ("AT+"), then OK. The host
// reads that stale '>' and OK as if they answered its PAYLOAD command;
// what it sends next is not what the modem waits for.
func TestStallReplaysBacklog(t *testing.T) {
	s, h, d := startFake(t, Config{Model: simcom.A7600})
	h.start()
	h.connect("0")
	h.cmd("ATE1", ok)
	if err := s.Inject("stall 0"); err != nil {
		t.Fatal(err)
	}
	h.send("AT+CMQTTTOPIC=0,3\r")
	waitHostBytesHeld(t, s)
	h.send("AT+CMQTTPAYLOAD=0,5\r") // after the host's timeout
	waitHostBytesHeld(t, s)
	if err := s.Inject("unstall"); err != nil {
		t.Fatal(err)
	}
	// Echo on: the TOPIC line, its prompt, the 3 topic bytes "AT+" taken
	// from the next line, OK; then the rest of that line, which does not
	// start with AT, is echoed and ignored.
	h.expect("AT+CMQTTTOPIC=0,3\r\r\n>" + ok + "CMQTTPAYLOAD=0,5\r")
	// The host took that '>' for the PAYLOAD's prompt and sent the payload;
	// it becomes the start of a line the modem ignores with the next command.
	h.send("hello")
	h.cmd("AT+CMQTTPUB=0,1,60", "helloAT+CMQTTPUB=0,1,60\r")
	h.cmd("AT+CMQTTPUB=0,1,60", "AT+CMQTTPUB=0,1,60\r"+ok+"\r\n+CMQTTPUB: 0,0\r\n")
	if got := d.last(t).published(); len(got) != 1 || got[0].topic != "AT+" || got[0].payload != "" {
		t.Errorf("broker got %+v, want one message to topic \"AT+\" with an empty payload", got)
	}
	h.quiet(s)
}

// TestUnplug: the host reads EOF and cannot write; the modem keeps its
// state for the next host.
func TestUnplug(t *testing.T) {
	s, err := New(Config{Echo: EchoOff})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := s.Conn()
	h := newHost(t, c)
	h.cmd("AT+CMQTTSTART", ok+"\r\n+CMQTTSTART: 0\r\n")
	s.Unplug()
	h.waitFor("EOF", func([]byte) bool { return h.eof }) // cond runs under h.mu
	if _, err := c.Write([]byte("AT\r")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("write after unplug: %v, want io.ErrClosedPipe", err)
	}
	h2 := newHost(t, s.Conn())
	h2.cmd("AT+CMQTTSTART", erro) // still started
}

// TestRXChunks: payloads stream in RXChunk pieces (default 1500), long
// topics too.
func TestRXChunks(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 1024) // 10240 bytes
	t.Run("default", func(t *testing.T) {
		s, h, d := startFake(t, Config{})
		h.start()
		h.connect("0")
		d.last(t).ev.Message("t/x", payload)
		var want strings.Builder
		want.WriteString("\r\n+CMQTTRXSTART: 0,3,10240\r\n+CMQTTRXTOPIC: 0,3\r\nt/x\r\n")
		for off := 0; off < len(payload); off += 1500 {
			end := min(off+1500, len(payload))
			want.WriteString("+CMQTTRXPAYLOAD: 0," + itoaCode(simcom.ResultCode(end-off)) + "\r\n")
			want.Write(payload[off:end])
			want.WriteString("\r\n")
		}
		want.WriteString("+CMQTTRXEND: 0\r\n")
		h.expect(want.String())
		h.quiet(s)
	})
	t.Run("small", func(t *testing.T) {
		s, h, d := startFake(t, Config{RXChunk: 4})
		h.start()
		h.connect("0")
		d.last(t).ev.Message("abcdef", []byte("\r\nOK\r\n"))
		h.expect("\r\n+CMQTTRXSTART: 0,6,6\r\n+CMQTTRXTOPIC: 0,4\r\nabcd\r\n+CMQTTRXTOPIC: 0,2\r\nef\r\n" +
			"+CMQTTRXPAYLOAD: 0,4\r\n\r\nOK\r\n+CMQTTRXPAYLOAD: 0,2\r\n\r\n\r\n+CMQTTRXEND: 0\r\n")
		h.quiet(s)
	})
}

// TestBusyWhileStreaming: a command written while a message streams out
// gets 14 after the stream (BusyReject), lands inside the stream
// (BusyCorrupt) or runs after it (BusyIgnore).
func TestBusyWhileStreaming(t *testing.T) {
	payload := strings.Repeat("p", 3000) // about 260 ms at 115200 baud
	rx := "\r\n+CMQTTRXSTART: 0,1,3000\r\n+CMQTTRXTOPIC: 0,1\r\nt\r\n+CMQTTRXPAYLOAD: 0,1500\r\n" + payload[:1500] +
		"\r\n+CMQTTRXPAYLOAD: 0,1500\r\n" + payload[1500:] + "\r\n+CMQTTRXEND: 0\r\n"
	for _, tc := range []struct {
		name string
		mode BusyMode
	}{{"reject", BusyReject}, {"corrupt", BusyCorrupt}, {"ignore", BusyIgnore}} {
		t.Run(tc.name, func(t *testing.T) {
			s, h, d := startFake(t, Config{Baud: 115200})
			h.start()
			h.connect("0")
			s.SetBusyWhileStreaming(tc.mode)
			d.last(t).ev.Message("t", []byte(payload))
			h.waitFor("RXSTART", func(b []byte) bool { return bytes.Contains(b, []byte("+CMQTTRXSTART")) })
			h.send("AT+CMQTTDISC?\r")
			answer := "\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,1\r\n" + ok
			switch tc.mode {
			case BusyReject:
				h.expect(rx + erro)
				// An MQTT write command on an index gets 14 (client is busy).
				d.last(t).ev.Message("t", []byte(payload))
				h.waitFor("RXSTART", func(b []byte) bool { return bytes.Contains(b, []byte("+CMQTTRXSTART")) })
				h.send("AT+CMQTTPUB=0,1,60\r")
				h.expect(rx + codeErr("+CMQTTPUB", 0, 14))
			case BusyIgnore:
				h.expect(rx + answer)
			case BusyCorrupt:
				h.waitFor("corrupted stream", func(b []byte) bool { return len(b) >= len(rx)+len(answer) })
				h.mu.Lock()
				got := string(h.buf)
				h.buf = nil
				h.mu.Unlock()
				i := strings.Index(got, answer)
				if i < 0 || i+len(answer) == len(got) || strings.Replace(got, answer, "", 1) != rx {
					t.Fatalf("answer not inside the stream: %q", got)
				}
			}
			h.quiet(s)
		})
	}
}

// TestRebootDuringPrompt: a reboot while the modem waits for prompt data
// ends that command without an answer; held URCs die, the boot messages
// come at once, and the modem answers the next command.
func TestRebootDuringPrompt(t *testing.T) {
	s, h, d := startFake(t, Config{Model: simcom.SIM7600})
	h.start()
	h.connect("0")
	h.cmd("AT+CMQTTTOPIC=0,5", promp)
	h.send("ab")
	d.last(t).ev.Message("lost", []byte("in the reboot"))
	waitQueued(t, s, 1)
	s.Reboot()
	h.expect("\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n")
	h.cmd("AT", ok)
	h.quiet(s)
}
