package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/bridge"
	"github.com/cellmqtt/cellmqtt/modemsim"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestBridgeUsage: bad flags and configurations exit 2 with a message that
// names the problem, before the modem is used.
func TestBridgeUsage(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.conf", "connection c\naddress 127.0.0.1:1\ntopic a out 1\n")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--sim"}, "no address"},
		{[]string{"--sim", "--address", "127.0.0.1:1"}, "no topic"},
		{[]string{"--sim", "--address", "127.0.0.1:1", "--topic", "a sideways"}, `invalid direction "sideways"`},
		{[]string{"--sim", "-c", write("psk.conf", "connection c\naddress a\nbridge_psk 00\ntopic a\n")}, "psk.conf:3: bridge_psk: the modem's MQTT client has no TLS-PSK"},
		{[]string{"--sim", "-c", filepath.Join(dir, "missing.conf")}, "missing.conf"},
		{[]string{"--sim", "-c", good, "--connection", "x"}, "--connection: the name comes from the file"},
		{[]string{"--sim", "-c", good, "--local", "tcp://127.0.0.1:1", "--listen", "127.0.0.1:0"}, "--listen and --local"},
		{[]string{"--sim", "-c", good, "--queue-policy", "later"}, `--queue-policy "later"`},
		{[]string{"--sim", "-c", good, "--local", "tcp://127.0.0.1:1", "--queue-policy", "reject", "--queue-dir", dir}, "queue policy reject with an existing local broker"},
		{[]string{"--sim", "-c", good, "--local", "http://x", "--queue-dir", dir}, `local broker "http://x": want tcp://HOST:PORT`},
		{[]string{"--sim", "-c", good, "--status-topic", "a/#", "--queue-dir", dir}, `status topic "a/#"`},
		{[]string{"--sim", "-c", good, "extra"}, `unexpected argument "extra"`},
		// Who may act as the device (issue 16, with the gateway's rule).
		{[]string{"--sim", "-c", good, "--listen", "0.0.0.0:0"}, "--insecure-listen"},
		{[]string{"--sim", "-c", good, "--listen", ":1883"}, "--insecure-listen"},
		{[]string{"--sim", "-c", write("open.conf", "listener 1883\nconnection c\naddress 127.0.0.1:1\ntopic a out 1\n")}, "allow_anonymous true"},
		{[]string{"--sim", "-c", good, "--local-user", "u"}, "--local-user and --local-password go together"},
		{[]string{"--sim", "-c", good, "--listen-cert", "c.pem"}, "--listen-cert and --listen-key go together"},
		{[]string{"--sim", "-c", good, "--password-file", filepath.Join(dir, "missing-passwd")}, "password file"},
		{[]string{"--sim", "-c", write("plain.passwd.conf", "password_file "+write("plain.passwd", "alice:secret\n")+"\nconnection c\naddress 127.0.0.1:1\ntopic a out 1\n")}, "plain-text passwords are not accepted"},
		{[]string{"--sim", "-c", write("noanon.conf", "allow_anonymous false\nconnection c\naddress 127.0.0.1:1\ntopic a out 1\n")}, "allow_anonymous false without password_file"},
		{[]string{"--sim", "-c", good, "--local", "tcp://127.0.0.1:1", "--password-file", "pw"}, "--listen and --local"},
		{[]string{"--sim", "-c", write("pwlocal.conf", "password_file pw\nconnection c\naddress 127.0.0.1:1\ntopic a out 1\n"), "--local", "tcp://127.0.0.1:1"}, "pwlocal.conf: the listener keywords"},
		{[]string{"--sim", "-c", write("cafile.conf", "cafile ca.pem\nconnection c\naddress 127.0.0.1:1\ntopic a out 1\n")}, "cafile.conf:1: cafile: the local listener does not check client certificates"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stderr strings.Builder
			code := run(context.Background(), append([]string{"bridge"}, tc.args...), strings.NewReader(""), io.Discard, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr.String(), tc.want)
			}
		})
	}
}

// TestBridgeCommand runs "cellmqtt bridge --sim" in-process against an
// embedded broker: a local client's message goes out, and the command
// exits 0 on the signal.
func TestBridgeCommand(t *testing.T) {
	remote, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"bridge", "--sim", "--address", remote.Addr(), "--topic", "up/# out 1",
			"--listen", "127.0.0.1:0", "--queue-dir", t.TempDir()}, strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatal("the bridge printed nothing")
	}
	addr := strings.TrimPrefix(sc.Text(), "listening on ")
	go io.Copy(io.Discard, pr)

	got := make(chan string, 1)
	far := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(remote.URL()).SetClientID("far").SetAutoReconnect(false))
	if tok := far.Connect(); !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer far.Disconnect(0)
	far.Subscribe("up/#", 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }).Wait()
	local := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("local").SetAutoReconnect(false))
	if tok := local.Connect(); !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	local.Publish("up/x", 1, false, "over the bridge").Wait()
	select {
	case m := <-got:
		if m != "over the bridge" {
			t.Errorf("received %q", m)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the message did not cross the bridge")
	}
	local.Disconnect(100)
	cancel()
	if code := <-exit; code != exitOK {
		t.Errorf("exit %d after the signal, want 0", code)
	}
}

// TestBridgeHelp: the help says who may act as the device and what a
// local client can expect.
func TestBridgeHelp(t *testing.T) {
	var stdout strings.Builder
	if code := run(context.Background(), []string{"bridge", "--help"}, strings.NewReader(""), &stdout, io.Discard); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	help := strings.Join(strings.Fields(stdout.String()), " ")
	for _, want := range []string{"Every local client acts with the device's identity", "--password-file", "--local-user", "--local-password",
		"--listen-cert", "--listen-key", "--insecure-listen", "allow_anonymous true", "password_file", "not authorized",
		"not retained", "at the QoS of the in rule", "--queue-policy block", "drop-oldest", "kill -9"} {
		if !strings.Contains(help, want) {
			t.Errorf("help text lacks %q", want)
		}
	}
}

// startBridge runs "cellmqtt bridge --sim" in-process with args against
// the remote broker at remote (host:port) and returns the address it
// prints; the test's cleanup stops it and wants exit status 0.
func startBridge(t *testing.T, remote string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &gatewayOutput{lines: make(chan string, 16)}
	exit := make(chan int, 1)
	args = append([]string{"bridge", "--sim", "--address", remote, "--queue-dir", t.TempDir()}, args...)
	stderr := newLogWatch()
	go func() { exit <- run(ctx, args, strings.NewReader(""), out, stderr) }()
	t.Cleanup(func() {
		cancel()
		if code := <-exit; code != exitOK {
			t.Errorf("bridge exit code %d after the signal, want 0", code)
		}
	})
	select {
	case line := <-out.lines:
		return strings.TrimPrefix(line, "listening on ")
	case code := <-exit:
		exit <- code
		t.Fatalf("bridge %v exited with %d before listening: %s", args, code, stderr.text())
	case <-time.After(20 * time.Second):
		t.Fatal("the bridge did not print its address")
	}
	return ""
}

// TestBridgeListenerSecurity: the local broker's listener with TLS and a
// mosquitto password file, from the flags and from mosquitto's keywords in
// the file: a client that verifies the certificate and gives credentials
// of the file is let in and reaches the remote broker; one without
// credentials gets CONNACK "not authorized" (5), one with a wrong password
// "bad user name or password" (4); plain MQTT to the TLS port gets no
// CONNACK. On loopback, without either, every client is let in.
func TestBridgeListenerSecurity(t *testing.T) {
	remote, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	far := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(remote.URL()).SetClientID("far").SetAutoReconnect(false))
	waitPaho(t, far.Connect(), "connect to the remote broker")
	defer far.Disconnect(0)
	got := make(chan string, 10)
	waitPaho(t, far.Subscribe("up/#", 1, func(_ mqtt.Client, m mqtt.Message) { got <- m.Topic() }), "subscribe")

	dir := t.TempDir()
	certFile, keyFile := writeServerCert(t, dir)
	pw := filepath.Join(dir, "passwd")
	// Written by "mosquitto_passwd -c -b passwd alice secret" (2.0.11).
	if err := os.WriteFile(pw, []byte("alice:$7$101$gZhUsrcr3KT3idoO$5Xgruvei2CfdcVRQ/PQggFe0KDiEZo77zOhLJGkXh4uVXe7FA0xj9MNWeFaGaNVoYoP7x4Z8ZRGLoeZ7o9VNyg==\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "tls.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("listener 0 127.0.0.1\ncertfile %s\nkeyfile %s\npassword_file %s\nconnection c\ntopic up/# out 1\n", certFile, keyFile, pw)), 0o644); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	verifying := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}

	tests := []struct {
		name   string
		args   []string
		scheme string // of the local clients
		auth   bool
	}{
		{"flags", []string{"--topic", "up/# out 1", "--listen", "127.0.0.1:0", "--listen-cert", certFile, "--listen-key", keyFile, "--password-file", pw}, "ssl", true},
		{"mosquitto keywords", []string{"-c", conf}, "ssl", true},
		{"open on loopback", []string{"--topic", "up/# out 1", "--listen", "127.0.0.1:0"}, "tcp", false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := startBridge(t, remote.Addr(), tc.args...)
			_, port, _ := net.SplitHostPort(addr)
			url := tc.scheme + "://127.0.0.1:" + port
			connectAs := func(id, user, pass string) mqtt.Client {
				return mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetTLSConfig(verifying).SetClientID(id).
					SetUsername(user).SetPassword(pass).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
			}
			if tc.auth {
				for _, c := range []struct {
					user, pass string
					rc         byte
				}{{"", "", 5}, {"alice", "guess", 4}} {
					tok := connectAs("refused", c.user, c.pass).Connect()
					if !tok.WaitTimeout(20 * time.Second) {
						t.Fatalf("%q/%q: no CONNACK", c.user, c.pass)
					}
					if rc := tok.(*mqtt.ConnectToken).ReturnCode(); rc != c.rc {
						t.Errorf("%q/%q: return code %d (%v), want %d", c.user, c.pass, rc, tok.Error(), c.rc)
					}
				}
				plain := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://127.0.0.1:" + port).SetClientID("plain").
					SetUsername("alice").SetPassword("secret").SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
				if tok := plain.Connect(); tok.WaitTimeout(20*time.Second) && tok.Error() == nil {
					plain.Disconnect(0)
					t.Error("plain MQTT to the TLS listener was let in")
				}
			}
			user, pass := "", ""
			if tc.auth {
				user, pass = "alice", "secret"
			}
			c := connectAs("let-in", user, pass)
			waitPaho(t, c.Connect(), "connect")
			topic := fmt.Sprintf("up/%d", i)
			waitPaho(t, c.Publish(topic, 1, false, "through the bridge"), "publish")
			c.Disconnect(100)
			select {
			case m := <-got:
				if m != topic {
					t.Errorf("the remote broker got %s, want %s", m, topic)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the message did not cross the bridge")
			}
		})
	}
}

// TestBridgeInsecureListen: an address other machines reach, with neither
// credentials nor TLS, is accepted when --insecure-listen (or
// allow_anonymous true in the file) says so; TestBridgeUsage has it
// refused otherwise. Only the flags are checked: the test opens nothing
// beyond loopback.
func TestBridgeInsecureListen(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "open.conf")
	if err := os.WriteFile(conf, []byte("listener 1883\nallow_anonymous true\nconnection c\naddress 127.0.0.1:1\ntopic a out 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--sim", "--address", "127.0.0.1:1", "--topic", "a out 1", "--listen", "0.0.0.0:1883", "--insecure-listen"},
		{"--sim", "-c", conf},
	} {
		fs, f := newBridgeFlags()
		if _, err := fs.parse(args, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		if err := f.check(fs); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		cfg, err := f.configFile()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if err := f.listenerConfig(cfg, fs.isSet); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// TestBridgeContrib: the example configuration parses, and the command
// lines of the systemd unit and the OpenWrt init script are valid flags.
func TestBridgeContrib(t *testing.T) {
	root := filepath.Join("..", "..", "contrib")
	if _, err := bridge.ParseFile(filepath.Join(root, "bridge.conf")); err != nil {
		t.Errorf("contrib/bridge.conf: %v", err)
	}
	unit, err := os.ReadFile(filepath.Join(root, "systemd", "cellmqtt-bridge.service"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ExecStart=\S+ bridge (.*)$`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("no ExecStart line running cellmqtt bridge in the unit")
	}
	checkBridgeArgs(t, "systemd unit", strings.Fields(string(m[1])))

	script, err := os.ReadFile(filepath.Join(root, "openwrt", "cellmqtt-bridge"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, v := range regexp.MustCompile(`(?m)^([A-Z]+)=(\S+)`).FindAllSubmatch(script, -1) {
		vars[string(v[1])] = string(v[2])
	}
	m = regexp.MustCompile(`procd_set_param command "\$PROG" bridge (.*)`).FindSubmatch(script)
	if m == nil {
		t.Fatal("no procd command running cellmqtt bridge in the init script")
	}
	var args []string
	for _, a := range strings.Fields(string(m[1])) {
		a = strings.Trim(a, `"`)
		if strings.HasPrefix(a, "$") {
			v, ok := vars[a[1:]]
			if !ok {
				t.Fatalf("init script: %s is not set", a)
			}
			a = v
		}
		args = append(args, a)
	}
	checkBridgeArgs(t, "OpenWrt init script", args)
}

// checkBridgeArgs parses args as the bridge's flags and checks them.
func checkBridgeArgs(t *testing.T, where string, args []string) {
	t.Helper()
	fs, f := newBridgeFlags()
	var stderr strings.Builder
	if _, err := fs.parse(args, io.Discard, &stderr); err != nil {
		t.Errorf("%s: %v %s", where, err, stderr.String())
		return
	}
	if err := f.check(fs); err != nil {
		t.Errorf("%s: %v", where, err)
	}
}
