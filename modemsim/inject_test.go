package modemsim

import (
	"errors"
	"strings"
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// TestInjectErrors: malformed fault commands are refused with an error
// naming the problem, before anything happens to the modem.
func TestInjectErrors(t *testing.T) {
	s, h, _ := startFake(t, Config{})
	for _, tc := range []struct{ cmd, want string }{
		{"drop", "modemsim: drop: missing IDX"},
		{"drop 0", "modemsim: drop: missing CAUSE"},
		{"drop x 1", `modemsim: drop: IDX "x" is not a number`},
		{"drop 0 1 2", `modemsim: drop: unexpected argument "2"`},
		{"drop 0 1", "modemsim: client index 0 is not connected"},
		{"drop 0 4", "modemsim: connection-lost cause 4: want 1, 2 or 3"},
		{"ping", "modemsim: ping: missing IDX"},
		{"ping 2", "modemsim: client index 2: want 0 or 1"},
		{"nonet now", `modemsim: nonet: unexpected argument "now" (want nothing or silent)`},
		{"nonet silent now", `modemsim: nonet: unexpected argument "now" (want nothing or silent)`},
		{"noise", "modemsim: noise: missing TEXT"},
		{"stall", "modemsim: stall: missing DURATION"},
		{"stall soon", `modemsim: stall: DURATION "soon": want a duration such as 2s or 500ms`},
		{"stall -1s", `modemsim: stall: DURATION "-1s" is negative`},
		{"stall 1s 2s", `modemsim: stall: unexpected argument "2s"`},
	} {
		if err := s.Inject(tc.cmd); err == nil || err.Error() != tc.want {
			t.Errorf("Inject(%q) = %v, want %q", tc.cmd, err, tc.want)
		}
	}
	for _, cmd := range []string{"frobnicate", "help", "DROP 0 1"} {
		if err := s.Inject(cmd); !errors.Is(err, ErrUnknownFault) {
			t.Errorf("Inject(%q) = %v, want ErrUnknownFault", cmd, err)
		}
	}
	for _, cmd := range []string{"", "   "} {
		if err := s.Inject(cmd); err != nil {
			t.Errorf("Inject(%q) = %v, want nil", cmd, err)
		}
	}
	h.quiet(s) // nothing reached the host
}

// TestInjectFaults: each fault command has the effect of its method on
// the AT port, byte for byte.
func TestInjectFaults(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		want string // what the host reads after the command
	}{
		{"drop 1 2", "\r\n+CMQTTCONNLOST: 1,2\r\n"},
		{"  drop   0   3 ", "\r\n+CMQTTCONNLOST: 0,3\r\n"},
		{"ping 0", "\r\n+CMQTTPING: 0,17\r\n"},
		{"nonet", "\r\n+CMQTTNONET\r\n"},
		{"reboot", "\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n\r\n*ATREADY: 1\r\n"},
		{"noise  two  words ", "two  words"},
	} {
		t.Run(strings.Fields(tc.cmd)[0], func(t *testing.T) {
			s, h, _ := startFake(t, Config{Model: simcom.A7600})
			h.start()
			h.connect("0")
			h.connect("1")
			if err := s.Inject(tc.cmd); err != nil {
				t.Fatal(err)
			}
			h.expect(tc.want)
			h.quiet(s)
		})
	}
	t.Run("dropanswer", func(t *testing.T) {
		s, h := startSim(t, Config{Echo: EchoOff})
		if err := s.Inject("dropanswer"); err != nil {
			t.Fatal(err)
		}
		h.send("AT\r")
		h.cmd("AT+CGMM", "\r\nA7670E-LASE\r\n"+ok)
		h.quiet(s)
	})
	t.Run("restore", func(t *testing.T) {
		s, h := startSim(t, Config{Echo: EchoOff})
		s.NoNetwork()
		h.expect("\r\n+CMQTTNONET\r\n")
		if err := s.Inject("restore"); err != nil {
			t.Fatal(err)
		}
		h.cmd("AT+CSQ", "\r\n+CSQ: 23,0\r\n"+ok)
	})
	t.Run("unplug", func(t *testing.T) {
		s, h := startSim(t, Config{Echo: EchoOff})
		if err := s.Inject("unplug"); err != nil {
			t.Fatal(err)
		}
		h.waitFor("EOF", func([]byte) bool { return h.eof })
	})
}

// TestInjectHelpListsEveryCommand: InjectHelp names every command Inject
// knows, and only those.
func TestInjectHelpListsEveryCommand(t *testing.T) {
	listed := map[string]bool{}
	for _, line := range strings.Split(InjectHelp, "\n")[1:] {
		if strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") {
			listed[strings.Fields(line)[0]] = true
		}
	}
	for name := range faults {
		if !listed[name] {
			t.Errorf("InjectHelp does not list %q", name)
		}
		delete(listed, name)
	}
	for name := range listed {
		t.Errorf("InjectHelp lists %q, which Inject does not know", name)
	}
}
