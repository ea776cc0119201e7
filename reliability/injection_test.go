package reliability

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// injection is an attempt to smuggle an AT command through a quoted
// parameter: the value closes the quote and the command line, or chains a
// command with ';', or ends a data prompt with Ctrl-Z.
type injection struct {
	name    string
	payload string // inserted into the parameter's value
	command string // the command that must never reach the modem as one
}

var injections = []injection{
	{"CRLF + AT+CRESET", "x\"\r\nAT+CRESET\r\n", "AT+CRESET"},
	{"quote ; AT+CMQTTSTOP", "a\";AT+CMQTTSTOP;\"", "AT+CMQTTSTOP"},
	{"CR + AT+CPOF", "a\"\rAT+CPOF\r\"", "AT+CPOF"},
	{"LF only + AT+CRESET", "a\nAT+CRESET", "AT+CRESET"},
	{"Ctrl-Z + AT+CRESET", "a\x1aAT+CRESET\r", "AT+CRESET"},
	{"ESC + AT+CRESET", "a\x1b\rAT+CRESET\r", "AT+CRESET"},
	// No forbidden byte: legal inside the quotes, where it must stay.
	{"; AT+CRESET inside quotes", "a;AT+CRESET", "AT+CRESET"},
}

// injected reports whether command appears in wrote outside double quotes
// (an even number of '"' before it on its command line): as a command the
// modem would run.
func injected(wrote []byte, command string) bool {
	for _, line := range bytes.FieldsFunc(wrote, func(r rune) bool { return r == '\r' || r == '\n' || r == 0x1a || r == 0x1b }) {
		l := string(line)
		for i := strings.Index(l, command); i >= 0; {
			if strings.Count(l[:i], `"`)%2 == 0 {
				return true
			}
			j := strings.Index(l[i+1:], command)
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	return false
}

// rebooted reports whether the emulator wrote boot messages (it ran a
// reset).
func rebooted(sim *modemsim.Sim) bool {
	for _, e := range sim.Transcript() {
		if e.Dir == modemsim.ToHost && (bytes.Contains(e.Data, []byte("RDY")) || bytes.Contains(e.Data, []byte("*ATREADY"))) {
			return true
		}
	}
	return false
}

// TestInjection tries AT command injection through the client ID, the
// server address, the user name, the password, the certificate names and
// the APN,
// through the native client, paho over compat and the cellmqtt command:
// the injected command never reaches the modem as a command, and the
// emulated modem never resets.
func TestInjection(t *testing.T) {
	cli := buildCLI(t)
	model := atmodem.A7600
	targets := quotedParams // every quoted parameter
	type run struct {
		param, inj, command string
		c                   badCase
		res                 [3]outcome
	}
	var runs []*run
	for _, p := range targets {
		for _, in := range injections {
			runs = append(runs, &run{param: p.name, inj: in.name, command: in.command, c: quotedCase(p, in.name, p.value(in.payload))})
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, r := range runs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r.res[0] = runNative(model, r.c, nil)
			r.res[1] = runCompat(model, r.c)
			r.res[2] = runCLI(cli, model, "a7600", r.c)
		}()
	}
	wg.Wait()
	var tbl strings.Builder
	fmt.Fprintf(&tbl, "| parameter | injection | native | paho+compat | cellmqtt pub |\n|---|---|---|---|---|\n")
	attempts, reached := 0, 0
	for _, r := range runs {
		cells := make([]string, 3)
		for j, fe := range []string{"native", "paho+compat", "cellmqtt pub"} {
			o := r.res[j]
			if !o.applies {
				cells[j] = "n/a"
				continue
			}
			attempts++
			switch {
			case injected(o.wrote, r.command):
				reached++
				cells[j] = "INJECTED"
				t.Errorf("%s: %s via %s: %s reached the modem: %q", fe, r.inj, r.param, r.command, o.wrote)
			case o.reset:
				reached++
				cells[j] = "MODEM RESET"
				t.Errorf("%s: %s via %s: the modem reset", fe, r.inj, r.param)
			case o.err != "" && len(o.wrote) == 0:
				cells[j] = "refused, 0 B"
			case o.err != "":
				cells[j] = fmt.Sprintf("error, %d B written, no injected command", len(o.wrote))
			default:
				cells[j] = "accepted, stayed quoted"
			}
		}
		fmt.Fprintf(&tbl, "| %s | %s | %s | %s | %s |\n", r.param, r.inj, cells[0], cells[1], cells[2])
	}
	fmt.Fprintf(&tbl, "\n%d attempts, %d reached the modem as a command\n", attempts, reached)
	t.Log("\n" + tbl.String())
}
