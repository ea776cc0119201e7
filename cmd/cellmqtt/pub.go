package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/atmodem"
)

func init() {
	register(command{
		name:    "pub",
		summary: "publish messages through the modem (flags as mosquitto_pub)",
		run:     runPub,
	})
}

// pubFlags are the flags of "cellmqtt pub".
type pubFlags struct {
	mqtt    mqttFlags
	modem   modemFlags
	topic   string
	message string
	file    string
	stdin   bool // -s: all of stdin is one message
	lines   bool // -l: each line of stdin is a message
	null    bool // -n: a zero-length message
	qos     int
	retain  bool
}

// newPubFlags defines the flags and help of "cellmqtt pub".
func newPubFlags() (*flagSet, *pubFlags) {
	fs := newFlagSet("pub", "cellmqtt pub -t TOPIC (-m MESSAGE | -f FILE | -s | -l | -n) [flags]", `
Publishes one message (or one per line of stdin with -l) through the MQTT
client of the modem, then disconnects. The flags are mosquitto_pub's where
they apply; the modem flags say which modem. Payloads are binary-safe, up to
10240 bytes each; topics are up to 1024 bytes.

Exit status: 0 published, 1 the modem, the link or the broker failed (the
error names the modem's result code and the manual's text), 2 bad flags or
input (nothing was sent).`)
	p := &pubFlags{}
	const msg = "Message"
	fs.String(&p.topic, "t,topic", "TOPIC", "", msg, "topic to publish to")
	fs.String(&p.message, "m,message", "TEXT", "", msg, "the payload")
	fs.String(&p.file, "f,file", "FILE", "", msg, "send the content of FILE as the payload")
	fs.Bool(&p.stdin, "s,stdin-file", msg, "send all of stdin as one payload")
	fs.Bool(&p.lines, "l,stdin-line", msg, "send each line of stdin as a message (blank lines are skipped)")
	fs.Bool(&p.null, "n,null-message", msg, "send a zero-length payload")
	fs.Int(&p.qos, "q,qos", "0|1|2", 0, msg, "quality of service")
	fs.Bool(&p.retain, "r,retain", msg, "ask the broker to retain the message")
	p.mqtt.register(fs, "pub")
	p.modem.register(fs, true)
	fs.example(
		"cellmqtt pub --sim -t hello -m world",
		"cellmqtt pub --port /dev/ttyUSB2 --apn internet -h test.mosquitto.org -t cellmqtt/hello -m 'from a modem' -q 1",
		"cellmqtt pub --port auto -h broker.example.com -p 8883 --cafile ca.pem -u dev1 -P s3cret -t dev1/state -f state.json -r",
		"sensor-reader | cellmqtt pub --port auto -h broker.example.com -t dev1/readings -l -q 1",
	)
	return fs, p
}

// check validates the pub flags; nothing is opened yet.
func (p *pubFlags) check() error {
	if p.topic == "" {
		return badInput("no topic: give -t TOPIC")
	}
	sources := 0
	for _, set := range []bool{p.message != "", p.file != "", p.stdin, p.lines, p.null} {
		if set {
			sources++
		}
	}
	if sources == 0 {
		return badInput("no message: give one of -m, -f, -s, -l or -n")
	}
	if sources > 1 {
		return badInput("-m, -f, -s, -l and -n exclude each other")
	}
	if p.qos < 0 || p.qos > 2 {
		return badInput("-q %d: want 0, 1 or 2", p.qos)
	}
	if err := p.modem.check(); err != nil {
		return err
	}
	if err := p.mqtt.check(p.modem.sim, p.modem.model); err != nil {
		return err
	}
	model, _ := parseModel(p.modem.model)
	if err := checkTopic("-t", p.topic, false, model); err != nil {
		return err
	}
	if p.message != "" {
		return checkLen("-m", len(p.message), model.Limits().Payload, model)
	}
	return nil
}

// payload returns the single payload of -m, -f, -s or -n.
func (p *pubFlags) payload(stdin io.Reader) ([]byte, error) {
	switch {
	case p.file != "":
		b, err := os.ReadFile(p.file)
		if err != nil {
			return nil, badInput("-f: %w", err)
		}
		return b, checkLen("-f "+p.file, len(b), atmodem.A7600.Limits().Payload, atmodem.AutoDetect)
	case p.stdin:
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading stdin: %w", err)
		}
		return b, nil
	case p.null:
		return nil, nil
	}
	return []byte(p.message), nil
}

// runPub is "cellmqtt pub".
func runPub(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, p := newPubFlags()
	if _, err := fs.parse(args, stdout, stderr); err != nil {
		return parseExit(err)
	}
	if err := p.check(); err != nil {
		return fail(stderr, "pub", err)
	}
	var single []byte
	if !p.lines {
		b, err := p.payload(stdin)
		if err != nil {
			return fail(stderr, "pub", err)
		}
		single = b
	}
	if err := publish(ctx, p, single, stdin, stderr); err != nil {
		return fail(stderr, "pub", err)
	}
	return exitOK
}

// publish connects, sends the message(s) and disconnects.
func publish(ctx context.Context, p *pubFlags, single []byte, stdin io.Reader, stderr io.Writer) error {
	l, err := p.modem.open(ctx, stderr, p.mqtt.host == "")
	if err != nil {
		return err
	}
	defer l.Close()
	opts, err := p.mqtt.clientOptions("pub", &p.modem, l)
	if err != nil {
		return err
	}
	// A line publisher runs for long: let it ride out link losses.
	opts.SetAutoReconnect(p.lines).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(30 * time.Second)
	if p.lines {
		opts.SetConnectionLostHandler(func(_ cellmqtt.Client, err error) {
			fmt.Fprintf(stderr, "cellmqtt pub: connection lost: %s; reconnecting\n", describe(err))
		})
	}
	c := cellmqtt.NewClient(opts)
	if err := waitToken(ctx, c.Connect(), stderr, "connecting to "+opts.Servers[0]); err != nil {
		c.Disconnect(0)
		return during("connecting to "+opts.Servers[0], err)
	}
	defer c.Disconnect(1000)
	send := func(payload []byte) error {
		return during("publishing", waitToken(ctx, c.Publish(p.topic, byte(p.qos), p.retain, payload), stderr, "publishing"))
	}
	if !p.lines {
		return send(single)
	}
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		if err := send(append([]byte(nil), line...)); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading stdin: %w", err)
	}
	return nil
}
