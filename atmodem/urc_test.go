package atmodem

import (
	"errors"
	"slices"
	"testing"
)

func TestURCRouting(t *testing.T) {
	tests := []struct {
		name string
		urc  string
		want Event // Err is checked with errors.Is against wantErr
		err  error
	}{
		{"connection lost", "+CMQTTCONNLOST: 1,2", Event{Kind: EventConnLost, Index: 1, Cause: CauseSocketReset}, ErrConnectionLost},
		{"no network with colon", "+CMQTTNONET:", Event{Kind: EventNoNetwork, Index: -1}, ErrNoNetwork},
		{"no network bare", "+CMQTTNONET", Event{Kind: EventNoNetwork, Index: -1}, ErrNoNetwork},
		{"keepalive failed", "+CMQTTPING: 0,11", Event{Kind: EventPingFail, Index: 0, Code: 11}, ErrKeepalive},
		{"boot RDY", "RDY", Event{Kind: EventReset, Index: -1}, ErrModemReset},
		{"boot ATREADY", "*ATREADY: 1", Event{Kind: EventReset, Index: -1}, ErrModemReset},
		{"boot QCRDY", "QCRDY", Event{Kind: EventReset, Index: -1}, ErrModemReset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachDelivery(t, func(t *testing.T, mode delivery) {
				rec := newEventRecorder()
				// The URC arrives between the command's answer and its OK.
				m, sm := startModem(t, mode, []step{
					{expect: "AT+CMQTTDISC?\r", reply: "\r\n+CMQTTDISC: 0,1\r\n\r\n" + tc.urc + "\r\n\r\n+CMQTTDISC: 1,1\r\n\r\nOK\r\n"},
				}, rec.option())
				resp, err := m.exec(testCtx(t), request{line: "AT+CMQTTDISC?", index: -1})
				if tc.want.Kind == EventReset {
					if !errors.Is(err, ErrModemReset) {
						t.Fatalf("err = %v, want ErrModemReset", err)
					}
				} else {
					if err != nil {
						t.Fatal(err)
					}
					if want := []string{"+CMQTTDISC: 0,1", "+CMQTTDISC: 1,1"}; !slices.Equal(resp.lines, want) {
						t.Errorf("lines %q, want %q", resp.lines, want)
					}
				}
				ev := rec.next(t)
				if ev.Kind != tc.want.Kind || ev.Index != tc.want.Index || ev.Cause != tc.want.Cause || ev.Code != tc.want.Code || !errors.Is(ev.Err, tc.err) {
					t.Errorf("event %+v, want %+v with %v", ev, tc.want, tc.err)
				}
				sm.waitSteps(t)
				rec.none(t)
			})
		})
	}
}

func TestMalformedURCNotAnAnswer(t *testing.T) {
	rec := newEventRecorder()
	m, _ := startModem(t, deliverWhole, []step{
		{expect: "AT\r", reply: "\r\n+CMQTTCONNLOST: x\r\n\r\n+CMQTTPING: 0\r\n\r\nOK\r\n"},
	}, rec.option())
	resp, err := m.exec(testCtx(t), request{line: "AT", index: -1})
	if err != nil || len(resp.lines) != 0 {
		t.Fatalf("lines %q, err %v", resp.lines, err)
	}
	rec.none(t)
}

func TestParseHelpers(t *testing.T) {
	names := map[string]string{
		"AT+CMQTTPUB=0,1,60": "+CMQTTPUB", "AT+CMQTTDISC?": "+CMQTTDISC", "AT+CMQTTSTART": "+CMQTTSTART",
		"AT+cpin?": "+CPIN", "ATI": "", "AT": "", "ATE0": "", "AT*ATREADY": "*ATREADY", "AT+CSSLCFG=?": "+CSSLCFG",
	}
	for line, want := range names {
		if got := commandName(line); got != want {
			t.Errorf("commandName(%q) = %q, want %q", line, got, want)
		}
	}
	results := []struct {
		rest string
		idx  int
		code ResultCode
		ok   bool
	}{
		{"0,0", 0, 0, true}, {"1, 14", 1, 14, true}, {"23", -1, 23, true}, {" 0 ", -1, 0, true},
		{"0,\"tcp://x\",60,1", 0, 0, false}, {"", 0, 0, false}, {"a,b", 0, 0, false}, {"0,1,2", 0, 0, false},
	}
	for _, r := range results {
		idx, code, ok := parseResult(r.rest)
		if ok != r.ok || (ok && (idx != r.idx || code != r.code)) {
			t.Errorf("parseResult(%q) = %d,%d,%v, want %d,%d,%v", r.rest, idx, code, ok, r.idx, r.code, r.ok)
		}
	}
	urcs := []struct {
		line string
		kind urcKind
		ok   bool
		bad  bool
	}{
		{"+CMQTTRXSTART: 0,9,60", urcRXStart, true, false},
		{"+CMQTTRXSTART: 0,9", urcRXStart, true, true},
		{"+CMQTTRXEND: 1", urcRXEnd, true, false},
		{"+CMQTTNONET", urcNoNet, true, false},
		{"+CMQTTPUB: 0,0", urcNone, false, false},
		{"+CSQ: 1,2", urcNone, false, false},
	}
	for _, u := range urcs {
		got, ok, err := parseURC(u.line)
		if ok != u.ok || got.kind != u.kind || (err != nil) != u.bad {
			t.Errorf("parseURC(%q) = %v,%v,%v", u.line, got.kind, ok, err)
		}
	}
}

func TestConnLostBetweenCommandAndResult(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		rec := newEventRecorder()
		m, _ := startModem(t, mode, []step{
			{expect: "AT+CMQTTPUB=0,1,60\r", reply: "\r\n+CMQTTCONNLOST: 0,3\r\n\r\nOK\r\n\r\n+CMQTTCONNLOST: 1,1\r\n\r\n+CMQTTPUB: 0,11\r\n"},
		}, rec.option())
		resp, err := m.exec(testCtx(t), request{line: "AT+CMQTTPUB=0,1,60", final: "+CMQTTPUB", index: 0})
		var re *ResultError
		if !errors.As(err, &re) || re.Code != 11 {
			t.Fatalf("err = %v, want ResultError 11", err)
		}
		if len(resp.lines) != 0 {
			t.Errorf("URCs mixed into the answer: %q", resp.lines)
		}
		for _, want := range []Event{{Kind: EventConnLost, Index: 0, Cause: CauseNetworkClosed}, {Kind: EventConnLost, Index: 1, Cause: CauseSocketClosed}} {
			if ev := rec.next(t); ev.Kind != want.Kind || ev.Index != want.Index || ev.Cause != want.Cause {
				t.Errorf("event %+v, want %+v", ev, want)
			}
		}
	})
}
