package modemsim

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

// BootBurst selects the lines the modem writes when it has booted.
type BootBurst int

const (
	// BootModel is the model's burst: "RDY", "+CPIN: READY", "SMS DONE",
	// "PB DONE", "*ATREADY: 1" on the A7600 family; "RDY", "+CPIN: READY",
	// "SMS DONE", "PB DONE" on the SIM7600.
	BootModel BootBurst = iota
	// BootA7672 is an A7672 powering up (espressif/esp-protocols#669):
	// "*ATREADY: 1", "+CPIN: READY", "SMS DONE", "+CGEV: EPS PDN ACT 1",
	// "PB DONE".
	BootA7672
	// BootA7670 is an A7670 powering up (LilyGo-Modem-Series #343, #397):
	// BootA7672's lines with the ISIM application ID after "*ATREADY: 1"
	// and the SIM toolkit's "+MSTK: 14" after the PDN activation.
	BootA7670
)

// isimAID is the ISIM application ID of the BootA7670 burst (the 3GPP
// ISIM prefix A0000000871004 and a made-up rest).
const isimAID = `*ISIMAID: "A0000000871004FF49FF0589"`

// bootLines returns the lines of a burst for the dialect's model.
func bootLines(b BootBurst, model []string) ([]string, error) {
	switch b {
	case BootModel:
		return model, nil
	case BootA7672:
		return []string{"*ATREADY: 1", "+CPIN: READY", "SMS DONE", "+CGEV: EPS PDN ACT 1", "PB DONE"}, nil
	case BootA7670:
		return []string{"*ATREADY: 1", isimAID, "+CPIN: READY", "SMS DONE", "+CGEV: EPS PDN ACT 1", "+MSTK: 14", "PB DONE"}, nil
	}
	return nil, fmt.Errorf("modemsim: unknown boot burst %d", int(b))
}

// Booting describes a modem that is still starting up (issue 12.4): it
// reads what the host writes but neither echoes nor answers anything, then
// writes its boot messages. The host's commands meanwhile are lost: the
// first command(s) of a program that starts with the modem get no answer
// at all. The boot ends at whichever comes first of Lines and For, or at
// FinishBoot when both are zero.
type Booting struct {
	// Lines ends the boot right after the Lines-th command line the host
	// writes while it lasts (0: lines do not end it).
	Lines int
	// For ends the boot this long after it began (0: time does not end it).
	For time.Duration
}

// bootState is the progress of a boot; the zero value is a booted modem.
type bootState struct {
	on    bool
	lines int    // command lines left before the boot ends; 0: not counted
	epoch uint64 // incremented by each boot, so an old timer ends nothing
}

// Reboot restarts the modem as a power cycle or a crash would: broker
// connections drop without DISCONNECT, all MQTT state (service, clients,
// buffers, SSL contexts, echo) returns to power-up values, and the boot
// messages (Config.Boot, or Config.BootMessages) are written at once,
// after a NUL byte with Config.BootNUL. Files downloaded with AT+CCERTDOWN
// survive.
func (s *Sim) Reboot() { s.reboot() }

func (s *Sim) reboot() {
	s.resetState()
	s.writeBoot()
	s.log.Debug("modemsim: rebooted")
}

// Boot restarts the modem as Reboot does, but it stays silent while it
// boots, as b describes, before its boot messages come.
func (s *Sim) Boot(b Booting) error {
	if b.Lines < 0 || b.For < 0 {
		return fmt.Errorf("modemsim: booting for %d lines, %v: must not be negative", b.Lines, b.For)
	}
	s.resetState()
	s.startBoot(b)
	s.log.Debug("modemsim: booting", "lines", b.Lines, "for", b.For)
	return nil
}

// FinishBoot ends a boot now: the boot messages are written. It does
// nothing when the modem is not booting.
func (s *Sim) FinishBoot() {
	s.mu.Lock()
	on := s.boot.on
	s.boot.on = false
	s.mu.Unlock()
	if on {
		s.writeBoot()
	}
}

// resetState drops the broker links and returns every state of the
// firmware to its power-up value.
func (s *Sim) resetState() {
	s.mu.Lock()
	links := s.dropAllLocked(nil)
	s.st = newModemState(s.cfg.Echo != EchoOff)
	// URCs not yet written die with the old firmware. They are dropped
	// before the abort: the aborted command's end would otherwise queue
	// them for writing first.
	s.out.dropHeld()
	close(s.abort) // a command waiting for prompt data dies unanswered
	s.abort = make(chan struct{})
	s.mu.Unlock()
	for _, l := range links {
		l.Drop()
	}
}

// startBoot puts the modem in the booting state b describes.
func (s *Sim) startBoot(b Booting) {
	s.mu.Lock()
	s.boot.on = true
	s.boot.lines = b.Lines
	s.boot.epoch++
	epoch := s.boot.epoch
	s.mu.Unlock()
	if b.For > 0 {
		s.goAsync(func(context.Context) {
			if !s.sleep(b.For) {
				return
			}
			s.mu.Lock()
			now := s.boot.on && s.boot.epoch == epoch
			s.boot.on = s.boot.on && !now
			s.mu.Unlock()
			if now {
				s.writeBoot()
			}
		})
	}
}

// swallowed reports whether a line is lost because the modem is booting,
// and ends the boot when it was the last command line (counts: not blank)
// the boot waited for.
func (s *Sim) swallowed(counts bool) bool {
	s.mu.Lock()
	if !s.boot.on {
		s.mu.Unlock()
		return false
	}
	end := false
	if counts && s.boot.lines > 0 {
		s.boot.lines--
		end = s.boot.lines == 0
		s.boot.on = !end
	}
	s.mu.Unlock()
	if end {
		s.writeBoot()
	}
	return true
}

// writeBoot writes the boot messages.
func (s *Sim) writeBoot() { s.out.urc(outUnit{data: s.bootBytes()}) }

// bootBytes are the boot messages as written.
func (s *Sim) bootBytes() []byte {
	var b bytes.Buffer
	if s.d.bootNUL {
		b.WriteByte(0)
	}
	for _, l := range s.d.boot {
		b.WriteString("\r\n" + l + "\r\n")
	}
	return b.Bytes()
}

// RebootInRX makes the modem reboot in the middle of the next inbound
// message it streams, after byte k of its RX sequence (counted from the
// "\r\n" before +CMQTTRXSTART; past the end: right after the sequence), as
// in issue 13.2: the rest of the block never comes, the boot messages
// follow at once, and everything the old firmware had not written yet
// (queued URCs, answers, later messages) is lost with it. The state is
// reset as by Reboot.
func (s *Sim) RebootInRX(k int) error {
	if k < 0 {
		return fmt.Errorf("modemsim: reboot at RX byte %d: must not be negative", k)
	}
	s.out.armCut(&streamCut{at: k, then: func() []byte {
		s.resetState()
		s.out.dropQueued()
		s.log.Debug("modemsim: rebooted inside an RX sequence", "byte", k)
		return s.bootBytes()
	}})
	return nil
}
