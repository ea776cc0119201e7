package modemsim

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// Interop tests: the emulator, driven by raw AT text, against a real
// mosquitto started by the test, with mosquitto_pub and mosquitto_sub as
// independent peers. They run under CELLMQTT_INTEROP=1.

// newSimTalk starts an emulated modem of model whose CONNECTs go to broker
// (a URL; empty: the address of the command) and a talker on its port.
func newSimTalk(t *testing.T, model simcom.Model, broker string) (*Sim, *atTalk) {
	t.Helper()
	sim, err := New(Config{Model: model, Broker: broker, Echo: EchoOff})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim, newATTalk(t, sim.Conn())
}

// expectResult fails the test unless the result line is want.
func expectResult(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: result %q, want %q", what, got, want)
	}
}

// atStart runs AT+CMQTTSTART and expects +CMQTTSTART: 0.
func atStart(t *testing.T, a *atTalk) {
	t.Helper()
	ans, res := a.cmdResult("AT+CMQTTSTART", nil, "+CMQTTSTART:")
	if !strings.Contains(ans, "OK\r\n") {
		t.Fatalf("AT+CMQTTSTART: %q", ans)
	}
	expectResult(t, "AT+CMQTTSTART", res, "+CMQTTSTART: 0")
}

// atConnect acquires index idx with clientID (server type 0 or 1) and
// connects it to addr with the extra CONNECT parameters (e.g. `,"u","p"`);
// it returns the +CMQTTCONNECT result line.
func atConnect(t *testing.T, a *atTalk, idx int, clientID string, serverType int, addr, extra string) string {
	t.Helper()
	a.cmdOK(fmt.Sprintf(`AT+CMQTTACCQ=%d,"%s",%d`, idx, clientID, serverType))
	_, res := a.cmdResult(fmt.Sprintf(`AT+CMQTTCONNECT=%d,"tcp://%s",60,1%s`, idx, addr, extra), nil, "+CMQTTCONNECT:")
	return res
}

// atConnectWithWill acquires index 0 for clientID, sets the will (topic,
// message, qos) and connects to addr; it expects +CMQTTCONNECT: 0,0.
func atConnectWithWill(t *testing.T, a *atTalk, clientID, addr, topic, msg string, qos int) {
	t.Helper()
	a.cmdOK(fmt.Sprintf(`AT+CMQTTACCQ=0,"%s",0`, clientID))
	a.cmdDataOK(fmt.Sprintf("AT+CMQTTWILLTOPIC=0,%d", len(topic)), []byte(topic))
	a.cmdDataOK(fmt.Sprintf("AT+CMQTTWILLMSG=0,%d,%d", len(msg), qos), []byte(msg))
	_, res := a.cmdResult(fmt.Sprintf(`AT+CMQTTCONNECT=0,"tcp://%s",60,1`, addr), nil, "+CMQTTCONNECT:")
	expectResult(t, "CONNECT", res, "+CMQTTCONNECT: 0,0")
}

// atPublish publishes through index idx with AT+CMQTTTOPIC, AT+CMQTTPAYLOAD
// and AT+CMQTTPUB and expects +CMQTTPUB: idx,0.
func atPublish(t *testing.T, a *atTalk, idx int, topic string, payload []byte, qos int) {
	t.Helper()
	a.cmdDataOK(fmt.Sprintf("AT+CMQTTTOPIC=%d,%d", idx, len(topic)), []byte(topic))
	a.cmdDataOK(fmt.Sprintf("AT+CMQTTPAYLOAD=%d,%d", idx, len(payload)), payload)
	_, res := a.cmdResult(fmt.Sprintf("AT+CMQTTPUB=%d,%d,60", idx, qos), nil, "+CMQTTPUB:")
	expectResult(t, "AT+CMQTTPUB", res, fmt.Sprintf("+CMQTTPUB: %d,0", idx))
}

// atSubscribe subscribes index idx to one filter with the single-topic form
// AT+CMQTTSUB=idx,len,qos and expects +CMQTTSUB: idx,0.
func atSubscribe(t *testing.T, a *atTalk, idx int, filter string, qos int) {
	t.Helper()
	_, res := a.cmdResult(fmt.Sprintf("AT+CMQTTSUB=%d,%d,%d", idx, len(filter), qos), []byte(filter), "+CMQTTSUB:")
	expectResult(t, "AT+CMQTTSUB", res, fmt.Sprintf("+CMQTTSUB: %d,0", idx))
}

var models = []simcom.Model{simcom.A7600, simcom.SIM7600}

func TestInteropPublishReachesMosquittoSub(t *testing.T) {
	requireInterop(t)
	m := startMosquitto(t, mosquittoOptions{})
	for _, model := range models {
		t.Run(model.String(), func(t *testing.T) {
			_, a := newSimTalk(t, model, "tcp://"+m.Addr)
			sub := m.startMosquittoSub(t, "modem/"+model.String()+"/#", 3)
			atStart(t, a)
			expectResult(t, "CONNECT", atConnect(t, a, 0, "pub"+model.String(), 0, m.Addr, ""), "+CMQTTCONNECT: 0,0")
			a.cmdOK(`AT+CMQTTCFG="checkUTF8",0,0`) // binary payloads, as the client sends them
			var want []rxMessage
			for qos := 0; qos <= 2; qos++ {
				topic := fmt.Sprintf("modem/%s/q%d", model, qos)
				payload := fmt.Sprintf("qos %d\r\nOK\r\n\x00\xff+CMQTTRXEND: 0", qos)
				atPublish(t, a, 0, topic, []byte(payload), qos)
				want = append(want, rxMessage{topic: topic, payload: payload})
			}
			for _, w := range want {
				if got := sub.next(t); got.topic != w.topic || got.payload != w.payload {
					t.Errorf("mosquitto_sub got %q %q, want %q %q", got.topic, got.payload, w.topic, w.payload)
				}
			}
		})
	}
}

func TestInteropMosquittoPubArrivesAsRXURCs(t *testing.T) {
	requireInterop(t)
	m := startMosquitto(t, mosquittoOptions{})
	for _, model := range models {
		t.Run(model.String(), func(t *testing.T) {
			_, a := newSimTalk(t, model, "tcp://"+m.Addr)
			atStart(t, a)
			expectResult(t, "CONNECT", atConnect(t, a, 0, "sub"+model.String(), 0, m.Addr, ""), "+CMQTTCONNECT: 0,0")
			topic := "to/modem/" + model.String()
			atSubscribe(t, a, 0, topic, 1)
			payload := bytes.Repeat([]byte("0123456789\r\nOK\r\n"), 10240/16)
			if len(payload) != 10240 {
				t.Fatalf("payload is %d bytes", len(payload))
			}
			mosquittoPub(t, m.Addr, topic, 1, payload)
			rx := a.readRX(0)
			if string(rx.topic) != topic || !bytes.Equal(rx.payload, payload) {
				t.Errorf("RX topic %q and %d payload bytes, want %q and the 10240 published", rx.topic, len(rx.payload), topic)
			}
			want := []int{1500, 1500, 1500, 1500, 1500, 1500, 1240}
			if fmt.Sprint(rx.payloadChunks) != fmt.Sprint(want) {
				t.Errorf("payload chunks %v, want %v", rx.payloadChunks, want)
			}
		})
	}
}

func TestInteropWillOnDroppedConnection(t *testing.T) {
	requireInterop(t)
	m := startMosquitto(t, mosquittoOptions{})
	for cause := 1; cause <= 3; cause++ {
		t.Run(fmt.Sprintf("cause %d", cause), func(t *testing.T) {
			sim, a := newSimTalk(t, simcom.A7600, "tcp://"+m.Addr)
			willTopic := fmt.Sprintf("will/%d", cause)
			sub := m.startMosquittoSub(t, willTopic, 1)
			atStart(t, a)
			atConnectWithWill(t, a, "willdev", m.Addr, willTopic, "offline", 1)
			if err := sim.DropConnection(0, cause); err != nil {
				t.Fatal(err)
			}
			if got, want := a.waitLine("+CMQTTCONNLOST:"), fmt.Sprintf("+CMQTTCONNLOST: 0,%d", cause); got != want {
				t.Errorf("URC %q, want %q", got, want)
			}
			if got := sub.next(t); got.topic != willTopic || got.payload != "offline" {
				t.Errorf("mosquitto_sub got %q %q, want the will %q offline", got.topic, got.payload, willTopic)
			}
		})
	}
}

// mosquitto 2.0 refuses bad credentials of an MQTT 3.1.1 CONNECT with
// CONNACK return code 5 ("not authorised"), so the modem reports 31. The
// back-end maps return code 4 to 30 (see TestConnackCodesMapTo27To31).
func TestInteropCredentialsWithPasswordFile(t *testing.T) {
	requireInterop(t)
	m := startMosquitto(t, mosquittoOptions{Users: map[string]string{"alice": "right"}})
	tests := []struct {
		name, extra string
		want        string
	}{
		{"right", `,"alice","right"`, "+CMQTTCONNECT: 0,0"},
		{"wrong password", `,"alice","wrong"`, "+CMQTTCONNECT: 0,31"},
		{"unknown user", `,"mallory","right"`, "+CMQTTCONNECT: 0,31"},
		{"anonymous", ``, "+CMQTTCONNECT: 0,31"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, a := newSimTalk(t, simcom.A7600, "tcp://"+m.Addr)
			atStart(t, a)
			expectResult(t, "CONNECT", atConnect(t, a, 0, "creds", 0, m.Addr, tt.extra), tt.want)
		})
	}
	t.Run("dialBroker", func(t *testing.T) {
		cfg := plainConfig(m.Addr, "direct")
		cfg.Username, cfg.HasUsername, cfg.Password, cfg.HasPassword = "alice", true, "wrong", true
		ctx, cancel := context.WithTimeout(context.Background(), testWait)
		defer cancel()
		if _, code := dialBroker(ctx, cfg, newRecorder().events()); code != simcom.CodeRefusedNotAuthorized {
			t.Errorf("dialBroker = %d %q, want 31", code, code)
		}
	})
}

func TestInteropBackendDirect(t *testing.T) {
	requireInterop(t)
	m := startMosquitto(t, mosquittoOptions{})
	rec := newRecorder()
	link := dialTest(t, plainConfig(m.Addr, "direct"), rec.events(), simcom.CodeOK)
	if code := link.Subscribe([]string{"direct/in"}, []byte{2}, testWait); code != simcom.CodeOK {
		t.Fatalf("Subscribe = %d", code)
	}
	sub := m.startMosquittoSub(t, "direct/out", 3)
	for qos := byte(0); qos <= 2; qos++ {
		if code := link.Publish("direct/out", []byte{'q', '0' + qos}, qos, false, qos > 0, testWait); code != simcom.CodeOK {
			t.Fatalf("Publish qos %d = %d", qos, code)
		}
	}
	for qos := byte(0); qos <= 2; qos++ {
		if got := sub.next(t); got.payload != string([]byte{'q', '0' + qos}) {
			t.Errorf("mosquitto_sub got %q, want q%d", got.payload, qos)
		}
	}
	for i := 0; i < 5; i++ {
		mosquittoPub(t, m.Addr, "direct/in", i%3, []byte(fmt.Sprint(i)))
	}
	for i := 0; i < 5; i++ {
		if got := rec.next(t); got.topic != "direct/in" || got.payload != fmt.Sprint(i) {
			t.Errorf("message %d: %+v", i, got)
		}
	}
}

func TestInteropRetainAndDupReachMosquitto(t *testing.T) {
	requireInterop(t)
	m := startMosquitto(t, mosquittoOptions{})
	_, a := newSimTalk(t, simcom.SIM7600, "tcp://"+m.Addr)
	atStart(t, a)
	expectResult(t, "CONNECT", atConnect(t, a, 0, "flags", 0, m.Addr, ""), "+CMQTTCONNECT: 0,0")
	tests := []struct {
		topic       string
		qos, retain int
		dup         int
		wantLog     string // mosquitto's log of the PUBLISH it received
	}{
		{"flags/retained", 1, 1, 0, "Received PUBLISH from flags (d0, q1, r1,"},
		{"flags/dup1", 1, 0, 1, "Received PUBLISH from flags (d1, q1, r0,"},
		{"flags/dup2", 2, 0, 1, "Received PUBLISH from flags (d1, q2, r0,"},
		{"flags/dup0", 0, 0, 1, "Received PUBLISH from flags (d0, q0, r0,"}, // DUP is 0 for QoS 0 in MQTT 3.1.1
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			a.cmdDataOK(fmt.Sprintf("AT+CMQTTTOPIC=0,%d", len(tt.topic)), []byte(tt.topic))
			a.cmdDataOK("AT+CMQTTPAYLOAD=0,5", []byte("hello"))
			_, res := a.cmdResult(fmt.Sprintf("AT+CMQTTPUB=0,%d,60,%d,%d", tt.qos, tt.retain, tt.dup), nil, "+CMQTTPUB:")
			expectResult(t, "AT+CMQTTPUB", res, "+CMQTTPUB: 0,0")
			m.waitLog(t, tt.wantLog)
		})
	}
	// The retained message reaches a subscriber that comes afterwards.
	late := m.startMosquittoSub(t, "flags/retained", 1)
	if got := late.next(t); got.topic != "flags/retained" || got.payload != "hello" {
		t.Errorf("late mosquitto_sub got %q %q", got.topic, got.payload)
	}
}

func TestInteropWillOnReboot(t *testing.T) {
	requireInterop(t)
	m := startMosquitto(t, mosquittoOptions{})
	for _, model := range models {
		t.Run(model.String(), func(t *testing.T) {
			sim, a := newSimTalk(t, model, "tcp://"+m.Addr)
			willTopic := "will/reboot/" + model.String()
			sub := m.startMosquittoSub(t, willTopic, 1)
			atStart(t, a)
			atConnectWithWill(t, a, "rebooter", m.Addr, willTopic, "dead", 0)
			sim.Reboot()
			if got := sub.next(t); got.topic != willTopic || got.payload != "dead" {
				t.Errorf("mosquitto_sub got %q %q, want the will", got.topic, got.payload)
			}
		})
	}
}

func TestInteropBrokerShutdownReportsConnLost(t *testing.T) {
	requireInterop(t)
	m := startMosquitto(t, mosquittoOptions{})
	_, a := newSimTalk(t, simcom.A7600, "tcp://"+m.Addr)
	atStart(t, a)
	expectResult(t, "CONNECT", atConnect(t, a, 0, "orphan", 0, m.Addr, ""), "+CMQTTCONNECT: 0,0")
	m.stop() // mosquitto closes its clients' sockets as it exits
	if got := a.waitLine("+CMQTTCONNLOST:"); got != "+CMQTTCONNLOST: 0,1" {
		t.Errorf("URC %q, want +CMQTTCONNLOST: 0,1 (socket closed passively)", got)
	}
	if ans := a.cmd("AT+CMQTTDISC?"); !strings.Contains(ans, "+CMQTTDISC: 0,1") {
		t.Errorf("AT+CMQTTDISC? after the loss: %q, want index 0 disconnected (1)", ans)
	}
}
