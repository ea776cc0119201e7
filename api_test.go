package cellmqtt

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// TestIntegrationPayloadTypes: every payload type arrives byte for byte,
// binary data that looks like AT answers included, up to 10240 bytes.
func TestIntegrationPayloadTypes(t *testing.T) {
	e := newEnv(t, modemsim.Config{})
	p := e.peer("pay/#")
	c := e.connect(e.options("pay"))
	big := make([]byte, 10240)
	for i := range big {
		big[i] = byte(i)
	}
	binary := "\x00\xff\r\nOK\r\nERROR\r\n+CMQTTRXEND: 0\r\n>"
	payloads := map[string]interface{}{
		"string":        "plain",
		"bytes":         []byte(binary),
		"bytes.Buffer":  *bytes.NewBufferString("by value"),
		"*bytes.Buffer": bytes.NewBufferString("by pointer"),
		"big":           big,
	}
	for name, pl := range payloads {
		mustWait(t, name, c.Publish("pay/"+name, 1, false, pl))
	}
	p.waitAll(t, []string{"plain", binary, "by value", "by pointer", string(big)})

	in := make(inbox, 1)
	mustWait(t, "subscribe", c.Subscribe("back", 0, in.handler))
	if err := e.broker.Publish("back", big, false, 0); err != nil {
		t.Fatal(err)
	}
	in.expect(t, "back", string(big))
}

func TestIntegrationRetained(t *testing.T) {
	e := newEnv(t, modemsim.Config{})
	c := e.connect(e.options("ret"))
	mustWait(t, "retained publish", c.Publish("ret/state", 1, true, "on"))
	e.peer("ret/#").waitAll(t, []string{"on"}) // a new subscriber gets the retained message
}

// TestIntegrationRoutes: routes by filter, the default handler for the
// rest, SubscribeMultiple (also on firmware refusing SUBTOPIC) with its
// Result, and Unsubscribe ending delivery.
func TestIntegrationRoutes(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		name := "subtopic"
		if refuse {
			name = "subtopic refused"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, modemsim.Config{RefuseSubTopic: refuse})
			def := make(inbox, 10)
			routed := make(inbox, 10)
			multi := make(inbox, 10)
			c := e.connect(e.options("routes").SetDefaultPublishHandler(def.handler))
			c.AddRoute("r/a", routed.handler)
			mustWait(t, "subscribe", c.Subscribe("r/#", 1, nil))
			tok := c.SubscribeMultiple(map[string]byte{"m/1": 1, "m/2": 2}, multi.handler)
			mustWait(t, "subscribe multiple", tok)
			if res := tok.(*SubscribeToken).Result(); res["m/1"] != 1 || res["m/2"] != 2 {
				t.Fatalf("Result() = %v", res)
			}
			for topic, payload := range map[string]string{"r/a": "routed", "r/b": "default", "m/2": "multi"} {
				if err := e.broker.Publish(topic, []byte(payload), false, 1); err != nil {
					t.Fatal(err)
				}
			}
			routed.expect(t, "r/a", "routed")
			def.expect(t, "r/b", "default")
			multi.expect(t, "m/2", "multi")

			mustWait(t, "unsubscribe", c.Unsubscribe("m/1", "m/2"))
			// The broker keeps the order of one connection: once the probe
			// arrived, a message to m/2 sent before it would have too.
			if err := e.broker.Publish("m/2", []byte("late"), false, 1); err != nil {
				t.Fatal(err)
			}
			if err := e.broker.Publish("r/b", []byte("probe"), false, 1); err != nil {
				t.Fatal(err)
			}
			def.expect(t, "r/b", "probe")
			select {
			case m := <-multi:
				t.Fatalf("received %q after Unsubscribe", m.Topic())
			default:
			}
		})
	}
}

func TestIntegrationSubscribeRefused(t *testing.T) {
	t.Parallel() // waits for the modem's refusal: beside the others
	e := newEnvWith(t, modemsim.Config{}, modemsim.EmbeddedOptions{DenySubscribe: []string{"secret/#"}})
	c := e.connect(e.options("deny"))
	tok := c.Subscribe("secret/#", 1, nil)
	err := wait(t, tok)
	var re *atmodem.ResultError
	if !errors.As(err, &re) {
		t.Fatalf("refused subscription: %v, want a *atmodem.ResultError", err)
	}
	if res := tok.(*SubscribeToken).Result(); res["secret/#"] != SubscribeFailure {
		t.Fatalf("Result() = %v, want 0x80", res)
	}
}

// TestIntegrationConnectRefused: a refused CONNACK gives its return code.
func TestIntegrationConnectRefused(t *testing.T) {
	e := newEnvWith(t, modemsim.Config{}, modemsim.EmbeddedOptions{Username: "user", Password: "secret"})
	c := NewClient(e.options("creds").SetUsername("user").SetPassword("wrong"))
	tok := c.Connect()
	err := wait(t, tok)
	var re *atmodem.ResultError
	if !errors.As(err, &re) || (re.Code != 30 && re.Code != 31) {
		t.Fatalf("Connect: %v, want result 30 or 31", err)
	}
	if rc := tok.(*ConnectToken).ReturnCode(); rc != byte(re.Code-26) {
		t.Fatalf("ReturnCode() = %d for result %d, want %d", rc, re.Code, re.Code-26)
	}
	c.Disconnect(0)

	e2 := newEnvWith(t, modemsim.Config{}, modemsim.EmbeddedOptions{Username: "user", Password: "secret"})
	ok := e2.connect(e2.options("creds").SetUsername("user").SetPassword("secret"))
	if !ok.IsConnectionOpen() {
		t.Fatal("not connected with the right password")
	}
}

// TestIntegrationBrokerOrder: brokers are tried in order; the first that
// accepts wins.
func TestIntegrationBrokerOrder(t *testing.T) {
	e := newEnv(t, modemsim.Config{})
	// Without a redirect the emulator dials the address itself.
	sim, err := modemsim.New(modemsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	dead := "tcp://127.0.0.1:1"
	o := NewClientOptions().AddBroker(dead).AddBroker(e.broker.URL()).SetClientID("order").
		SetTransport(sim.Conn()).SetLogger(testLogger(t))
	c := NewClient(o)
	mustWait(t, "connect", c.Connect())
	defer c.Disconnect(0)
	p := e.peer("order")
	mustWait(t, "publish", c.Publish("order", 1, false, "second broker"))
	p.waitAll(t, []string{"second broker"})
}

func TestIntegrationWill(t *testing.T) {
	e := newEnv(t, modemsim.Config{})
	p := e.peer("will/#")
	e.connect(e.options("willer").SetWill("will/willer", "gone", 1, false))
	if err := e.sim.DropConnection(0, modemsim.CauseSocketReset); err != nil {
		t.Fatal(err)
	}
	p.waitAll(t, []string{"gone"})
}

// TestIntegrationConnectRetry: with ConnectRetry the Connect token waits
// for the network; messages published meanwhile are sent once connected.
func TestIntegrationConnectRetry(t *testing.T) {
	e := newEnv(t, modemsim.Config{})
	p := e.peer("cr/#")
	var connects atomic.Int32
	e.sim.NoNetwork()
	c := NewClient(e.options("retry").SetConnectRetry(true).
		SetOnConnectHandler(func(Client) { connects.Add(1) }))
	defer c.Disconnect(0)
	tok := c.Connect()
	if !c.IsConnected() || c.IsConnectionOpen() {
		t.Fatalf("retrying: IsConnected %v IsConnectionOpen %v, want true false", c.IsConnected(), c.IsConnectionOpen())
	}
	pub := c.Publish("cr/early", 1, false, "early")
	if tok.WaitTimeout(100 * time.Millisecond) {
		t.Fatalf("Connect completed without a network: %v", tok.Error())
	}
	e.sim.RestoreNetwork()
	mustWait(t, "connect", tok)
	mustWait(t, "publish", pub)
	p.waitAll(t, []string{"early"})
	eventually(t, "OnConnect called", func() bool { return connects.Load() == 1 })
}

// TestIntegrationResumeSubs: Subscribe while reconnecting is held with
// ResumeSubs and refused without; OnConnect and Reconnecting run again.
func TestIntegrationResumeSubs(t *testing.T) {
	for _, resume := range []bool{true, false} {
		e := newEnv(t, modemsim.Config{})
		var connects, reconnecting atomic.Int32
		in := make(inbox, 10)
		c := offline(t, e, e.options("resume").SetResumeSubs(resume).
			SetOnConnectHandler(func(Client) { connects.Add(1) }).
			SetReconnectingHandler(func(Client, *ClientOptions) { reconnecting.Add(1) }))
		tok := c.Subscribe("late/#", 1, in.handler)
		if !resume {
			if err := wait(t, tok); !errors.Is(err, ErrResumeSubsOff) {
				t.Fatalf("subscribe while reconnecting: %v, want ErrResumeSubsOff", err)
			}
			e.sim.RestoreNetwork()
			continue
		}
		if tok.WaitTimeout(50 * time.Millisecond) {
			t.Fatalf("held subscription completed while offline: %v", tok.Error())
		}
		e.sim.RestoreNetwork()
		mustWait(t, "held subscribe", tok)
		if err := e.broker.Publish("late/x", []byte("held"), false, 1); err != nil {
			t.Fatal(err)
		}
		in.expect(t, "late/x", "held")
		eventually(t, "OnConnect twice", func() bool { return connects.Load() == 2 })
		if reconnecting.Load() == 0 {
			t.Error("ReconnectingHandler not called")
		}
	}
}

// TestIntegrationLiveness: a modem that stops answering is found by the
// idle-link check, and the client comes back once it answers again.
func TestIntegrationLiveness(t *testing.T) {
	t.Parallel() // waits for liveness checks: beside the others
	e := newEnv(t, modemsim.Config{})
	lost := newLostLog()
	o := e.options("live").SetLivenessInterval(50 * time.Millisecond).SetConnectionLostHandler(lost.handler).
		SetOpenTransport(func(context.Context) (io.ReadWriteCloser, error) { return e.sim.Conn(), nil })
	o.Transport = nil
	c := e.connect(o)
	e.sim.Stall(0)
	err := lost.await(t)
	e.sim.Unstall()
	if !errors.Is(err, ErrLiveness) {
		t.Fatalf("lost: %v, want ErrLiveness", err)
	}
	mustWait(t, "publish after the stall", c.Publish("live", 1, false, "back"))
}

// TestIntegrationWillRetained: the modem cannot retain a will, so Connect
// says so instead of dropping the flag.
func TestIntegrationWillRetained(t *testing.T) {
	e := newEnv(t, modemsim.Config{})
	c := NewClient(e.options("wr").SetWill("w", "x", 1, true))
	if err := wait(t, c.Connect()); !errors.Is(err, ErrWillRetained) {
		t.Fatalf("Connect: %v, want ErrWillRetained", err)
	}
	if n := len(written(e.sim)); n != 0 {
		t.Fatalf("%d bytes written", n)
	}
}

// TestIntegrationDisconnectQuiesce: Disconnect waits for the queued
// messages (within quiesce), then the modem's client is released: DISC and
// REL are written, and the service stops as no other index uses it.
func TestIntegrationDisconnectQuiesce(t *testing.T) {
	e := newEnv(t, modemsim.Config{Baud: 115200})
	p := e.peer("q/#")
	c := NewClient(e.options("quiesce"))
	mustWait(t, "connect", c.Connect())
	var toks []Token
	var want []string
	for i := range 30 {
		payload := strconv.Itoa(i)
		want = append(want, payload)
		toks = append(toks, c.Publish("q/x", 1, false, payload))
	}
	c.Disconnect(uint(waitFor / time.Millisecond))
	for i, tok := range toks {
		if err := wait(t, tok); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	p.waitAll(t, want)
	w := string(written(e.sim))
	for _, cmd := range []string{"AT+CMQTTDISC=0,", "AT+CMQTTREL=0", "AT+CMQTTSTOP"} {
		if !strings.Contains(w, cmd) {
			t.Errorf("%s not written on Disconnect", cmd)
		}
	}
	if err := wait(t, c.Publish("q/x", 1, false, "after")); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("publish after Disconnect: %v", err)
	}
}

// TestIntegrationDisconnectPending: Disconnect without quiesce fails the
// tokens still waiting with ErrDisconnected.
func TestIntegrationDisconnectPending(t *testing.T) {
	e := newEnv(t, modemsim.Config{})
	c := offline(t, e, e.options("pending"))
	tok := c.Publish("p", 1, false, "never sent")
	c.Disconnect(0)
	if err := wait(t, tok); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("pending token: %v, want ErrDisconnected", err)
	}
}

// TestIntegrationSerialPort opens the emulator's pseudo-terminal as a
// serial port.
func TestIntegrationSerialPort(t *testing.T) {
	e := newEnv(t, modemsim.Config{})
	o := e.options("pty")
	o.Transport = nil // options attached an in-memory host; the pty replaces it
	path, err := e.sim.OpenPTY()
	if err != nil {
		t.Skip("no pseudo-terminal:", err)
	}
	o.SetSerialPort(path, 115200)
	p := e.peer("pty")
	c := e.connect(o)
	mustWait(t, "publish", c.Publish("pty", 2, false, "over a tty"))
	p.waitAll(t, []string{"over a tty"})
}

// TestIntegrationReconnectingHandlerSwitchesBroker: the ReconnectHandler
// may change the broker list; the next attempts use it.
func TestIntegrationReconnectingHandlerSwitchesBroker(t *testing.T) {
	first, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	sim, err := modemsim.New(modemsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	p := peerOn(t, second, "sw")
	o := NewClientOptions().AddBroker(first.URL()).SetClientID("switch").SetTransport(sim.Conn()).
		SetConnectRetryInterval(10 * time.Millisecond).SetMaxReconnectInterval(200 * time.Millisecond).SetLogger(testLogger(t)).
		SetReconnectingHandler(func(_ Client, o *ClientOptions) { o.Servers = []string{second.URL()} })
	c := NewClient(o)
	mustWait(t, "connect", c.Connect())
	defer c.Disconnect(0)
	first.Close()
	mustWait(t, "publish", c.Publish("sw", 1, false, "to the second broker"))
	p.waitAll(t, []string{"to the second broker"})
}
