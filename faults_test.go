package cellmqtt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// TestIntegrationFaults injects each fault of modemsim while QoS 1 and 2
// messages flow: the broker-side subscriber receives every message
// (duplicates allowed and counted, none lost), every token succeeds, the
// ConnectionLostHandler learns the cause, and the subscription works again.
func TestIntegrationFaults(t *testing.T) {
	t.Parallel() // each fault waits for a loss and a reconnect: beside the others
	tests := []struct {
		name   string
		inject func(e *env, lost *lostLog)
		cause  error // nil: no connection loss need be reported
		// timeout, when set, is the engine's default command timeout: a
		// dropped answer costs one, and the recovery after it is the same
		// whether it lasts the default 9 s or 2 s.
		timeout time.Duration
	}{
		{"connlost cause 1", func(e *env, _ *lostLog) { dropConn(e, 1) }, atmodem.ErrConnectionLost, 0},
		{"connlost cause 2", func(e *env, _ *lostLog) { dropConn(e, 2) }, atmodem.ErrConnectionLost, 0},
		{"connlost cause 3", func(e *env, _ *lostLog) { dropConn(e, 3) }, atmodem.ErrConnectionLost, 0},
		{"no network", func(e *env, lost *lostLog) {
			e.sim.NoNetwork()
			lost.await(e.t)
			e.sim.RestoreNetwork()
		}, atmodem.ErrNoNetwork, 0},
		{"keepalive", func(e *env, _ *lostLog) {
			if err := e.sim.KeepaliveFail(0); err != nil {
				e.t.Log("KeepaliveFail:", err)
			}
		}, atmodem.ErrKeepalive, 0},
		{"reboot", func(e *env, _ *lostLog) { e.sim.Reboot() }, atmodem.ErrModemReset, 0},
		{"unplug", func(e *env, _ *lostLog) { e.sim.Unplug() }, atmodem.ErrClosed, 0},
		{"broker drops client", func(e *env, _ *lostLog) { e.broker.DropClient("dev") }, atmodem.ErrConnectionLost, 0},
		{"busy while streaming (rejected)", func(e *env, _ *lostLog) { streamIn(e, modemsim.BusyReject) }, nil, 0},
		{"busy while streaming (corrupting)", func(e *env, _ *lostLog) { streamIn(e, modemsim.BusyCorrupt) }, nil, 0},
		{"noise", func(e *env, _ *lostLog) { e.sim.Noise([]byte("\r\n\x00\xfe#~garbage\r\n+CMQTTRXEND: 0\r\n")) }, nil, 0},
		{"stall", func(e *env, _ *lostLog) { e.sim.Stall(500 * time.Millisecond) }, nil, 0},
		{"dropped answer", func(e *env, _ *lostLog) { e.sim.DropNextAnswer() }, nil, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, modemsim.Config{Model: atmodem.A7600})
			p := e.peer("out/#")
			lost := newLostLog()
			in := make(inbox, 100)
			o := e.options("dev").
				SetOpenTransport(func(context.Context) (io.ReadWriteCloser, error) { return e.sim.Conn(), nil }).
				SetConnectionLostHandler(lost.handler)
			o.Transport = nil
			if tt.timeout > 0 {
				m := atmodem.New(e.sim.Conn(), atmodem.WithModel(atmodem.A7600), atmodem.WithDefaultTimeout(tt.timeout))
				t.Cleanup(func() { _ = m.Close() })
				o.SetModem(m)
			}
			c := e.connect(o)
			mustWait(t, "subscribe", c.Subscribe("in/#", 1, in.handler))

			const n = 40
			var toks []Token
			var want []string
			for i := range n {
				if i == n/2 {
					// Messages are flowing: the first quarter is confirmed,
					// the rest of the first half is queued or in flight.
					wait(t, toks[n/4])
					tt.inject(e, lost)
				}
				payload := fmt.Sprintf("m%03d", i)
				want = append(want, payload)
				toks = append(toks, c.Publish("out/"+payload, byte(1+i%2), false, payload))
			}
			for i, tok := range toks {
				if err := wait(t, tok); err != nil {
					t.Fatalf("publish %d: %v", i, err)
				}
			}
			dups := p.waitAll(t, want)
			t.Logf("%d messages, %d duplicates", n, dups)
			if tt.cause != nil {
				// The first sign of the loss may also be a publish that
				// found the connection gone (a link-down result such as
				// 9, 11 or 26), or a liveness check that did.
				err := lost.await(t)
				if !errors.Is(err, tt.cause) && atmodem.FateOf(err) != atmodem.FateLinkDown && !errors.Is(err, ErrLiveness) {
					t.Fatalf("ConnectionLostHandler got %v, want %v", err, tt.cause)
				}
			}
			expectSubscribed(t, e, in)
		})
	}
}

// streamIn makes the broker send large messages to the client while it
// publishes, with the given rule for commands written during a stream.
func streamIn(e *env, mode modemsim.BusyMode) {
	e.sim.SetBusyWhileStreaming(mode)
	big := make([]byte, 8000)
	for range 5 {
		if err := e.broker.Publish("in/big", big, false, 1); err != nil {
			e.t.Fatal(err)
		}
	}
}

func dropConn(e *env, cause int) {
	if err := e.sim.DropConnection(0, cause); err != nil {
		e.t.Log("DropConnection:", err)
	}
}

// lostLog records the errors a ConnectionLostHandler gets.
type lostLog struct {
	mu    sync.Mutex
	errs  []error
	first chan struct{}
}

func newLostLog() *lostLog { return &lostLog{first: make(chan struct{})} }

func (l *lostLog) handler(_ Client, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
	if len(l.errs) == 1 {
		close(l.first)
	}
}

// await returns the first error once there is one.
func (l *lostLog) await(t *testing.T) error {
	t.Helper()
	select {
	case <-l.first:
	case <-time.After(waitFor):
		t.Fatal("ConnectionLostHandler not called")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errs[0]
}

// expectSubscribed publishes on the broker until the client's "in/#"
// handler receives it (the resubscription may still be on its way).
func expectSubscribed(t *testing.T, e *env, in inbox) {
	t.Helper()
	deadline := time.After(waitFor)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		payload := fmt.Sprintf("probe%d", i)
		if err := e.broker.Publish("in/probe", []byte(payload), false, 1); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-in:
			if m.Topic() == "in/probe" {
				return
			}
		case <-tick.C:
		case <-deadline:
			t.Fatal("subscription does not work after the fault")
		}
	}
}
