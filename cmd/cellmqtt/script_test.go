package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cellmqtt/cellmqtt/modemsim"
)

// TestMain lets the test binary act as the cellmqtt command in scripts:
// "exec cellmqtt ..." runs main in a child process, exit codes and signals
// included.
func TestMain(m *testing.M) {
	testscript.Main(leakChecked{m}, map[string]func(){"cellmqtt": main})
}

// TestScripts runs the end-to-end scripts in ../../testscript against the
// emulator (--sim) and brokers started per script:
//
//	BROKER_PORT  a broker that accepts everyone (waitsub watches it)
//	AUTH_PORT    a broker that accepts only user alice, password secret
//	TLS_PORT     a TLS broker that requires a client certificate; ca.pem,
//	             client.pem and client.key are in $WORK
//	CLOSED_PORT  a loopback port nobody listens on
//	FREE_PORT    another free loopback port, e.g. for "cellmqtt sim --listen"
//	LONG_TOPIC   a topic of 1025 bytes, one over the limit
//
// Extra commands: "exits N cmd args..." runs a program and wants exit status
// N; "waitsub TOPIC" waits for a subscription on the open broker; "waitport
// PORT" waits until something listens on a loopback port; "simtcp",
// "simfault" and "simwait" run an emulator inside the test on SIM_PORT and
// inject faults into it while cellmqtt processes use it; "mqttpub PORT
// TOPIC MESSAGE" publishes with a plain MQTT client.
//
// Scripts under CELLMQTT_INTEROP=1 ([interop]) start a mosquitto with the
// "mosquitto" command and talk to it with mosquitto_pub and mosquitto_sub.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testscript"),
		RequireExplicitExec: true,
		Setup:               setupScript,
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "interop":
				return os.Getenv("CELLMQTT_INTEROP") == "1", nil
			case "modem": // a SIMCom modem is plugged in
				_, err := autoPort()
				return err == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitsub":   cmdWaitSub,
			"waitport":  cmdWaitPort,
			"exits":     cmdExits,
			"mosquitto": cmdMosquitto,
			"simtcp":    cmdSimTCP,
			"simfault":  cmdSimFault,
			"simwait":   cmdSimWait,
			"mqttpub":   cmdMQTTPub,
			"nostderr":  cmdNoStderr,
		},
	})
}

// allowAll is a mochi hook that lets every client connect and use every topic.
type allowAll struct{ mochi.HookBase }

func (allowAll) ID() string { return "allow-all" }
func (allowAll) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}
func (allowAll) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }
func (allowAll) OnACLCheck(*mochi.Client, string, bool) bool              { return true }

// brokerKey is where a script's open broker is kept for waitsub.
const brokerKey = "broker"

// closeBroker closes srv without mochi's own client closer, which takes
// the clients' read lock twice (GetByListener, then Len) and deadlocks
// with a client leaving in between (mochi v2.7.9): the listeners are
// closed first with one that lists the clients once, so Close skips its.
func closeBroker(srv *mochi.Server) {
	srv.Listeners.CloseAll(func(id string) {
		for _, cl := range srv.Clients.GetAll() {
			if cl.Net.Listener == id && !cl.Closed() {
				_ = srv.DisconnectClient(cl, packets.ErrServerShuttingDown)
			}
		}
	})
	_ = srv.Close()
}

func setupScript(env *testscript.Env) error {
	srv := mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		return err
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "open", Address: "127.0.0.1:0"})
	if err := srv.AddListener(tcp); err != nil {
		return err
	}
	if err := srv.Serve(); err != nil {
		return err
	}
	env.Defer(func() { closeBroker(srv) })
	env.Values[brokerKey] = srv
	env.Values[simKey] = &simHolder{}
	_, port, _ := net.SplitHostPort(tcp.Address())
	env.Setenv("BROKER_PORT", port)

	authb, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{Username: "alice", Password: "secret"})
	if err != nil {
		return err
	}
	env.Defer(func() { authb.Close() })
	_, port, _ = net.SplitHostPort(authb.Addr())
	env.Setenv("AUTH_PORT", port)

	tlsCfg, err := writeTestPKI(env.WorkDir)
	if err != nil {
		return err
	}
	tlsb, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{TLS: tlsCfg})
	if err != nil {
		return err
	}
	env.Defer(func() { tlsb.Close() })
	_, port, _ = net.SplitHostPort(tlsb.Addr())
	env.Setenv("TLS_PORT", port)

	for _, name := range []string{"CLOSED_PORT", "FREE_PORT"} {
		port, err := closedPort()
		if err != nil {
			return err
		}
		env.Setenv(name, strconv.Itoa(port))
	}
	env.Setenv("LONG_TOPIC", strings.Repeat("t", 1025))
	return nil
}

// closedPort returns a loopback port that was free a moment ago.
func closedPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port, nil
}

// cmdWaitSub waits until some client of the script's open broker is
// subscribed to a filter matching TOPIC: "waitsub TOPIC".
// progressLine is a line the CLI prints while a wait takes seconds
// (waitToken): "cellmqtt: still publishing 10240 bytes (6s)".
var progressLine = regexp.MustCompile(`^cellmqtt: still .+ \(\w+\)$`)

// cmdNoStderr fails when the last command wrote anything to stderr but
// progress lines: whether a step took seconds depends on the machine's
// load, not on the CLI, so a script does not assert it.
func cmdNoStderr(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: nostderr")
	}
	for _, line := range strings.Split(ts.ReadFile("stderr"), "\n") {
		if line != "" && !progressLine.MatchString(line) {
			ts.Fatalf("unexpected stderr: %q", line)
		}
	}
}

func cmdWaitSub(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitsub TOPIC")
	}
	srv := ts.Value(brokerKey).(*mochi.Server)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if len(srv.Topics.Subscribers(args[0]).Subscriptions) > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond) // polling the broker's index; nothing to await
	}
	ts.Fatalf("nobody subscribed to %s within 20s", args[0])
}

// cmdExits runs a program like exec and checks its exit status:
// "exits 2 cellmqtt pub -x". Its output is kept for stdout and stderr.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// cmdWaitPort waits until something accepts connections on a loopback
// port: "waitport PORT".
func cmdWaitPort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitport PORT")
	}
	if err := waitListening(args[0], 20*time.Second); err != nil {
		ts.Fatalf("%v", err)
	}
}

// waitListening polls a loopback port until it accepts a connection.
func waitListening(port string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on 127.0.0.1:%s after %s: %v", port, limit, err)
		}
		time.Sleep(20 * time.Millisecond) // waiting for another process to listen
	}
}

// cmdMosquitto starts a mosquitto broker on a free loopback port for the
// rest of the script and sets MOSQ_PORT: "mosquitto". It fails (never
// skips) when mosquitto is not installed: interop scripts must run.
func cmdMosquitto(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: mosquitto")
	}
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
		if _, err := os.Stat(bin); err != nil {
			ts.Fatalf("mosquitto is not installed (apt-get install mosquitto mosquitto-clients)")
		}
	}
	port, err := closedPort()
	if err != nil {
		ts.Fatalf("%v", err)
	}
	conf := filepath.Join(ts.Getenv("WORK"), "mosquitto.conf")
	body := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\n", port)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		ts.Fatalf("%v", err)
	}
	cmd := exec.Command(bin, "-c", conf)
	if err := cmd.Start(); err != nil {
		ts.Fatalf("starting mosquitto: %v", err)
	}
	ts.Defer(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	if err := waitListening(strconv.Itoa(port), 10*time.Second); err != nil {
		ts.Fatalf("mosquitto: %v", err)
	}
	ts.Setenv("MOSQ_PORT", strconv.Itoa(port))
}
