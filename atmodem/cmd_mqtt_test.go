package atmodem

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// cmdSpec describes one typed command for the generated success and failure
// cases: the method call, the exact command line and data it writes, and
// how it finishes.
type cmdSpec struct {
	name  string
	model Model
	call  func(ctx context.Context, m *Modem) error
	line  string // without "\r"
	data  string // written after the prompt; "" for none
	final string // "+CMQTTPUB" ...: finishes on "<final>: [<idx>,]<err>"
	index int    // client index in the final; -1: "<final>: <err>"
}

// resultLine is "<name>: <idx>,<code>" (or "<name>: <code>" for index -1).
func (c cmdSpec) resultLine(name string, code int) string {
	if c.index < 0 {
		return fmt.Sprintf("\r\n%s: %d\r\n", name, code)
	}
	return fmt.Sprintf("\r\n%s: %d,%d\r\n", name, c.index, code)
}

// ownName is the result name of the command itself, e.g. "+CMQTTACCQ".
func (c cmdSpec) ownName() string {
	name, _, _ := strings.Cut(strings.TrimPrefix(c.line, "AT"), "=")
	return name
}

// cmdCase is one scripted exchange and the outcome it must give.
type cmdCase struct {
	name     string
	steps    []step
	wantCode ResultCode // -1: no *ResultError
	wantIs   error      // nil with wantCode -1: success
	noAnswer bool       // the context ends once the command is written
}

// shapes generates the answer shapes of docs/architecture.md, How real
// firmware behaves, for spec: success (result after and before OK), result
// after OK, result plus ERROR (for MQTT commands), bare ERROR, no answer; and
// for data commands ERROR instead of the prompt.
func (c cmdSpec) shapes() []cmdCase {
	send := func(answer string) []step {
		if c.data == "" {
			return []step{{expect: c.line + "\r", reply: answer}}
		}
		return []step{{expect: c.line + "\r", reply: "\r\n> "}, {expect: c.data, reply: answer}}
	}
	var cs []cmdCase
	if c.final != "" {
		cs = append(cs,
			cmdCase{name: "result after OK", steps: send("\r\nOK\r\n" + c.resultLine(c.final, 0)), wantCode: -1},
			cmdCase{name: "result before OK", steps: send(c.resultLine(c.final, 0) + "\r\nOK\r\n"), wantCode: -1},
			cmdCase{name: "failure after OK", steps: send("\r\nOK\r\n" + c.resultLine(c.final, 11)), wantCode: 11},
			cmdCase{name: "failure then ERROR", steps: send(c.resultLine(c.final, 34) + "\r\nERROR\r\n"), wantCode: 34},
		)
	} else {
		cs = append(cs, cmdCase{name: "OK", steps: send("\r\nOK\r\n"), wantCode: -1})
		if strings.HasPrefix(c.ownName(), "+CMQTT") {
			cs = append(cs, cmdCase{name: "result then ERROR", steps: send(c.resultLine(c.ownName(), 19) + "\r\nERROR\r\n"), wantCode: 19})
		}
	}
	cs = append(cs,
		cmdCase{name: "bare ERROR", steps: send("\r\nERROR\r\n"), wantCode: -1, wantIs: ErrCommandFailed},
		cmdCase{name: "no answer", steps: send(""), wantCode: -1, wantIs: ErrTimeout, noAnswer: true},
	)
	if c.data != "" {
		cs = append(cs, cmdCase{name: "ERROR instead of prompt",
			steps: []step{{expect: c.line + "\r", reply: "\r\nERROR\r\n"}}, wantCode: -1, wantIs: ErrCommandFailed})
	}
	return cs
}

// runSpecs runs every shape of every spec under every delivery mode.
func runSpecs(t *testing.T, specs []cmdSpec) {
	t.Helper()
	for _, spec := range specs {
		for _, tc := range spec.shapes() {
			run := func(t *testing.T, mode delivery) {
				model := spec.model
				if model == AutoDetect {
					model = A7600
				}
				m, sm := startModem(t, mode, tc.steps, WithModel(model))
				ctx := testCtx(t)
				if tc.noAnswer {
					ctx = cancelAfter(t, ctx, sm.reached(len(tc.steps)))
				}
				checkOutcome(t, spec.call(ctx, m), tc.wantCode, tc.wantIs)
			}
			t.Run(spec.name+"/"+tc.name, func(t *testing.T) {
				if tc.noAnswer {
					run(t, deliverWhole) // no reply to cut: one mode is enough
					return
				}
				forEachDelivery(t, run)
			})
		}
	}
}

// checkOutcome checks err against a wanted result code (-1: none) and
// sentinel (nil: success when wantCode is -1).
func checkOutcome(t *testing.T, err error, wantCode ResultCode, wantIs error) {
	t.Helper()
	var re *ResultError
	switch {
	case wantCode >= 0:
		if !errors.As(err, &re) || re.Code != wantCode {
			t.Fatalf("err = %v, want result %d", err, wantCode)
		}
	case wantIs != nil:
		if !errors.Is(err, wantIs) || errors.As(err, &re) {
			t.Fatalf("err = %v, want %v", err, wantIs)
		}
	case err != nil:
		t.Fatalf("err = %v, want success", err)
	}
}

func TestMQTTCommands(t *testing.T) {
	runSpecs(t, []cmdSpec{
		{name: "START", call: func(ctx context.Context, m *Modem) error { return m.StartService(ctx) },
			line: "AT+CMQTTSTART", final: "+CMQTTSTART", index: -1},
		{name: "STOP", call: func(ctx context.Context, m *Modem) error { return m.StopService(ctx) },
			line: "AT+CMQTTSTOP", final: "+CMQTTSTOP", index: -1},
		{name: "ACCQ", call: func(ctx context.Context, m *Modem) error { return m.Acquire(ctx, 0, "client test0", ServerTCP) },
			line: `AT+CMQTTACCQ=0,"client test0"`},
		{name: "ACCQ TLS", call: func(ctx context.Context, m *Modem) error { return m.Acquire(ctx, 1, "c1", ServerTLS) },
			line: `AT+CMQTTACCQ=1,"c1",1`, index: 1},
		{name: "REL", call: func(ctx context.Context, m *Modem) error { return m.Release(ctx, 0) },
			line: "AT+CMQTTREL=0"},
		{name: "SSLCFG", call: func(ctx context.Context, m *Modem) error { return m.SetSSLContext(ctx, 0, 9) },
			line: "AT+CMQTTSSLCFG=0,9"},
		{name: "WILLTOPIC", call: func(ctx context.Context, m *Modem) error { return m.SetWillTopic(ctx, 0, "0123456789") },
			line: "AT+CMQTTWILLTOPIC=0,10", data: "0123456789"},
		{name: "WILLMSG", call: func(ctx context.Context, m *Modem) error { return m.SetWillMessage(ctx, 0, []byte("qwerty"), 1) },
			line: "AT+CMQTTWILLMSG=0,6,1", data: "qwerty"},
		{name: "CONNECT", call: func(ctx context.Context, m *Modem) error {
			return m.ConnectClient(ctx, 0, ConnectArgs{Server: "tcp://test.mosquitto.org:1883", KeepAlive: 60 * time.Second, CleanSession: true})
		}, line: `AT+CMQTTCONNECT=0,"tcp://test.mosquitto.org:1883",60,1`, final: "+CMQTTCONNECT"},
		{name: "CONNECT credentials", call: func(ctx context.Context, m *Modem) error {
			return m.ConnectClient(ctx, 1, ConnectArgs{Server: "tcp://10.0.0.1:1883", KeepAlive: 1 * time.Second, Username: "u", Password: "p w"})
		}, line: `AT+CMQTTCONNECT=1,"tcp://10.0.0.1:1883",1,0,"u","p w"`, final: "+CMQTTCONNECT", index: 1},
		{name: "CONNECT user only", call: func(ctx context.Context, m *Modem) error {
			return m.ConnectClient(ctx, 0, ConnectArgs{Server: "tcp://10.0.0.1:1883", KeepAlive: 64800 * time.Second, Username: "u"})
		}, line: `AT+CMQTTCONNECT=0,"tcp://10.0.0.1:1883",64800,0,"u"`, final: "+CMQTTCONNECT"},
		{name: "DISC", call: func(ctx context.Context, m *Modem) error { return m.DisconnectClient(ctx, 0, 120*time.Second) },
			line: "AT+CMQTTDISC=0,120", final: "+CMQTTDISC"},
		{name: "DISC 0", call: func(ctx context.Context, m *Modem) error { return m.DisconnectClient(ctx, 1, 0) },
			line: "AT+CMQTTDISC=1,0", final: "+CMQTTDISC", index: 1},
		{name: "TOPIC", call: func(ctx context.Context, m *Modem) error { return m.SetTopic(ctx, 0, "simcommsg") },
			line: "AT+CMQTTTOPIC=0,9", data: "simcommsg"},
		{name: "PAYLOAD", call: func(ctx context.Context, m *Modem) error { return m.SetPayload(ctx, 0, []byte("a\r\nOK\r\n\x00>")) },
			line: "AT+CMQTTPAYLOAD=0,9", data: "a\r\nOK\r\n\x00>"},
		{name: "PUB", call: func(ctx context.Context, m *Modem) error {
			return m.PublishMessage(ctx, 0, 1, 60*time.Second, false, false)
		},
			line: "AT+CMQTTPUB=0,1,60", final: "+CMQTTPUB"},
		{name: "PUB retain", call: func(ctx context.Context, m *Modem) error {
			return m.PublishMessage(ctx, 0, 2, 180*time.Second, true, false)
		},
			line: "AT+CMQTTPUB=0,2,180,1", final: "+CMQTTPUB"},
		{name: "PUB dup", call: func(ctx context.Context, m *Modem) error {
			return m.PublishMessage(ctx, 1, 0, 90*time.Second, false, true)
		},
			line: "AT+CMQTTPUB=1,0,90,0,1", final: "+CMQTTPUB", index: 1},
		{name: "SUBTOPIC", call: func(ctx context.Context, m *Modem) error { return m.SetSubscribeTopic(ctx, 0, "123456789", 1) },
			line: "AT+CMQTTSUBTOPIC=0,9,1", data: "123456789"},
		{name: "SUB", call: func(ctx context.Context, m *Modem) error { return m.SubscribeTopics(ctx, 0, false) },
			line: "AT+CMQTTSUB=0", final: "+CMQTTSUB"},
		{name: "SUB dup", call: func(ctx context.Context, m *Modem) error { return m.SubscribeTopics(ctx, 0, true) },
			line: "AT+CMQTTSUB=0,1", final: "+CMQTTSUB"},
		{name: "SUB one", call: func(ctx context.Context, m *Modem) error { return m.SubscribeTopic(ctx, 0, "simcommsg", 1, false) },
			line: "AT+CMQTTSUB=0,9,1", data: "simcommsg", final: "+CMQTTSUB"},
		{name: "SUB one dup", call: func(ctx context.Context, m *Modem) error { return m.SubscribeTopic(ctx, 1, "a/+/#", 2, true) },
			line: "AT+CMQTTSUB=1,5,2,1", data: "a/+/#", final: "+CMQTTSUB", index: 1},
		{name: "UNSUBTOPIC", call: func(ctx context.Context, m *Modem) error { return m.SetUnsubscribeTopic(ctx, 0, "simcommsg") },
			line: "AT+CMQTTUNSUBTOPIC=0,9", data: "simcommsg"},
		{name: "UNSUB", call: func(ctx context.Context, m *Modem) error { return m.UnsubscribeTopics(ctx, 0, false) },
			line: "AT+CMQTTUNSUB=0,0", final: "+CMQTTUNSUB"},
		{name: "UNSUB one", call: func(ctx context.Context, m *Modem) error { return m.UnsubscribeTopic(ctx, 0, "simcommsg", false) },
			line: "AT+CMQTTUNSUB=0,9,0", data: "simcommsg", final: "+CMQTTUNSUB"},
		{name: "UNSUB one dup", call: func(ctx context.Context, m *Modem) error { return m.UnsubscribeTopic(ctx, 1, "a/#", true) },
			line: "AT+CMQTTUNSUB=1,3,1", data: "a/#", final: "+CMQTTUNSUB", index: 1},
		{name: "CFG checkUTF8", call: func(ctx context.Context, m *Modem) error { return m.SetCheckUTF8(ctx, 0, false) },
			line: `AT+CMQTTCFG="checkUTF8",0,0`},
		{name: "CFG checkUTF8 on", model: SIM7600, call: func(ctx context.Context, m *Modem) error { return m.SetCheckUTF8(ctx, 1, true) },
			line: `AT+CMQTTCFG="checkUTF8",1,1`, index: 1},
		{name: "CFG optimeout", call: func(ctx context.Context, m *Modem) error { return m.SetOpTimeout(ctx, 0, 20*time.Second) },
			line: `AT+CMQTTCFG="optimeout",0,20`},
	})
}

// readCase is a read command: its exchange and the value it must parse.
type readCase struct {
	name  string
	model Model
	steps []step
	call  func(ctx context.Context, m *Modem) (any, error)
	want  any
}

func runReadCases(t *testing.T, cases []readCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDelivery(t, func(t *testing.T, mode delivery) {
				model := tc.model
				if model == AutoDetect {
					model = A7600
				}
				m, _ := startModem(t, mode, tc.steps, WithModel(model))
				got, err := tc.call(testCtx(t), m)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("got %#v\nwant %#v", got, tc.want)
				}
			})
		})
	}
}

func TestMQTTReadCommands(t *testing.T) {
	runReadCases(t, []readCase{
		{name: "ACCQ?", steps: []step{{expect: "AT+CMQTTACCQ?\r",
			reply: "\r\n+CMQTTACCQ: 0,\"client test0\",1\r\n+CMQTTACCQ: 1,\"\",0\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.Acquired(ctx) },
			want: []AcquiredClient{{0, "client test0", ServerTLS}, {1, "", ServerTCP}}},
		{name: "ACCQ? comma in ID", steps: []step{{expect: "AT+CMQTTACCQ?\r",
			reply: "\r\n+CMQTTACCQ: 0, \"a,b\", 0\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.Acquired(ctx) },
			want: []AcquiredClient{{0, "a,b", ServerTCP}}},
		{name: "SSLCFG?", steps: []step{{expect: "AT+CMQTTSSLCFG?\r",
			reply: "\r\n+CMQTTSSLCFG: 0,3\r\n+CMQTTSSLCFG: 1,\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.SSLContexts(ctx) },
			want: []ClientSSLContext{{0, 3}, {1, -1}}},
		{name: "CONNECT?", steps: []step{{expect: "AT+CMQTTCONNECT?\r",
			reply: "\r\n+CMQTTCONNECT: 0,\"tcp://test.mosquitto.org:1883\",60,1,\"u\",\"p\"\r\n+CMQTTCONNECT: 1\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.ConnectSettings(ctx) },
			want: []ConnectSettings{{Index: 0, Server: "tcp://test.mosquitto.org:1883", KeepAlive: 60 * time.Second, CleanSession: true, Username: "u", Password: "p"}, {Index: 1}}},
		{name: "DISC? inverted", steps: []step{{expect: "AT+CMQTTDISC?\r",
			reply: "\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,1\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.ConnectedIndexes(ctx) },
			want: map[int]bool{0: true, 1: false}},
		{name: "CFG? A7600", steps: []step{{expect: "AT+CMQTTCFG?\r",
			reply: "\r\n+CMQTTCFG: 0,0,120\r\n+CMQTTCFG: 1, 1,20\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.MQTTConfig(ctx) },
			want: []MQTTClientConfig{{0, false, 120 * time.Second}, {1, true, 20 * time.Second}}},
		{name: "CFG? SIM7600", model: SIM7600, steps: []step{{expect: "AT+CMQTTCFG?\r",
			reply: "\r\n+CMQTTCFG: 0,1\r\n+CMQTTCFG: 1, 1\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.MQTTConfig(ctx) },
			want: []MQTTClientConfig{{0, true, 0}, {1, true, 0}}},
	})
}

func TestMQTTReadCommandErrors(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, _ := startModem(t, mode, []step{
			{expect: "AT+CMQTTACCQ?\r", reply: "\r\nERROR\r\n"},
			{expect: "AT+CMQTTDISC?\r", reply: "\r\n+CMQTTDISC: 0,7\r\n\r\nOK\r\n"},
		}, WithModel(A7600))
		ctx := testCtx(t)
		if _, err := m.Acquired(ctx); !errors.Is(err, ErrCommandFailed) {
			t.Errorf("Acquired: err = %v, want ErrCommandFailed", err)
		}
		if _, err := m.ConnectedIndexes(ctx); err == nil || !strings.Contains(err.Error(), "unexpected answer") {
			t.Errorf("ConnectedIndexes: err = %v, want unexpected answer", err)
		}
	})
}

func TestInfoFields(t *testing.T) {
	tests := []struct {
		line, prefix string
		want         []string
		ok           bool
	}{
		{`+CMQTTACCQ: 0,"a b",1`, "+CMQTTACCQ", []string{"0", "a b", "1"}, true},
		{`+CMQTTACCQ: 0, "x,y" , 1`, "+CMQTTACCQ", []string{"0", "x,y", "1"}, true},
		{`+CMQTTSSLCFG: 1,`, "+CMQTTSSLCFG", []string{"1", ""}, true},
		{`+CMQTTCONNECT: 1`, "+CMQTTCONNECT", []string{"1"}, true},
		{`+CCERTLIST: "ca.pem"`, "+CCERTLIST", []string{"ca.pem"}, true},
		{`+CCERTLIST:`, "+CCERTLIST", nil, true},
		{`+CMQTTACCQX: 0`, "+CMQTTACCQ", nil, false},
		{`OK`, "+CSQ", nil, false},
	}
	for _, tc := range tests {
		got, ok := infoFields(tc.line, tc.prefix)
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("infoFields(%q) = %q, %v; want %q, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}
