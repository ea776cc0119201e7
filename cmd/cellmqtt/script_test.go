package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cellmqtt/cellmqtt/modemsim"
	cmtest "github.com/cellmqtt/cellmqtt/testscript"
)

// TestMain lets the test binary act as the cellmqtt command in scripts:
// "exec cellmqtt ..." runs main in a child process, exit codes and signals
// included.
func TestMain(m *testing.M) {
	testscript.Main(leakChecked{m}, map[string]func(){"cellmqtt": main})
}

// TestScripts runs the end-to-end scripts in testdata/script against the
// emulator (--sim) and brokers started per script. Each script gets what
// package testscript's Setup starts (BROKER_PORT, BROKER_URL, MODEM_PORT,
// MODEM_TCP ...: a broker that accepts everyone, and an emulator the script
// injects faults into with "modem") and its commands (modem, mqtt, start,
// waitline, end, exits, waitport), plus:
//
//	AUTH_PORT    a broker that accepts only user alice, password secret
//	TLS_PORT     a TLS broker that requires a client certificate; ca.pem,
//	             client.pem and client.key are in $WORK
//	CLOSED_PORT  a loopback port nobody listens on
//	FREE_PORT    another free loopback port, e.g. for "cellmqtt sim --listen"
//	LONG_TOPIC   a topic of 1025 bytes, one over the limit
//	CR_TOPIC     "a\rb", LF_TOPIC "a\nb": topics with a control character
//
// and files in $WORK: oversize.bin (10241 bytes, one over the payload
// limit), oversize-line3.txt and oversize-line1.txt (lines for -l with one
// that long), crlf-and-blank.txt ("a\r\n\nb\n"), no-final-newline.txt;
// and the commands "nostderr" (stderr holds only progress lines) and
// "mosquitto": scripts under CELLMQTT_INTEROP=1 ([interop]) start a
// mosquitto and talk to it with mosquitto_pub and mosquitto_sub.
func TestScripts(t *testing.T) {
	cmds := cmtest.Commands()
	cmds["mosquitto"] = cmdMosquitto
	cmds["nostderr"] = cmdNoStderr
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
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
		Cmds: cmds,
	})
}

// setupScript starts what package testscript starts, then the CLI's own
// brokers and ports.
func setupScript(env *testscript.Env) error {
	if err := cmtest.Setup(env); err != nil {
		return err
	}
	authb, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{Username: "alice", Password: "secret"})
	if err != nil {
		return err
	}
	env.Defer(func() { authb.Close() })
	_, port, _ := net.SplitHostPort(authb.Addr())
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
	env.Setenv("CR_TOPIC", "a\rb")
	env.Setenv("LF_TOPIC", "a\nb")
	// Input one byte over the payload limit, for -s and -l.
	big := strings.Repeat("x", 10241)
	for name, data := range map[string]string{
		"oversize.bin":         big,
		"oversize-line3.txt":   "one\ntwo\n" + big + "\nfour\n",
		"oversize-line1.txt":   big + "\ntwo\n",
		"crlf-and-blank.txt":   "a\r\n\nb\n",
		"no-final-newline.txt": "x\ny",
	} {
		if err := os.WriteFile(filepath.Join(env.WorkDir, name), []byte(data), 0o644); err != nil {
			return err
		}
	}
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
