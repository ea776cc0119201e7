package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFlagSetParse(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		topic      string
		qos        int
		retain     bool
		keep       time.Duration
		positional []string
		err        string
	}{
		{name: "short", args: []string{"-t", "a/b", "-q", "1", "-r"}, topic: "a/b", qos: 1, retain: true, keep: 60 * time.Second},
		{name: "long with equals", args: []string{"--topic=a/b", "--qos=2"}, topic: "a/b", qos: 2, keep: 60 * time.Second},
		{name: "seconds", args: []string{"-k", "90"}, keep: 90 * time.Second},
		{name: "duration", args: []string{"--keepalive", "2m"}, keep: 2 * time.Minute},
		{name: "positional between flags", args: []string{"AT+CSQ", "-t", "x", "ATI"}, topic: "x", keep: 60 * time.Second, positional: []string{"AT+CSQ", "ATI"}},
		{name: "after double dash", args: []string{"-t", "x", "--", "-q", "1"}, topic: "x", keep: 60 * time.Second, positional: []string{"-q", "1"}},
		{name: "unknown", args: []string{"-x"}, err: "unknown flag -x"},
		{name: "unknown long, spelled as typed", args: []string{"--repeat", "3"}, err: "unknown flag --repeat"},
		{name: "not applicable", args: []string{"--nodelay", "-t", "x"}, err: "--nodelay does not apply to a modem: the modem's TCP stack"},
		{name: "not applicable with a value", args: []string{"-A=10.0.0.1"}, err: "-A does not apply to a modem: the modem's network"},
		{name: "bad number", args: []string{"-q", "one"}, err: `invalid value "one" for flag -q`},
		{name: "negative seconds", args: []string{"-k", "-5"}, err: "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFlagSet("x", "cellmqtt x", "about")
			var (
				topic  string
				qos    int
				retain bool
				keep   time.Duration
			)
			fs.String(&topic, "t,topic", "TOPIC", "", "G", "topic")
			fs.Int(&qos, "q,qos", "N", 0, "G", "qos")
			fs.Bool(&retain, "r,retain", "G", "retain")
			fs.Seconds(&keep, "k,keepalive", "S", 60*time.Second, "G", "keepalive")
			fs.NotApplicable("nodelay", "", "the modem's TCP stack sends as it sees fit")
			fs.NotApplicable("A", "ADDR", "the modem's network interface is the cellular one")
			var out, errb bytes.Buffer
			pos, err := fs.parse(tt.args, &out, &errb)
			if tt.err != "" {
				if err == nil || !strings.Contains(errb.String(), tt.err) {
					t.Fatalf("err %v, stderr %q; want %q", err, errb.String(), tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if topic != tt.topic || qos != tt.qos || retain != tt.retain || keep != tt.keep || strings.Join(pos, " ") != strings.Join(tt.positional, " ") {
				t.Errorf("got topic %q qos %d retain %v keep %v pos %q", topic, qos, retain, keep, pos)
			}
			if tt.topic != "" && !fs.isSet("topic") {
				t.Error("isSet(topic) = false")
			}
		})
	}
}

func TestFlagSetHelp(t *testing.T) {
	fs := newFlagSet("x", "cellmqtt x [flags]", "Does x.")
	var host string
	fs.String(&host, "h,host", "HOST", "localhost", "Broker", "broker host")
	fs.example("cellmqtt x -h example.com")
	for _, arg := range []string{"--help", "-help"} {
		var out, errb bytes.Buffer
		_, err := fs.parse([]string{arg}, &out, &errb)
		if !errors.Is(err, errHelp) || parseExit(err) != exitOK {
			t.Fatalf("%s: err %v", arg, err)
		}
		for _, want := range []string{"Usage: cellmqtt x [flags]", "Does x.", "Broker:", "-h, --host HOST", "(default localhost)", "$ cellmqtt x -h example.com"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s: help lacks %q:\n%s", arg, want, out.String())
			}
		}
	}
}
