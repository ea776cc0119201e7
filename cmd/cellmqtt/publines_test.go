package main

import (
	"errors"
	"strings"
	"testing"
)

// TestPublishLines: -l sends what mosquitto_pub -l sends, and stops at a
// line over the limit naming it, byte for byte.
func TestPublishLines(t *testing.T) {
	big := strings.Repeat("x", 10241)
	tests := []struct {
		in    string
		want  []string
		err   string
		usage bool
	}{
		{in: "a\r\n\nb\n", want: []string{"a\r", "", "b"}},
		{in: "x\ny", want: []string{"x", "y"}},
		{in: "", want: nil},
		{in: "\n", want: []string{""}},
		{in: strings.Repeat("y", 10240) + "\n", want: []string{strings.Repeat("y", 10240)}},
		{in: big + "\nafter\n", err: "stdin line 1: more than 10240 bytes", usage: true},
		{in: "one\n" + big, want: []string{"one"}, err: "stdin line 2: more than 10240 bytes, the modem's payload limit; it and the lines after it were not sent (lines 1-1 were published)"},
	}
	for _, tt := range tests {
		var got []string
		err := publishLines(strings.NewReader(tt.in), func(b []byte) error {
			got = append(got, string(b))
			return nil
		})
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("%.20q: sent %q, want %q", tt.in, got, tt.want)
		}
		if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%.20q: err %v, want %q", tt.in, err, tt.err)
		}
		var u usageErr
		if errors.As(err, &u) != tt.usage {
			t.Errorf("%.20q: usage error %v, want %v", tt.in, errors.As(err, &u), tt.usage)
		}
	}
}
