package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// gatewayOutput hands the lines the gateway prints on stdout to the test.
type gatewayOutput struct {
	lines chan string
}

func (g *gatewayOutput) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		select {
		case g.lines <- sc.Text():
		default:
		}
	}
	return len(p), nil
}

func TestGatewaySimPubSub(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &gatewayOutput{lines: make(chan string, 16)}
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"gateway", "--sim", "--listen", "127.0.0.1:0"}, strings.NewReader(""), out, io.Discard)
	}()
	var addr string
	select {
	case line := <-out.lines:
		addr = strings.TrimPrefix(line, "listening on ")
	case code := <-exit:
		t.Fatalf("gateway exited with %d before listening", code)
	case <-time.After(20 * time.Second):
		t.Fatal("gateway did not print its address")
	}

	got := make(chan string, 1)
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("gw-test-sub").SetAutoReconnect(false))
	wait := func(tok mqtt.Token, what string) {
		t.Helper()
		if !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
			t.Fatalf("%s: %v", what, tok.Error())
		}
	}
	wait(sub.Connect(), "connect")
	wait(sub.Subscribe("gw/#", 1, func(_ mqtt.Client, m mqtt.Message) { got <- m.Topic() + " " + string(m.Payload()) }), "subscribe")
	wait(sub.Publish("gw/echo", 1, false, "through the gateway"), "publish")
	select {
	case m := <-got:
		if m != "gw/echo through the gateway" {
			t.Errorf("received %q", m)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no message back through the gateway")
	}
	sub.Disconnect(1000)

	cancel()
	if code := <-exit; code != exitOK {
		t.Errorf("gateway exit code %d after the signal, want 0", code)
	}
}

func TestGatewayUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no broker without --sim", []string{"--port", "/dev/null"}, "no broker"},
		{"bad scheme", []string{"--sim", "--broker", "http://x"}, "unsupported scheme"},
		{"certificates for a plain broker", []string{"--sim", "--broker", "tcp://x:1883", "--cafile", "ca.pem"}, "need a TLS broker"},
		{"cert without key", []string{"--sim", "--broker", "ssl://x", "--cert", "c.pem"}, "go together"},
		{"bad listen address", []string{"--sim", "--listen", "1883"}, "--listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(context.Background(), append([]string{"gateway"}, tt.args...), strings.NewReader(""), io.Discard, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), exitUsage, tt.want)
			}
		})
	}
}

func TestGatewayHelp(t *testing.T) {
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"gateway", "--help"}, strings.NewReader(""), &stdout, io.Discard); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--listen", "--broker", "--sim", "mosquitto_pub", "server unavailable"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help text lacks %q", want)
		}
	}
}
