package cellmqtt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// windowScript answers the first publishes of a scripted session with a
// window of 4: each with an immediate error, or a result the test gives
// once every one of them went out (so they are all pending at once); every
// later publish succeeds at once.
type windowScript struct {
	sess    *scriptSession
	mu      sync.Mutex
	results []chan error // of the first connection, in order
}

// pipelineRefused is what the engine gives a publish the firmware refused
// while results were pending (the window drops to 1 with it).
func pipelineRefused(cause string) error {
	return fmt.Errorf("atmodem: session 0: publish: %w", &refusal{cause})
}

// refusal matches atmodem.ErrPipelineRefused as the engine's error does.
type refusal struct{ cause string }

func (r *refusal) Error() string { return atmodem.ErrPipelineRefused.Error() + ": " + r.cause }
func (r *refusal) Unwrap() error { return atmodem.ErrPipelineRefused }

func newWindowScript(first int, immediate func(n int) error) *windowScript {
	w := &windowScript{sess: newScriptSession()}
	w.sess.window = 4
	w.sess.publishAsync = func(ctx context.Context, n int, p atmodem.Publish) (<-chan error, error) {
		ch := make(chan error, 1)
		if n > first {
			ch <- nil
			return ch, nil
		}
		if err := immediate(n); err != nil {
			if errors.Is(err, atmodem.ErrPipelineRefused) {
				w.sess.mu.Lock()
				w.sess.window = 1
				w.sess.mu.Unlock()
			}
			return nil, err
		}
		w.mu.Lock()
		w.results = append(w.results, ch)
		w.mu.Unlock()
		return ch, nil
	}
	return w
}

// answer gives the pending first-round publishes their results, in order.
func (w *windowScript) answer(results ...error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, err := range results {
		w.results[i] <- err
	}
}

// publishLog is the publishes as "topic" or "topic+dup".
func publishLog(s *scriptSession) []string {
	var out []string
	for _, p := range s.published() {
		if p.Dup {
			out = append(out, p.Topic+"+dup")
		} else {
			out = append(out, p.Topic)
		}
	}
	return out
}

// TestWindowMessageFates drives the client's sender with a window of 4
// through what pipelined publishes can get: every message's token
// succeeds (lost = 0) and the ones sent again carry DUP.
func TestWindowMessageFates(t *testing.T) {
	ok := func(int) error { return nil }
	tests := []struct {
		name      string
		immediate func(n int) error // first connection, n-th publish
		sent      int               // first-round publishes to wait for before answering
		results   []error           // then their results, in order
		loss      bool              // the connection is lost (a reconnect follows)
		want      []string          // every publish, in order
	}{
		{"all confirmed", ok, 4, []error{nil, nil, nil, nil}, false,
			[]string{"a", "b", "c", "d"}},
		{"b refused with 14: one at a time from then on", func(n int) error {
			if n == 2 {
				return pipelineRefused("AT+CMQTTPUB=0,1,60: +CMQTTPUB: 0,14 ERROR")
			}
			return nil
		}, 2, []error{nil}, false,
			[]string{"a", "b", "b+dup", "c", "d"}},
		{"b refused with a bare ERROR", func(n int) error {
			if n == 2 {
				return pipelineRefused("AT+CMQTTPUB=0,1,60: ERROR")
			}
			return nil
		}, 2, []error{nil}, false,
			[]string{"a", "b", "b+dup", "c", "d"}},
		{"b's result is 6 on a live link", ok, 4,
			[]error{nil, resultErr(atmodem.CodeMessageReceiveFail), nil, nil}, false,
			[]string{"a", "b", "c", "d", "b+dup"}},
		{"b's result is 11: the link is down", ok, 4,
			[]error{nil, resultErr(atmodem.CodeNoConnection), nil, nil}, true,
			[]string{"a", "b", "c", "d", "b+dup"}},
		{"CONNLOST with four results pending", ok, 4,
			[]error{atmodem.ErrConnectionLost, atmodem.ErrConnectionLost, atmodem.ErrConnectionLost, atmodem.ErrConnectionLost}, true,
			[]string{"a", "b", "c", "d", "a+dup", "b+dup", "c+dup", "d+dup"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWindowScript(tt.sent, tt.immediate)
			lost := make(lossRecorder, 4)
			c := scriptedClient(t, w.sess, func(o *ClientOptions) { o.SetConnectionLostHandler(lost.handler) })
			mustWait(t, "connect", c.Connect())
			var toks []Token
			for _, topic := range []string{"a", "b", "c", "d"} {
				toks = append(toks, c.Publish(topic, 1, false, "x"))
			}
			waitCalls(t, w.sess, "publish", tt.sent)
			if tt.loss && errors.Is(tt.results[0], atmodem.ErrConnectionLost) {
				w.sess.event(atmodem.Event{Kind: atmodem.EventConnLost, Index: 0, Cause: 1, Err: atmodem.ErrConnectionLost})
			}
			w.answer(tt.results...)
			for i, tok := range toks {
				if err := wait(t, tok); err != nil {
					t.Fatalf("message %c: %v", 'a'+i, err)
				}
			}
			if got := publishLog(w.sess); !slices.Equal(got, tt.want) {
				t.Fatalf("publishes %q, want %q", got, tt.want)
			}
			if tt.loss {
				lost.next(t)
			}
			if n := countCalls(w.sess.history(), "connect"); (n == 2) != tt.loss {
				t.Fatalf("%d connects (loss %v): %q", n, tt.loss, w.sess.history())
			}
		})
	}
}

// TestWindowQoS0NotHeld: a QoS 0 message behind QoS 1 messages whose
// results are pending goes out at once, in the window, and its token
// completes as soon as its own result is in: the results before it are
// all it waits for.
func TestWindowQoS0NotHeld(t *testing.T) {
	w := newWindowScript(2, func(int) error { return nil })
	c := scriptedClient(t, w.sess, nil)
	mustWait(t, "connect", c.Connect())
	q1 := c.Publish("one", 1, false, "x")
	q0 := c.Publish("zero", 0, false, "y")
	waitCalls(t, w.sess, "publish", 2) // both out before any result
	select {
	case <-q0.Done():
		t.Fatal("the QoS 0 token completed before its result")
	default:
	}
	w.answer(nil, nil)
	mustWait(t, "qos 0", q0)
	mustWait(t, "qos 1", q1)
}

// TestIntegrationWindow: the client with SetMaxInflight(8) over the
// emulator with a 25 ms broker round trip, on each kind of firmware: 30
// QoS 1 messages, every token succeeds and the subscriber gets every one
// (lost = 0); firmware that refuses pipelining makes the modem fall back
// to one at a time.
func TestIntegrationWindow(t *testing.T) {
	t.Parallel() // a broker round trip per message: beside the others
	for _, mode := range []modemsim.PipelineMode{modemsim.PipelineAccept, modemsim.PipelineBusy14, modemsim.PipelineError} {
		t.Run(mode.String(), func(t *testing.T) {
			e := newEnv(t, modemsim.Config{Model: atmodem.A7600, Pipeline: mode, RTT: 25 * time.Millisecond})
			p := e.peer("win/#")
			c := e.connect(e.options("window").SetMaxInflight(8))
			m := c.(*client).modem // set by the manager before Connect completed
			var toks []Token
			var want []string
			for i := range 30 {
				msg := fmt.Sprintf("m%02d", i)
				want = append(want, msg)
				toks = append(toks, c.Publish("win/"+msg, 1, false, msg))
			}
			for i, tok := range toks {
				if err := wait(t, tok); err != nil {
					t.Fatalf("%s: %v", want[i], err)
				}
			}
			dups := p.waitAll(t, want)
			if refused := m.PipelineRefused(); refused != (mode != modemsim.PipelineAccept) {
				t.Fatalf("PipelineRefused = %v on %v firmware", refused, mode)
			}
			t.Logf("%v: %d duplicates", mode, dups)
		})
	}
}
