package atmodem

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestOpenSync: a new Modem proves with two markers of different kinds
// that what it reads answers its own commands, whatever the port held
// before: nothing, the late answer of a previous program's last command
// (even one of the first marker's kind), stale boot lines, or the answer
// lines of an ATI (the cause of `unknown model "Manufacturer: SIMCOM
// INCORPORATED"` when a program started while they sat in the port).
func TestOpenSync(t *testing.T) {
	csq := "\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
	cmee := "\r\n+CMEE: 0\r\n\r\nOK\r\n"
	tests := []struct {
		name  string
		stale string // in the port before the engine writes anything
		steps []step
	}{
		{"clean port", "", []step{
			{expect: "AT+CSQ\r", reply: csq},
			{expect: "AT+CMEE?\r", reply: cmee},
		}},
		{"late answer of another command", "\r\n+CMQTTDISC: 0,0\r\n\r\nOK\r\n", []step{
			{expect: "AT+CSQ\r", reply: csq},
			{expect: "AT+CMEE?\r", reply: cmee},
		}},
		{"late answer of a previous AT+CSQ", "\r\n+CSQ: 5,99\r\n\r\nOK\r\n", []step{
			// The stale answer passes for the first marker's; the first
			// marker's own answer then comes before the second's.
			{expect: "AT+CSQ\r", reply: csq},
			{expect: "AT+CMEE?\r", reply: cmee},
		}},
		{"previous program's ATI", "\r\nManufacturer: SIMCOM INCORPORATED\r\nModel: A7670E-LASE\r\nRevision: A011B04A7670M7\r\n\r\nOK\r\n", []step{
			{expect: "AT+CSQ\r", reply: csq},
			{expect: "AT+CMEE?\r", reply: cmee},
		}},
		{"stale boot lines", "", []step{
			// Boot lines that sat in the port, read after the first marker
			// went out: nothing older can follow them, but the marker may
			// have been lost in the reboot, so one of another kind follows.
			{expect: "AT+CSQ\r", reply: "\x00\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n" + csq},
			{expect: "AT+CMEE?\r", reply: cmee},
		}},
		{"stale boot lines read first", "\x00\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachDelivery(t, func(t *testing.T, mode delivery) {
				rec := newEventRecorder()
				steps := append(slices.Clone(tt.steps), echoOff,
					step{expect: "ATI\r", reply: "\r\nManufacturer: SIMCOM INCORPORATED\r\nModel: A7670E-LASE\r\n\r\nOK\r\n"})
				if tt.stale != "" {
					steps = append([]step{{reply: tt.stale}}, steps...)
				}
				if tt.steps == nil {
					// The boot lines are read before anything is written:
					// one marker is enough after them.
					steps = slices.Insert(steps, 1, step{expect: "AT+CSQ\r", reply: csq})
				}
				sm := newScriptModem(t, mode, steps...)
				m := New(sm, rec.option())
				if tt.steps == nil {
					if ev := rec.next(t); ev.Kind != EventReset {
						t.Fatalf("event %+v, want EventReset", ev)
					}
				}
				defer func() {
					_ = m.Close()
					sm.verify(t)
				}()
				// The stale bytes are queued before anything is written, so
				// they come ahead of every answer, as in a port that held
				// them when the program started.
				lines, err := m.Command(testCtx(t), "ATI")
				if err != nil {
					t.Fatal(err)
				}
				if want := []string{"Manufacturer: SIMCOM INCORPORATED", "Model: A7670E-LASE"}; !slices.Equal(lines, want) {
					t.Fatalf("ATI lines %q, want %q", lines, want)
				}
			})
		})
	}
}

// echoOff is ATE0 answered: what a new Modem writes once in step, before
// its first command (WithKeepEcho leaves it out).
var echoOff = step{expect: "ATE0\r", reply: "\r\nOK\r\n"}

// TestBootingModemAtStart reproduces a modem still booting when the program
// starts (espressif/esp-protocols#669, LilyGo-Modem-Series #397, #343): the
// first command gets no answer, then the boot burst arrives with echo on.
// Nothing was set up, so nothing is lost: the engine writes a marker
// again (of another kind) right after the burst and the command the booting modem never saw goes
// out once the modem answers.
func TestBootingModemAtStart(t *testing.T) {
	bursts := []struct{ name, burst string }{
		{"SIM7600", "\r\n*ATREADY: 1\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\n+CGEV: EPS PDN ACT 1\r\n\r\nPB DONE\r\n"},
		{"A7670", "\r\n*ATREADY: 1\r\n\r\n+CPIN: READY\r\n\r\n*ISIMAID: \"A0000000871002FF33FF018900000100\"\r\n\r\nSMS DONE\r\n\r\n+CGEV: EPS PDN ACT 1\r\n\r\n+MSTK: 14\r\n\r\nPB DONE\r\n"},
	}
	for _, b := range bursts {
		t.Run(b.name, func(t *testing.T) {
			forEachDelivery(t, func(t *testing.T, mode delivery) {
				rec := newEventRecorder()
				sm := newScriptModem(t, mode,
					step{expect: "AT+CSQ\r"}, // the booting modem never answers
					step{reply: b.burst},
					step{expect: "AT+CMEE?\r", reply: "AT+CMEE?\r\r\n+CMEE: 0\r\n\r\nOK\r\n"}, // echo on after boot
					step{expect: "ATE0\r", reply: "ATE0\r\r\nOK\r\n"},
					step{expect: "ATI\r", reply: "\r\nModel: A7670E-LASE\r\n\r\nOK\r\n"},
				)
				m := New(sm, rec.option())
				defer func() {
					_ = m.Close()
					sm.verify(t)
				}()
				lines, err := m.Command(testCtx(t), "ATI")
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(lines, []string{"Model: A7670E-LASE"}) {
					t.Fatalf("lines %q", lines)
				}
				if ev := rec.next(t); ev.Kind != EventReset {
					t.Fatalf("event %+v, want EventReset", ev)
				}
			})
		})
	}
}

// TestStaleAnswersAfterStall reproduces issue 13 point 1 on the scripted
// modem: the port stalls while AT+CMQTTTOPIC waits for its prompt; when it
// comes back it replays the backlog: the TOPIC's '>' (stale), the OK the
// modem gives when the filler completes the topic data, and the marker's
// answer. The stale '>' is never taken as a prompt and the next command's
// line never becomes topic data: it is written only after the marker.
func TestStaleAnswersAfterStall(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, sm := startModem(t, mode, []step{
			{expect: "AT+CMQTTTOPIC=0,2\r"}, // stalled: nothing comes back
		}, WithDefaultTimeout(50*time.Millisecond))
		_, err := m.exec(testCtx(t), request{line: "AT+CMQTTTOPIC=0,2", data: []byte("q2"), index: 0})
		if !errors.Is(err, ErrTimeout) || FateOf(err) != FateUnknown {
			t.Fatalf("err = %v, want ErrTimeout (fate unknown)", err)
		}
		if m.InStep() {
			t.Fatal("in step after a timeout")
		}
		sm.add(
			step{expect: "xx\r"}, // filler for the data the modem may wait for
			step{expect: "AT+CSQ\r", reply: "\r\n>\r\nOK\r\n\r\n+CSQ: 20,99\r\n\r\nOK\r\n"},
			step{expect: "AT+CMQTTTOPIC=0,2\r", reply: "\r\n>"},
			step{expect: "q2", reply: "\r\nOK\r\n"},
		)
		if _, err := m.exec(testCtx(t), request{line: "AT+CMQTTTOPIC=0,2", data: []byte("q2"), index: 0, timeout: time.Second}); err != nil {
			t.Fatal(err)
		}
		if got, want := sm.written(), "AT+CMQTTTOPIC=0,2\rxx\rAT+CSQ\rAT+CMQTTTOPIC=0,2\rq2"; got != want {
			t.Fatalf("wrote %q, want %q", got, want)
		}
	})
}

// TestOKBeforePromptIsStale: a data command answered by OK before its
// prompt got an earlier command's answer. It fails (its data was not
// written) and the engine resynchronises before the next command.
func TestOKBeforePromptIsStale(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, sm := startModem(t, mode, []step{
			{expect: "AT+CMQTTPAYLOAD=0,5\r", reply: "\r\nOK\r\n"},
			{expect: "xxxxx\r", reply: "\r\n>\r\nOK\r\n"}, // the real prompt; the filler is taken as the data
			{expect: "AT+CSQ\r", reply: "\r\n+CSQ: 20,99\r\n\r\nOK\r\n"},
			{expect: "AT\r", reply: "\r\nOK\r\n"},
		})
		_, err := m.exec(testCtx(t), request{line: "AT+CMQTTPAYLOAD=0,5", data: []byte("hello"), index: 0})
		if !errors.Is(err, ErrOutOfStep) {
			t.Fatalf("err = %v, want ErrOutOfStep", err)
		}
		if _, err := m.exec(testCtx(t), request{line: "AT", index: -1}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(sm.written(), "hello") {
			t.Fatalf("wrote the data on a stale OK: %q", sm.written())
		}
	})
}

// TestStrayAnswerGoesOutOfStep: an OK that no command waits for means the
// modem answers something the engine did not account for; the next
// command waits for a marker.
func TestStrayAnswerGoesOutOfStep(t *testing.T) {
	m, sm := startModem(t, deliverWhole, []step{
		{reply: "\r\nOK\r\n"},
		{expect: "AT+CSQ\r", reply: "\r\n+CSQ: 20,99\r\n\r\nOK\r\n"},
		{expect: "AT\r", reply: "\r\nOK\r\n"},
	})
	waitFor(t, func() bool { return !m.InStep() })
	if _, err := m.exec(testCtx(t), request{line: "AT", index: -1}); err != nil {
		t.Fatal(err)
	}
	sm.waitSteps(t)
}

// TestLossEndsWaitingCommand reproduces issue 12 point 6: SUBSCRIBE over a
// dying link (P10_Led_display README, "Test 9"): the modem accepted
// AT+CMQTTSUB (prompt, OK) and then reports +CMQTTCONNLOST while the SUB
// waits for its result. The SUB ends at once with the loss (link down), not
// after its 130 s timeout, and the port is free for the next command; a
// result that still comes later is dropped. Both orders of the issue are
// covered: result 6 then CONNLOST, and CONNLOST with no result.
func TestLossEndsWaitingCommand(t *testing.T) {
	tests := []struct {
		name  string
		reply string
		fate  Fate
		code  ResultCode // -1: no result code
	}{
		{"result 6 then CONNLOST", "\r\nOK\r\n\r\n+CMQTTSUB: 0,6\r\n\r\n+CMQTTCONNLOST: 0,1\r\n", FateUnknown, 6},
		{"CONNLOST, no result", "\r\nOK\r\n\r\n+CMQTTCONNLOST: 0,1\r\n", FateLinkDown, -1},
		{"CONNLOST, late result", "\r\nOK\r\n\r\n+CMQTTCONNLOST: 0,1\r\n\r\n+CMQTTSUB: 0,11\r\n", FateLinkDown, -1},
		{"keepalive failed", "\r\nOK\r\n\r\n+CMQTTPING: 0,17\r\n", FateLinkDown, -1},
		{"no network", "\r\nOK\r\n\r\n+CMQTTNONET\r\n", FateLinkDown, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachDelivery(t, func(t *testing.T, mode delivery) {
				m, sm := startModem(t, mode, []step{
					{expect: "AT+CMQTTSUB=0,4,1,1\r", reply: "\r\n>"},
					{expect: "a/b#", reply: tt.reply},
					{expect: "AT\r", reply: "\r\nOK\r\n"},
				})
				start := time.Now()
				_, err := m.exec(testCtx(t), request{line: "AT+CMQTTSUB=0,4,1,1", data: []byte("a/b#"), final: "+CMQTTSUB", index: 0, timeout: 130 * time.Second})
				if FateOf(err) != tt.fate {
					t.Fatalf("err = %v (fate %s), want fate %s", err, FateOf(err), tt.fate)
				}
				var re *ResultError
				if tt.code >= 0 && (!errors.As(err, &re) || re.Code != tt.code) {
					t.Fatalf("err = %v, want result %d", err, tt.code)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Fatalf("SUB took %v: it waited for its timeout", d)
				}
				if _, err := m.exec(testCtx(t), request{line: "AT", index: -1}); err != nil {
					t.Fatal(err)
				}
				sm.waitSteps(t)
			})
		})
	}
}

// TestEchoOffAtOpen: once a new Modem is in step it sends ATE0 before its
// first command (echo doubles what the modem sends for every command),
// and again after the modem rebooted (the firmware starts with echo on). A
// modem that refuses ATE0 keeps its echo, which the engine reads anyway;
// WithKeepEcho sends none.
func TestEchoOffAtOpen(t *testing.T) {
	atEcho := func(line string) string { return line + "\r\r\nOK\r\n" }
	tests := []struct {
		name  string
		opts  []Option
		steps []step
	}{
		{"refused", nil, []step{
			{expect: "ATE0\r", reply: "ATE0\r\r\nERROR\r\n"},
			{expect: "AT\r", reply: atEcho("AT")},
			{expect: "AT\r", reply: atEcho("AT")},
		}},
		{"kept", []Option{WithKeepEcho()}, []step{
			{expect: "AT\r", reply: atEcho("AT")},
			{expect: "AT\r", reply: atEcho("AT")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachDelivery(t, func(t *testing.T, mode delivery) {
				opts := append([]Option{echoAtOpen()}, tt.opts...)
				m, sm := startModem(t, mode, tt.steps, opts...)
				for range 2 {
					if err := m.Ping(testCtx(t)); err != nil {
						t.Fatal(err)
					}
				}
				sm.waitSteps(t)
			})
		})
	}
	t.Run("again after a reboot", func(t *testing.T) {
		forEachDelivery(t, func(t *testing.T, mode delivery) {
			rec := newEventRecorder()
			m, _ := startModem(t, mode, []step{
				echoOff,
				{expect: "AT\r", reply: "\r\nOK\r\n\r\nRDY\r\n"}, // nothing was pending: in step
				{expect: "ATE0\r", reply: atEcho("ATE0")},
				{expect: "AT\r", reply: "\r\nOK\r\n"},
			}, echoAtOpen(), rec.option())
			if err := m.Ping(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			if ev := rec.next(t); ev.Kind != EventReset {
				t.Fatalf("event %+v, want EventReset", ev)
			}
			if err := m.Ping(testCtx(t)); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// echoAtOpen undoes what inStep does to the echo: ATE0 before the first
// command.
func echoAtOpen() Option { return func(c *config) { c.keepEcho = false } }
