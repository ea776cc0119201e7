package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
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
		code <- runSim(ctx, []string{"--model", "sim7600", "--broker", "embedded", "--echo", "off"}, nil, pw, &stderr)
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
	want := "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n"
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
