package modemsim

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseCommandLine(t *testing.T) {
	q := func(s string) atParam { return atParam{Text: s, Quoted: true} }
	u := func(s string) atParam { return atParam{Text: s} }
	for _, tc := range []struct {
		line string
		want atCommand
		err  error
	}{
		{"AT", atCommand{}, nil},
		{"at", atCommand{}, nil},
		{"  At  ", atCommand{}, nil},
		{"ATE0", atCommand{Name: "E", Params: []atParam{u("0")}}, nil},
		{"ate1", atCommand{Name: "E", Params: []atParam{u("1")}}, nil},
		{"ATE", atCommand{Name: "E"}, nil},
		{"ATI", atCommand{Name: "I"}, nil},
		{"AT&F", atCommand{Name: "&F"}, nil},
		{"AT+CMQTTSTART", atCommand{Name: "+CMQTTSTART"}, nil},
		{"at+cmqttstart", atCommand{Name: "+CMQTTSTART"}, nil},
		{"AT+CSQ=?", atCommand{Name: "+CSQ", Form: formTest}, nil},
		{"AT+CSQ = ? ", atCommand{Name: "+CSQ", Form: formTest}, nil},
		{"AT+CREG?", atCommand{Name: "+CREG", Form: formRead}, nil},
		{"AT+CREG ?", atCommand{Name: "+CREG", Form: formRead}, nil},
		{`AT+CMQTTACCQ=0,"client test0"`, atCommand{Name: "+CMQTTACCQ", Form: formWrite, Params: []atParam{u("0"), q("client test0")}}, nil},
		{`AT+CMQTTACCQ = 0 , "Client, Test" , 1 `, atCommand{Name: "+CMQTTACCQ", Form: formWrite, Params: []atParam{u("0"), q("Client, Test"), u("1")}}, nil},
		{`AT+X=1,,2`, atCommand{Name: "+X", Form: formWrite, Params: []atParam{u("1"), u(""), u("2")}}, nil},
		{`AT+X=""`, atCommand{Name: "+X", Form: formWrite, Params: []atParam{q("")}}, nil},
		{`AT+X=`, atCommand{Name: "+X", Form: formWrite}, nil},
		{`AT+CSSLCFG="cacert",0,"ca.pem"`, atCommand{Name: "+CSSLCFG", Form: formWrite, Params: []atParam{q("cacert"), u("0"), q("ca.pem")}}, nil},
		{"BT", atCommand{}, errNotAT},
		{"", atCommand{}, errNotAT},
		{"simcommsg", atCommand{}, errNotAT},
		{`AT+X="abc`, atCommand{}, errSyntax},
		{`AT+X="a"b`, atCommand{}, errSyntax},
		{`AT+X=a"b"`, atCommand{}, errSyntax},
		{"AT+", atCommand{}, errSyntax},
		{"AT+CSQ;+CREG?", atCommand{}, errSyntax},
		{"ATE0x", atCommand{}, errSyntax},
		{"AT+CSQ?x", atCommand{}, errSyntax},
		{"AT\x01", atCommand{}, errSyntax},
		{"AT+CMQTTACCQ=0,”client test0”", atCommand{Name: "+CMQTTACCQ", Form: formWrite, Params: []atParam{u("0"), u("”client test0”")}}, nil},
	} {
		got, err := parseCommandLine(tc.line)
		if !errors.Is(err, tc.err) {
			t.Errorf("%q: error %v, want %v", tc.line, err, tc.err)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %+v, want %+v", tc.line, got, tc.want)
		}
	}
}

// FuzzCommandParser: the parser never panics, and what it accepts formats
// back into a line that parses to the same command.
func FuzzCommandParser(f *testing.F) {
	for _, s := range []string{
		"AT", "ATE0", "ATI", "AT&F", "AT+CMQTTSTART", "AT+CSQ=?", "AT+CREG?",
		`AT+CMQTTACCQ=0,"client test0",1`, `AT+CMQTTCONNECT=0,"tcp://test.mosquitto.org:1883",60,1,"u","p"`,
		`at + cmqttpub = 0 , 1 , 60`, `AT+X=1,,"",2`, `AT+X="unterminated`, "AT+CSQ;+CREG?", "\x00AT\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := parseCommandLine(line)
		if err != nil {
			return
		}
		again, err := parseCommandLine(c.String())
		if err != nil {
			t.Fatalf("%q parsed to %+v, whose line %q does not parse: %v", line, c, c.String(), err)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("%q: %+v formats to %q which parses to %+v", line, c, c.String(), again)
		}
	})
}

// FuzzCommandLoop feeds arbitrary bytes to a running emulator: it must
// neither panic nor hang, and keep answering AT afterwards.
func FuzzCommandLoop(f *testing.F) {
	f.Add([]byte("AT+CMQTTSTART\rAT+CMQTTACCQ=0,\"x\"\rAT+CMQTTTOPIC=0,3\rabc"))
	f.Add([]byte("AT+CMQTTPAYLOAD=0,5\r\x00\r\n\r\n"))
	f.Add([]byte("AT+CCERTDOWN=\"a.pem\",2\r\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, h, _ := startFake(t, Config{Product: "FUZZ-END"})
		h.send(string(in))
		// Whatever the input left open (a prompt), this ends it: 10240 bytes
		// fill any data request; then the modem must answer AT+CGMM.
		h.send(string(make([]byte, 10240)) + "\rAT+CGMM\r")
		end := "\r\nFUZZ-END\r\n" + ok
		h.waitFor("the AT+CGMM answer", func(b []byte) bool {
			return len(b) >= len(end) && string(b[len(b)-len(end):]) == end
		})
		s.Close()
	})
}
