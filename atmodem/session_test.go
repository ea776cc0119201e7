package atmodem

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// Answers of the scripted modem used by the session tests.
const (
	ok            = "\r\nOK\r\n"
	prompt        = "\r\n>"
	startOKFirst  = "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n" // A7600 order
	startResFirst = "\r\n+CMQTTSTART: 0\r\n\r\nOK\r\n" // SIM7600's other order
	stopOK        = "\r\nOK\r\n\r\n+CMQTTSTOP: 0\r\n"  //
	bothFree      = "\r\n+CMQTTACCQ: 0,\"\",0\r\n+CMQTTACCQ: 1,\"\",0\r\n\r\nOK\r\n"
	bothDisc      = "\r\n+CMQTTDISC: 0,1\r\n+CMQTTDISC: 1,1\r\n\r\nOK\r\n"
)

// final is "<OK><name>: <idx>,<code>".
func final(name string, idx, code int) string {
	return ok + "\r\n" + name + ": " + itoa(idx) + "," + itoa(code) + "\r\n"
}

// data is the two steps of a data command: the line, the prompt, the data
// and the answer.
func data(line, payload, answer string) []step {
	return []step{{expect: line + "\r", reply: prompt}, {expect: payload, reply: answer}}
}

// seq flattens steps and step lists.
func seq(parts ...any) []step {
	var out []step
	for _, p := range parts {
		switch v := p.(type) {
		case step:
			out = append(out, v)
		case []step:
			out = append(out, v...)
		default:
			panic("seq: step or []step")
		}
	}
	return out
}

// cmd is one command line and its answer.
func cmd(line, answer string) step { return step{expect: line + "\r", reply: answer} }

// acquire is what Session.Connect sends to take index 0 for client id on
// an A7600: ACCQ, the modem's UTF-8 check off, MQTT 3.1.1.
func acquire(id string) []step {
	return seq(cmd(`AT+CMQTTACCQ=0,"`+id+`"`, ok), cmd(`AT+CMQTTCFG="checkUTF8",0,0`, ok), cmd(`AT+CMQTTCFG="version",0,4`, ok))
}

// acquireSIM is the same on a SIM7600, where the MQTT version is the 4th
// field of ACCQ.
func acquireSIM(idx int, id string, t ServerType) []step {
	return seq(cmd(`AT+CMQTTACCQ=`+itoa(idx)+`,"`+id+`",`+itoa(int(t))+`,4`, ok), cmd(`AT+CMQTTCFG="checkUTF8",`+itoa(idx)+`,0`, ok))
}

// fresh is the start of Session.Connect on a fresh modem: START, then
// acquire(id).
func fresh(id string) []step { return seq(cmd("AT+CMQTTSTART", startOKFirst), acquire(id)) }

// nextEvent returns the next event of s, failing after 5 s.
func nextEvent(t *testing.T, s *Session) Event {
	t.Helper()
	select {
	case ev, open := <-s.Events():
		if !open {
			t.Fatal("events channel closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
		return Event{}
	}
}

func newSession(t *testing.T, m *Modem, i int) *Session {
	t.Helper()
	s, err := m.Session(i)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSessionPlainWithWillAndCredentials(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, sm := startModem(t, mode, seq(
			fresh("dev1"),
			data("AT+CMQTTWILLTOPIC=0,6", "status", ok),
			data("AT+CMQTTWILLMSG=0,7,1", "offline", ok),
			cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example:1883",30,1,"user","secret"`, final("+CMQTTCONNECT", 0, 0)),
			cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,1\r\n"+ok), // the same Connect again: proved by asking
			data("AT+CMQTTTOPIC=0,3", "a/b", ok),
			data("AT+CMQTTPAYLOAD=0,5", "hello", ok),
			cmd("AT+CMQTTPUB=0,1,60", final("+CMQTTPUB", 0, 0)),
			step{reply: "\r\n+CMQTTCONNLOST: 0,2\r\n"},
			// after the loss only CONNECT: the will is kept while acquired
			cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example:1883",30,1,"user","secret"`, final("+CMQTTCONNECT", 0, 0)),
			cmd("AT+CMQTTDISC=0,60", "\r\n+CMQTTDISC: 0,0\r\n"+ok),
			cmd("AT+CMQTTREL=0", ok),
			cmd("AT+CMQTTACCQ?", bothFree),
			cmd("AT+CMQTTSTOP", stopOK),
		), WithModel(A7600))
		s := newSession(t, m, 0)
		ctx := testCtx(t)
		opts := ConnectOptions{
			Broker: "mqtt://broker.example", ClientID: "dev1", KeepAlive: 30 * time.Second, CleanSession: true,
			Username: "user", Password: "secret", Will: &Will{Topic: "status", Payload: []byte("offline"), QoS: 1},
		}
		if err := s.Connect(ctx, opts); err != nil {
			t.Fatal(err)
		}
		before := len(sm.written())
		if err := s.Connect(ctx, opts); err != nil {
			t.Fatal(err)
		}
		if got := sm.written()[before:]; got != "AT+CMQTTDISC?\r" {
			t.Errorf("connected again with the same options: wrote %q, want only the question whether it is connected", got)
		}
		if err := s.Publish(ctx, Publish{Topic: "a/b", Payload: []byte("hello"), QoS: 1}); err != nil {
			t.Fatal(err)
		}
		ev := nextEvent(t, s)
		if ev.Kind != EventConnLost || ev.Cause != CauseSocketReset || ev.Index != 0 || !errors.Is(ev.Err, ErrConnectionLost) {
			t.Fatalf("event %+v, want connection lost, cause 2", ev)
		}
		if err := s.Connect(ctx, opts); err != nil {
			t.Fatal(err)
		}
		if err := s.Disconnect(ctx, 60*time.Second); err != nil {
			t.Fatal(err)
		}
		if w := sm.written(); strings.Contains(w, "secret") != true {
			t.Errorf("password not sent: %q", w)
		}
	})
}

func TestSessionTLSWithCertificates(t *testing.T) {
	ca := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	key := []byte{0x30, 0x82, 0x00, 0x0d, '\r', '\n'}
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, sm := startModem(t, mode, seq(
			cmd("AT+CMQTTSTART", startResFirst),
			acquireSIM(1, "dev1", ServerTLS),
			cmd("AT+CCERTLIST", "\r\n+CCERTLIST: \"client.pem\"\r\n+CCERTLIST: \"other.pem\"\r\n"+ok),
			data(`AT+CCERTDOWN="ca.pem",`+itoa(len(ca)), string(ca), ok),
			data(`AT+CCERTDOWN="client.der",6`, string(key), ok),
			cmd(`AT+CSSLCFG="sslversion",2,3`, ok),
			cmd(`AT+CSSLCFG="authmode",2,2`, ok),
			cmd(`AT+CSSLCFG="ignorelocaltime",2,1`, ok),
			cmd(`AT+CSSLCFG="negotiatetime",2,60`, ok),
			cmd(`AT+CSSLCFG="cacert",2,"ca.pem"`, ok),
			cmd(`AT+CSSLCFG="clientcert",2,"client.pem"`, ok),
			cmd(`AT+CSSLCFG="clientkey",2,"client.der"`, ok),
			cmd("AT+CMQTTSSLCFG=1,2", ok),
			cmd(`AT+CMQTTCONNECT=1,"tcp://broker.example:8883",60,0`, final("+CMQTTCONNECT", 1, 0)),
			step{reply: "\r\n+CMQTTCONNLOST: 1,3\r\n"},
			// the SIM7600 cleared SSLCFG with the CONNECT: set it again
			cmd("AT+CMQTTSSLCFG=1,2", ok),
			cmd(`AT+CMQTTCONNECT=1,"tcp://broker.example:8883",60,0`, final("+CMQTTCONNECT", 1, 0)),
		), WithModel(SIM7600))
		s := newSession(t, m, 1)
		ctx := testCtx(t)
		opts := ConnectOptions{Broker: "mqtts://broker.example", ClientID: "dev1", TLS: &TLSConfig{
			Context: 2, SSLVersion: SSLVersion12, AuthMode: AuthServerClient, IgnoreLocalTime: true, NegotiateTime: time.Minute,
			CACert:     Cert{Name: "ca.pem", Data: ca},
			ClientCert: Cert{Name: "client.pem", Data: []byte("listed, not uploaded")},
			ClientKey:  Cert{Name: "client.der", Data: key},
		}}
		if err := s.Connect(ctx, opts); err != nil {
			t.Fatal(err)
		}
		if ev := nextEvent(t, s); ev.Kind != EventConnLost || ev.Cause != CauseNetworkClosed {
			t.Fatalf("event %+v, want connection lost, cause 3", ev)
		}
		if err := s.Connect(ctx, opts); err != nil {
			t.Fatal(err)
		}
		sm.waitSteps(t)
	})
}

func TestSessionTLSDefaultContext(t *testing.T) {
	m, _ := startModem(t, deliverWhole, seq(
		cmd("AT+CMQTTSTART", startOKFirst),
		cmd(`AT+CMQTTACCQ=0,"c",1`, ok),
		// checkUTF8 stays on, the modem's default: no CFG for it
		cmd(`AT+CMQTTCFG="version",0,4`, ok),
		cmd(`AT+CMQTTCFG="optimeout",0,30`, ok),
		cmd(`AT+CSSLCFG="sslversion",0,4`, ok),
		cmd(`AT+CSSLCFG="authmode",0,0`, ok),
		cmd(`AT+CSSLCFG="ignorelocaltime",0,1`, ok),
		cmd("AT+CMQTTSSLCFG=0,0", ok),
		cmd(`AT+CMQTTCONNECT=0,"tcp://test.mosquitto.org:8883",5,0`, final("+CMQTTCONNECT", 0, 0)),
	), WithModel(A7600))
	s := newSession(t, m, 0)
	err := s.Connect(testCtx(t), ConnectOptions{Broker: "ssl://test.mosquitto.org", ClientID: "c", KeepAlive: 5 * time.Second,
		CheckUTF8: true, OpTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSessionRecovery(t *testing.T) {
	opts := ConnectOptions{Broker: "tcp://broker.example:1883", ClientID: "dev1", KeepAlive: time.Minute}
	connect := cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example:1883",60,0`, final("+CMQTTCONNECT", 0, 0))
	tests := []struct {
		name  string
		model Model
		steps []step
		errIs error
	}{
		{"SIM7600 service running, index held and connected", SIM7600, seq(
			cmd("AT+CMQTTSTART", "\r\n+CMQTTSTART: 23\r\n\r\nERROR\r\n"),
			cmd(`AT+CMQTTACCQ=0,"dev1",0,4`, "\r\nERROR\r\n"),
			cmd("AT+CMQTTACCQ?", "\r\n+CMQTTACCQ: 0,\"dev1\",0\r\n+CMQTTACCQ: 1,\"\",0\r\n"+ok),
			cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,1\r\n"+ok),
			cmd("AT+CMQTTDISC=0,0", final("+CMQTTDISC", 0, 0)),
			// its will, settings and version are unknown: a new client
			cmd("AT+CMQTTREL=0", ok),
			acquireSIM(0, "dev1", ServerTCP),
			connect,
		), nil},
		{"A7600 bare ERROR, service running", A7600, seq(
			cmd("AT+CMQTTSTART", "\r\nERROR\r\n"),
			cmd("AT+CMQTTACCQ?", bothFree),
			acquire("dev1"),
			connect,
		), nil},
		{"index held by another client ID", A7600, seq(
			cmd("AT+CMQTTSTART", startOKFirst),
			cmd(`AT+CMQTTACCQ=0,"dev1"`, "\r\n+CMQTTACCQ: 0,19\r\n\r\nERROR\r\n"),
			cmd("AT+CMQTTACCQ?", "\r\n+CMQTTACCQ: 0,\"old\",1\r\n+CMQTTACCQ: 1,\"\",0\r\n"+ok),
			cmd("AT+CMQTTDISC?", bothDisc),
			cmd("AT+CMQTTREL=0", ok),
			acquire("dev1"),
			connect,
		), nil},
		{"already connected at CONNECT", A7600, seq(
			fresh("dev1"),
			cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example:1883",60,0`, "\r\n+CMQTTCONNECT: 0,19\r\n\r\nERROR\r\n"),
			cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,1\r\n"+ok),
			cmd("AT+CMQTTDISC=0,0", final("+CMQTTDISC", 0, 0)),
			connect,
		), nil},
		{"service really down", A7600, seq(
			cmd("AT+CMQTTSTART", "\r\nERROR\r\n"),
			cmd("AT+CMQTTACCQ?", "\r\nERROR\r\n"),
		), ErrCommandFailed},
		{"broker refuses", A7600, seq(
			fresh("dev1"),
			cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example:1883",60,0`, final("+CMQTTCONNECT", 0, 30)),
		), &ResultError{Code: 30}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachDelivery(t, func(t *testing.T, mode delivery) {
				m, sm := startModem(t, mode, tc.steps, WithModel(tc.model))
				s := newSession(t, m, 0)
				err := s.Connect(testCtx(t), opts)
				var want *ResultError
				switch {
				case errors.As(tc.errIs, &want):
					var re *ResultError
					if !errors.As(err, &re) || re.Code != want.Code {
						t.Fatalf("err = %v, want result %d", err, want.Code)
					}
					if c, ok := re.Code.ConnackReturnCode(); !ok || c != 4 {
						t.Errorf("CONNACK code %d, %v", c, ok)
					}
				case tc.errIs != nil:
					if !errors.Is(err, tc.errIs) {
						t.Fatalf("err = %v, want %v", err, tc.errIs)
					}
				case err != nil:
					t.Fatal(err)
				}
				sm.waitSteps(t)
			})
		})
	}
}

func TestSessionEventsInOrder(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		sm := newScriptModem(t, mode)
		m := New(sm, inStep(), WithModel(A7600))
		s0 := newSession(t, m, 0)
		s1 := newSession(t, m, 1)
		sm.inject("\r\n+CMQTTRXSTART: 0,3,7\r\n+CMQTTRXTOPIC: 0,3\r\na/b\r\n+CMQTTRXPAYLOAD: 0,7\r\n\r\nOK\r\n\x00\r\n+CMQTTRXEND: 0\r\n" +
			"\r\n+CMQTTCONNLOST: 1,1\r\n\r\n+CMQTTNONET\r\n\r\n+CMQTTPING: 0,11\r\n\r\nRDY\r\n")
		want0 := []EventKind{EventMessage, EventNoNetwork, EventPingFail, EventReset}
		want1 := []EventKind{EventConnLost, EventNoNetwork, EventReset}
		for i, k := range want0 {
			ev := nextEvent(t, s0)
			if ev.Kind != k || ev.Index != 0 {
				t.Fatalf("session 0 event %d: %+v, want kind %d", i, ev, k)
			}
			if k == EventMessage && (ev.Message.Topic != "a/b" || !bytes.Equal(ev.Message.Payload, []byte("\r\nOK\r\n\x00"))) {
				t.Errorf("message %+v", ev.Message)
			}
			if k == EventPingFail && (ev.Code != 11 || !errors.Is(ev.Err, ErrKeepalive)) {
				t.Errorf("ping event %+v", ev)
			}
			if k == EventReset && !errors.Is(ev.Err, ErrModemReset) {
				t.Errorf("reset event %+v", ev)
			}
		}
		for i, k := range want1 {
			if ev := nextEvent(t, s1); ev.Kind != k || ev.Index != 1 {
				t.Fatalf("session 1 event %d: %+v, want kind %d", i, ev, k)
			}
		}
		_ = m.Close()
		if ev := nextEvent(t, s0); ev.Kind != EventClosed || !errors.Is(ev.Err, ErrClosed) {
			t.Fatalf("event %+v, want closed", ev)
		}
		if _, open := <-s0.Events(); open {
			t.Error("events channel open after EventClosed")
		}
	})
}

func TestSessionResetRebuildsEverything(t *testing.T) {
	full := seq(
		fresh("dev1"),
		cmd(`AT+CMQTTCONNECT=0,"tcp://b.example:1883",60,0`, final("+CMQTTCONNECT", 0, 0)),
	)
	m, _ := startModem(t, deliverWhole, seq(full, step{reply: "\r\n\x00*ATREADY: 1\r\n"}, full), WithModel(A7600))
	s := newSession(t, m, 0)
	opts := ConnectOptions{Broker: "b.example", ClientID: "dev1"}
	if err := s.Connect(testCtx(t), opts); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, s); ev.Kind != EventReset {
		t.Fatalf("event %+v, want reset", ev)
	}
	if err := s.Connect(testCtx(t), opts); err != nil {
		t.Fatal(err)
	}
}

func TestSessionWillChanges(t *testing.T) {
	m, _ := startModem(t, deliverWhole, seq(
		fresh("d"),
		data("AT+CMQTTWILLTOPIC=0,1", "w", ok),
		data("AT+CMQTTWILLMSG=0,1,0", "x", ok),
		cmd(`AT+CMQTTCONNECT=0,"tcp://b.example:1883",60,0`, final("+CMQTTCONNECT", 0, 0)),
		// other options: disconnect; no will wanted: a new client clears it
		cmd("AT+CMQTTDISC=0,0", final("+CMQTTDISC", 0, 0)),
		cmd("AT+CMQTTREL=0", ok),
		acquire("d"),
		cmd(`AT+CMQTTCONNECT=0,"tcp://b.example:1883",60,0`, final("+CMQTTCONNECT", 0, 0)),
	), WithModel(A7600))
	s := newSession(t, m, 0)
	ctx := testCtx(t)
	if err := s.Connect(ctx, ConnectOptions{Broker: "b.example", ClientID: "d", Will: &Will{Topic: "w", Payload: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx, ConnectOptions{Broker: "b.example", ClientID: "d"}); err != nil {
		t.Fatal(err)
	}
}

func TestSessionSubscribeUnsubscribe(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, _ := startModem(t, mode, seq(
			data("AT+CMQTTSUB=0,3,1", "a/b", final("+CMQTTSUB", 0, 0)),
			data("AT+CMQTTSUBTOPIC=0,1,0", "x", ok),
			data("AT+CMQTTSUBTOPIC=0,3,2", "y/#", ok),
			cmd("AT+CMQTTSUB=0", final("+CMQTTSUB", 0, 0)),
			data("AT+CMQTTUNSUB=0,3,0", "a/b", final("+CMQTTUNSUB", 0, 0)),
			data("AT+CMQTTUNSUBTOPIC=0,1", "x", ok),
			data("AT+CMQTTUNSUBTOPIC=0,3", "y/#", ok),
			cmd("AT+CMQTTUNSUB=0,0", final("+CMQTTUNSUB", 0, 0)),
		), WithModel(A7600))
		s := newSession(t, m, 0)
		ctx := testCtx(t)
		if err := s.Subscribe(ctx, Subscription{Topic: "a/b", QoS: 1}); err != nil {
			t.Fatal(err)
		}
		if err := s.SubscribeMultiple(ctx, []Subscription{{"x", 0}, {"y/#", 2}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Unsubscribe(ctx, "a/b"); err != nil {
			t.Fatal(err)
		}
		if err := s.Unsubscribe(ctx, "x", "y/#"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSessionSubTopicFallback(t *testing.T) {
	m, sm := startModem(t, deliverWhole, seq(
		cmd("AT+CMQTTSUBTOPIC=0,1,0", "\r\nERROR\r\n"),
		data("AT+CMQTTSUB=0,1,0", "x", final("+CMQTTSUB", 0, 0)),
		data("AT+CMQTTSUB=0,1,1", "y", final("+CMQTTSUB", 0, 0)),
		// remembered: no SUBTOPIC the second time
		data("AT+CMQTTSUB=0,1,0", "x", final("+CMQTTSUB", 0, 0)),
		data("AT+CMQTTSUB=0,1,1", "y", final("+CMQTTSUB", 0, 0)),
		// a result code is a real failure, not a missing command
		data("AT+CMQTTUNSUBTOPIC=0,1", "x", "\r\n+CMQTTUNSUBTOPIC: 0,11\r\n\r\nERROR\r\n"),
	), WithModel(A7600))
	s := newSession(t, m, 0)
	ctx := testCtx(t)
	subs := []Subscription{{"x", 0}, {"y", 1}}
	for range 2 {
		if err := s.SubscribeMultiple(ctx, subs); err != nil {
			t.Fatal(err)
		}
	}
	var re *ResultError
	if err := s.Unsubscribe(ctx, "x", "y"); !errors.As(err, &re) || re.Code != 11 {
		t.Fatalf("err = %v, want result 11", err)
	}
	sm.waitSteps(t)
}

func TestSessionPublishEmptyPayload(t *testing.T) {
	m, _ := startModem(t, deliverWhole, seq(
		data("AT+CMQTTTOPIC=0,9", "simcommsg", ok),
		cmd("AT+CMQTTPUB=0,0,120,1,1", final("+CMQTTPUB", 0, 0)),
	), WithModel(SIM7600))
	s := newSession(t, m, 0)
	if err := s.Publish(testCtx(t), Publish{Topic: "simcommsg", Retain: true, Dup: true, Timeout: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
}

func TestSessionDisconnectKeepsServiceForOtherIndex(t *testing.T) {
	m, sm := startModem(t, deliverWhole, seq(
		cmd("AT+CMQTTDISC=1,0", "\r\n+CMQTTDISC: 1,11\r\n\r\nERROR\r\n"), // not connected
		cmd("AT+CMQTTDISC?", bothDisc),
		cmd("AT+CMQTTREL=1", "\r\n+CMQTTREL: 1,20\r\n\r\nERROR\r\n"), // not acquired
		cmd("AT+CMQTTACCQ?", "\r\n+CMQTTACCQ: 0,\"other\",0\r\n+CMQTTACCQ: 1,\"\",0\r\n"+ok),
	), WithModel(A7600))
	s := newSession(t, m, 1)
	if err := s.Disconnect(testCtx(t), 0); err != nil {
		t.Fatal(err)
	}
	sm.waitSteps(t)
}

func TestSessionConnected(t *testing.T) {
	m, _ := startModem(t, deliverWhole, seq(
		cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,1\r\n+CMQTTDISC: 1,0\r\n"+ok),
		cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,1\r\n+CMQTTDISC: 1,0\r\n"+ok),
	), WithModel(A7600))
	for i, want := range []bool{false, true} {
		s := newSession(t, m, i)
		got, err := s.Connected(testCtx(t))
		if err != nil || got != want {
			t.Errorf("index %d: %v, %v; want %v", i, got, err, want)
		}
	}
}

func TestSessionClaims(t *testing.T) {
	m, _ := startModem(t, deliverWhole, nil, WithModel(A7600))
	s0, err := m.Session(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Session(0); !errors.Is(err, ErrIndexInUse) {
		t.Errorf("second Session(0): %v, want ErrIndexInUse", err)
	}
	var pe *ParamError
	if _, err := m.Session(2); !errors.As(err, &pe) {
		t.Errorf("Session(2): %v, want ParamError", err)
	}
	s1, err := m.ClaimFreeSession()
	if err != nil || s1.Index() != 1 || s1.Modem() != m {
		t.Fatalf("ClaimFreeSession: %v, %v", s1, err)
	}
	if _, err := m.ClaimFreeSession(); !errors.Is(err, ErrNoFreeIndex) {
		t.Errorf("third session: %v, want ErrNoFreeIndex", err)
	}
	_ = s0.Close()
	_ = s0.Close() // twice is fine
	if _, open := <-s0.Events(); open {
		t.Error("events open after Close")
	}
	s, err := m.ClaimFreeSession()
	if err != nil || s.Index() != 0 {
		t.Fatalf("ClaimFreeSession after Close: %v, %v", s, err)
	}
	_ = s.Close()
	_ = s1.Close()
}

func TestSessionChecksBeforeWriting(t *testing.T) {
	m, sm := startModem(t, deliverWhole, nil, WithModel(SIM7600))
	s := newSession(t, m, 0)
	ctx := testCtx(t)
	bad := []struct {
		name  string
		param string
		err   error
	}{
		{"broker scheme", "server_addr", s.Connect(ctx, ConnectOptions{Broker: "ws://h", ClientID: "c"})},
		{"client ID too long for SIM7600", "clientID", s.Connect(ctx, ConnectOptions{Broker: "h", ClientID: strings.Repeat("c", 24)})},
		{"keepalive below 60 on SIM7600", "keepalive_time", s.Connect(ctx, ConnectOptions{Broker: "h", ClientID: "c", KeepAlive: 30 * time.Second})},
		{"optimeout on SIM7600", "optimeout_val", s.Connect(ctx, ConnectOptions{Broker: "h", ClientID: "c", OpTimeout: time.Minute})},
		{"will without payload", "will message", s.Connect(ctx, ConnectOptions{Broker: "h", ClientID: "c", Will: &Will{Topic: "t"}})},
		{"quote in password", "pass_word", s.Connect(ctx, ConnectOptions{Broker: "h", ClientID: "c", Username: "u", Password: `p"w`})},
		{"authmode 1 without CA", "ca_file", s.Connect(ctx, ConnectOptions{Broker: "ssl://h", ClientID: "c", TLS: &TLSConfig{AuthMode: AuthServer}})},
		{"client key without name", "clientkey_file", s.Connect(ctx, ConnectOptions{Broker: "ssl://h", ClientID: "c", TLS: &TLSConfig{ClientKey: Cert{Data: []byte("k")}}})},
		{"payload too long", "payload", s.Publish(ctx, Publish{Topic: "t", Payload: make([]byte, 10241)})},
		{"publish wildcard", "topic", s.Publish(ctx, Publish{Topic: "t/#", Payload: []byte("x")})},
		{"pub timeout", "pub_timeout", s.Publish(ctx, Publish{Topic: "t", Timeout: 200 * time.Second})},
		{"subscribe qos", "qos", s.Subscribe(ctx, Subscription{Topic: "t", QoS: 3})},
		{"subscribe none", "topic", s.SubscribeMultiple(ctx, nil)},
		{"subscribe bad filter", "topic", s.SubscribeMultiple(ctx, []Subscription{{"ok", 0}, {"a#", 0}})},
		{"unsubscribe none", "topic", s.Unsubscribe(ctx)},
		{"disconnect timeout", "timeout", s.Disconnect(ctx, 30*time.Second)},
	}
	for _, b := range bad {
		var pe *ParamError
		if !errors.As(b.err, &pe) || pe.Param != b.param || pe.Model != SIM7600 {
			t.Errorf("%s: err = %v, want ParamError on %s", b.name, b.err, b.param)
		}
	}
	if w := sm.written(); w != "" {
		t.Errorf("wrote %q", w)
	}
}

func TestSessionAfterModemClosed(t *testing.T) {
	m, _ := startModem(t, deliverWhole, nil, WithModel(A7600))
	s := newSession(t, m, 0)
	_ = m.Close()
	if ev := nextEvent(t, s); ev.Kind != EventClosed {
		t.Fatalf("event %+v, want closed", ev)
	}
	if _, err := m.Session(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Session after Close: %v, want ErrClosed", err)
	}
	if _, err := m.ClaimFreeSession(); !errors.Is(err, ErrClosed) {
		t.Errorf("ClaimFreeSession after Close: %v, want ErrClosed", err)
	}
	if err := s.Publish(testCtx(t), Publish{Topic: "t"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close: %v, want ErrClosed", err)
	}
}

// TestSessionRebuildsLostState: the modem lost state without a URC this
// Modem saw; Connect learns it from the answers and builds it again.
func TestSessionRebuildsLostState(t *testing.T) {
	first := seq(
		fresh("d"),
		cmd(`AT+CMQTTCONNECT=0,"tcp://b.example:1883",60,0`, final("+CMQTTCONNECT", 0, 0)),
		step{reply: "\r\n+CMQTTCONNLOST: 0,1\r\n"},
	)
	tests := []struct {
		name  string
		steps []step
	}{
		{"client no longer acquired", seq(first,
			cmd(`AT+CMQTTCONNECT=0,"tcp://b.example:1883",60,0`, "\r\n+CMQTTCONNECT: 0,20\r\n\r\nERROR\r\n"),
			acquire("d"),
			cmd(`AT+CMQTTCONNECT=0,"tcp://b.example:1883",60,0`, final("+CMQTTCONNECT", 0, 0)),
		)},
		{"service stopped", seq(first,
			cmd(`AT+CMQTTCONNECT=0,"tcp://b.example:1883",60,0`, "\r\nERROR\r\n"),
			cmd("AT+CMQTTDISC?", "\r\nERROR\r\n"),
			cmd("AT+CMQTTACCQ?", "\r\nERROR\r\n"),
			fresh("d"),
			cmd(`AT+CMQTTCONNECT=0,"tcp://b.example:1883",60,0`, final("+CMQTTCONNECT", 0, 0)),
		)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, sm := startModem(t, deliverWhole, tc.steps, WithModel(A7600))
			s := newSession(t, m, 0)
			opts := ConnectOptions{Broker: "b.example", ClientID: "d"}
			if err := s.Connect(testCtx(t), opts); err != nil {
				t.Fatal(err)
			}
			if ev := nextEvent(t, s); ev.Kind != EventConnLost {
				t.Fatalf("event %+v", ev)
			}
			if err := s.Connect(testCtx(t), opts); err != nil {
				t.Fatal(err)
			}
			sm.waitSteps(t)
		})
	}
}

func TestSessionDisconnectServiceDown(t *testing.T) {
	m, sm := startModem(t, deliverWhole, seq(
		cmd("AT+CMQTTDISC=0,0", "\r\nERROR\r\n"),
		cmd("AT+CMQTTDISC?", "\r\nERROR\r\n"),
		cmd("AT+CMQTTREL=0", "\r\nERROR\r\n"),
		cmd("AT+CMQTTACCQ?", "\r\nERROR\r\n"),
	), WithModel(A7600))
	s := newSession(t, m, 0)
	if err := s.Disconnect(testCtx(t), 0); err != nil {
		t.Fatal(err)
	}
	sm.waitSteps(t)
}

func TestSessionPasswordRedactedInErrors(t *testing.T) {
	m, _ := startModem(t, deliverWhole, seq(
		fresh("d"),
		cmd(`AT+CMQTTCONNECT=0,"tcp://b.example:1883",60,0,"user","s3cr3t-pw"`, final("+CMQTTCONNECT", 0, 30)),
	), WithModel(A7600))
	s := newSession(t, m, 0)
	err := s.Connect(testCtx(t), ConnectOptions{Broker: "b.example", ClientID: "d", Username: "user", Password: "s3cr3t-pw"})
	var re *ResultError
	if !errors.As(err, &re) || re.Code != 30 {
		t.Fatalf("err = %v, want result 30", err)
	}
	if strings.Contains(err.Error(), "s3cr3t-pw") || !strings.Contains(err.Error(), "bad user name or password") {
		t.Errorf("error %q shows the password or lacks the manual's text", err)
	}
}
