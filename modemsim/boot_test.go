package modemsim

import (
	"bytes"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// waitModemRead waits until the modem has read want from the host (the
// transcript's host->modem bytes end with it).
func waitModemRead(t *testing.T, s *Sim, want string) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for !bytes.HasSuffix(s.tr.bytesTo(ToModem), []byte(want)) {
		if time.Now().After(deadline) {
			t.Fatalf("the modem did not read %q within %v; it read %q", want, testWait, s.tr.bytesTo(ToModem))
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBootingAtStart: a program that starts with the modem (issue 12.4):
// its first command gets no echo and no answer, then the boot burst comes
// (the A7672 one byte for byte as esp-protocols#669 shows it, with echo
// on), and the command sent again is answered.
func TestBootingAtStart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		burst string
	}{
		{"A7672", Config{Boot: BootA7672},
			"\r\n*ATREADY: 1\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\n+CGEV: EPS PDN ACT 1\r\n\r\nPB DONE\r\n"},
		{"A7670", Config{Boot: BootA7670},
			"\r\n*ATREADY: 1\r\n\r\n*ISIMAID: \"A0000000871004FF49FF0589\"\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n" +
				"\r\n+CGEV: EPS PDN ACT 1\r\n\r\n+MSTK: 14\r\n\r\nPB DONE\r\n"},
		{"A7600 model", Config{Model: simcom.A7600},
			"\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n\r\n*ATREADY: 1\r\n"},
		{"SIM7600 model NUL", Config{Model: simcom.SIM7600, BootNUL: true},
			"\x00\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Echo = EchoOn
			cfg.Booting = &Booting{Lines: 1}
			s, h := startSim(t, cfg)
			h.send("\r") // a blank line is lost too, but does not count
			h.send("AT\r")
			h.expect(tc.burst)
			h.cmd("AT", "AT\r"+ok)
			h.quiet(s)
		})
	}
}

// TestBootingEnds: a boot ends after its Lines, after For, or at
// FinishBoot; every line meanwhile is lost.
func TestBootingEnds(t *testing.T) {
	const burst = "\r\n*ATREADY: 1\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\n+CGEV: EPS PDN ACT 1\r\n\r\nPB DONE\r\n"
	t.Run("lines", func(t *testing.T) {
		s, h := startSim(t, Config{Boot: BootA7672, Echo: EchoOff, Booting: &Booting{Lines: 3}})
		h.send("AT\rAT+CGMM\rATE1\r")
		h.expect(burst)
		h.cmd("AT", ok) // ATE1 was lost
		h.quiet(s)
	})
	t.Run("for", func(t *testing.T) {
		const d = 100 * time.Millisecond
		start := time.Now()
		s, h := startSim(t, Config{Boot: BootA7672, Echo: EchoOff, Booting: &Booting{For: d}})
		h.expect(burst)
		if took := time.Since(start); took < d {
			t.Errorf("boot messages after %v, want at least %v", took, d)
		}
		h.cmd("AT", ok)
		h.quiet(s)
	})
	t.Run("finish", func(t *testing.T) {
		s, h := startSim(t, Config{Boot: BootA7672, Echo: EchoOff, Booting: &Booting{}})
		h.send("AT\r")
		waitModemRead(t, s, "AT\r")
		h.mu.Lock()
		got := len(h.buf)
		h.mu.Unlock()
		if got != 0 {
			t.Fatalf("%d bytes while booting", got)
		}
		s.FinishBoot()
		h.expect(burst)
		s.FinishBoot() // not booting: nothing
		h.cmd("AT", ok)
		h.quiet(s)
	})
}

// TestBootFault: Boot restarts a running modem that then stays silent
// while it boots: the links drop, the state is back to power-up, and the
// commands written meanwhile are lost.
func TestBootFault(t *testing.T) {
	s, h, d := startFake(t, Config{Model: simcom.A7600})
	h.start()
	h.connect("0")
	if err := s.Inject("booting lines=2"); err != nil {
		t.Fatal(err)
	}
	if !d.last(t).wasDropped() {
		t.Error("link not dropped")
	}
	h.send("AT+CMQTTDISC?\r")
	h.send("AT+CMQTTSTART\r")
	h.expect("\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n\r\n*ATREADY: 1\r\n")
	h.cmd("AT", ok)
	h.cmd("AT+CMQTTACCQ?", erro) // the service is stopped
	if err := s.Inject("booting 1h"); err != nil {
		t.Fatal(err)
	}
	h.send("AT\r")
	waitModemRead(t, s, "AT+CMQTTACCQ?\rAT\r")
	if err := s.Inject("ready"); err != nil {
		t.Fatal(err)
	}
	h.expect("\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n\r\n*ATREADY: 1\r\n")
	h.quiet(s)
}

func TestBootingArgs(t *testing.T) {
	if _, err := New(Config{Booting: &Booting{Lines: -1}}); err == nil {
		t.Error("negative Lines: no error")
	}
	if _, err := New(Config{Boot: BootBurst(9)}); err == nil {
		t.Error("unknown burst: no error")
	}
	s, _ := startSim(t, Config{})
	for _, tc := range []struct{ cmd, want string }{
		{"booting lines=0", `modemsim: booting: lines "0": want a number of command lines, 1 or more`},
		{"booting soon", `modemsim: booting: DURATION "soon": want a duration such as 2s or 500ms`},
		{"ready now", `modemsim: ready: unexpected argument "now"`},
	} {
		if err := s.Inject(tc.cmd); err == nil || err.Error() != tc.want {
			t.Errorf("Inject(%q) = %v, want %q", tc.cmd, err, tc.want)
		}
	}
}

// TestRebootInRX: a reboot in the middle of a 10 KB inbound message (issue
// 13.2): the host gets the RX sequence up to the chosen byte, then the boot
// messages at once; the rest of the block, and whatever was queued behind
// it, never comes; all MQTT state is gone.
func TestRebootInRX(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 1024)
	rx := rxSequence(0, []byte("big/t"), payload, 1500)
	const boot = "\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n"
	for _, k := range []int{0, 1, 40, 5000, len(rx) - 1, len(rx) + 10} {
		t.Run(itoaCode(simcom.ResultCode(k)), func(t *testing.T) {
			s, h, d := startFake(t, Config{Model: simcom.SIM7600})
			h.start()
			h.connect("0")
			if err := s.Inject("rxreboot " + itoaCode(simcom.ResultCode(k))); err != nil {
				t.Fatal(err)
			}
			link := d.last(t)
			link.ev.Message("big/t", payload)
			link.ev.Message("next", []byte("lost behind the reboot")) // may be queued already
			h.expect(string(rx[:min(k, len(rx))]) + boot)
			if !link.wasDropped() {
				t.Error("link not dropped")
			}
			h.cmd("AT+CMQTTACCQ?", erro)
			h.quiet(s)
		})
	}
	s, _ := startSim(t, Config{})
	if err := s.RebootInRX(-1); err == nil {
		t.Error("negative byte: no error")
	}
}
