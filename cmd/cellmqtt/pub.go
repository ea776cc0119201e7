package main

import (
	"bufio"
	"bytes"
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
	fs          *flagSet
	mqtt        mqttFlags
	modem       modemFlags
	topic       string
	message     string
	file        string
	stdin       bool // -s: all of stdin is one message
	lines       bool // -l: each line of stdin is a message
	null        bool // -n: a zero-length message
	qos         int
	retain      bool
	persisted   bool // -c: clean session off
	repeat      int
	repeatDelay time.Duration
	maxInflight int // -M
}

// newPubFlags defines the flags and help of "cellmqtt pub".
func newPubFlags() (*flagSet, *pubFlags) {
	fs := newFlagSet("pub", "cellmqtt pub -t TOPIC (-m MESSAGE | -f FILE | -s | -l | -n) [flags]", `
Publishes one message (or one per line of stdin with -l) through the MQTT
client of the modem, then disconnects. The flags are mosquitto_pub's where
they apply (README: "From mosquitto_pub/sub"); the modem flags say which
modem. Payloads are binary-safe, up to 10240 bytes each; topics are up to
1024 bytes.

Input is checked before it is sent: -m, -f and -s before the modem is
opened; -l line by line, and a line over the limit stops the run (as
mosquitto_pub stops at a failed publish) naming the line.

Exit status: 0 published, 1 the modem, the link or the broker failed (the
error names the modem's result code and the manual's text), or -l stopped
at a bad line after earlier lines were sent, 2 bad flags or input (nothing
was sent).`)
	p := &pubFlags{fs: fs}
	const msg = "Message"
	fs.String(&p.topic, "t,topic", "TOPIC", "", msg, "topic to publish to")
	fs.String(&p.message, "m,message", "TEXT", "", msg, "the payload")
	fs.String(&p.file, "f,file", "FILE", "", msg, "send the content of FILE as the payload")
	fs.Bool(&p.stdin, "s,stdin-file", msg, "send all of stdin as one payload")
	fs.Bool(&p.lines, "l,stdin-line", msg, "send each line of stdin as a message (a blank line is an empty message; CR is kept)")
	fs.Bool(&p.null, "n,null-message", msg, "send a zero-length payload")
	fs.Int(&p.qos, "q,qos", "0|1|2", 0, msg, "quality of service")
	fs.Bool(&p.retain, "r,retain", msg, "ask the broker to retain the message")
	fs.Int(&p.repeat, "repeat", "N", 1, msg, "with -m, -f or -s: publish the message N times")
	fs.Seconds(&p.repeatDelay, "repeat-delay", "SECONDS", 0, msg, "with --repeat: wait this long between publishes")
	fs.Bool(&p.persisted, "c,disable-clean-session", msg, "keep the session on the broker (clean session off)")
	fs.Int(&p.maxInflight, "M,max-inflight", "N", 1, msg, "QoS 1 and 2 messages waiting for their outcome at once (mosquitto's default is 20; here 1, since firmware may refuse more: it is detected and pub falls back to 1)")
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
	if err := p.modem.check(); err != nil {
		return err
	}
	if err := p.mqtt.check(p.modem.sim, p.modem.model); err != nil {
		return err
	}
	if t := p.mqtt.urlTopic(); t != "" {
		if p.topic != "" {
			return badInput("-L %s names the topic: leave out -t", p.mqtt.url)
		}
		p.topic = t
	}
	if p.topic == "" {
		return badInput("no topic: give -t TOPIC")
	}
	sources := 0
	for _, set := range []bool{p.fs.isSet("m"), p.file != "", p.stdin, p.lines, p.null} {
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
	if p.repeat < 1 {
		return badInput("--repeat %d: must be 1 or more (as mosquitto)", p.repeat)
	}
	if p.maxInflight < 1 || p.maxInflight > 65535 {
		return badInput("-M %d: must be 1-65535", p.maxInflight)
	}
	model, _ := parseModel(p.modem.model)
	if err := checkTopic("-t", p.topic, false, model); err != nil {
		return err
	}
	return checkPayload("-m", len(p.message), model)
}

// checkPayload checks a payload length: 0 (an empty message, as -n sends)
// up to the manuals' 10240 bytes.
func checkPayload(what string, n int, model atmodem.Model) error {
	if n == 0 {
		return nil
	}
	return checkLen(what, n, model.Limits().Payload, model)
}

// payload returns the single payload of -m, -f, -s or -n.
func (p *pubFlags) payload(stdin io.Reader) ([]byte, error) {
	switch {
	case p.file != "":
		b, err := os.ReadFile(p.file)
		if err != nil {
			return nil, badInput("-f: %w", err)
		}
		return b, checkPayload("-f "+p.file, len(b), atmodem.AutoDetect)
	case p.stdin:
		// Read at most one byte over the limit: the check needs no more.
		b, err := io.ReadAll(io.LimitReader(stdin, int64(atmodem.AutoDetect.Limits().Payload.Max)+1))
		if err != nil {
			return nil, fmt.Errorf("reading stdin: %w", err)
		}
		if len(b) > atmodem.AutoDetect.Limits().Payload.Max {
			return nil, badInput("-s: stdin holds more than %d bytes, the modem's payload limit; nothing was sent", atmodem.AutoDetect.Limits().Payload.Max)
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
	if p.mqtt.quiet {
		stderr = io.Discard
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
		SetCleanSession(!p.persisted).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(30 * time.Second).
		SetMaxInflight(p.maxInflight)
	if p.lines {
		opts.SetConnectionLostHandler(func(_ cellmqtt.Client, err error) {
			if errors.Is(err, cellmqtt.ErrModemGone) {
				// Final: the next publish fails with it and pub exits 1.
				fmt.Fprintf(stderr, "cellmqtt pub: %s\n", describe(err))
				return
			}
			fmt.Fprintf(stderr, "cellmqtt pub: connection lost: %s; reconnecting\n", describe(err))
		})
	}
	c := cellmqtt.NewClient(opts)
	if err := waitToken(ctx, c.Connect(), stderr, "connecting to "+opts.Servers[0]); err != nil {
		c.Disconnect(0)
		return during("connecting to "+opts.Servers[0], err)
	}
	defer c.Disconnect(1000)
	if p.maxInflight > 1 {
		defer func() {
			if l.Modem.PipelineRefused() {
				fmt.Fprintf(stderr, "cellmqtt pub: the modem's firmware refused a publish while another's result was pending: messages went one at a time, not %d (the refused one was sent again)\n", p.maxInflight)
			}
		}()
	}
	w := &pubWindow{ctx: ctx, stderr: stderr, max: p.maxInflight}
	if !p.lines {
		for i := 0; i < p.repeat; i++ {
			if i > 0 && p.repeatDelay > 0 {
				t := time.NewTimer(p.repeatDelay)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				}
			}
			label := ""
			if p.repeat > 1 {
				label = fmt.Sprintf("message %d of %d", i+1, p.repeat)
			}
			if err := w.add(label, c.Publish(p.topic, byte(p.qos), p.retain, single)); err != nil {
				return err
			}
		}
		return w.drain()
	}
	return publishLines(stdin, func(n int, line []byte) error {
		return w.add(fmt.Sprintf("stdin line %d", n), c.Publish(p.topic, byte(p.qos), p.retain, line))
	}, w.drain)
}

// publishLines sends each line of r as mosquitto_pub -l does: the line
// without its "\n" (a "\r" before it stays), a blank line as an empty
// message, a last line without "\n" too. Each line is checked before it
// is sent; one over the payload limit stops the run, naming the line.
// send hands line n over; drain waits until every line handed over is
// published, before the run ends or a bad line stops it.
func publishLines(r io.Reader, send func(n int, line []byte) error, drain func() error) error {
	limit := atmodem.AutoDetect.Limits().Payload.Max
	br := bufio.NewReaderSize(r, 64*1024)
	for n := 1; ; n++ {
		line, err := readLine(br, limit+1)
		if len(line) > limit {
			e := fmt.Errorf("stdin line %d: more than %d bytes, the modem's payload limit; it and the lines after it were not sent", n, limit)
			if n == 1 {
				return usageErr{e} // nothing was sent
			}
			if err := drain(); err != nil {
				return err
			}
			return fmt.Errorf("%w (lines 1-%d were published)", e, n-1)
		}
		if line != nil {
			if err := send(n, line); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return drain()
		}
		if err != nil {
			if derr := drain(); derr != nil {
				return derr
			}
			return fmt.Errorf("reading stdin: %w", err)
		}
	}
}

// readLine reads one line of br without its "\n", at most max bytes of it
// (the rest of a longer line is read and dropped). It returns nil and
// io.EOF at the end of input; a last line without "\n" comes with io.EOF.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line) < max {
			line = append(line, chunk[:min(len(chunk), max-len(line))]...)
		}
		switch {
		case err == nil:
			return bytes.TrimSuffix(line, []byte("\n")), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) == 0:
			return nil, io.EOF
		default:
			return line, err
		}
	}
}
