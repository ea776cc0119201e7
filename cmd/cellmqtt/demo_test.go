package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"
)

// TestDemo runs "cellmqtt demo" as a user would (through run, with the
// user's arguments) and checks the story it tells.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"demo"}, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		`(?m)^broker +embedded mochi-mqtt at tcp://127\.0\.0\.1:\d+$`,
		`(?m)^modem +emulated A7600 on an in-memory serial link`,
		`(?m)^publish +demo/qos0 +QoS 0 +"hello at QoS 0" -> received "hello at QoS 0"$`,
		`(?m)^publish +demo/qos1 +QoS 1 +"hello at QoS 1" -> received "hello at QoS 1"$`,
		`(?m)^publish +demo/qos2 +QoS 2 +"hello at QoS 2" -> received "hello at QoS 2"$`,
		`received 10240 bytes, sha256 [0-9a-f]{12}\.\. identical`,
		`(?m)^lost +connection-lost handler: .*connection lost`,
		`(?m)^reconnect the client reconnected by itself`,
		`(?m)^deliver +demo/queued +-> received "sent while the link was down" after the reconnect$`,
		`(?m)^AT traffic: \d+ commands, \d+ bytes host->modem \(\d+ of them topic/payload data\), \d+ bytes modem->host$`,
		`AT\+CMQTTPUB x5`,
		`\+CMQTTRXSTART x5, \+CMQTTCONNLOST x1`,
	} {
		if !regexp.MustCompile(want).MatchString(stdout.String()) {
			t.Errorf("demo output lacks %s:\n%s", want, stdout.String())
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("demo wrote to stderr:\n%s", stderr.String())
	}
}
