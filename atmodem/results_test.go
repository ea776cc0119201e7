package atmodem

import (
	"context"
	"errors"
	"testing"
	"time"
)

// pubReq is AT+CMQTTPUB=<i>,1,60 as the engine sends it, with a short
// timeout for the tests of what happens when its result does not come.
func pubReq(i int, timeout time.Duration) request {
	r := pubRequest(atLine("AT+CMQTTPUB", i, 1, 60), i, 60)
	if timeout > 0 {
		r.timeout = timeout
	}
	return r
}

// result is what a command returns on a goroutine of its own.
type result struct {
	resp response
	err  error
}

// goExec runs r on a goroutine and returns where its result goes.
func goExec(t *testing.T, m *Modem, r request) <-chan result {
	t.Helper()
	ch := make(chan result, 1)
	ctx := testCtx(t)
	go func() {
		resp, err := m.exec(ctx, r)
		ch <- result{resp, err}
	}()
	return ch
}

// get waits for a result.
func get(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no result within 5 s")
		return result{}
	}
}

// wantCode checks that err is the *ResultError of code (0: no error).
func wantCode(t *testing.T, what string, err error, code ResultCode) {
	t.Helper()
	if code == CodeOK {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return
	}
	var re *ResultError
	if !errors.As(err, &re) || re.Code != code {
		t.Fatalf("%s: err = %v, want result %d", what, err, code)
	}
}

// TestResultAfterOKFreesThePort: between a PUB's OK and its +CMQTTPUB
// result, the other client index writes its commands; the result, read in
// the middle of the other index's answer, goes to the PUB it belongs to,
// and each index gets its own result when both kinds are in flight.
func TestResultAfterOKFreesThePort(t *testing.T) {
	tests := []struct {
		name   string
		steps  []step
		second func(ctx context.Context, m *Modem) error
		code   ResultCode // of index 0's publish
	}{
		{"result inside a TOPIC answer of index 1", []step{
			cmd("AT+CMQTTPUB=0,1,60", ok),
			cmd("AT+CMQTTTOPIC=1,3", prompt),
			{expect: "a/b", reply: "\r\n+CMQTTPUB: 0,0\r\n" + ok},
		}, func(ctx context.Context, m *Modem) error { return m.SetTopic(ctx, 1, "a/b") }, CodeOK},
		{"failure code inside a PUB answer of index 1", []step{
			cmd("AT+CMQTTPUB=0,1,60", ok),
			cmd("AT+CMQTTPUB=1,1,60", "\r\n+CMQTTPUB: 0,11\r\n"+ok+"\r\n+CMQTTPUB: 1,0\r\n"),
		}, func(ctx context.Context, m *Modem) error {
			return m.PublishMessage(ctx, 1, 1, time.Minute, false, false)
		}, CodeNoConnection},
		{"index 1's own result before OK, then index 0's", []step{
			cmd("AT+CMQTTPUB=0,1,60", ok),
			cmd("AT+CMQTTPUB=1,1,60", "\r\n+CMQTTPUB: 1,0\r\n"+ok+"\r\n+CMQTTPUB: 0,0\r\n"),
		}, func(ctx context.Context, m *Modem) error {
			return m.PublishMessage(ctx, 1, 1, time.Minute, false, false)
		}, CodeOK},
		{"SUB of index 1 while index 0's CONNECT waits", []step{
			cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example:1883",60,0`, ok),
			cmd("AT+CMQTTSUB=1,3,1", prompt),
			{expect: "a/b", reply: ok + "\r\n+CMQTTCONNECT: 0,0\r\n\r\n+CMQTTSUB: 1,0\r\n"},
		}, func(ctx context.Context, m *Modem) error { return m.SubscribeTopic(ctx, 1, "a/b", 1, false) }, CodeOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachDelivery(t, func(t *testing.T, mode delivery) {
				m, sm := startModem(t, mode, tt.steps, WithModel(A7600))
				first := pubReq(0, 0)
				if tt.name == "SUB of index 1 while index 0's CONNECT waits" {
					first = request{line: `AT+CMQTTCONNECT=0,"tcp://broker.example:1883",60,0`, final: "+CMQTTCONNECT", index: 0, timeout: brokerTimeout, detach: true}
				}
				done := goExec(t, m, first)
				<-sm.reached(1)
				if err := tt.second(testCtx(t), m); err != nil {
					t.Fatalf("index 1: %v", err)
				}
				wantCode(t, "index 0", get(t, done).err, tt.code)
				sm.waitSteps(t)
				if !m.InStep() {
					t.Error("out of step")
				}
			})
		})
	}
}

// TestResultsMatchedInOrder: several PUBs of one index accepted before any
// result came get the results in the order they were written, failure
// codes included; a result of an index with nothing waiting is dropped.
func TestResultsMatchedInOrder(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, sm := startModem(t, mode, []step{
			cmd("AT+CMQTTPUB=0,1,60", ok),
			cmd("AT+CMQTTPUB=0,1,60", ok),
			cmd("AT+CMQTTPUB=0,1,60", ok+"\r\n+CMQTTPUB: 1,0\r\n\r\n+CMQTTPUB: 0,0\r\n\r\n+CMQTTPUB: 0,17\r\n\r\n+CMQTTPUB: 0,0\r\n"),
		}, WithModel(A7600))
		var dones []<-chan result
		for i := range 3 {
			dones = append(dones, goExec(t, m, pubReq(0, 0)))
			<-sm.reached(i + 1)
		}
		for i, want := range []ResultCode{CodeOK, CodeTimeout, CodeOK} {
			wantCode(t, "publish "+itoa(i+1), get(t, dones[i]).err, want)
		}
	})
}

// TestResultTimeoutFences: a PUB whose result does not come in time ends
// with ErrTimeout and ErrResultsUnmatched (fate link down), and the index is
// fenced: the late result is not taken for the next PUB's, which ends
// unmatched at its OK. The other index is not affected.
func TestResultTimeoutFences(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, sm := startModem(t, mode, []step{
			cmd("AT+CMQTTPUB=0,1,60", ok), // its result never comes in time
		}, WithModel(A7600))
		err := get(t, goExec(t, m, pubReq(0, 50*time.Millisecond))).err
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrResultsUnmatched) || FateOf(err) != FateLinkDown {
			t.Fatalf("err = %v, want ErrTimeout and ErrResultsUnmatched, fate link down", err)
		}
		if !m.Fenced(0) || m.Fenced(1) {
			t.Fatalf("Fenced(0) = %v, Fenced(1) = %v, want true, false", m.Fenced(0), m.Fenced(1))
		}
		sm.add(
			cmd("AT+CMQTTPUB=0,1,60", "\r\n+CMQTTPUB: 0,0\r\n"+ok), // the late result, then the OK
			cmd("AT+CMQTTPUB=1,1,60", ok+"\r\n+CMQTTPUB: 1,0\r\n"),
		)
		err = get(t, goExec(t, m, pubReq(0, 0))).err
		if !errors.Is(err, ErrResultsUnmatched) {
			t.Fatalf("next PUB on the fenced index: err = %v, want ErrResultsUnmatched", err)
		}
		if err := get(t, goExec(t, m, pubReq(1, 0))).err; err != nil {
			t.Fatalf("index 1: %v", err)
		}
		sm.waitSteps(t)
	})
}

// TestCancelledBeforeOKFences: a PUB whose context ends before its answer
// was read may have been accepted: the engine gets back in step with a
// marker and fences the index, so its result is never taken for another.
func TestCancelledBeforeOKFences(t *testing.T) {
	m, sm := startModem(t, deliverWhole, []step{
		{expect: "AT+CMQTTPUB=0,1,60\r"}, // no answer yet
	}, WithModel(A7600))
	ctx := cancelAfter(t, testCtx(t), sm.reached(1))
	if _, err := m.exec(ctx, pubReq(0, 0)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if !m.Fenced(0) || m.InStep() {
		t.Fatalf("Fenced(0) = %v, InStep = %v: want fenced and out of step", m.Fenced(0), m.InStep())
	}
	sm.add(step{reply: ok + "\r\n+CMQTTPUB: 0,0\r\n"}, markerCSQ, cmd("AT", ok))
	if err := m.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

// TestLossEndsEveryResultWaiting: +CMQTTCONNLOST ends every command of its
// index waiting for a result (ErrConnectionLost, link down); the other
// index's stays and gets its result.
func TestLossEndsEveryResultWaiting(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, sm := startModem(t, mode, []step{
			cmd("AT+CMQTTPUB=0,1,60", ok),
			cmd("AT+CMQTTPUB=0,1,60", ok),
			cmd("AT+CMQTTPUB=1,1,60", ok+"\r\n+CMQTTCONNLOST: 0,1\r\n\r\n+CMQTTPUB: 1,0\r\n"),
		}, WithModel(A7600))
		a := goExec(t, m, pubReq(0, 0))
		<-sm.reached(1)
		b := goExec(t, m, pubReq(0, 0))
		<-sm.reached(2)
		c := goExec(t, m, pubReq(1, 0))
		for _, ch := range []<-chan result{a, b} {
			if err := get(t, ch).err; !errors.Is(err, ErrConnectionLost) || FateOf(err) != FateLinkDown {
				t.Fatalf("index 0: err = %v, want ErrConnectionLost", err)
			}
		}
		if err := get(t, c).err; err != nil {
			t.Fatalf("index 1: %v", err)
		}
		if m.Fenced(0) {
			t.Error("a loss fenced the index")
		}
	})
}
