package cellmqtt

import (
	"errors"
	"sync"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// Token tracks an asynchronous operation, as paho's Token does: Wait or
// WaitTimeout for it, or select on Done, then read Error.
type Token interface {
	// Wait blocks until the operation is complete and returns true.
	Wait() bool
	// WaitTimeout blocks until the operation is complete or d has passed;
	// it reports whether the operation completed.
	WaitTimeout(d time.Duration) bool
	// Done is closed when the operation is complete.
	Done() <-chan struct{}
	// Error is the operation's error once it is complete (nil on success).
	Error() error
}

// RCNetworkError is the ConnectToken return code of a connection that
// failed for another reason than a refused CONNACK (paho's
// packets.ErrNetworkError).
const RCNetworkError byte = 0xFE

// SubscribeFailure is the value SubscribeToken.Result reports for a filter
// the modem refused (MQTT's SUBACK failure code).
const SubscribeFailure byte = 0x80

// baseToken is the completion state every token shares.
type baseToken struct {
	m        sync.RWMutex
	complete chan struct{}
	err      error
}

func newBaseToken() baseToken { return baseToken{complete: make(chan struct{})} }

// Wait blocks until the operation is complete and returns true.
func (b *baseToken) Wait() bool {
	<-b.complete
	return true
}

// WaitTimeout blocks until the operation is complete or d has passed.
func (b *baseToken) WaitTimeout(d time.Duration) bool {
	select {
	case <-b.complete:
		return true
	default:
	}
	t := getTimer(d)
	defer putTimer(t)
	select {
	case <-b.complete:
		return true
	case <-t.C:
		return false
	}
}

// timers keeps stopped timers for WaitTimeout, which otherwise made a new
// timer (three allocations) on every wait that did not find the token
// complete.
var timers sync.Pool

// getTimer returns a timer that fires after d.
func getTimer(d time.Duration) *time.Timer {
	if t, ok := timers.Get().(*time.Timer); ok {
		t.Reset(d) // stopped by putTimer: no stale tick (Go >= 1.23 timers)
		return t
	}
	return time.NewTimer(d)
}

// putTimer stops t and keeps it for the next getTimer.
func putTimer(t *time.Timer) {
	t.Stop()
	timers.Put(t)
}

// Done is closed when the operation is complete.
func (b *baseToken) Done() <-chan struct{} { return b.complete }

// Error is the operation's error once it is complete.
func (b *baseToken) Error() error {
	b.m.RLock()
	defer b.m.RUnlock()
	return b.err
}

// finish completes the token with err (nil for success). Only the first
// call has an effect.
func (b *baseToken) finish(err error) {
	b.m.Lock()
	defer b.m.Unlock()
	select {
	case <-b.complete:
		return
	default:
	}
	b.err = err
	close(b.complete)
}

// ConnectToken is the token of Connect.
type ConnectToken struct {
	baseToken
	returnCode byte
}

func newConnectToken() *ConnectToken { return &ConnectToken{baseToken: newBaseToken()} }

// ReturnCode is the MQTT 3.1.1 CONNACK return code: 0 when connected, 1-5
// when the broker refused the connection (the modem's result codes 27-31),
// RCNetworkError for any other failure.
func (t *ConnectToken) ReturnCode() byte {
	t.m.RLock()
	defer t.m.RUnlock()
	return t.returnCode
}

// SessionPresent always returns false: the modem does not report the
// CONNACK's session-present flag, so it is unknown.
func (t *ConnectToken) SessionPresent() bool { return false }

// finishConnect completes the token and sets its return code from err.
func (t *ConnectToken) finishConnect(err error) {
	t.m.Lock()
	t.returnCode = connectReturnCode(err)
	t.m.Unlock()
	t.finish(err)
}

// connectReturnCode maps a connect error to the MQTT 3.1.1 return code.
func connectReturnCode(err error) byte {
	if err == nil {
		return 0
	}
	var re *atmodem.ResultError
	if errors.As(err, &re) {
		if rc, ok := re.Code.ConnackReturnCode(); ok {
			return rc
		}
	}
	return RCNetworkError
}

// PublishToken is the token of Publish. It completes when the modem reports
// +CMQTTPUB: <index>,0 (for QoS 1 and 2: the broker acknowledged it), or
// with an error.
type PublishToken struct {
	baseToken
	messageID uint16
}

func newPublishToken(id uint16) *PublishToken {
	return &PublishToken{baseToken: newBaseToken(), messageID: id}
}

// MessageID is a client-local number of a QoS 1 or 2 publish (1-65535,
// wrapping), 0 for QoS 0. It is not the packet identifier on the wire: the
// modem chooses that and does not report it.
func (t *PublishToken) MessageID() uint16 { return t.messageID }

// SubscribeToken is the token of Subscribe and SubscribeMultiple.
type SubscribeToken struct {
	baseToken
	result map[string]byte
}

func newSubscribeToken() *SubscribeToken {
	return &SubscribeToken{baseToken: newBaseToken(), result: make(map[string]byte)}
}

// Result maps each topic filter to its outcome: the requested QoS when the
// modem reported success (the modem does not report the granted QoS), or
// SubscribeFailure (0x80) when it failed.
func (t *SubscribeToken) Result() map[string]byte {
	t.m.RLock()
	defer t.m.RUnlock()
	out := make(map[string]byte, len(t.result))
	for k, v := range t.result {
		out[k] = v
	}
	return out
}

// finishSubscribe records the outcome of every filter and completes the token.
func (t *SubscribeToken) finishSubscribe(subs []atmodem.Subscription, err error) {
	t.m.Lock()
	for _, s := range subs {
		if err == nil {
			t.result[s.Topic] = s.QoS
		} else {
			t.result[s.Topic] = SubscribeFailure
		}
	}
	t.m.Unlock()
	t.finish(err)
}

// UnsubscribeToken is the token of Unsubscribe.
type UnsubscribeToken struct {
	baseToken
}

func newUnsubscribeToken() *UnsubscribeToken { return &UnsubscribeToken{baseToken: newBaseToken()} }
