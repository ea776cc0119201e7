package modemsim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrUnknownFault is returned by Inject for a command it does not know.
var ErrUnknownFault = errors.New("modemsim: unknown fault command")

// InjectHelp lists the fault commands of Inject, one a line, as
// "cellmqtt sim" prints them for "help".
const InjectHelp = `fault injection (one command a line):
  drop IDX CAUSE   close client IDX's broker connection: +CMQTTCONNLOST: IDX,CAUSE (1-3)
  ping IDX         keepalive failure: +CMQTTPING: IDX,17; IDX stays "connected" until DISC
  dying pub|sub IDX [delivered] [noresult] [lost=now|DURATION|never] [cause=1-3]
                   the link dies under the next PUB/SUB of IDX: OK, result 6, +CMQTTCONNLOST
  nonet            data network down: +CMQTTNONET, links drop, the MQTT service stops
  nonet silent     data network down with no URC: links drop, indexes stay "connected"
  restore          data network back
  reboot           boot messages, all MQTT state cleared
  booting [lines=N] [DURATION]
                   reboot that stays silent (no echo, no answer) until the host wrote
                   N command lines or DURATION passed, then the boot messages
  ready            end booting now
  rxreboot BYTE    reboot after byte BYTE of the next inbound message's RX sequence
  noise TEXT       write TEXT to the AT port between frames
  dropanswer       lose the answer of the next command
  lateecho [LINES] the echo of the next LINES (1) command lines comes after their answer,
                   during the next command
  stall DURATION   USB hang for DURATION (e.g. 25s; 0 until unstall): nothing either
                   way, then the backlog both ways, in order
  unstall          end the stall
  unplug           the host sees EOF`

// fault is one command of Inject: run gets the words after the name and
// the raw text after it (for noise).
type fault struct {
	run func(s *Sim, args []string, rest string) error
}

// faults are the commands of Inject by name.
var faults = map[string]fault{
	"drop": {func(s *Sim, a []string, _ string) error {
		idx, cause, err := twoInts("drop", a, "IDX", "CAUSE")
		if err != nil {
			return err
		}
		return s.DropConnection(idx, cause)
	}},
	"ping": {func(s *Sim, a []string, _ string) error {
		idx, err := oneInt("ping", a, "IDX")
		if err != nil {
			return err
		}
		return s.KeepaliveFail(idx)
	}},
	"nonet": {func(s *Sim, a []string, _ string) error {
		switch {
		case len(a) == 0:
			s.NoNetwork()
		case a[0] == "silent" && len(a) == 1:
			s.NoNetworkSilent()
		default:
			return fmt.Errorf("modemsim: nonet: unexpected argument %q (want nothing or silent)", a[len(a)-1])
		}
		return nil
	}},
	"restore": {noArgs("restore", (*Sim).RestoreNetwork)},
	"reboot":  {noArgs("reboot", (*Sim).Reboot)},
	"noise": {func(s *Sim, _ []string, rest string) error {
		if rest == "" {
			return errors.New("modemsim: noise: missing TEXT")
		}
		s.Noise([]byte(rest))
		return nil
	}},
	"dropanswer": {noArgs("dropanswer", (*Sim).DropNextAnswer)},
	"stall": {func(s *Sim, a []string, _ string) error {
		d, err := oneDuration("stall", a, "DURATION")
		if err != nil {
			return err
		}
		s.Stall(d)
		return nil
	}},
	"unstall": {noArgs("unstall", (*Sim).Unstall)},
	"dying":   {injectDying},
	"booting": {injectBooting},
	"ready":   {noArgs("ready", (*Sim).FinishBoot)},
	"lateecho": {func(s *Sim, a []string, _ string) error {
		n := 1
		if len(a) > 0 {
			var err error
			if n, err = oneInt("lateecho", a, "LINES"); err != nil {
				return err
			}
			if n < 1 {
				return fmt.Errorf("modemsim: lateecho: LINES %d: want 1 or more", n)
			}
		}
		s.LateEcho(n)
		return nil
	}},
	"rxreboot": {func(s *Sim, a []string, _ string) error {
		k, err := oneInt("rxreboot", a, "BYTE")
		if err != nil {
			return err
		}
		return s.RebootInRX(k)
	}},
	"unplug": {noArgs("unplug", (*Sim).Unplug)},
}

// Inject runs one fault command, as typed on the standard input of
// "cellmqtt sim" or written in a test script, e.g. "drop 0 1", "nonet",
// "stall 25s" (InjectHelp lists them all). Words are separated by spaces;
// a blank line does nothing. It fails with an error naming the problem for
// a malformed command, wrapping ErrUnknownFault for an unknown one, or with
// the error of the fault method it calls (e.g. an index that is not
// connected).
func (s *Sim) Inject(cmd string) error {
	words := strings.Fields(cmd)
	if len(words) == 0 {
		return nil
	}
	name := words[0]
	f, ok := faults[name]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownFault, name)
	}
	rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(cmd), name))
	return f.run(s, words[1:], rest)
}

// noArgs adapts a fault method without arguments.
func noArgs(name string, f func(*Sim)) func(*Sim, []string, string) error {
	return func(s *Sim, a []string, _ string) error {
		if len(a) > 0 {
			return fmt.Errorf("modemsim: %s: unexpected argument %q", name, a[0])
		}
		f(s)
		return nil
	}
}

// intArg parses argument i of a fault command, named what in errors.
func intArg(name string, a []string, i int, what string) (int, error) {
	if i >= len(a) {
		return 0, fmt.Errorf("modemsim: %s: missing %s", name, what)
	}
	v, err := strconv.Atoi(a[i])
	if err != nil {
		return 0, fmt.Errorf("modemsim: %s: %s %q is not a number", name, what, a[i])
	}
	return v, nil
}

// extra fails when a has more than n arguments.
func extra(name string, a []string, n int) error {
	if len(a) > n {
		return fmt.Errorf("modemsim: %s: unexpected argument %q", name, a[n])
	}
	return nil
}

func oneInt(name string, a []string, what string) (int, error) {
	v, err := intArg(name, a, 0, what)
	if err == nil {
		err = extra(name, a, 1)
	}
	return v, err
}

func twoInts(name string, a []string, what1, what2 string) (int, int, error) {
	v1, err := intArg(name, a, 0, what1)
	if err != nil {
		return 0, 0, err
	}
	v2, err := intArg(name, a, 1, what2)
	if err == nil {
		err = extra(name, a, 2)
	}
	return v1, v2, err
}

// parseDuration parses a Go duration ("2s", "500ms") or a plain number of
// seconds ("0", "25"); negative durations are refused.
func parseDuration(name, what, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			return 0, fmt.Errorf("modemsim: %s: %s %q: want a duration such as 2s or 500ms", name, what, v)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return 0, fmt.Errorf("modemsim: %s: %s %q is negative", name, what, v)
	}
	return d, nil
}

func oneDuration(name string, a []string, what string) (time.Duration, error) {
	if len(a) == 0 {
		return 0, fmt.Errorf("modemsim: %s: missing %s", name, what)
	}
	if err := extra(name, a, 1); err != nil {
		return 0, err
	}
	return parseDuration(name, what, a[0])
}

// injectDying is "dying pub|sub IDX [delivered] [noresult]
// [lost=now|DURATION|never] [cause=N]".
func injectDying(s *Sim, a []string, _ string) error {
	const name = "dying"
	if len(a) == 0 || (a[0] != "pub" && a[0] != "sub") {
		return fmt.Errorf("modemsim: %s: want pub or sub first", name)
	}
	idx, err := intArg(name, a, 1, "IDX")
	if err != nil {
		return err
	}
	var d DyingLink
	for _, w := range a[2:] {
		key, val, _ := strings.Cut(w, "=")
		switch {
		case w == "delivered":
			d.Delivered = true
		case w == "noresult":
			d.NoResult = true
		case key == "lost" && val == "now":
			d.LostAfter, d.NeverLost = 0, false
		case key == "lost" && val == "never":
			d.NeverLost = true
		case key == "lost":
			if d.LostAfter, err = parseDuration(name, "lost", val); err != nil {
				return err
			}
		case key == "cause":
			if d.Cause, err = strconv.Atoi(val); err != nil {
				return fmt.Errorf("modemsim: %s: cause %q is not a number", name, val)
			}
		default:
			return fmt.Errorf("modemsim: %s: unexpected argument %q", name, w)
		}
	}
	if a[0] == "pub" {
		return s.DyingLinkOnPublish(idx, d)
	}
	return s.DyingLinkOnSubscribe(idx, d)
}

// injectBooting is "booting [lines=N] [DURATION]".
func injectBooting(s *Sim, a []string, _ string) error {
	const name = "booting"
	var b Booting
	for _, w := range a {
		if v, ok := strings.CutPrefix(w, "lines="); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("modemsim: %s: lines %q: want a number of command lines, 1 or more", name, v)
			}
			b.Lines = n
			continue
		}
		d, err := parseDuration(name, "DURATION", w)
		if err != nil {
			return err
		}
		b.For = d
	}
	return s.Boot(b)
}
