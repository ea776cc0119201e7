package main

import (
	"bufio"
	"context"
	"io"
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
