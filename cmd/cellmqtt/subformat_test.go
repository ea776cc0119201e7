package main

import (
	"strings"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	at := time.Date(2026, 5, 6, 22, 12, 3, 123456789, time.FixedZone("", 3600))
	m := message{topic: "greeting", payload: []byte("hi <you>"), at: at}
	tests := []struct {
		format, want string
		pretty       bool
	}{
		{format: "%t %p", want: "greeting hi <you>"},
		{format: "%l|%x|%X", want: "8|6869203c796f753e|6869203C796F753E"},
		{format: "[%10t][%-10t][%.3t]", want: "[  greeting][greeting  ][gre]"},
		{format: "%05l", want: "00008"},
		{format: "%I", want: "2026-05-06T22:12:03+0100"},
		{format: "%U", want: "1778101923.123456789"},
		{format: "@Y-@m-@d @H:@M:@S.@N @@ 100%%", want: "2026-05-06 22:12:03.123456789 @ 100%"},
		{format: `a\tb\n\\\0\e`, want: "a\tb\n\\\x00\x1b"},
		{format: "%j", want: `{"tst":"2026-05-06T22:12:03.123456Z+0100","topic":"greeting","payloadlen":8,"payload":"hi <you>"}`},
		{format: "%j", pretty: true, want: "{\n\t\"tst\": \"2026-05-06T22:12:03.123456Z+0100\",\n\t\"topic\": \"greeting\",\n\t\"payloadlen\": 8,\n\t\"payload\": \"hi <you>\"\n}"},
	}
	for _, tt := range tests {
		f, err := parseFormat(tt.format)
		if err != nil {
			t.Fatalf("%q: %v", tt.format, err)
		}
		f.pretty = tt.pretty
		got, err := f.format(m)
		if err != nil || string(got) != tt.want {
			t.Errorf("%q: got %q (%v), want %q", tt.format, got, err, tt.want)
		}
	}
	js := message{topic: "t", payload: []byte(`{"a":1}`), at: at}
	f, _ := parseFormat("%J")
	if got, err := f.format(js); err != nil || !strings.HasSuffix(string(got), `"payload":{"a":1}}`) {
		t.Errorf("%%J: %q, %v", got, err)
	}
	if _, err := f.format(m); err == nil || !strings.Contains(err.Error(), "not valid JSON on topic greeting") {
		t.Errorf("%%J of text: err %v", err)
	}
	for format, want := range map[string]string{
		"%q":    "QoS",
		"%r":    "retain flag",
		"%m":    "packet ID",
		"%P":    "MQTT 5 properties",
		"%k":    "invalid format specifier 'k'",
		"@Q":    "not a time field",
		`\q`:    `invalid escape \q`,
		"%10.2": "ends inside",
	} {
		if _, err := parseFormat(format); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseFormat(%q): err %v, want %q", format, err, want)
		}
	}
}
