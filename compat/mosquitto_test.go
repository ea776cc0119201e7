package compat

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// testBroker is the broker behind the emulated modem: the embedded mochi
// broker, or (under CELLMQTT_INTEROP=1) a mosquitto started by the test.
type testBroker interface {
	URL() string
	Addr() string
	// Publish sends a message from the broker's side, as another client.
	Publish(topic string, payload []byte, retain bool, qos byte) error
	Close() error
}

// interop reports whether the mosquitto tests run.
func interop() bool { return os.Getenv("CELLMQTT_INTEROP") == "1" }

// mosquittoBroker is a mosquitto process on a free loopback port, with a
// plain client connected to it for Publish.
type mosquittoBroker struct {
	cmd    *exec.Cmd
	exited <-chan error
	addr   string
	pub    mqtt.Client
}

// startMosquitto starts mosquitto; with a user name, only that user and
// password are let in.
func startMosquitto(t testing.TB, user, pass string) *mosquittoBroker {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("CELLMQTT_INTEROP=1 but mosquitto is not installed (apt-get install mosquitto mosquitto-clients)")
		}
	}
	// mosquitto started as root drops to the "mosquitto" user, which must
	// be able to read the password file: a world-readable directory.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	auth := "allow_anonymous true\n"
	if user != "" {
		pw := filepath.Join(dir, "passwd")
		if out, err := exec.Command("mosquitto_passwd", "-b", "-c", pw, user, pass).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v: %s", err, out)
		}
		if err := os.Chmod(pw, 0o644); err != nil {
			t.Fatal(err)
		}
		auth = "allow_anonymous false\npassword_file " + pw + "\n"
	}
	// The free port is found by listening and closing; another process may
	// take it before mosquitto does, so a mosquitto that exits at once is
	// started again on another port.
	var lastErr string
	for range 3 {
		b, early, err := runMosquitto(bin, dir, auth, user, pass)
		if err != nil {
			t.Fatal(err)
		}
		if b != nil {
			return b
		}
		lastErr = early
	}
	t.Fatalf("mosquitto did not start: %s", lastErr)
	return nil
}

// runMosquitto starts mosquitto on a free port and connects the publisher.
// It returns (nil, its output, nil) when mosquitto exited before it
// accepted a connection.
func runMosquitto(bin, dir, auth, user, pass string) (*mosquittoBroker, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	confFile := filepath.Join(dir, "mosquitto.conf")
	conf := fmt.Sprintf("listener %d 127.0.0.1\npersistence false\n", port) + auth
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		return nil, "", err
	}
	b := &mosquittoBroker{cmd: exec.Command(bin, "-c", confFile), addr: "127.0.0.1:" + strconv.Itoa(port)}
	var logs bytes.Buffer
	b.cmd.Stdout, b.cmd.Stderr = &logs, &logs
	if err := b.cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("starting mosquitto: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- b.cmd.Wait() }()
	b.exited = exited
	// mosquitto listens soon after it started; connect until it does.
	deadline := time.Now().Add(waitTimeout)
	for {
		b.pub = mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("mosquitto-publisher").
			SetUsername(user).SetPassword(pass).SetAutoReconnect(false).SetConnectTimeout(time.Second))
		tok := b.pub.Connect()
		if tok.WaitTimeout(waitTimeout) && tok.Error() == nil {
			return b, "", nil
		}
		if time.Now().After(deadline) {
			_ = b.Close()
			return nil, "", fmt.Errorf("mosquitto on %s: %v\n%s", b.addr, tok.Error(), logs.String())
		}
		select {
		case err := <-exited:
			return nil, fmt.Sprintf("%v: %s", err, logs.String()), nil
		case <-time.After(20 * time.Millisecond): // waiting for another process to listen
		}
	}
}

func (b *mosquittoBroker) URL() string  { return "tcp://" + b.addr }
func (b *mosquittoBroker) Addr() string { return b.addr }

func (b *mosquittoBroker) Publish(topic string, payload []byte, retain bool, qos byte) error {
	tok := b.pub.Publish(topic, qos, retain, payload)
	if !tok.WaitTimeout(waitTimeout) {
		return fmt.Errorf("mosquitto publish %s: timed out", topic)
	}
	return tok.Error()
}

func (b *mosquittoBroker) Close() error {
	if b.pub != nil {
		b.pub.Disconnect(100)
	}
	_ = b.cmd.Process.Kill()
	<-b.exited
	return nil
}

// brokerKinds are the brokers the integration tests run against.
func brokerKinds() []string { return []string{"mochi", "mosquitto"} }

// skipUnlessInterop skips the mosquitto variant of a test without
// CELLMQTT_INTEROP=1.
func skipUnlessInterop(t *testing.T, kind string) {
	t.Helper()
	if kind == "mosquitto" && !interop() {
		t.Skip("set CELLMQTT_INTEROP=1 to run against mosquitto (apt-get install mosquitto mosquitto-clients)")
	}
}
