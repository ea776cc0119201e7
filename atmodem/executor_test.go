package atmodem

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// testCtx returns a context that ends with the test (and after 10 s at most).
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startModem starts the engine on a scripted modem and closes it after the
// test, checking the script.
func startModem(t *testing.T, mode delivery, steps []step, opts ...Option) (*Modem, *scriptModem) {
	t.Helper()
	sm := newScriptModem(t, mode, steps...)
	m := New(sm, append([]Option{inStep()}, opts...)...)
	t.Cleanup(func() {
		_ = m.Close()
		sm.verify(t)
	})
	return m, sm
}

// cancelAfter returns ctx cancelled once ch is closed. Tests of what a
// command does when its context ends end it after the scripted modem got
// what the command had to write: a fixed short deadline can pass before the
// engine wrote anything on a loaded machine.
func cancelAfter(t *testing.T, ctx context.Context, ch <-chan struct{}) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	go func() {
		select {
		case <-ch:
		case <-ctx.Done():
		}
		cancel()
	}()
	return ctx
}

func TestExecCompletion(t *testing.T) {
	pub := request{line: "AT+CMQTTPUB=0,1,60", final: "+CMQTTPUB", index: 0, timeout: 2 * time.Second}
	start := request{line: "AT+CMQTTSTART", final: "+CMQTTSTART", index: -1, timeout: 2 * time.Second}
	plain := request{line: "AT+CSQ", index: -1}
	tests := []struct {
		name      string
		req       request
		reply     string
		wantLines []string
		wantCode  ResultCode // of a *ResultError, -1: no ResultError
		wantIs    error      // sentinel the error wraps; nil: success
	}{
		{"OK", plain, "\r\n+CSQ: 23,0\r\n\r\nOK\r\n", []string{"+CSQ: 23,0"}, -1, nil},
		{"final after OK", pub, "\r\nOK\r\n\r\n+CMQTTPUB: 0,0\r\n", nil, -1, nil},
		{"final before OK", pub, "\r\n+CMQTTPUB: 0,0\r\n\r\nOK\r\n", nil, -1, nil},
		{"start OK then result", start, "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n", nil, -1, nil},
		{"start result then OK", start, "\r\n+CMQTTSTART: 0\r\n\r\nOK\r\n", nil, -1, nil},
		{"failure after OK", pub, "\r\nOK\r\n\r\n+CMQTTPUB: 0,11\r\n", nil, 11, nil},
		{"failure then ERROR", request{line: "AT+CMQTTCONNECT=0,\"tcp://a.b.c:1883\",60,1", final: "+CMQTTCONNECT", index: 0},
			"\r\n+CMQTTCONNECT: 0,34\r\n\r\nERROR\r\n", nil, 34, nil},
		{"start already running", start, "\r\n+CMQTTSTART: 23\r\n\r\nERROR\r\n", nil, 23, nil},
		{"own result then ERROR without final", request{line: "AT+CMQTTREL=0", index: 0},
			"\r\n+CMQTTREL: 0,20\r\n\r\nERROR\r\n", []string{"+CMQTTREL: 0,20"}, 20, nil},
		{"result and ERROR on one line", request{line: "AT+CMQTTREL=0", index: 0},
			"\r\n+CMQTTREL: 0,20 ERROR\r\n", []string{"+CMQTTREL: 0,20"}, 20, nil},
		{"final and ERROR on one line", start, "\r\n+CMQTTSTART: 23 ERROR\r\n", nil, 23, nil},
		{"bare ERROR", pub, "\r\nERROR\r\n", nil, -1, ErrCommandFailed},
		{"CME ERROR", plain, "\r\n+CME ERROR: SIM not inserted\r\n", nil, -1, ErrCommandFailed},
		{"CMS ERROR", plain, "\r\n+CMS ERROR: 500\r\n", nil, -1, ErrCommandFailed},
		{"other index result ignored", pub, "\r\nOK\r\n\r\n+CMQTTPUB: 1,11\r\n\r\n+CMQTTPUB: 0,0\r\n", nil, -1, nil},
		{"stray result of another command ignored", plain, "\r\n+CMQTTSUB: 0,0\r\n+CSQ: 5,0\r\n\r\nOK\r\n", []string{"+CSQ: 5,0"}, -1, nil},
		{"unsolicited +CREG not in the answer", plain, "\r\n+CREG: 1\r\n+CSQ: 5,0\r\n\r\nOK\r\n", []string{"+CSQ: 5,0"}, -1, nil},
		{"command without +NAME takes every line", request{line: "ATI", index: -1}, "\r\nManufacturer: SIMCOM\r\n+GCAP: +CGSM\r\n\r\nOK\r\n", []string{"Manufacturer: SIMCOM", "+GCAP: +CGSM"}, -1, nil},
		{"URC between command and OK", plain, "\r\n+CSQ: 23,0\r\n\r\n+CMQTTCONNLOST: 0,1\r\n\r\nOK\r\n", []string{"+CSQ: 23,0"}, -1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachDelivery(t, func(t *testing.T, mode delivery) {
				m, _ := startModem(t, mode, []step{{expect: tc.req.line + "\r", reply: tc.reply}})
				resp, err := m.exec(testCtx(t), tc.req)
				var re *ResultError
				switch {
				case tc.wantCode >= 0:
					if !errors.As(err, &re) || re.Code != tc.wantCode {
						t.Fatalf("err = %v, want ResultError %d", err, tc.wantCode)
					}
					if re.Command != tc.req.line {
						t.Errorf("ResultError.Command = %q, want %q", re.Command, tc.req.line)
					}
				case tc.wantIs != nil:
					if !errors.Is(err, tc.wantIs) || errors.As(err, &re) {
						t.Fatalf("err = %v, want %v", err, tc.wantIs)
					}
				case err != nil:
					t.Fatalf("err = %v", err)
				}
				if !slices.Equal(resp.lines, tc.wantLines) {
					t.Errorf("lines = %q, want %q", resp.lines, tc.wantLines)
				}
			})
		})
	}
}

// withEventHook passes every event to f (on the reader goroutine).
func withEventHook(f func(Event)) Option { return func(c *config) { c.onEvent = f } }

// eventRecorder collects the events of a Modem for a test.
type eventRecorder struct{ ch chan Event }

func newEventRecorder() *eventRecorder { return &eventRecorder{ch: make(chan Event, 256)} }

// option hooks the recorder into New.
func (r *eventRecorder) option() Option { return withEventHook(func(ev Event) { r.ch <- ev }) }

// next returns the next event, failing the test after 5 s.
func (r *eventRecorder) next(t *testing.T) Event {
	t.Helper()
	select {
	case ev := <-r.ch:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
		return Event{}
	}
}

// none fails the test when an event is waiting.
func (r *eventRecorder) none(t *testing.T) {
	t.Helper()
	select {
	case ev := <-r.ch:
		t.Fatalf("unexpected event %+v", ev)
	default:
	}
}

func TestExecDataCommand(t *testing.T) {
	topic := []byte("simcommsg")
	req := request{line: "AT+CMQTTTOPIC=0,9", data: topic, index: 0}
	tests := []struct {
		name  string
		steps []step
		err   error
	}{
		{"prompt CRLF >", []step{{expect: "AT+CMQTTTOPIC=0,9\r", reply: "\r\n>"}, {expect: "simcommsg", reply: "\r\nOK\r\n"}}, nil},
		{"prompt > space", []step{{expect: "AT+CMQTTTOPIC=0,9\r", reply: "\r\n> "}, {expect: "simcommsg", reply: "\r\n\r\nOK\r\n"}}, nil},
		{"prompt bare >", []step{{expect: "AT+CMQTTTOPIC=0,9\r", reply: ">"}, {expect: "simcommsg", reply: "\r\nOK\r\n"}}, nil},
		{"echo on", []step{
			{expect: "AT+CMQTTTOPIC=0,9\r", reply: "AT+CMQTTTOPIC=0,9\r\r\n>"},
			{expect: "simcommsg", reply: "simcommsg\r\nOK\r\n"},
		}, nil},
		{"echo on, prompt space", []step{
			{expect: "AT+CMQTTTOPIC=0,9\r", reply: "AT+CMQTTTOPIC=0,9\r\r\n> "},
			{expect: "simcommsg", reply: "simcommsg\r\n\r\nOK\r\n"},
		}, nil},
		{"ERROR instead of prompt", []step{{expect: "AT+CMQTTTOPIC=0,9\r", reply: "\r\nERROR\r\n"}}, ErrCommandFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachDelivery(t, func(t *testing.T, mode delivery) {
				m, sm := startModem(t, mode, tc.steps)
				resp, err := m.exec(testCtx(t), req)
				if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if len(resp.lines) != 0 {
					t.Errorf("lines = %q, want none (echo must not be an answer line)", resp.lines)
				}
				sm.waitSteps(t)
			})
		})
	}
}

func TestExecDataIsBinaryExact(t *testing.T) {
	payload := []byte("\r\nOK\r\n>ERROR\x00+CMQTTRXEND: 0\r\n\xff")
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, sm := startModem(t, mode, []step{
			{expect: "AT+CMQTTPAYLOAD=0,30\r", reply: "\r\n>"},
			{expect: string(payload), reply: "\r\nOK\r\n"},
		})
		if _, err := m.exec(testCtx(t), request{line: "AT+CMQTTPAYLOAD=0,30", data: payload, index: 0}); err != nil {
			t.Fatal(err)
		}
		if got, want := sm.written(), "AT+CMQTTPAYLOAD=0,30\r"+string(payload); got != want {
			t.Errorf("wrote %q, want %q", got, want)
		}
	})
}

func TestExecTimeoutThenNextWorks(t *testing.T) {
	tests := []struct {
		name     string
		lateSync string // what the modem answers to the marker (AT+CSQ)
	}{
		{"no late answer", "\r\n+CSQ: 9,99\r\n\r\nOK\r\n"},
		{"late OK before the marker's answer", "\r\nOK\r\n\r\n+CSQ: 9,99\r\n\r\nOK\r\n"},
		{"late result and ERROR before the marker's answer", "\r\n+CMQTTDISC: 0,0\r\n\r\nERROR\r\n\r\n+CSQ: 9,99\r\n\r\nOK\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachDelivery(t, func(t *testing.T, mode delivery) {
				m, sm := startModem(t, mode, []step{
					{expect: "AT+CMQTTDISC=0,60\r"}, // never answered in time
					{expect: "AT+CSQ\r", reply: tc.lateSync},
					{expect: "AT+CSQ\r", reply: "\r\n+CSQ: 20,99\r\n\r\nOK\r\n"},
				})
				_, err := m.exec(testCtx(t), request{line: "AT+CMQTTDISC=0,60", final: "+CMQTTDISC", index: 0, timeout: 50 * time.Millisecond})
				if !errors.Is(err, ErrTimeout) {
					t.Fatalf("err = %v, want ErrTimeout", err)
				}
				expectCSQ(t, m, "+CSQ: 20,99")
				sm.waitSteps(t)
			})
		})
	}
}

func TestExecContextEnds(t *testing.T) {
	m, sm := startModem(t, deliverWhole, []step{
		{expect: "AT+CMQTTCONNECT=0,\"tcp://a.b.c:1883\",60,1\r", reply: "\r\nOK\r\n"},
		{expect: "AT+CSQ\r", reply: "\r\n+CMQTTCONNECT: 0,0\r\n\r\n+CSQ: 9,99\r\n\r\nOK\r\n"}, // late result, then the marker's answer
		{expect: "AT\r", reply: "\r\nOK\r\n"},
	})
	// The context ends while the CONNECT waits for its result.
	ctx := cancelAfter(t, testCtx(t), sm.reached(1))
	_, err := m.exec(ctx, request{line: "AT+CMQTTCONNECT=0,\"tcp://a.b.c:1883\",60,1", final: "+CMQTTCONNECT", index: 0, timeout: time.Minute})
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrTimeout and context.Canceled", err)
	}
	if _, err := m.exec(testCtx(t), request{line: "AT", index: -1}); err != nil {
		t.Fatal(err)
	}
}

func TestExecBusyRetried(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		busy := []step{
			{expect: "AT+CMQTTTOPIC=0,3\r", reply: "\r\n>"},
			{expect: "a/b", reply: "\r\n+CMQTTTOPIC: 0,14\r\n\r\nERROR\r\n"},
		}
		steps := append(slices.Clone(busy), busy...)
		steps = append(steps, step{expect: "AT+CMQTTTOPIC=0,3\r", reply: "\r\n>"}, step{expect: "a/b", reply: "\r\nOK\r\n"})
		m, _ := startModem(t, mode, steps, WithBusyRetry(5, time.Millisecond))
		if _, err := m.exec(testCtx(t), request{line: "AT+CMQTTTOPIC=0,3", data: []byte("a/b"), index: 0}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestExecBusyExhausted(t *testing.T) {
	busy := step{expect: "AT+CMQTTPUB=0,1,60\r", reply: "\r\nOK\r\n\r\n+CMQTTPUB: 0,14\r\n"}
	m, _ := startModem(t, deliverWhole, []step{busy, busy, busy}, WithBusyRetry(3, time.Millisecond))
	_, err := m.exec(testCtx(t), request{line: "AT+CMQTTPUB=0,1,60", final: "+CMQTTPUB", index: 0})
	var re *ResultError
	if !errors.Is(err, ErrBusy) || !errors.As(err, &re) || re.Code != 14 {
		t.Fatalf("err = %v, want ErrBusy and ResultError 14", err)
	}
}

func TestExecBootMidCommand(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		rec := newEventRecorder()
		m, sm := startModem(t, mode, []step{
			{expect: "AT+CMQTTCONNECT=0,\"tcp://a.b.c:1883\",60,1\r", reply: "\r\nOK\r\n\x00\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n"},
			markerCSQ, // the new firmware may still answer what was written as it rebooted
			{expect: "AT\r", reply: "\r\nOK\r\n"},
		}, rec.option())
		_, err := m.exec(testCtx(t), request{line: "AT+CMQTTCONNECT=0,\"tcp://a.b.c:1883\",60,1", final: "+CMQTTCONNECT", index: 0})
		if !errors.Is(err, ErrModemReset) {
			t.Fatalf("err = %v, want ErrModemReset", err)
		}
		if ev := rec.next(t); ev.Kind != EventReset || ev.Index != -1 || !errors.Is(ev.Err, ErrModemReset) {
			t.Fatalf("event %+v, want EventReset", ev)
		}
		if _, err := m.exec(testCtx(t), request{line: "AT", index: -1}); err != nil {
			t.Fatal(err)
		}
		sm.waitSteps(t)
		rec.none(t)
	})
}

// TestExecBootBurstOneReset: the A7600 ends its boot with "*ATREADY: 1"
// after RDY; a command written between the two (a session rebuilding on
// the reset) is answered by the new firmware and must not fail as if the
// modem had rebooted again. A "*ATREADY" after other lines is a new boot.
func TestExecBootBurstOneReset(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		rec := newEventRecorder()
		sm := newScriptModem(t, mode,
			step{expect: "AT+CMQTTSTART\r", reply: "\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n\r\n*ATREADY: 1\r\n\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n"},
			step{expect: "AT\r", reply: "\r\n*ATREADY: 1\r\n"},
		)
		m := New(sm, inStep(), rec.option())
		t.Cleanup(func() { _ = m.Close() })
		sm.inject("\x00\r\nRDY\r\n")
		if ev := rec.next(t); ev.Kind != EventReset || !errors.Is(ev.Err, ErrModemReset) {
			t.Fatalf("event %+v, want EventReset", ev)
		}
		if _, err := m.exec(testCtx(t), request{line: "AT+CMQTTSTART", final: "+CMQTTSTART", index: -1}); err != nil {
			t.Fatalf("START after RDY, answered after *ATREADY: %v", err)
		}
		if _, err := m.exec(testCtx(t), request{line: "AT", index: -1}); !errors.Is(err, ErrModemReset) {
			t.Fatalf("err = %v, want ErrModemReset from a lone *ATREADY", err)
		}
		if ev := rec.next(t); ev.Kind != EventReset {
			t.Fatalf("event %+v, want EventReset", ev)
		}
		sm.waitSteps(t)
		rec.none(t)
	})
}

func TestExecTransportEnds(t *testing.T) {
	rec := newEventRecorder()
	m, _ := startModem(t, deliverWhole, []step{{expect: "AT+CSQ\r", reply: "\r\n+CSQ: 1", hangup: true}}, rec.option())
	_, err := m.exec(testCtx(t), request{line: "AT+CSQ", index: -1})
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
	if ev := rec.next(t); ev.Kind != EventClosed || ev.Index != -1 || !errors.Is(ev.Err, ErrClosed) {
		t.Fatalf("event %+v, want EventClosed", ev)
	}
	<-m.Done()
	if !errors.Is(m.Err(), ErrClosed) {
		t.Errorf("Err() = %v", m.Err())
	}
	if _, err := m.exec(testCtx(t), request{line: "AT", index: -1}); !errors.Is(err, ErrClosed) {
		t.Errorf("later command: err = %v, want ErrClosed", err)
	}
	if _, err := m.Command(testCtx(t), "AT"); !errors.Is(err, ErrClosed) {
		t.Errorf("later Command: err = %v, want ErrClosed", err)
	}
	_ = m.Close()
	rec.none(t)
}

func TestCloseFailsCommandInFlight(t *testing.T) {
	m, sm := startModem(t, deliverWhole, []step{{expect: "AT+CMQTTSTART\r"}})
	errc := make(chan error, 1)
	go func() {
		_, err := m.exec(testCtx(t), request{line: "AT+CMQTTSTART", final: "+CMQTTSTART", index: -1, timeout: time.Minute})
		errc <- err
	}()
	sm.waitSteps(t)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
	select {
	case <-m.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
}

func TestExecRedactsSecrets(t *testing.T) {
	line := `AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",60,1,"user","s3cret"`
	m, _ := startModem(t, deliverWhole, []step{{expect: line + "\r", reply: "\r\nERROR\r\n"}})
	_, err := m.exec(testCtx(t), request{line: line, final: "+CMQTTCONNECT", index: 0, redact: []string{"s3cret"}})
	if !errors.Is(err, ErrCommandFailed) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), `"***"`) {
		t.Errorf("error %q leaks or misses the redaction", err)
	}
}

func TestCommand(t *testing.T) {
	m, _ := startModem(t, deliverBytes, []step{
		{expect: "ATI\r", reply: "ATI\r\r\nManufacturer: SIMCOM INCORPORATED\r\nModel: A7670E-LASE\r\n\r\nOK\r\n"},
		{expect: "AT+CMQTTSTART\r", reply: "\r\n+CMQTTSTART: 23\r\n\r\nERROR\r\n"},
	})
	lines, err := m.Command(testCtx(t), "ATI")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Manufacturer: SIMCOM INCORPORATED", "Model: A7670E-LASE"}; !slices.Equal(lines, want) {
		t.Errorf("lines = %q, want %q", lines, want)
	}
	var re *ResultError
	if _, err := m.Command(testCtx(t), "AT+CMQTTSTART"); !errors.As(err, &re) || re.Code != 23 {
		t.Errorf("err = %v, want ResultError 23", err)
	}
	for _, bad := range []string{"", "A", "CSQ", "AT\r", "AT+X\nAT", "AT\x1a"} {
		if _, err := m.Command(testCtx(t), bad); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("Command(%q): err = %v, want ErrInvalidParameter", bad, err)
		}
	}
}

func TestCPINAnswerVersusBootNoise(t *testing.T) {
	m, _ := startModem(t, deliverWhole, []step{
		{expect: "AT+CPIN?\r", reply: "\r\n+CPIN: READY\r\n\r\nOK\r\n"},
		{expect: "AT\r", reply: "\r\n+CPIN: READY\r\n\r\nOK\r\n"},
	})
	lines, err := m.Command(testCtx(t), "AT+CPIN?")
	if err != nil || !slices.Equal(lines, []string{"+CPIN: READY"}) {
		t.Fatalf("AT+CPIN?: lines %q, err %v", lines, err)
	}
	lines, err = m.Command(testCtx(t), "AT")
	if err != nil || len(lines) != 0 {
		t.Fatalf("AT: lines %q, err %v (unasked +CPIN: READY must not be an answer)", lines, err)
	}
}

func TestOneCommandInFlight(t *testing.T) {
	const n = 8
	var steps []step
	for range n {
		steps = append(steps, step{expect: "AT\r", reply: "\r\nOK\r\n"})
	}
	m, _ := startModem(t, deliverChunks(3), steps)
	errc := make(chan error, n)
	for range n {
		go func() {
			_, err := m.Command(testCtx(t), "AT")
			errc <- err
		}()
	}
	for range n {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}

// TestExecSplitAtEveryBoundary cuts a reply that mixes the answer, URCs, a
// received message and the final result in two at every byte boundary.
func TestExecSplitAtEveryBoundary(t *testing.T) {
	reply := "AT+CMQTTPUB=0,1,60\r\r\nOK\r\n\r\n+CMQTTCONNLOST: 1,2\r\n" +
		rxStream(0, "a/b", []byte("\r\nOK\r\n>\x00"), 1500) + "\x00\r\n+CMQTTPUB: 1,0\r\n\r\n+CMQTTPUB: 0,0\r\n"
	for k := 1; k < len(reply); k++ {
		rec := newEventRecorder()
		sm := newScriptModem(t, deliverSplit(k), step{expect: "AT+CMQTTPUB=0,1,60\r", reply: reply})
		m := New(sm, inStep(), rec.option())
		resp, err := m.exec(testCtx(t), request{line: "AT+CMQTTPUB=0,1,60", final: "+CMQTTPUB", index: 0})
		if err != nil || len(resp.lines) != 0 {
			t.Fatalf("split %d: lines %q, err %v", k, resp.lines, err)
		}
		if ev := rec.next(t); ev.Kind != EventConnLost || ev.Index != 1 {
			t.Fatalf("split %d: event %+v", k, ev)
		}
		if ev := rec.next(t); ev.Kind != EventMessage || string(ev.Message.Payload) != "\r\nOK\r\n>\x00" {
			t.Fatalf("split %d: event %+v", k, ev)
		}
		m.Close()
		sm.verify(t)
	}
}

// TestExecOutOfStepWritesNothing: after a timeout nothing but markers is
// written until one is proved; a marker of a kind still pending is never
// used, and a marker answered with ERROR (no information line) proves
// nothing. The command waiting behind fails with ErrOutOfStep when its
// context ends first, and goes out once a marker is proved.
func TestExecOutOfStepWritesNothing(t *testing.T) {
	shortResync := Option(func(c *config) { c.resyncTimeout = 50 * time.Millisecond })
	m, sm := startModem(t, deliverWhole, []step{
		{expect: "AT+CSQ\r"}, // never answered in time: +CSQ is pending
		{expect: "AT+CMEE?\r", reply: "\r\nERROR\r\n"},
		{expect: "AT+CGMR\r"}, // every kind pending now: no further marker
	}, shortResync, WithDefaultTimeout(50*time.Millisecond))
	if _, err := m.exec(testCtx(t), request{line: "AT+CSQ", index: -1}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	_, err := m.exec(testCtx(t), request{line: "AT", index: -1, timeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrOutOfStep) || FateOf(err) != FateLinkDown {
		t.Fatalf("err = %v, want ErrOutOfStep (link down)", err)
	}
	sm.waitSteps(t)
	if strings.Contains(sm.written(), "AT\r") {
		t.Fatalf("wrote %q: the command went out while out of step", sm.written())
	}
	// The backlog comes: the late CSQ answer and the CGMR marker's.
	sm.inject("\r\n+CSQ: 20,99\r\n\r\nOK\r\n\r\n+CGMR: LE20B04SIM7600M22\r\n\r\nOK\r\n")
	sm.add(step{expect: "AT\r", reply: "\r\nOK\r\n"})
	if _, err := m.exec(testCtx(t), request{line: "AT", index: -1, timeout: time.Second}); err != nil {
		t.Fatal(err)
	}
}

func TestExecFinalWithoutOK(t *testing.T) {
	shortGrace := Option(func(c *config) { c.finalGrace = 20 * time.Millisecond })
	tests := []struct {
		name  string
		reply string
		code  ResultCode // -1: success
	}{
		{"result 0, OK lost", "\r\n+CMQTTDISC: 0,0\r\n", -1},
		{"result 11, OK or ERROR lost", "\r\n+CMQTTDISC: 0,11\r\n", 11},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := startModem(t, deliverWhole, []step{{expect: "AT+CMQTTDISC=0,60\r", reply: tc.reply}}, shortGrace)
			_, err := m.exec(testCtx(t), request{line: "AT+CMQTTDISC=0,60", final: "+CMQTTDISC", index: 0, timeout: time.Minute})
			var re *ResultError
			switch {
			case tc.code < 0 && err != nil:
				t.Fatalf("err = %v, want success after the grace time", err)
			case tc.code >= 0 && (!errors.As(err, &re) || re.Code != tc.code):
				t.Fatalf("err = %v, want ResultError %d", err, tc.code)
			}
		})
	}
}

// failingWrites is a modem port whose writes fail (an unplugged USB modem
// before its reads notice).
type failingWrites struct{ *scriptModem }

func (failingWrites) Write([]byte) (int, error) {
	return 0, errors.New("write /dev/ttyUSB2: input/output error")
}

func TestExecWriteFails(t *testing.T) {
	sm := newScriptModem(t, deliverWhole)
	m := New(failingWrites{sm}, inStep())
	defer m.Close()
	_, err := m.exec(testCtx(t), request{line: "AT", index: -1})
	if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "input/output error") {
		t.Fatalf("err = %v, want ErrClosed with the cause", err)
	}
}

// expectCSQ runs AT+CSQ, the command after a recovery in these tests, and
// checks that its answer is want: the engine is back in step.
func expectCSQ(t *testing.T, m *Modem, want string) {
	t.Helper()
	resp, err := m.exec(testCtx(t), request{line: "AT+CSQ", index: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(resp.lines, []string{want}) {
		t.Errorf("lines = %q, want %q", resp.lines, want)
	}
}
