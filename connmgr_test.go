package cellmqtt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
	"github.com/cellmqtt/cellmqtt/queue"
)

// The connection manager and the sender driven by a scripted session:
// each test says what the session answers to each call and which events it
// reports, and checks what the client does with them.

// scriptSession is a session whose answers come from the test. A nil
// function answers success. Calls are recorded in order.
type scriptSession struct {
	mu       sync.Mutex
	calls    []string
	connects int
	pubs     []atmodem.Publish
	seq      uint64
	events   chan atmodem.Event
	closed   bool
	down     bool // the modem noticed the loss: Connected answers false

	window  int               // MaxInflight
	connect func(n int) error // n counts from 1
	publish func(ctx context.Context, n int, p atmodem.Publish) error
	// publishAsync, when set, answers PublishAsync instead of publish.
	publishAsync func(ctx context.Context, n int, p atmodem.Publish) (<-chan error, error)
	subscribe    func(ctx context.Context, n int, subs []atmodem.Subscription) error
	unsubscribe  func(ctx context.Context, topics []string) error
	connected    func() (bool, error)
}

func newScriptSession() *scriptSession {
	return &scriptSession{events: make(chan atmodem.Event, 64)}
}

func (s *scriptSession) record(call string) {
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
}

// history returns the calls so far.
func (s *scriptSession) history() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// published returns the publishes so far.
func (s *scriptSession) published() []atmodem.Publish {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pubs)
}

// event reports ev after the current connection's CONNECT (nothing once
// the session is closed).
func (s *scriptSession) event(ev atmodem.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.seq++
	ev.Seq = s.seq
	s.events <- ev
}

func (s *scriptSession) Index() int                                { return 0 }
func (s *scriptSession) CheckConnect(atmodem.ConnectOptions) error { return nil }
func (s *scriptSession) CheckPublish(p atmodem.Publish) error      { return atmodem.CheckPublishAnyModel(p) }
func (s *scriptSession) CheckSubscribe(sub atmodem.Subscription) error {
	return atmodem.CheckSubscribeAnyModel(sub)
}
func (s *scriptSession) Disconnect(context.Context, time.Duration) error {
	s.record("disconnect")
	return nil
}
func (s *scriptSession) Events() <-chan atmodem.Event { return s.events }
func (s *scriptSession) Close() error                 { close(s.events); return nil }

func (s *scriptSession) ConnectedSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}

func (s *scriptSession) Connect(ctx context.Context, _ atmodem.ConnectOptions) error {
	s.mu.Lock()
	s.connects++
	n := s.connects
	s.seq++
	s.calls = append(s.calls, "connect")
	s.mu.Unlock()
	if s.connect != nil {
		return s.connect(n)
	}
	return nil
}

func (s *scriptSession) Connected(context.Context) (bool, error) {
	s.record("connected?")
	if s.connected != nil {
		return s.connected()
	}
	return true, nil
}

// PublishAsync answers with the script: publishAsync when set (a result
// that comes later), otherwise publish's answer, given at once.
func (s *scriptSession) PublishAsync(ctx context.Context, p atmodem.Publish) (<-chan error, error) {
	s.mu.Lock()
	s.pubs = append(s.pubs, p)
	n := len(s.pubs)
	s.calls = append(s.calls, fmt.Sprintf("publish %s dup=%v", p.Topic, p.Dup))
	s.mu.Unlock()
	if s.publishAsync != nil {
		return s.publishAsync(ctx, n, p)
	}
	var err error
	if s.publish != nil {
		err = s.publish(ctx, n, p)
	}
	ch := make(chan error, 1)
	ch <- err
	return ch, nil
}

// MaxInflight is the scripted window (1 when not set).
func (s *scriptSession) MaxInflight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.window, 1)
}

func (s *scriptSession) Subscribe(ctx context.Context, sub atmodem.Subscription) error {
	return s.SubscribeMultiple(ctx, []atmodem.Subscription{sub})
}

func (s *scriptSession) SubscribeMultiple(ctx context.Context, subs []atmodem.Subscription) error {
	s.mu.Lock()
	s.calls = append(s.calls, "subscribe "+subs[0].Topic)
	n := 0
	for _, c := range s.calls {
		if strings.HasPrefix(c, "subscribe ") {
			n++
		}
	}
	s.mu.Unlock()
	if s.subscribe != nil {
		return s.subscribe(ctx, n, subs)
	}
	return nil
}

func (s *scriptSession) Unsubscribe(ctx context.Context, topics ...string) error {
	s.record("unsubscribe " + strings.Join(topics, ","))
	if s.unsubscribe != nil {
		return s.unsubscribe(ctx, topics)
	}
	return nil
}

// scriptedClient is a client whose connections use sess. Its reconnect
// backoff is short (MaxReconnectInterval) so tests run quickly.
func scriptedClient(t *testing.T, sess *scriptSession, configure func(o *ClientOptions)) *client {
	t.Helper()
	o := NewClientOptions().AddBroker("tcp://broker.example:1883").SetClientID("scripted").
		SetOpenTransport(func(context.Context) (io.ReadWriteCloser, error) {
			return nil, errors.New("not used: the session is scripted")
		}).
		SetMaxReconnectInterval(20 * time.Millisecond).SetLivenessInterval(0)
	if configure != nil {
		configure(o)
	}
	c := NewClient(o).(*client)
	c.newSession = func(context.Context) (session, error) { return sess, nil }
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

// lossRecorder collects what the ConnectionLostHandler got.
type lossRecorder chan error

func (l lossRecorder) handler(_ Client, err error) { l <- err }

func (l lossRecorder) next(t *testing.T) error {
	t.Helper()
	select {
	case err := <-l:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("no connection loss reported within 5 s")
		return nil
	}
}

// block waits until ctx ends (an answer that never comes) and returns the
// error the engine gives then.
func block(ctx context.Context) error {
	<-ctx.Done()
	return fmt.Errorf("%w: %w", atmodem.ErrTimeout, ctx.Err())
}

func resultErr(code atmodem.ResultCode) error {
	return &atmodem.ResultError{Command: "AT+CMQTTPUB=0,1,60", Code: code, Model: atmodem.SIM7600}
}

// TestPubResult6KeptAndResent reproduces issue 12 point 1 (P10_Led_display
// README, "Test 7", SIM7600EI): AT+CMQTTPUB=0,1,60 / OK / +CMQTTPUB: 0,6 /
// +CMQTTCONNLOST: 0,1, with the CONNLOST at once, later, or never. The
// message is kept, sent again with DUP after the reconnect (or on the live
// link when no loss comes), and its token succeeds when that is confirmed.
// Before, the token failed with "result 6" and the message was dropped.
func TestPubResult6KeptAndResent(t *testing.T) {
	tests := []struct {
		name     string
		connLost time.Duration // -1: never
	}{
		{"CONNLOST at once", 0},
		{"CONNLOST later", 300 * time.Millisecond},
		{"no CONNLOST", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess := newScriptSession()
			var lostAt sync.Once
			var gone sync.WaitGroup
			connLost := func() {
				lostAt.Do(func() {
					sess.mu.Lock()
					sess.down = true
					sess.mu.Unlock()
					sess.event(atmodem.Event{Kind: atmodem.EventConnLost, Index: 0, Cause: 1,
						Err: fmt.Errorf("%w: client 0: cause 1", atmodem.ErrConnectionLost)})
				})
			}
			sess.publish = func(ctx context.Context, n int, p atmodem.Publish) error {
				if n > 1 {
					return nil
				}
				switch {
				case tt.connLost == 0:
					connLost()
				case tt.connLost > 0:
					gone.Add(1)
					time.AfterFunc(tt.connLost, func() { defer gone.Done(); connLost() })
				}
				return resultErr(atmodem.CodeMessageReceiveFail)
			}
			// Asked, the modem says connected until it reported the loss.
			sess.connected = func() (bool, error) {
				sess.mu.Lock()
				defer sess.mu.Unlock()
				return !sess.down, nil
			}
			lost := make(lossRecorder, 4)
			c := scriptedClient(t, sess, func(o *ClientOptions) { o.SetConnectionLostHandler(lost.handler) })
			mustWait(t, "connect", c.Connect())
			tok := c.Publish("sensors/1", 1, false, "x")
			if err := wait(t, tok); err != nil {
				t.Fatalf("token failed: %v", err)
			}
			gone.Wait()
			pubs := sess.published()
			if len(pubs) != 2 || pubs[0].Dup || !pubs[1].Dup {
				t.Fatalf("publishes %+v, want the message once without and once with DUP", pubs)
			}
			if tt.connLost >= 0 {
				lost.next(t)
				if n := countCalls(sess.history(), "connect"); n != 2 {
					t.Fatalf("%d connects, want 2 (a reconnect): %q", n, sess.history())
				}
			}
		})
	}
}

// countCalls counts the calls named name ("connect") or starting with
// name and a space ("publish" counts "publish a dup=false").
func countCalls(calls []string, name string) int {
	n := 0
	for _, c := range calls {
		if c == name || strings.HasPrefix(c, name+" ") {
			n++
		}
	}
	return n
}

// TestSubscribeInterruptedIsRenewed reproduces issue 12 point 6: a SUB in
// flight when the connection is lost is made again after the reconnect, and
// its token completes then (and says so); the filter is renewed after every
// later reconnect.
func TestSubscribeInterruptedIsRenewed(t *testing.T) {
	sess := newScriptSession()
	sess.subscribe = func(ctx context.Context, n int, subs []atmodem.Subscription) error {
		if n == 1 {
			sess.event(atmodem.Event{Kind: atmodem.EventConnLost, Index: 0, Cause: 1,
				Err: fmt.Errorf("%w: client 0: cause 1", atmodem.ErrConnectionLost)})
			return fmt.Errorf("AT+CMQTTSUB=0,4,1: %w", atmodem.ErrConnectionLost) // the engine ends the SUB with the loss
		}
		return nil
	}
	c := scriptedClient(t, sess, nil)
	mustWait(t, "connect", c.Connect())
	tok := c.Subscribe("cmd/#", 1, nil)
	if err := wait(t, tok); err != nil {
		t.Fatalf("subscribe token: %v", err)
	}
	if res := tok.(*SubscribeToken).Result(); res["cmd/#"] != 1 {
		t.Fatalf("Result() = %v", res)
	}
	want := []string{"connect", "subscribe cmd/#", "connect", "subscribe cmd/#"}
	if got := sess.history(); !slices.Equal(got, want) {
		t.Fatalf("calls %q, want %q", got, want)
	}
	// Renewed on the next reconnect too.
	sess.event(atmodem.Event{Kind: atmodem.EventConnLost, Index: 0, Cause: 2, Err: atmodem.ErrConnectionLost})
	waitCalls(t, sess, "subscribe", 3)
}

// waitCalls waits until the session saw n calls starting with prefix.
func waitCalls(t *testing.T, sess *scriptSession, prefix string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for countCalls(sess.history(), prefix) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d %q calls, want %d: %q", countCalls(sess.history(), prefix), prefix, n, sess.history())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOneLossPerConnection: however many parts of the client find the loss
// (the modem's URC, a publish, the liveness check), the connection has one
// loss: the handler runs once and one reconnect follows.
func TestOneLossPerConnection(t *testing.T) {
	sess := newScriptSession()
	release := make(chan struct{})
	sess.publish = func(ctx context.Context, n int, p atmodem.Publish) error {
		if n > 1 {
			return nil
		}
		sess.event(atmodem.Event{Kind: atmodem.EventConnLost, Index: 0, Cause: 1, Err: atmodem.ErrConnectionLost})
		sess.event(atmodem.Event{Kind: atmodem.EventPingFail, Index: 0, Code: 17, Err: atmodem.ErrKeepalive})
		<-release
		return resultErr(atmodem.CodeNoConnection)
	}
	lost := make(lossRecorder, 4)
	c := scriptedClient(t, sess, func(o *ClientOptions) { o.SetConnectionLostHandler(lost.handler) })
	mustWait(t, "connect", c.Connect())
	tok := c.Publish("a", 1, false, "x")
	if err := lost.next(t); !errors.Is(err, atmodem.ErrConnectionLost) {
		t.Fatalf("loss %v, want the modem's CONNLOST (the first report)", err)
	}
	close(release)
	if err := wait(t, tok); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-lost:
		t.Fatalf("a second loss reported for one connection: %v", err)
	default:
	}
	if n := countCalls(sess.history(), "connect"); n != 2 {
		t.Fatalf("%d connects, want 2: %q", n, sess.history())
	}
}

// TestStaleLossIgnored: a loss the modem reported before the current
// connection was made (a CONNLOST read after the reconnect's CONNECT began)
// does not end the new connection.
func TestStaleLossIgnored(t *testing.T) {
	sess := newScriptSession()
	c := scriptedClient(t, sess, nil)
	mustWait(t, "connect", c.Connect())
	sess.events <- atmodem.Event{Kind: atmodem.EventConnLost, Index: 0, Cause: 1, Err: atmodem.ErrConnectionLost, Seq: 0}
	mustWait(t, "publish", c.Publish("a", 1, false, "x")) // goes out on the same connection
	if n := countCalls(sess.history(), "connect"); n != 1 {
		t.Fatalf("%d connects: the stale loss ended the connection: %q", n, sess.history())
	}
}

// TestBootDuringFirstConnect reproduces issue 12 point 4 at the client:
// the modem reboots while the first connect runs. Nothing was set up, so
// nothing can be lost: the attempt is made again at once, also with
// ConnectRetry off, and Connect succeeds.
func TestBootDuringFirstConnect(t *testing.T) {
	sess := newScriptSession()
	sess.connect = func(n int) error {
		if n == 1 {
			return fmt.Errorf("%w: modem sent %q during AT+CMQTTSTART", atmodem.ErrModemReset, "*ATREADY: 1")
		}
		return nil
	}
	c := scriptedClient(t, sess, func(o *ClientOptions) { o.SetConnectRetry(false) })
	mustWait(t, "connect", c.Connect())
	if !c.IsConnectionOpen() {
		t.Fatal("not connected")
	}
}

// TestConnectedMeansProved reproduces issue 13 point 7: while the port
// hangs (every command times out) the client is not connected, OnConnect
// never fires and IsConnectionOpen stays false.
func TestConnectedMeansProved(t *testing.T) {
	sess := newScriptSession()
	sess.connect = func(int) error {
		return fmt.Errorf("%w: AT+CMQTTCONNECT not written: %w", atmodem.ErrOutOfStep, context.DeadlineExceeded)
	}
	onConnect := make(chan struct{}, 8)
	c := scriptedClient(t, sess, func(o *ClientOptions) {
		o.SetConnectRetry(true).SetConnectRetryInterval(10 * time.Millisecond).
			SetOnConnectHandler(func(Client) { onConnect <- struct{}{} })
	})
	tok := c.Connect()
	waitCalls(t, sess, "connect", 5)
	if c.IsConnectionOpen() || !c.IsConnected() {
		t.Fatalf("IsConnectionOpen %v, IsConnected %v: want false, true (retrying)", c.IsConnectionOpen(), c.IsConnected())
	}
	select {
	case <-onConnect:
		t.Fatal("OnConnect fired without a connection")
	case <-tok.Done():
		t.Fatalf("Connect finished: %v", tok.Error())
	default:
	}
}

// TestPoisonMessage reproduces issue 13 point 5: a message after which the
// broker closes the connection each time it is sent fails its token with
// ErrPoisonMessage after three times and leaves the queue, so the message
// behind it is delivered; the reconnects back off (the short-lived
// connections do not reset the backoff).
func TestPoisonMessage(t *testing.T) {
	sess := newScriptSession()
	sess.publish = func(ctx context.Context, n int, p atmodem.Publish) error {
		if p.Topic != "bad" {
			return nil
		}
		sess.event(atmodem.Event{Kind: atmodem.EventConnLost, Index: 0, Cause: 1, Err: atmodem.ErrConnectionLost})
		return block(ctx)
	}
	c := scriptedClient(t, sess, nil)
	mustWait(t, "connect", c.Connect())
	bad := c.Publish("bad", 1, false, "x")
	good := c.Publish("good", 1, false, "y")
	if err := wait(t, bad); !errors.Is(err, ErrPoisonMessage) {
		t.Fatalf("bad message: err = %v, want ErrPoisonMessage", err)
	}
	if err := wait(t, good); err != nil {
		t.Fatalf("the message behind it: %v", err)
	}
	if n := countCalls(sess.history(), "publish bad"); n != maxPoison {
		t.Fatalf("bad message sent %d times, want %d", n, maxPoison)
	}
}

// TestReconnectDelay covers issue 12 point 8: the first reconnect attempt
// comes about 1 s after a loss and the waits double up to
// MaxReconnectInterval, which is honoured even below ConnectRetryInterval
// (paho does the same; before, a migrated app came back after 27 s).
func TestReconnectDelay(t *testing.T) {
	defaults := NewClient(NewClientOptions()).(*client)
	if d := defaults.reconnectDelay(0); d < 500*time.Millisecond || d > time.Second {
		t.Fatalf("first reconnect after %v, want about 1 s", d)
	}
	if d := defaults.reconnectDelay(30); d < 5*time.Minute || d > 10*time.Minute {
		t.Fatalf("reconnect after many failures: %v, want up to MaxReconnectInterval (10 min)", d)
	}
	low := NewClient(NewClientOptions().SetConnectRetryInterval(30 * time.Second).SetMaxReconnectInterval(2 * time.Second)).(*client)
	for n := range 10 {
		if d := low.reconnectDelay(n); d > 2*time.Second {
			t.Fatalf("reconnect %d after %v, above MaxReconnectInterval 2s", n, d)
		}
	}
}

// TestModemGoneIsFinal reproduces issue 13 point 3 with the real engine: a
// client given a transport it cannot reopen, whose port goes away (EOF),
// tells the application: its ConnectionLostHandler gets ErrModemGone, its
// pending tokens fail, and it stops (IsConnected false); before, it said
// "reconnecting" forever.
func TestModemGoneIsFinal(t *testing.T) {
	e := newEnv(t, modemsim.Config{})
	lost := make(lossRecorder, 4)
	o := e.options("gone").SetConnectionLostHandler(lost.handler)
	c := e.connect(o)
	e.sim.Unplug()
	err := lost.next(t)
	if !errors.Is(err, ErrModemGone) || !errors.Is(err, atmodem.ErrClosed) {
		t.Fatalf("ConnectionLostHandler got %v, want ErrModemGone wrapping atmodem.ErrClosed", err)
	}
	tok := c.Publish("a", 1, false, "x")
	if err := wait(t, tok); !errors.Is(err, ErrNotConnected) && !errors.Is(err, ErrDisconnected) {
		t.Fatalf("publish after the modem went: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.IsConnected() {
		if time.Now().After(deadline) {
			t.Fatal("still IsConnected after the modem is gone for good")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestGivenQueueHeadSentWithDup: a queue given with SetQueue that holds a
// QoS 1 message from an earlier run (the bridge's durable queue) sends it
// with DUP: it may have been in flight when that run ended.
func TestGivenQueueHeadSentWithDup(t *testing.T) {
	q, err := queue.OpenFile(t.TempDir(), queue.Limits{}, queue.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := q.Put(context.Background(), queue.Message{Topic: "left", Payload: []byte("x"), QoS: 1}); err != nil {
		t.Fatal(err)
	}
	sess := newScriptSession()
	c := scriptedClient(t, sess, func(o *ClientOptions) { o.SetQueue(q) })
	mustWait(t, "connect", c.Connect())
	mustWait(t, "publish", c.Publish("next", 1, false, "y"))
	pubs := sess.published()
	if len(pubs) != 2 || pubs[0].Topic != "left" || !pubs[0].Dup || pubs[1].Dup {
		t.Fatalf("publishes %+v, want the left message with DUP, then the new one without", pubs)
	}
}

// TestControlCharTopicRefused covers issue 13 point 5 at the client: a
// topic with CR/LF (mosquitto closes the connection for it, so the message
// was resent after every reconnect, with everything behind it stuck) fails
// its token at once and never reaches the session or the queue.
func TestControlCharTopicRefused(t *testing.T) {
	sess := newScriptSession()
	c := scriptedClient(t, sess, nil)
	mustWait(t, "connect", c.Connect())
	for _, topic := range []string{"a/b\r\n", "a\x00b", "a\u009bb"} {
		if err := wait(t, c.Publish(topic, 1, false, "x")); !errors.Is(err, atmodem.ErrInvalidParameter) {
			t.Errorf("publish to %q: %v, want ErrInvalidParameter", topic, err)
		}
		if err := wait(t, c.Subscribe(topic, 1, nil)); !errors.Is(err, atmodem.ErrInvalidParameter) {
			t.Errorf("subscribe to %q: %v, want ErrInvalidParameter", topic, err)
		}
	}
	mustWait(t, "publish", c.Publish("ok", 1, false, "y"))
	if pubs := sess.published(); len(pubs) != 1 || pubs[0].Topic != "ok" {
		t.Fatalf("publishes %+v", pubs)
	}
}
