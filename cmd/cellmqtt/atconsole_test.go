package main

import (
	"strings"
	"testing"
)

// TestATScannerSplits feeds the same modem output split at every byte
// boundary and wants the same lines and prompts.
func TestATScannerSplits(t *testing.T) {
	stream := "AT+CMQTTTOPIC=0,5\r\r\n>hello\r\nOK\r\n\x00RDY\r\n\r\n+CMQTTPUB: 0,0\r\n\r\n> "
	want := []atEvent{{line: "AT+CMQTTTOPIC=0,5"}, {prompt: true}, {line: "hello"}, {line: "OK"}, {line: "RDY"}, {line: "+CMQTTPUB: 0,0"}, {prompt: true}}
	for cut := 0; cut <= len(stream); cut++ {
		var sc atScanner
		var got []atEvent
		emit := func(e atEvent) { got = append(got, e) }
		sc.feed([]byte(stream[:cut]), emit)
		sc.feed([]byte(stream[cut:]), emit)
		if len(got) != len(want) {
			t.Fatalf("cut %d: got %v, want %v", cut, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("cut %d: event %d = %+v, want %+v", cut, i, got[i], want[i])
			}
		}
	}
}

func TestExchange(t *testing.T) {
	tests := []struct {
		cmd   string
		lines []string
		done  int // index of the line that finishes, -1 for none
		err   string
	}{
		{cmd: "AT+CSQ", lines: []string{"AT+CSQ", "+CSQ: 20,0", "OK"}, done: 2},
		{cmd: "AT+CMQTTSTART", lines: []string{"OK", "+CMQTTSTART: 0"}, done: 1},
		{cmd: "AT+CMQTTSTART", lines: []string{"+CMQTTSTART: 0", "OK"}, done: 1},
		{cmd: "AT+CMQTTSTART", lines: []string{"+CMQTTSTART: 23", "ERROR"}, done: 1, err: "result 23: network is opened"},
		{cmd: `AT+CMQTTCONNECT=0,"tcp://h:1883",60,1`, lines: []string{"OK", "+CMQTTCONNECT: 0,30"}, done: 1, err: "result 30: connection refused: bad user name or password"},
		{cmd: `AT+CMQTTCONNECT=0,"tcp://h:1883",60,1`, lines: []string{"+CMQTTCONNECT: 0,34", "ERROR"}, done: 1, err: "result 34"},
		{cmd: "AT+CMQTTREL=0", lines: []string{"+CMQTTREL: 0,20", "ERROR"}, done: 1, err: "result 20: client not acquired"},
		{cmd: "AT+CMQTTACCQ?", lines: []string{`+CMQTTACCQ: 0,"c",1`, "OK"}, done: 1},
		{cmd: "AT+CMQTTPUB=0,1,60", lines: []string{"OK", "+CMQTTRXSTART: 0,1,1"}, done: -1},
		{cmd: "AT+CPIN?", lines: []string{"+CME ERROR: 10"}, done: 0, err: "+CME ERROR: 10"},
	}
	for _, tt := range tests {
		x := newExchange(tt.cmd)
		doneAt := -1
		for i, l := range tt.lines {
			if _, done := x.onLine(l); done && doneAt < 0 {
				doneAt = i
			}
		}
		if doneAt != tt.done {
			t.Errorf("%s %q: done at %d, want %d", tt.cmd, tt.lines, doneAt, tt.done)
		}
		if (x.err == nil) != (tt.err == "") || (x.err != nil && !strings.Contains(x.err.Error(), tt.err)) {
			t.Errorf("%s %q: err %v, want %q", tt.cmd, tt.lines, x.err, tt.err)
		}
	}
}

func TestDataLength(t *testing.T) {
	tests := map[string]int{
		"AT+CMQTTTOPIC=0,11":         11,
		"AT+CMQTTPAYLOAD=1,10240":    10240,
		"AT+CMQTTSUB=0,9,1":          9,
		"AT+CMQTTSUB=0,1":            0,
		"AT+CMQTTUNSUB=0,4,0":        4,
		"AT+CMQTTWILLMSG=0,6,1":      6,
		`AT+CCERTDOWN="ca.pem",1234`: 1234,
		"AT+CMQTTPUB=0,1,60":         0,
		"AT+CMQTTTOPIC=?":            0,
		"AT+CSQ":                     0,
	}
	for cmd, want := range tests {
		if got := dataLength(cmd); got != want {
			t.Errorf("dataLength(%q) = %d, want %d", cmd, got, want)
		}
	}
}
