package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
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
		drained := 0
		err := publishLines(strings.NewReader(tt.in), func(n int, b []byte) error {
			if n != len(got)+1 {
				t.Errorf("%.20q: line %q sent as line %d, want %d", tt.in, b, n, len(got)+1)
			}
			got = append(got, string(b))
			return nil
		}, func() error {
			drained++
			return nil
		})
		if len(got) > 0 && drained != 1 {
			t.Errorf("%.20q: drained %d times, want once before the end", tt.in, drained)
		}
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

// fakeToken is a publish whose outcome the test sets.
type fakeToken struct {
	done chan struct{}
	err  error
}

func finished(err error) *fakeToken {
	t := &fakeToken{done: make(chan struct{}), err: err}
	close(t.done)
	return t
}

func (t *fakeToken) Wait() bool                     { <-t.done; return true }
func (t *fakeToken) WaitTimeout(time.Duration) bool { <-t.done; return true }
func (t *fakeToken) Done() <-chan struct{}          { return t.done }
func (t *fakeToken) Error() error                   { return t.err }

// TestPubWindow: -M N waits for the oldest message once N are handed over,
// in order; a failure names the message and every message in flight after
// it that failed too; with nothing failing, drain leaves nothing pending.
func TestPubWindow(t *testing.T) {
	refused := errors.New("refused")
	tests := []struct {
		name string
		max  int
		errs []error // the outcome of each message, in order
		want string  // the error, "" for none
		// waitedAfter is how many messages were pending after all were
		// added (before drain).
		waitedAfter int
	}{
		{name: "one at a time", max: 1, errs: []error{nil, nil, nil}, waitedAfter: 0},
		{name: "window of 3", max: 3, errs: []error{nil, nil, nil, nil}, waitedAfter: 2},
		{name: "window larger than the run", max: 8, errs: []error{nil, nil}, waitedAfter: 2},
		{name: "first fails alone", max: 1, errs: []error{refused, nil}, want: "m1: publishing: refused"},
		{name: "failure names the others in flight", max: 4, errs: []error{nil, refused, nil, refused}, want: "m2: publishing: refused; in flight after it and not published either: m4", waitedAfter: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &pubWindow{ctx: context.Background(), stderr: io.Discard, max: tt.max}
			var err error
			for i, e := range tt.errs {
				if err = w.add(fmt.Sprintf("m%d", i+1), finished(e)); err != nil {
					break
				}
			}
			if err == nil {
				if len(w.pending) != tt.waitedAfter {
					t.Errorf("%d pending after the last add, want %d", len(w.pending), tt.waitedAfter)
				}
				err = w.drain()
			}
			if got := fmt.Sprint(err); (err == nil) != (tt.want == "") || (err != nil && got != tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
			if !errors.Is(err, refused) && tt.want != "" {
				t.Errorf("err %v does not wrap the publish's error", err)
			}
			if len(w.pending) != 0 {
				t.Errorf("%d left pending", len(w.pending))
			}
		})
	}
}
