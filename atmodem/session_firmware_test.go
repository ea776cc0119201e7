package atmodem

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Session tests of what real firmware does (issue 12), byte-exact on the
// scripted modem. modemsim learns the same behaviours; the tests through
// it are in sim_firmware_test.go.

var (
	plainOpts   = ConnectOptions{Broker: "tcp://broker.example:1883", ClientID: "dev1", KeepAlive: time.Minute}
	plainConn   = cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example:1883",60,0`, final("+CMQTTCONNECT", 0, 0))
	connectedA  = seq(fresh("dev1"), plainConn)
	discQueried = "\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,1\r\n" + ok // index 0 connected
)

// TestSessionNoNetRestartsService reproduces issue 12 point 2: +CMQTTNONET
// means the firmware stopped the MQTT service (SIMCom's A76XX URC table:
// "you should restart the MQTT service by AT+CMQTTSTART"). The next
// connect sends AT+CMQTTSTART first, whatever AT+CMQTTACCQ? would say; the
// old engine went straight to ACCQ, answered ERROR, and looped on it. START
// refused while the network is still down does not stop the attempt, and
// the next attempt sends START again.
func TestSessionNoNetRestartsService(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, sm := startModem(t, mode, seq(
			connectedA,
			step{reply: "\r\n+CMQTTNONET\r\n"},
			// first attempt: the network is still down
			cmd("AT+CMQTTSTART", "\r\nERROR\r\n"),
			cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example:1883",60,0`, "\r\n+CMQTTCONNECT: 0,34\r\n\r\nERROR\r\n"),
			// second attempt: back
			cmd("AT+CMQTTSTART", startOKFirst),
			plainConn,
		), WithModel(A7600))
		s := newSession(t, m, 0)
		ctx := testCtx(t)
		if err := s.Connect(ctx, plainOpts); err != nil {
			t.Fatal(err)
		}
		if ev := nextEvent(t, s); ev.Kind != EventNoNetwork {
			t.Fatalf("event %+v, want no network", ev)
		}
		err := s.Connect(ctx, plainOpts)
		if FateOf(err) != FateLinkDown {
			t.Fatalf("first connect after NONET: err = %v (fate %s), want a link-down error", err, FateOf(err))
		}
		if err := s.Connect(ctx, plainOpts); err != nil {
			t.Fatal(err)
		}
		sm.waitSteps(t)
	})
}

// TestSessionPingDisconnectsFirst reproduces issue 12 point 3: after
// +CMQTTPING (keepalive failed) the modem still holds the connection;
// SIMCom's URC table says "disconnect the connection and re-connect". The
// session sends AT+CMQTTDISC before CONNECT; the old one sent CONNECT first
// and got +CMQTTCONNECT: 0,13 (a CONNECT on a live session was reported to
// reboot an A7672).
func TestSessionPingDisconnectsFirst(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, sm := startModem(t, mode, seq(
			connectedA,
			step{reply: "\r\n+CMQTTPING: 0,17\r\n"},
			cmd("AT+CMQTTDISC=0,0", final("+CMQTTDISC", 0, 0)),
			plainConn,
		), WithModel(A7600))
		s := newSession(t, m, 0)
		ctx := testCtx(t)
		if err := s.Connect(ctx, plainOpts); err != nil {
			t.Fatal(err)
		}
		if ev := nextEvent(t, s); ev.Kind != EventPingFail {
			t.Fatalf("event %+v, want keepalive failure", ev)
		}
		if err := s.Connect(ctx, plainOpts); err != nil {
			t.Fatal(err)
		}
		sm.waitSteps(t)
	})
}

// TestSessionUnknownConnectAsksFirst: a CONNECT whose answer never came
// may have connected; the next connect asks AT+CMQTTDISC? and disconnects
// before CONNECT when the modem says connected.
func TestSessionUnknownConnectAsksFirst(t *testing.T) {
	m, sm := startModem(t, deliverWhole, seq(
		fresh("dev1"),
		cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example:1883",60,0`, ok), // the result never comes
		// The OK was read: no marker is needed, the result would come like a URC.
		cmd("AT+CMQTTDISC?", discQueried),
		cmd("AT+CMQTTDISC=0,0", final("+CMQTTDISC", 0, 0)),
		plainConn,
	), WithModel(A7600))
	s := newSession(t, m, 0)
	ctx, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
	err := s.Connect(ctx, plainOpts)
	cancel()
	if FateOf(err) != FateUnknown {
		t.Fatalf("err = %v, want an unknown outcome", err)
	}
	if err := s.Connect(testCtx(t), plainOpts); err != nil {
		t.Fatal(err)
	}
	sm.waitSteps(t)
}

// TestSessionConnectedMeansProved reproduces the livelock of issue 13
// point 2: a session that remembers a connection the modem lost (a reboot
// it did not see) must not report connected. Connect with the same options
// asks the modem, and connects when it says disconnected.
func TestSessionConnectedMeansProved(t *testing.T) {
	m, sm := startModem(t, deliverWhole, seq(
		connectedA,
		cmd("AT+CMQTTDISC?", bothDisc),
		plainConn,
	), WithModel(A7600))
	s := newSession(t, m, 0)
	ctx := testCtx(t)
	if err := s.Connect(ctx, plainOpts); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx, plainOpts); err != nil {
		t.Fatal(err)
	}
	sm.waitSteps(t)
	if !strings.HasSuffix(sm.written(), "AT+CMQTTDISC?\r"+`AT+CMQTTCONNECT=0,"tcp://broker.example:1883",60,0`+"\r") {
		t.Fatalf("wrote %q", sm.written())
	}
}

// TestSessionProtocolVersion covers issue 12 point 5: A76xx firmware
// defaults to MQTT 3.1, which brokers such as AWS IoT and Azure IoT Hub
// refuse. 3.1.1 is selected by default, on the A7600 family with
// AT+CMQTTCFG="version",<idx>,4 (TinyGsmMqttA76xx.h; answers OK on
// A7670E), on the SIM7600 family with a 4th ACCQ field (T-SIM7600X#49);
// 3.1 on request. Firmware that refuses the selection connects with its
// default; the log says so once, and the selection is not tried again.
func TestSessionProtocolVersion(t *testing.T) {
	tests := []struct {
		name    string
		model   Model
		version int
		steps   []step
		warn    string // in the log, "" for none
	}{
		{"A7600 default 3.1.1", A7600, 0, seq(fresh("dev1"), plainConn), ""},
		{"A7600 3.1", A7600, 3, seq(
			cmd("AT+CMQTTSTART", startOKFirst),
			cmd(`AT+CMQTTACCQ=0,"dev1"`, ok),
			cmd(`AT+CMQTTCFG="checkUTF8",0,0`, ok),
			cmd(`AT+CMQTTCFG="version",0,3`, ok),
			plainConn), ""},
		{"A7600 firmware refuses", A7600, 0, seq(
			cmd("AT+CMQTTSTART", startOKFirst),
			cmd(`AT+CMQTTACCQ=0,"dev1"`, ok),
			cmd(`AT+CMQTTCFG="checkUTF8",0,0`, ok),
			cmd(`AT+CMQTTCFG="version",0,4`, "\r\nERROR\r\n"),
			plainConn,
			step{reply: "\r\n+CMQTTCONNLOST: 0,1\r\n"},
			plainConn), `refused AT+CMQTTCFG=\"version\"`},
		{"SIM7600 default 3.1.1", SIM7600, 0, seq(
			cmd("AT+CMQTTSTART", startResFirst),
			acquireSIM(0, "dev1", ServerTCP),
			plainConn), ""},
		{"SIM7600 firmware refuses", SIM7600, 0, seq(
			cmd("AT+CMQTTSTART", startResFirst),
			cmd(`AT+CMQTTACCQ=0,"dev1",0,4`, "\r\nERROR\r\n"),
			cmd("AT+CMQTTACCQ?", bothFree),
			cmd(`AT+CMQTTACCQ=0,"dev1"`, ok),
			cmd(`AT+CMQTTCFG="checkUTF8",0,0`, ok),
			plainConn), "refused the MQTT protocol version field of AT+CMQTTACCQ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf syncBuffer
			logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
			m, sm := startModem(t, deliverWhole, tt.steps, WithModel(tt.model), WithLogger(logger))
			s := newSession(t, m, 0)
			opts := plainOpts
			opts.ProtocolVersion = tt.version
			if err := s.Connect(testCtx(t), opts); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(tt.name, "refuses") && tt.model == A7600 {
				if ev := nextEvent(t, s); ev.Kind != EventConnLost {
					t.Fatalf("event %+v", ev)
				}
				if err := s.Connect(testCtx(t), opts); err != nil {
					t.Fatal(err)
				}
			}
			sm.waitSteps(t)
			log := buf.String()
			switch {
			case tt.warn == "" && log != "":
				t.Errorf("unexpected log:\n%s", log)
			case tt.warn != "" && (!strings.Contains(log, tt.warn) || strings.Count(log, "level=WARN") != 1):
				t.Errorf("log should say once %q:\n%s", tt.warn, log)
			}
		})
	}
	t.Run("bad version", func(t *testing.T) {
		m, sm := startModem(t, deliverWhole, nil, WithModel(A7600))
		s := newSession(t, m, 0)
		opts := plainOpts
		opts.ProtocolVersion = 5
		if err := s.Connect(testCtx(t), opts); !errors.Is(err, ErrInvalidParameter) || !strings.Contains(err.Error(), "version") {
			t.Fatalf("err = %v, want a parameter error naming the version", err)
		}
		if w := sm.written(); w != "" {
			t.Fatalf("wrote %q", w)
		}
	})
}

// TestSessionStopAnswers covers issue 12 point 7: AT+CMQTTSTOP answered
// "+CMQTTSTOP: 21" / ERROR (SIM7600, M4E5TR0-MUN1R/SIM7600 HOW_IT_WORKS.md:
// a client not released, the service still runs) or "+CMQTTSTOP: 19" /
// ERROR (a SIM7670G log: stopped with a client still acquired). Both are
// understood: Disconnect succeeds and sends STOP once, never again blindly.
func TestSessionStopAnswers(t *testing.T) {
	for _, code := range []int{21, 19} {
		t.Run(itoa(code), func(t *testing.T) {
			m, sm := startModem(t, deliverWhole, seq(
				cmd("AT+CMQTTSTART", startResFirst),
				acquireSIM(0, "dev1", ServerTCP),
				plainConn,
				cmd("AT+CMQTTDISC=0,60", final("+CMQTTDISC", 0, 0)),
				cmd("AT+CMQTTREL=0", ok),
				cmd("AT+CMQTTACCQ?", bothFree),
				cmd("AT+CMQTTSTOP", "\r\n+CMQTTSTOP: "+itoa(code)+"\r\n\r\nERROR\r\n"),
			), WithModel(SIM7600), WithDefaultTimeout(time.Second))
			s := newSession(t, m, 0)
			ctx := testCtx(t)
			if err := s.Connect(ctx, plainOpts); err != nil {
				t.Fatal(err)
			}
			if err := s.Disconnect(ctx, time.Minute); err != nil {
				t.Fatalf("disconnect: %v", err)
			}
			sm.waitSteps(t)
			if n := bytes.Count([]byte(sm.written()), []byte("AT+CMQTTSTOP")); n != 1 {
				t.Fatalf("STOP sent %d times", n)
			}
		})
	}
}
