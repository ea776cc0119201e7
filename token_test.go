package cellmqtt

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/queue"
)

func TestConnectReturnCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want byte
	}{
		{"success", nil, 0},
		{"27 unaccepted protocol", &atmodem.ResultError{Command: "AT+CMQTTCONNECT", Code: 27}, 1},
		{"28 identifier rejected", &atmodem.ResultError{Code: 28}, 2},
		{"29 server unavailable", &atmodem.ResultError{Code: 29}, 3},
		{"30 bad credentials", fmt.Errorf("wrapped: %w", &atmodem.ResultError{Code: 30}), 4},
		{"31 not authorized", errors.Join(errors.New("other broker"), &atmodem.ResultError{Code: 31}), 5},
		{"32 handshake", &atmodem.ResultError{Code: simcom.CodeHandshakeFail}, RCNetworkError},
		{"26 closed by server", &atmodem.ResultError{Code: 26}, RCNetworkError},
		{"timeout", atmodem.ErrTimeout, RCNetworkError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := newConnectToken()
			tok.finishConnect(tt.err)
			if got := tok.ReturnCode(); got != tt.want {
				t.Errorf("ReturnCode() = %d, want %d", got, tt.want)
			}
			if !errors.Is(tok.Error(), tt.err) {
				t.Errorf("Error() = %v, want %v", tok.Error(), tt.err)
			}
			if tok.SessionPresent() {
				t.Error("SessionPresent() = true; the modem does not report it")
			}
		})
	}
}

func TestTokenCompletion(t *testing.T) {
	tok := newPublishToken(7)
	if tok.WaitTimeout(time.Millisecond) {
		t.Fatal("WaitTimeout on a pending token returned true")
	}
	select {
	case <-tok.Done():
		t.Fatal("Done closed before completion")
	default:
	}
	first := errors.New("first")
	tok.finish(first)
	tok.finish(errors.New("second")) // ignored
	if !tok.Wait() || !tok.WaitTimeout(0) {
		t.Fatal("Wait/WaitTimeout false after completion")
	}
	<-tok.Done()
	if tok.Error() != first {
		t.Fatalf("Error() = %v, want the first error", tok.Error())
	}
	if tok.MessageID() != 7 {
		t.Fatalf("MessageID() = %d, want 7", tok.MessageID())
	}
}

func TestSubscribeTokenResult(t *testing.T) {
	subs := []atmodem.Subscription{{Topic: "a/+", QoS: 1}, {Topic: "b/#", QoS: 2}}
	ok := newSubscribeToken()
	ok.finishSubscribe(subs, nil)
	if got := ok.Result(); got["a/+"] != 1 || got["b/#"] != 2 || len(got) != 2 {
		t.Errorf("Result() = %v, want requested QoS", got)
	}
	bad := newSubscribeToken()
	bad.finishSubscribe(subs, &atmodem.ResultError{Code: 12})
	if got := bad.Result(); got["a/+"] != SubscribeFailure || got["b/#"] != SubscribeFailure {
		t.Errorf("Result() = %v, want 0x80 for each", got)
	}
	res := ok.Result()
	res["x"] = 9
	if _, found := ok.Result()["x"]; found {
		t.Error("Result() exposes the token's map")
	}
}

func TestTokenTable(t *testing.T) {
	var tt tokenTable
	tt.init()

	// Finished before its token is registered.
	tt.beginPut()
	tt.complete(1, nil)
	early := newPublishToken(1)
	tt.register(1, early)
	if !early.WaitTimeout(0) || early.Error() != nil {
		t.Fatal("early result not delivered on register")
	}

	// Registered first, finished later.
	tt.beginPut()
	late := newPublishToken(2)
	tt.register(2, late)
	if late.WaitTimeout(0) {
		t.Fatal("token complete before its result")
	}
	boom := errors.New("boom")
	if !tt.complete(2, boom) || late.Error() != boom {
		t.Fatal("result not delivered")
	}

	// No Put in progress: a tokenless entry leaves nothing behind.
	tt.complete(3, nil)
	if len(tt.early) != 0 {
		t.Fatalf("early map holds %d results with no Put in progress", len(tt.early))
	}

	// Entries dropped behind the head.
	for id := 10; id < 13; id++ {
		tt.beginPut()
		tt.register(queue.ID(id), newPublishToken(0))
	}
	tt.completeBefore(12, errDropTest)
	if tt.waiting() != 1 {
		t.Fatalf("waiting() = %d after completeBefore, want 1", tt.waiting())
	}

	// After failAll, registrations fail at once.
	tt.failAll(ErrDisconnected)
	tt.beginPut()
	after := newPublishToken(0)
	tt.register(20, after)
	if !errors.Is(after.Error(), ErrDisconnected) {
		t.Fatalf("register after failAll: %v", after.Error())
	}
	tt.open()
	tt.beginPut()
	again := newPublishToken(0)
	tt.register(21, again)
	if again.WaitTimeout(0) {
		t.Fatal("register after open completed at once")
	}
}

var errDropTest = errors.New("dropped")
