package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		want  string
		usage bool
	}{
		{
			name: "result code with advice",
			err:  during("connecting to tcp://h:1883", fmt.Errorf("cellmqtt: connect: %w", &atmodem.ResultError{Command: `AT+CMQTTCONNECT=0,"tcp://h:1883",60,1`, Code: 30})),
			want: `connecting to tcp://h:1883: AT+CMQTTCONNECT=0,"tcp://h:1883",60,1: result 30: connection refused: bad user name or password (check the user name (-u) and password (-P))`,
		},
		{
			name:  "parameter named by its flag",
			err:   fmt.Errorf("cellmqtt: connect: %w", &atmodem.ParamError{Param: "pass_word", Model: atmodem.A7600, Reason: `contains '"'`}),
			want:  `-P (pass_word): contains '"' (A7600)`,
			usage: true,
		},
		{name: "timeout", err: fmt.Errorf("x: %w", atmodem.ErrTimeout), want: "is this the modem's AT port"},
		{name: "interrupted", err: during("subscribing", context.Canceled), want: "subscribing: interrupted"},
		{name: "bad input", err: badInput("-q 3: want 0, 1 or 2"), want: "-q 3: want 0, 1 or 2", usage: true},
		{name: "plain", err: errors.New("cellmqtt: boom"), want: "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describe(tt.err); !strings.Contains(got, tt.want) {
				t.Errorf("describe = %q, want %q", got, tt.want)
			}
			if isUsage(tt.err) != tt.usage {
				t.Errorf("isUsage = %v, want %v", !tt.usage, tt.usage)
			}
		})
	}
}

// TestEveryResultCodeHasAdvice keeps the troubleshooting advice complete.
func TestEveryResultCodeHasAdvice(t *testing.T) {
	for c := simcom.ResultCode(1); c.Known(); c++ {
		if hint(c) == "" {
			t.Errorf("result code %d (%s) has no advice", c, c)
		}
	}
}
