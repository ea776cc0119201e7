package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests run "cellmqtt gateway --sim" in front of a mosquitto they
// start, with MQTT clients this project did not write as its local
// clients: mosquitto_pub and mosquitto_sub (Debian's mosquitto-clients),
// Python paho-mqtt 1.6.1 (Debian's python3-paho-mqtt) and MQTT.js 5 (npm).
// They run under CELLMQTT_INTEROP=1, where a missing tool is a failure.

// interopTimeout bounds each interop test.
const interopTimeout = 90 * time.Second

// requireInterop skips the test without CELLMQTT_INTEROP=1 and fails it
// when one of the programs is missing.
func requireInterop(t *testing.T, programs ...string) {
	t.Helper()
	if os.Getenv("CELLMQTT_INTEROP") != "1" {
		t.Skip("set CELLMQTT_INTEROP=1 to run real MQTT clients through the gateway (apt-get install mosquitto mosquitto-clients python3-paho-mqtt)")
	}
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("CELLMQTT_INTEROP=1 but %s is missing: %v", p, err)
		}
	}
}

// mosquittoProc is a mosquitto the test starts on a free loopback port, and
// may stop and start again on the same port (a broker outage).
type mosquittoProc struct {
	t      *testing.T
	bin    string
	conf   string
	port   int
	cmd    *exec.Cmd
	exited chan error
}

func startMosquittoProc(t *testing.T) *mosquittoProc {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
		if _, err := os.Stat(bin); err != nil {
			t.Fatal("CELLMQTT_INTEROP=1 but mosquitto is not installed (apt-get install mosquitto)")
		}
	}
	port, err := closedPort()
	if err != nil {
		t.Fatal(err)
	}
	m := &mosquittoProc{t: t, bin: bin, port: port, conf: filepath.Join(t.TempDir(), "mosquitto.conf")}
	body := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", port)
	if err := os.WriteFile(m.conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	m.start()
	t.Cleanup(m.stop)
	return m
}

// start starts mosquitto and waits until it listens.
func (m *mosquittoProc) start() {
	m.t.Helper()
	m.cmd = exec.Command(m.bin, "-c", m.conf)
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("starting mosquitto: %v", err)
	}
	m.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, exited chan<- error) { exited <- cmd.Wait() }(m.cmd, m.exited)
	if err := waitListening(strconv.Itoa(m.port), 10*time.Second); err != nil {
		m.t.Fatalf("mosquitto: %v", err)
	}
}

// stop kills mosquitto (the process this test started, by its PID).
func (m *mosquittoProc) stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	<-m.exited
	m.cmd = nil
}

func (m *mosquittoProc) url() string  { return "tcp://127.0.0.1:" + strconv.Itoa(m.port) }
func (m *mosquittoProc) addr() string { return "127.0.0.1:" + strconv.Itoa(m.port) }

// proc is a client program the test runs, with its output lines (stdout
// and stderr) readable as they come.
type proc struct {
	cmd  *exec.Cmd
	out  *logWatch
	done chan struct{} // closed when the program exited
	err  error         // its exit status, once done
}

// startProc runs name with args; the test's cleanup kills it (by its PID)
// if it still runs.
func startProc(t *testing.T, ctx context.Context, env []string, name string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.CommandContext(ctx, name, args...), out: newLogWatch(), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// startMosquittoClient runs mosquitto_sub or mosquitto_pub with its
// output line-buffered (stdbuf -oL), so that its -d lines ("received
// SUBACK") arrive as they are printed, not when it exits.
func startMosquittoClient(t *testing.T, ctx context.Context, tool string, args ...string) *proc {
	t.Helper()
	if _, err := exec.LookPath("stdbuf"); err != nil {
		t.Fatalf("stdbuf (coreutils) is missing: %v", err)
	}
	return startProc(t, ctx, nil, "stdbuf", append([]string{"-oL", tool}, args...)...)
}

// output returns the lines so far.
func (p *proc) output() string { return p.out.text() }

// waitLine waits for a line holding text (until ctx ends, or the program
// exited without printing it) and returns it.
func (p *proc) waitLine(t *testing.T, ctx context.Context, text string) string {
	t.Helper()
	line, err := p.out.waitFor(ctx, p.done, text)
	if err != nil {
		t.Fatalf("%s did not print %q: %v\n%s", strings.Join(p.cmd.Args, " "), text, err, p.output())
	}
	return line
}

// wait waits for the program to exit and returns its exit error.
func (p *proc) wait(t *testing.T, ctx context.Context) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		t.Fatalf("%s still runs: %v\n%s", p.cmd.Args[0], ctx.Err(), p.output())
		return nil
	}
}

func interopContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	t.Cleanup(cancel)
	return ctx
}

// hostPort splits a gateway address for the mosquitto clients' -h and -p.
func hostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

// TestGatewayWillOfKilledMosquittoSub (issue 15 point 1): mosquitto_sub
// with a will, killed with SIGKILL while connected through the gateway: its
// will reaches a subscriber on the broker, with its QoS, on both model
// families.
func TestGatewayWillOfKilledMosquittoSub(t *testing.T) {
	requireInterop(t, "mosquitto_sub")
	for _, model := range []string{"a7600", "sim7600"} {
		t.Run(model, func(t *testing.T) {
			ctx := interopContext(t)
			broker := startMosquittoProc(t)
			addr := startGatewayWith(t, io.Discard, "--model", model, "--broker", broker.url())
			gh, gp := hostPort(t, addr)
			bh, bp := hostPort(t, broker.addr())

			watch := startMosquittoClient(t, ctx, "mosquitto_sub", "-h", bh, "-p", bp, "-t", "will/#", "-q", "1", "-v", "-d", "-C", "1")
			watch.waitLine(t, ctx, "received SUBACK")
			victim := startMosquittoClient(t, ctx, "mosquitto_sub", "-h", gh, "-p", gp, "-i", "victim-"+model, "-t", "victim/x", "-d",
				"--will-topic", "will/victim", "--will-payload", "gone", "--will-qos", "1")
			victim.waitLine(t, ctx, "received SUBACK")
			_ = victim.cmd.Process.Kill() // kill -9: no DISCONNECT
			_ = victim.wait(t, ctx)

			watch.waitLine(t, ctx, "will/victim gone")
			if line := watch.waitLine(t, ctx, "received PUBLISH"); !strings.Contains(line, "q1") {
				t.Errorf("will delivered as %q, want QoS 1", line)
			}
		})
	}
}

// pahoV5Script is a Python paho-mqtt 1.6.1 program (MQTT 5) that
// subscribes with QoS 2, prints the first message it gets, publishes at
// QoS 1 and 2, and disconnects: every acknowledgement of the QoS 2 flows
// both ways crosses the gateway.
const pahoV5Script = `
import sys
import paho.mqtt.client as mqtt

host, port = sys.argv[1], int(sys.argv[2])
c = mqtt.Client(client_id="py5", protocol=mqtt.MQTTv5)
pending = set()

def on_connect(c, userdata, flags, rc, props=None):
    print("connected", rc, flush=True)
    c.subscribe("py/#", qos=2)

def on_subscribe(c, userdata, mid, rcs, props=None):
    print("subscribed", flush=True)

def on_message(c, userdata, m):
    print("message", m.topic, m.qos, m.payload.decode(), flush=True)
    for q in (1, 2):
        pending.add(c.publish("py-out/x", "from python qos %d" % q, qos=q).mid)

def on_publish(c, userdata, mid):
    pending.discard(mid)
    if not pending:
        print("published", flush=True)
        c.disconnect()

c.on_connect, c.on_subscribe, c.on_message, c.on_publish = on_connect, on_subscribe, on_message, on_publish
c.connect(host, port, 30)
c.loop_forever()
print("done", flush=True)
`

// TestGatewayPythonPahoV5 (issue 15 point 2): Debian's paho-mqtt 1.6.1
// with MQTT 5 receives a QoS 2 message and publishes at QoS 1 and 2
// through the gateway; the gateway's PUBREL, PUBREC, PUBACK and PUBCOMP
// are packets it can read (it crashed on "62 03 00 01 00").
func TestGatewayPythonPahoV5(t *testing.T) {
	requireInterop(t, "/usr/bin/python3")
	if out, err := exec.Command("/usr/bin/python3", "-c", "import paho.mqtt.client").CombinedOutput(); err != nil {
		t.Fatalf("CELLMQTT_INTEROP=1 but python3-paho-mqtt is missing (apt-get install python3-paho-mqtt): %v: %s", err, out)
	}
	ctx := interopContext(t)
	broker := startMosquittoProc(t)
	addr := startGatewayWith(t, io.Discard, "--broker", broker.url())
	gh, gp := hostPort(t, addr)
	bh, bp := hostPort(t, broker.addr())
	script := filepath.Join(t.TempDir(), "paho5.py")
	if err := os.WriteFile(script, []byte(pahoV5Script), 0o644); err != nil {
		t.Fatal(err)
	}
	watch := startMosquittoClient(t, ctx, "mosquitto_sub", "-h", bh, "-p", bp, "-t", "py-out/#", "-q", "2", "-v", "-d", "-C", "2")
	watch.waitLine(t, ctx, "received SUBACK")

	py := startProc(t, ctx, nil, "/usr/bin/python3", script, gh, gp)
	py.waitLine(t, ctx, "subscribed")
	if out, err := exec.CommandContext(ctx, "mosquitto_pub", "-h", bh, "-p", bp, "-t", "py/in", "-m", "to python", "-q", "2").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub: %v: %s", err, out)
	}
	if line := py.waitLine(t, ctx, "message"); line != "message py/in 2 to python" {
		t.Errorf("python printed %q, want the message with QoS 2", line)
	}
	py.waitLine(t, ctx, "published")
	py.waitLine(t, ctx, "done")
	if err := py.wait(t, ctx); err != nil {
		t.Errorf("python: %v\n%s", err, py.output())
	}
	watch.waitLine(t, ctx, "py-out/x from python qos 1")
	watch.waitLine(t, ctx, "py-out/x from python qos 2")
}

// inCI reports whether the tests run in CI (.ci/run sets CELLMQTT_CI=1),
// where a missing MQTT.js is a failure, not a skip.
func inCI() bool { return os.Getenv("CELLMQTT_CI") != "" || os.Getenv("CI") != "" }

// mqttJSModules returns the node_modules folder that holds MQTT.js 5:
// $CELLMQTT_MQTTJS when set, else $HOME/.cache/cellmqtt-npm/node_modules,
// where .ci/run installs it (and where it is installed with npm when it
// is missing). Without node or npm the test is skipped, except in CI.
func mqttJSModules(t *testing.T) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if inCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("MQTT.js test skipped: node is not installed (apt-get install nodejs npm)")
	}
	dir := os.Getenv("CELLMQTT_MQTTJS")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			missing("MQTT.js test skipped: no home directory for the npm cache: %v", err)
		}
		dir = filepath.Join(home, ".cache", "cellmqtt-npm", "node_modules")
	}
	if _, err := os.Stat(filepath.Join(dir, "mqtt", "package.json")); err != nil {
		npm, lerr := exec.LookPath("npm")
		if lerr != nil {
			missing("MQTT.js test skipped: MQTT.js is not in %s and npm is not installed (apt-get install npm)", dir)
		}
		out, err := exec.Command(npm, "install", "--prefix", filepath.Dir(dir), "--no-audit", "--no-fund", "mqtt@5").CombinedOutput()
		if err != nil {
			t.Fatalf("npm install mqtt@5 into %s: %v\n%s", filepath.Dir(dir), err, out)
		}
	}
	return dir
}

// mqttJSSubScript is an MQTT.js program with the library's default options
// (reconnect every second, resubscribe after a reconnect): it subscribes
// and exits after the first message.
const mqttJSSubScript = `
const mqtt = require('mqtt');
const [url, id, topic] = process.argv.slice(2);
const c = mqtt.connect(url, { clientId: id });
c.subscribe(topic, { qos: 1 }, (err) => console.log(err ? 'suberror ' + err.message : 'subscribed'));
c.on('message', (t, p) => {
  console.log('message ' + t + ' ' + p.toString());
  c.end(false, () => process.exit(0));
});
c.on('error', (e) => console.log('error ' + e.message));
c.on('close', () => console.log('close'));
c.on('reconnect', () => console.log('reconnect'));
`

// TestGatewayClientsSurviveBrokerOutage (issue 15 point 3): unmodified
// MQTT.js and mosquitto_sub, connected through the gateway, recover from a
// broker outage of a few seconds as they do directly against mosquitto:
// while the broker is down the gateway closes their reconnects without a
// CONNACK refusal, which would end them for good.
func TestGatewayClientsSurviveBrokerOutage(t *testing.T) {
	requireInterop(t, "mosquitto_sub", "mosquitto_pub")
	modules := mqttJSModules(t)
	ctx := interopContext(t)
	broker := startMosquittoProc(t)
	log := newLogWatch()
	addr := startGatewayWith(t, log, "--broker", broker.url())
	gh, gp := hostPort(t, addr)
	bh, bp := hostPort(t, broker.addr())
	script := filepath.Join(t.TempDir(), "sub.js")
	if err := os.WriteFile(script, []byte(mqttJSSubScript), 0o644); err != nil {
		t.Fatal(err)
	}

	sub := startMosquittoClient(t, ctx, "mosquitto_sub", "-h", gh, "-p", gp, "-i", "sub-outage", "-t", "outage/#", "-q", "1", "-v", "-d", "-C", "1")
	sub.waitLine(t, ctx, "received SUBACK")
	js := startProc(t, ctx, []string{"NODE_PATH=" + modules}, "node", script, "mqtt://"+addr, "js-outage", "outage/#")
	js.waitLine(t, ctx, "subscribed")

	broker.stop()
	// Both clients tried to reconnect while the broker was down.
	log.waitLine(t, "modem refused the connection", "client=sub-outage")
	log.waitLine(t, "modem refused the connection", "client=js-outage")
	broker.start()
	if out, err := exec.CommandContext(ctx, "mosquitto_pub", "-h", bh, "-p", bp, "-t", "outage/after", "-m", "back", "-q", "1", "-r").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub: %v: %s", err, out)
	}
	js.waitLine(t, ctx, "message outage/after back")
	sub.waitLine(t, ctx, "outage/after back")
	if err := sub.wait(t, ctx); err != nil {
		t.Errorf("mosquitto_sub: %v\n%s", err, sub.output())
	}
	if err := js.wait(t, ctx); err != nil {
		t.Errorf("MQTT.js: %v\n%s", err, js.output())
	}
}

// writeServerCert writes a self-signed certificate for 127.0.0.1 and its
// key into dir, as server.pem and server.key, and returns their paths.
func writeServerCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cellmqtt gateway test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestGatewayListenerTLSAndPasswordFile (issue 15 point 13): a gateway
// listening on TLS with a mosquitto password file serves mosquitto_pub and
// mosquitto_sub that give the CA and the credentials, and refuses them
// without credentials, with a wrong password, or without TLS.
func TestGatewayListenerTLSAndPasswordFile(t *testing.T) {
	requireInterop(t, "mosquitto_pub", "mosquitto_sub", "mosquitto_passwd")
	ctx := interopContext(t)
	dir := t.TempDir()
	certFile, keyFile := writeServerCert(t, dir)
	pw := filepath.Join(dir, "passwd")
	if out, err := exec.Command("mosquitto_passwd", "-c", "-b", pw, "alice", "s3cret").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
	addr := startGatewayWith(t, io.Discard, "--listen-cert", certFile, "--listen-key", keyFile, "--password-file", pw)
	gh, gp := hostPort(t, addr)
	tlsArgs := []string{"-h", gh, "-p", gp, "--cafile", certFile}

	sub := startMosquittoClient(t, ctx, "mosquitto_sub", append(tlsArgs, "-u", "alice", "-P", "s3cret", "-t", "secure/#", "-v", "-d", "-C", "1")...)
	sub.waitLine(t, ctx, "received SUBACK")
	pub := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "mosquitto_pub", append(args, "-t", "secure/x", "-m", "hello")...).CombinedOutput()
		return string(out), err
	}
	for _, tt := range []struct {
		name string
		args []string
		want string // in the output of a refused client
	}{
		{"no credentials", tlsArgs, "not authorised"},
		{"wrong password", append(tlsArgs[:len(tlsArgs):len(tlsArgs)], "-u", "alice", "-P", "guess"), "bad user name or password"},
		{"plain MQTT to the TLS listener", []string{"-h", gh, "-p", gp, "-u", "alice", "-P", "s3cret"}, ""},
	} {
		if out, err := pub(tt.args...); err == nil || !strings.Contains(strings.ToLower(out), tt.want) {
			t.Errorf("%s: %v: %q; want a refusal (%q)", tt.name, err, out, tt.want)
		}
	}
	if out, err := pub(append(tlsArgs, "-u", "alice", "-P", "s3cret")...); err != nil {
		t.Fatalf("mosquitto_pub with TLS and credentials: %v: %s", err, out)
	}
	sub.waitLine(t, ctx, "secure/x hello")
}
