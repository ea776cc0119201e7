package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/modemsim"
)

// TestSimCommand runs "cellmqtt sim" in-process on a TCP port with the
// embedded broker, talks AT to it, and stops it by cancelling the context.
func TestSimCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	var stderr strings.Builder
	go func() {
		code <- runSim(ctx, []string{"--model", "sim7600", "--broker", "embedded", "--echo", "off", "--result-first"}, nil, pw, &stderr)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var addr string
	for addr == "" && lines.Scan() {
		if _, a, ok := strings.Cut(lines.Text(), "AT port on TCP: tcp://"); ok {
			addr = a
		}
	}
	if addr == "" {
		t.Fatalf("no TCP address printed; stderr %q", stderr.String())
	}
	go func() { // drain the rest of stdout
		for lines.Scan() {
		}
	}()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("AT+CMQTTSTART\r")); err != nil {
		t.Fatal(err)
	}
	want := "\r\n+CMQTTSTART: 0\r\n\r\nOK\r\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	cancel()
	if c := <-code; c != exitOK {
		t.Errorf("exit code %d, stderr %q", c, stderr.String())
	}
}

func TestSimCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--model", "nokia"},
		{"--broker", "localhost:1883"},
		{"--baud", "-1"},
		{"--echo", "maybe"},
		{"--latency", "-5s"},
		{"--rtt", "-1s"},
		{"--pipeline", "maybe"},
		{"--rx-chunk", "0"},
		{"--boot", "nokia"},
		{"--mqtt-default", "5"},
		{"--booting-lines", "-1"},
		{"extra"},
		{"--nosuchflag"},
	} {
		var out, errOut strings.Builder
		if c := runSim(context.Background(), args, nil, &out, &errOut); c != exitUsage {
			t.Errorf("%q: exit %d, want %d (stderr %q)", args, c, exitUsage, errOut.String())
		}
	}
	var out strings.Builder
	if c := runSim(context.Background(), []string{"--help"}, nil, &out, io.Discard); c != exitOK || !strings.Contains(out.String(), "cellmqtt sim --broker embedded --pty") {
		t.Errorf("--help: exit %d, text %q", c, out.String())
	}
}

// TestSimPipelineFlags: --pipeline and --rtt reach the emulator's
// configuration.
func TestSimPipelineFlags(t *testing.T) {
	f := simFlags{model: "a7600", broker: "embedded", echo: "on", rxChunk: 1500, boot: "model", mqttDefault: "3.1",
		pipeline: "accept", rtt: 300 * time.Millisecond}
	cfg, err := f.config(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Pipeline != modemsim.PipelineAccept || cfg.RTT != 300*time.Millisecond {
		t.Fatalf("Pipeline %v, RTT %v", cfg.Pipeline, cfg.RTT)
	}
}

// TestSimControl drives the fault-injection console.
func TestSimControl(t *testing.T) {
	sim, err := modemsim.New(modemsim.Config{Echo: modemsim.EchoOff})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	conn := sim.Conn()
	defer conn.Close()
	for line, want := range map[string]string{
		"":             "",
		"help":         modemsim.InjectHelp,
		"?":            modemsim.InjectHelp,
		"drop 0 1":     "error: modemsim: client index 0 is not connected",
		"drop 0":       "error: modemsim: drop: missing CAUSE",
		"drop x 1":     `error: modemsim: drop: IDX "x" is not a number`,
		"ping 1":       "error: modemsim: client index 1 is not connected",
		"stall":        "error: modemsim: stall: missing DURATION",
		"stall 1ms":    "ok: stall",
		"unstall":      "ok: unstall",
		"dropanswer":   "ok: dropanswer",
		"restore":      "ok: restore",
		"frobnicate 1": `unknown command "frobnicate"; type help`,
	} {
		if got := simControl(sim, line); got != want {
			t.Errorf("%q: got %q, want %q", line, got, want)
		}
	}
	// Faults with an effect on the AT port.
	for _, tc := range []struct{ line, want string }{
		{"noise hello there", "hello there"},
		{"nonet", "\r\n+CMQTTNONET\r\n"},
		{"reboot", "\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n\r\n*ATREADY: 1\r\n"},
	} {
		if got := simControl(sim, tc.line); got != "ok: "+strings.Fields(tc.line)[0] {
			t.Fatalf("%q: %q", tc.line, got)
		}
		got := make([]byte, len(tc.want))
		if _, err := io.ReadFull(conn, got); err != nil || string(got) != tc.want {
			t.Fatalf("%q: AT port got %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
	if got := simControl(sim, "unplug"); got != "ok: unplug" {
		t.Fatal(got)
	}
	if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("read after unplug: %v, want EOF", err)
	}
}
