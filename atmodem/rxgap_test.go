package atmodem

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRebootInsideRXBlock reproduces issue 13 point 2: the modem reboots
// after byte K of a 10 KB inbound message. The reader must not take the
// boot lines (and then the answers to later commands) as payload: the
// block is cut after the gap timeout, the partial message dropped, the
// reboot reported as one, and the next command waits for a marker.
func TestRebootInsideRXBlock(t *testing.T) {
	payload := strings.Repeat("p", 10240)
	head := fmt.Sprintf("\r\n+CMQTTRXSTART: 0,3,%d\r\n+CMQTTRXTOPIC: 0,3\r\na/b\r\n+CMQTTRXPAYLOAD: 0,1500\r\n", len(payload))
	for _, k := range []int{0, 1, 700, 1499} {
		t.Run(fmt.Sprintf("after %d bytes", k), func(t *testing.T) {
			rec := newEventRecorder()
			m, sm := startModem(t, deliverWhole, []step{
				{reply: head + payload[:k] + "\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n\r\n*ATREADY: 1\r\n"},
			}, rec.option(), WithRXGapTimeout(50*time.Millisecond))
			if ev := rec.next(t); ev.Kind != EventReset || !errors.Is(ev.Err, ErrModemReset) {
				t.Fatalf("event %+v, want EventReset", ev)
			}
			if k < 1499 {
				// The boot lines were read as data: the block was cut.
				if m.InStep() {
					t.Fatal("in step after a cut block")
				}
				sm.add(markerCSQ)
			} // else the block ended on the boot's CR: the boot was read as a line
			sm.add(step{expect: "AT\r", reply: "\r\nOK\r\n"})
			if _, err := m.exec(testCtx(t), request{line: "AT", index: -1}); err != nil {
				t.Fatal(err)
			}
			rec.none(t) // no message was delivered, and the reset counted once
		})
	}
}

// TestRXBlockGapWithoutReboot: a block that stops in the middle without a
// reboot (the rest never comes, or comes after the cut) drops the message;
// bytes that come after the cut are not taken as a message either.
func TestRXBlockGapWithoutReboot(t *testing.T) {
	rec := newEventRecorder()
	head := "\r\n+CMQTTRXSTART: 0,3,10\r\n+CMQTTRXTOPIC: 0,3\r\na/b\r\n+CMQTTRXPAYLOAD: 0,10\r\n01234"
	m, sm := startModem(t, deliverWhole, []step{{reply: head}}, rec.option(), WithRXGapTimeout(50*time.Millisecond))
	sm.waitSteps(t)
	waitFor(t, func() bool { return !m.InStep() })
	sm.add(step{reply: "56789\r\n+CMQTTRXEND: 0\r\n"}, markerCSQ, step{expect: "AT\r", reply: "\r\nOK\r\n"})
	if _, err := m.exec(testCtx(t), request{line: "AT", index: -1}); err != nil {
		t.Fatal(err)
	}
	rec.none(t)
}

// TestRXBlockSlowButSteady: a block that keeps coming, however slowly
// compared with the gap timeout, is read whole.
func TestRXBlockSlowButSteady(t *testing.T) {
	rec := newEventRecorder()
	gap := 200 * time.Millisecond
	m, sm := startModem(t, deliverWhole, []step{{reply: "\r\n+CMQTTRXSTART: 0,3,4\r\n+CMQTTRXTOPIC: 0,3\r\na/b\r\n+CMQTTRXPAYLOAD: 0,4\r\nab"}},
		rec.option(), WithRXGapTimeout(gap))
	sm.waitSteps(t)
	time.Sleep(gap / 4) // a pause well within the gap timeout, as a slow line has
	sm.inject("cd\r\n+CMQTTRXEND: 0\r\n")
	ev := rec.next(t)
	if ev.Kind != EventMessage || string(ev.Message.Payload) != "abcd" {
		t.Fatalf("event %+v, want the message", ev)
	}
	if !m.InStep() {
		t.Fatal("out of step after a whole message")
	}
}
