package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

func init() {
	register(command{
		name:    "demo",
		summary: "see it work without hardware: emulated modem, embedded broker, publish, subscribe, reconnect",
		run:     runDemo,
	})
}

// demoConfig is what the demo flags choose.
type demoConfig struct {
	model atmodem.Model
	baud  int
	trace bool
}

// runDemo is "cellmqtt demo".
func runDemo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", "cellmqtt demo [flags]", `
Runs the whole stack in one process with no hardware and no network beyond
127.0.0.1: an embedded MQTT broker (mochi-mqtt) on a free loopback port, the
modem emulator (modemsim) on an in-memory serial link, and the cellmqtt
client driving it with AT commands. It subscribes, publishes at QoS 0, 1
and 2 and a 10240-byte binary payload, shows each message arriving, then
breaks the broker connection (+CMQTTCONNLOST), publishes while the link is
down, and shows the client reconnecting by itself and delivering the queued
message. At the end it summarises the AT traffic.`)
	var model string
	cfg := demoConfig{}
	fs.String(&model, "model", "a7600|sim7600", "a7600", "Demo", "modem family to emulate")
	fs.Int(&cfg.baud, "baud", "N", 921600, "Demo", "emulated serial link speed in bits per second (0: unlimited)")
	fs.Bool(&cfg.trace, "trace", "Demo", "print every byte of AT traffic as it passes")
	fs.example("go run ./cmd/cellmqtt demo", "cellmqtt demo --model sim7600 --baud 115200", "cellmqtt demo --trace")
	if _, err := fs.parse(args, stdout, stderr); err != nil {
		return parseExit(err)
	}
	m, err := parseModel(model)
	if err != nil || m == atmodem.AutoDetect {
		return fs.usageError(stderr, "--model %q: want a7600 or sim7600", model)
	}
	cfg.model = m
	if cfg.baud < 0 {
		return fs.usageError(stderr, "--baud must not be negative")
	}
	if err := demo(ctx, cfg, stdout, stderr); err != nil {
		return fail(stderr, "demo", err)
	}
	return exitOK
}

// demoMessage is one message the demo's subscription received.
type demoMessage struct {
	topic   string
	payload []byte
}

// demo runs the demonstration; stdout gets the story, stderr the trace.
func demo(ctx context.Context, cfg demoConfig, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	say := func(format string, args ...any) { fmt.Fprintf(stdout, format+"\n", args...) }
	start := time.Now()

	broker, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		return err
	}
	defer broker.Close()
	say("broker    embedded mochi-mqtt at %s", broker.URL())

	simCfg := modemsim.Config{Model: cfg.model, Broker: broker.URL(), Baud: cfg.baud}
	if cfg.trace {
		simCfg.Trace = stderr
	}
	sim, err := modemsim.New(simCfg)
	if err != nil {
		return err
	}
	defer sim.Close()
	modem := atmodem.New(sim.Conn())
	defer modem.Close()
	baud := "unlimited"
	if cfg.baud > 0 {
		baud = fmt.Sprintf("%d baud", cfg.baud)
	}
	say("modem     emulated %s on an in-memory serial link (%s)", cfg.model, baud)

	inbox := make(chan demoMessage, 16)
	lost := make(chan error, 4)
	connected := make(chan struct{}, 4)
	opts := cellmqtt.NewClientOptions().
		AddBroker("tcp://broker.example.com:1883"). // the emulator sends every CONNECT to the embedded broker
		SetModem(modem).
		SetClientIndex(0).
		SetClientID("cellmqtt-demo").
		SetKeepAlive(60 * time.Second).
		SetAutoReconnect(true).
		SetResumeSubs(true).
		SetConnectRetryInterval(200 * time.Millisecond).
		SetMaxReconnectInterval(time.Second).
		SetOnConnectHandler(func(cellmqtt.Client) { connected <- struct{}{} }).
		SetConnectionLostHandler(func(_ cellmqtt.Client, err error) { lost <- err })
	c := cellmqtt.NewClient(opts)
	if err := waitToken(ctx, c.Connect(), stderr, "connecting"); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Disconnect(250)
	<-connected
	say("connect   client 0 connected (AT+CMQTTSTART, ACCQ, CFG, CONNECT) after %s", since(start))

	if err := waitToken(ctx, c.Subscribe("demo/#", 2, func(_ cellmqtt.Client, m cellmqtt.Message) {
		inbox <- demoMessage{topic: m.Topic(), payload: append([]byte(nil), m.Payload()...)}
	}), stderr, "subscribing"); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	say("subscribe demo/# at QoS 2")

	receive := func(want string) (demoMessage, error) {
		select {
		case m := <-inbox:
			if m.topic != want {
				return m, fmt.Errorf("received %q, want %q", m.topic, want)
			}
			return m, nil
		case <-ctx.Done():
			return demoMessage{}, fmt.Errorf("waiting for %s: %w", want, ctx.Err())
		}
	}
	for qos := byte(0); qos <= 2; qos++ {
		topic := fmt.Sprintf("demo/qos%d", qos)
		text := fmt.Sprintf("hello at QoS %d", qos)
		if err := waitToken(ctx, c.Publish(topic, qos, false, text), stderr, "publishing"); err != nil {
			return fmt.Errorf("publish %s: %w", topic, err)
		}
		m, err := receive(topic)
		if err != nil {
			return err
		}
		say("publish   %-12s QoS %d  %q -> received %q", topic, qos, text, m.payload)
	}

	blob := demoBlob(10240)
	sum := sha256.Sum256(blob)
	if err := waitToken(ctx, c.Publish("demo/binary", 1, false, blob), stderr, "publishing 10240 bytes"); err != nil {
		return fmt.Errorf("publish demo/binary: %w", err)
	}
	m, err := receive("demo/binary")
	if err != nil {
		return err
	}
	got := sha256.Sum256(m.payload)
	if got != sum {
		return fmt.Errorf("binary payload changed on the way: %d bytes, sha256 %x, sent %x", len(m.payload), got[:8], sum[:8])
	}
	say("publish   demo/binary  QoS 1  %d bytes with CR, LF, NUL, \"OK\" and \"ERROR\" inside -> received %d bytes, sha256 %x.. identical", len(blob), len(m.payload), got[:6])

	say("fault     the emulator drops the broker connection: +CMQTTCONNLOST: 0,1 (socket closed passively)")
	if err := sim.DropConnection(0, modemsim.CauseSocketClosed); err != nil {
		return err
	}
	select {
	case err := <-lost:
		say("lost      connection-lost handler: %v", err)
	case <-ctx.Done():
		return errors.New("the client did not report the connection loss")
	}
	tok := c.Publish("demo/queued", 1, false, "sent while the link was down")
	say("queue     published demo/queued at QoS 1 while disconnected: held in the client's queue")
	select {
	case <-connected:
		say("reconnect the client reconnected by itself and resubscribed")
	case <-ctx.Done():
		return errors.New("the client did not reconnect")
	}
	if err := waitToken(ctx, tok, stderr, "delivering the queued message"); err != nil {
		return fmt.Errorf("queued publish: %w", err)
	}
	m, err = receive("demo/queued")
	if err != nil {
		return err
	}
	say("deliver   demo/queued  -> received %q after the reconnect", m.payload)

	c.Disconnect(250)
	say("")
	printTraffic(stdout, sim.Transcript())
	say("done in %s", since(start))
	return nil
}

// demoBlob is a binary payload that contains what would break a line-based
// reader: it starts with the modem's own "\r\nOK\r\n" and holds CR, LF, NUL,
// "ERROR" and a fake URC.
func demoBlob(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		b.WriteString("\r\nOK\r\n\x00ERROR\r\n+CMQTTCONNLOST: 0,1\r\n")
		b.WriteByte(byte(i))
		b.WriteByte(byte(i * 7))
	}
	return b.Bytes()[:n]
}

// since formats the time since t for the story.
func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
