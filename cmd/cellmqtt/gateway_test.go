package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
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

// startGateway runs "cellmqtt gateway --sim" in-process on a free port and
// returns its address; the test's cleanup stops it and wants exit status 0.
func startGateway(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &gatewayOutput{lines: make(chan string, 16)}
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"gateway", "--sim", "--listen", "127.0.0.1:0"}, strings.NewReader(""), out, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-exit; code != exitOK {
			t.Errorf("gateway exit code %d after the signal, want 0", code)
		}
	})
	select {
	case line := <-out.lines:
		return strings.TrimPrefix(line, "listening on ")
	case code := <-exit:
		exit <- code
		t.Fatalf("gateway exited with %d before listening", code)
	case <-time.After(20 * time.Second):
		t.Fatal("gateway did not print its address")
	}
	return ""
}

func waitPaho(t *testing.T, tok mqtt.Token, what string) {
	t.Helper()
	if !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: %v", what, tok.Error())
	}
}

func TestGatewaySimPubSub(t *testing.T) {
	addr := startGateway(t)
	got := make(chan string, 1)
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("gw-test-sub").SetAutoReconnect(false))
	waitPaho(t, sub.Connect(), "connect")
	waitPaho(t, sub.Subscribe("gw/#", 1, func(_ mqtt.Client, m mqtt.Message) { got <- m.Topic() + " " + string(m.Payload()) }), "subscribe")
	waitPaho(t, sub.Publish("gw/echo", 1, false, "through the gateway"), "publish")
	select {
	case m := <-got:
		if m != "gw/echo through the gateway" {
			t.Errorf("received %q", m)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no message back through the gateway")
	}
	sub.Disconnect(1000)
}

// untilServed runs the command that cmd makes again while the gateway
// refuses it with "server unavailable" (an index not yet given back by a
// client that just left), for up to 20 seconds.
func untilServed(cmd func() *exec.Cmd) ([]byte, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := cmd().CombinedOutput()
		if err == nil || !strings.Contains(strings.ToLower(string(out)), "unavailable") || time.Now().After(deadline) {
			return out, err
		}
	}
}

// connectServed connects a paho client to the gateway, trying again while
// it is refused with return code 3 (server unavailable), as untilServed.
func connectServed(t *testing.T, addr, id string) mqtt.Client {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).
			SetClientID(id).SetAutoReconnect(false))
		tok := c.Connect()
		if !tok.WaitTimeout(20 * time.Second) {
			t.Fatalf("%s: no CONNACK", id)
		}
		if tok.Error() == nil {
			return c
		}
		if tok.(*mqtt.ConnectToken).ReturnCode() != 3 || time.Now().After(deadline) {
			t.Fatalf("%s: %v", id, tok.Error())
		}
	}
}

// TestGatewayMosquittoClients drives "cellmqtt gateway" with mosquitto_pub
// and mosquitto_sub (CELLMQTT_INTEROP=1): messages through it in MQTT 3.1.1
// and 5, and a third client refused with "server unavailable" while two
// hold both client indexes of the modem.
func TestGatewayMosquittoClients(t *testing.T) {
	if os.Getenv("CELLMQTT_INTEROP") != "1" {
		t.Skip("set CELLMQTT_INTEROP=1 to run mosquitto_pub and mosquitto_sub through the gateway")
	}
	addr := startGateway(t)
	host, port, _ := net.SplitHostPort(addr)
	mosquitto := func(tool, version string, args ...string) *exec.Cmd {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		t.Cleanup(cancel)
		return exec.CommandContext(ctx, tool, append([]string{"-h", host, "-p", port, "-V", version}, args...)...)
	}
	for _, version := range []string{"mqttv311", "mqttv5"} {
		t.Run(version, func(t *testing.T) {
			topic := "gw/" + version
			// The gateway gives a client's index back once it has read
			// its DISCONNECT, which may come after the next client's
			// CONNECT: a client refused meanwhile tries again.
			if out, err := untilServed(func() *exec.Cmd {
				return mosquitto("mosquitto_pub", version, "-i", "pub-"+version, "-t", topic, "-m", "hello", "-q", "1", "-r")
			}); err != nil {
				t.Fatalf("mosquitto_pub: %v: %s", err, out)
			}
			out, err := untilServed(func() *exec.Cmd {
				return mosquitto("mosquitto_sub", version, "-i", "sub-"+version, "-t", topic, "-C", "1", "-v")
			})
			if err != nil || strings.TrimSpace(string(out)) != topic+" hello" {
				t.Fatalf("mosquitto_sub: %v: %q", err, out)
			}

			var holds []mqtt.Client
			for i := range 2 {
				holds = append(holds, connectServed(t, addr, fmt.Sprintf("hold-%s-%d", version, i)))
			}
			out, err = mosquitto("mosquitto_pub", version, "-i", "third-"+version, "-t", topic, "-m", "no").CombinedOutput()
			if err == nil || !strings.Contains(strings.ToLower(string(out)), "unavailable") {
				t.Errorf("third client: %v: %q; want a refusal with server unavailable", err, out)
			}
			for _, h := range holds {
				h.Disconnect(1000)
			}
		})
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
