package benchmarks

import (
	"context"
	"math"
	"testing"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

func TestCountCommands(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream string
		want   int
	}{
		{"empty", "", 0},
		{"one line", "AT\r", 1},
		{"unterminated line is not a command yet", "AT+CMQTTSTART", 0},
		{"lower case", "at+cmqttstart\r", 1},
		{"line without AT", "hello\r", 0},
		{"LF before the line", "\nAT\r", 1},
		{"data that looks like commands is skipped", "AT+CMQTTPAYLOAD=0,6\rAT\rAT\rAT+CMQTTPUB=0,1,60\r", 2},
		{"topic, payload, publish", "AT+CMQTTTOPIC=0,9\rsensors/1AT+CMQTTPAYLOAD=0,3\r\r\r\rAT+CMQTTPUB=0,1,60\r", 3},
		{"SUB single-topic form has data", "AT+CMQTTSUB=0,4,1\rAT\r\rAT+CMQTTSUB=0\r", 2},
		{"SUB list form has none", "AT+CMQTTSUB=0\rAT\r", 2},
		{"UNSUB single-topic form has data", "AT+CMQTTUNSUB=0,3,0\rAT\rAT\r", 2},
		{"will topic and message", "AT+CMQTTWILLTOPIC=0,2\rATAT+CMQTTWILLMSG=0,2,1\rATAT\r", 3},
		{"certificate download", "AT+CCERTDOWN=\"ca.pem\",3\rAT\rAT\r", 2},
		{"data cut short", "AT+CMQTTPAYLOAD=0,100\rAT\r", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := countCommands([]byte(tc.stream)); got != tc.want {
				t.Errorf("countCommands(%q) = %d, want %d", tc.stream, got, tc.want)
			}
		})
	}
}

func TestLinkLimit(t *testing.T) {
	for _, tc := range []struct {
		w    Wire
		baud int
		want float64
	}{
		{Wire{ToModem: 50, ToHost: 50}, 1000, 1},         // 100 bytes = 1000 bits
		{Wire{ToModem: 1152, ToHost: 0}, 115200, 10},     // 0.1 s each
		{Wire{ToModem: 169, ToHost: 0}, 115200, 68.1656}, // a 60-byte publish, echo off
		{Wire{ToModem: 10, ToHost: 10}, 0, 0},            // unlimited link: no limit
	} {
		if got := LinkLimit(tc.w, tc.baud); math.Abs(got-tc.want) > 1e-3 {
			t.Errorf("LinkLimit(%+v, %d) = %v, want %v", tc.w, tc.baud, got, tc.want)
		}
	}
	if d := (Wire{ToModem: 3, ToHost: 1, Commands: 2}).Sub(Wire{ToModem: 1, Commands: 1}); d != (Wire{ToModem: 2, ToHost: 1, Commands: 1}) {
		t.Errorf("Sub = %+v", d)
	}
}

// TestPublishWire checks the counting on a real publish through the
// emulator against the bytes the manual's sequence must move: TOPIC, its
// prompt and data, OK; PAYLOAD, prompt, data, OK; PUB, OK and the result.
func TestPublishWire(t *testing.T) {
	br := startBroker(t)
	for _, tc := range []struct {
		echo modemsim.EchoMode
		qos  byte
	}{{modemsim.EchoOff, 1}, {modemsim.EchoOn, 0}} {
		sim := startSim(t, modemsim.Config{Echo: tc.echo}, br)
		var opts []atmodem.Option
		if tc.echo != modemsim.EchoOff {
			opts = append(opts, atmodem.WithKeepEcho()) // the engine turns echo off otherwise
		}
		_, s := sessionOver(t, sim, sim.Conn(), "wire-test", opts...)
		before := settledWire(sim, Wire{}, 1)
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		p := atmodem.Publish{Topic: topic9, Payload: payloadOf(60), QoS: tc.qos}
		err := s.Publish(ctx, p)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		got := settledWire(sim, before, 1).Sub(before)
		lines := []string{"AT+CMQTTTOPIC=0,9\r", "AT+CMQTTPAYLOAD=0,60\r", "AT+CMQTTPUB=0," + string('0'+tc.qos) + ",60\r"}
		want := Wire{Commands: 3, ToModem: 9 + 60}
		want.ToHost = len("\r\n>\r\nOK\r\n")*2 + len("\r\nOK\r\n\r\n+CMQTTPUB: 0,0\r\n")
		for _, l := range lines {
			want.ToModem += len(l)
			if tc.echo != modemsim.EchoOff {
				want.ToHost += len(l) // echo: the line and its CR
			}
		}
		if got != want {
			t.Errorf("echo %v: counted %+v, want %+v", tc.echo, got, want)
		}
	}
}
