package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
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
	return startGatewayWith(t, io.Discard)
}

// startGatewayWith runs "cellmqtt gateway --sim --listen 127.0.0.1:0" and
// the extra args in-process, with its stderr going to stderr, and returns
// its address; the test's cleanup stops it and wants exit status 0.
func startGatewayWith(t *testing.T, stderr io.Writer, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &gatewayOutput{lines: make(chan string, 16)}
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, append([]string{"gateway", "--sim", "--listen", "127.0.0.1:0"}, args...), strings.NewReader(""), out, stderr)
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

// logWatch is a writer (the gateway's stderr, a client program's output)
// that a test can wait on for a line holding some text.
type logWatch struct {
	mu    sync.Mutex
	lines []string
	part  string
	wake  chan struct{}
}

func newLogWatch() *logWatch { return &logWatch{wake: make(chan struct{})} }

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	text := w.part + string(p)
	lines := strings.Split(text, "\n")
	w.part = lines[len(lines)-1]
	w.lines = append(w.lines, lines[:len(lines)-1]...)
	close(w.wake)
	w.wake = make(chan struct{})
	return len(p), nil
}

// text returns the lines so far.
func (w *logWatch) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(append(w.lines[:len(w.lines):len(w.lines)], w.part), "\n")
}

// waitLine waits (20 s at most) for a line holding every one of parts and
// returns it.
func (w *logWatch) waitLine(t *testing.T, parts ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	line, err := w.waitFor(ctx, nil, parts...)
	if err != nil {
		t.Fatalf("no line with %q in the log: %v\n%s", parts, err, w.text())
	}
	return line
}

// waitFor waits for a line holding every one of parts, until ctx ends or
// done closes (the writer's program exited) without one.
func (w *logWatch) waitFor(ctx context.Context, done <-chan struct{}, parts ...string) (string, error) {
	for seen := 0; ; {
		w.mu.Lock()
		lines, wake := w.lines, w.wake
		w.mu.Unlock()
		for ; seen < len(lines); seen++ {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(lines[seen], p)
			}
			if ok {
				return lines[seen], nil
			}
		}
		select {
		case <-wake:
		case <-done:
			// The program exited: its last lines are all there.
			w.mu.Lock()
			more := len(w.lines) > seen
			w.mu.Unlock()
			if !more {
				return "", errors.New("the program exited")
			}
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
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

// TestGatewayMosquittoClients drives "cellmqtt gateway" with mosquitto_pub
// and mosquitto_sub (CELLMQTT_INTEROP=1): messages through it in MQTT 3.1.1
// and 5, and a third client refused with "server unavailable" while two
// hold both client indexes of the modem.
func TestGatewayMosquittoClients(t *testing.T) {
	if os.Getenv("CELLMQTT_INTEROP") != "1" {
		t.Skip("set CELLMQTT_INTEROP=1 to run mosquitto_pub and mosquitto_sub through the gateway")
	}
	addr := startGatewayWith(t, io.Discard, "--index-wait", "3s") // the third client's refusal comes sooner
	host, port, _ := net.SplitHostPort(addr)
	mosquitto := func(tool, version string, args ...string) *exec.Cmd {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		t.Cleanup(cancel)
		return exec.CommandContext(ctx, tool, append([]string{"-h", host, "-p", port, "-V", version}, args...)...)
	}
	for _, version := range []string{"mqttv311", "mqttv5"} {
		t.Run(version, func(t *testing.T) {
			topic := "gw/" + version
			// Each client comes right after the previous one left; it is
			// served even when the gateway has not read that one's
			// DISCONNECT yet.
			if out, err := mosquitto("mosquitto_pub", version, "-i", "pub-"+version, "-t", topic, "-m", "hello", "-q", "1", "-r").CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_pub: %v: %s", err, out)
			}
			out, err := mosquitto("mosquitto_sub", version, "-i", "sub-"+version, "-t", topic, "-C", "1", "-v").CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != topic+" hello" {
				t.Fatalf("mosquitto_sub: %v: %q", err, out)
			}

			var holds []mqtt.Client
			for i := range 2 {
				h := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).
					SetClientID(fmt.Sprintf("hold-%s-%d", version, i)).SetAutoReconnect(false))
				waitPaho(t, h.Connect(), "client holding an index")
				holds = append(holds, h)
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
		// Issue 15 point 9: refused at start, not at every client.
		{"broker address with a quote", []string{"--sim", "--broker", `tcp://a"b:1883`}, "server_addr"},
		{"broker address with a line break", []string{"--sim", "--broker", "tcp://a\nb:1883"}, "--broker"},
		// Point 4: --sim has no port.
		{"--port with --sim", []string{"--sim", "--port", "/dev/ttyUSB2"}, "exclude each other"},
		// Point 13: who may act as the device.
		{"open listener without authentication or TLS", []string{"--sim", "--listen", "0.0.0.0:0"}, "--insecure-listen"},
		{"every interface without authentication or TLS", []string{"--sim", "--listen", ":1883"}, "--insecure-listen"},
		{"local user without password", []string{"--sim", "--local-user", "u"}, "go together"},
		{"listen certificate without key", []string{"--sim", "--listen-cert", "c.pem"}, "go together"},
		{"password file that does not exist", []string{"--sim", "--password-file", "/nonexistent/passwd"}, "password file"},
		{"broker password without user", []string{"--sim", "--pw", "x"}, "--pw needs --username"},
		{"broker user with a quote", []string{"--sim", "--username", `a"b`}, "--username"},
		{"no publish window", []string{"--sim", "--max-inflight", "0"}, "--max-inflight"},
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
	for _, want := range []string{"--listen", "--broker", "--sim", "mosquitto_pub", "server unavailable",
		"device's identity", "--password-file", "--local-user", "--listen-cert", "--insecure-listen",
		"publishes it on the client's behalf", "closed without CONNACK", "10240", "1024 bytes"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help text lacks %q", want)
		}
	}
}

// TestGatewaySimBaud: with --sim, --baud is the emulated line speed
// (issue 15 point 4: it was accepted and ignored).
func TestGatewaySimBaud(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"--sim", "--baud", "9600"}, 9600},
		{[]string{"--sim"}, 0}, // unlimited, as "cellmqtt sim"
	}
	for _, tt := range tests {
		fs, g := newGatewayFlags()
		if _, err := fs.parse(tt.args, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		if err := g.check(fs.isSet); err != nil {
			t.Fatal(err)
		}
		if got := g.modem.simConfig(atmodem.A7600).Baud; got != tt.want {
			t.Errorf("%v: emulated line speed %d, want %d", tt.args, got, tt.want)
		}
	}
}

// TestGatewayLogsDroppedInboundMessage: a message the modem cannot deliver
// (over 10240 bytes) is logged at WARN with its topic and size without
// --trace (issue 15 point 6: only --trace showed it).
func TestGatewayLogsDroppedInboundMessage(t *testing.T) {
	b, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	log := newLogWatch()
	addr := startGatewayWith(t, log, "--broker", b.URL())
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("gw-big-sub").SetAutoReconnect(false))
	waitPaho(t, sub.Connect(), "connect")
	defer sub.Disconnect(250)
	waitPaho(t, sub.Subscribe("big/#", 1, nil), "subscribe")
	direct := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("gw-big-pub"))
	waitPaho(t, direct.Connect(), "connect to the broker")
	defer direct.Disconnect(250)
	waitPaho(t, direct.Publish("big/one", 1, false, make([]byte, 11000)), "publish 11000 bytes")
	line := log.waitLine(t, "WARN", "big/one", "11000")
	t.Logf("logged: %s", line)
}

// TestGatewayLocalUser: a gateway listening on every interface with
// --local-user/--local-password lets in only clients that give them
// (issue 15 point 13: every local client reached the broker as the device).
func TestGatewayLocalUser(t *testing.T) {
	addr := startGatewayWith(t, io.Discard, "--listen", "0.0.0.0:0", "--local-user", "gw", "--local-password", "pw")
	_, port, _ := net.SplitHostPort(addr)
	tests := []struct {
		name, user, pass string
		rc               byte
	}{
		{"anonymous", "", "", 5},
		{"wrong password", "gw", "guess", 4},
		{"local user", "gw", "pw", 0},
	}
	for _, tt := range tests {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://127.0.0.1:" + port).SetClientID("gw-local-" + tt.name).
			SetUsername(tt.user).SetPassword(tt.pass).SetAutoReconnect(false))
		tok := c.Connect()
		if !tok.WaitTimeout(20 * time.Second) {
			t.Fatalf("%s: no CONNACK", tt.name)
		}
		if rc := tok.(*mqtt.ConnectToken).ReturnCode(); rc != tt.rc {
			t.Errorf("%s: return code %d (%v), want %d", tt.name, rc, tok.Error(), tt.rc)
		}
		if tt.rc == 0 {
			waitPaho(t, c.Publish("local/x", 1, false, "ok"), "publish")
			c.Disconnect(250)
		}
	}
}
