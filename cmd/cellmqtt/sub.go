package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cellmqtt/cellmqtt"
)

func init() {
	register(command{
		name:    "sub",
		summary: "subscribe and print messages (flags as mosquitto_sub)",
		run:     runSub,
	})
}

// subFlags are the flags of "cellmqtt sub".
type subFlags struct {
	mqtt      mqttFlags
	modem     modemFlags
	topics    stringList
	qos       int
	count     int
	timeout   time.Duration
	verbose   bool
	noEOL     bool
	persisted bool // -c: clean session off
}

// newSubFlags defines the flags and help of "cellmqtt sub".
func newSubFlags() (*flagSet, *subFlags) {
	fs := newFlagSet("sub", "cellmqtt sub -t FILTER [-t FILTER ...] [flags]", `
Subscribes through the MQTT client of the modem and prints each message's
payload (with -v: the topic, a space and the payload) until interrupted,
until -C messages arrived, or until -W seconds passed. A lost connection is
reported on stderr and re-established, with the subscriptions, by itself.

The modem reports neither the QoS nor the retain flag of a received message,
so neither is printed.

Exit status: 0 after Ctrl-C or -C messages, 1 on a failure or when -W ran
out, 2 bad flags (nothing was sent).`)
	s := &subFlags{}
	const msg = "Subscription"
	fs.Var(&s.topics, "t,topic", "FILTER", msg, "topic filter to subscribe to (+ and # allowed); repeat for more")
	fs.Int(&s.qos, "q,qos", "0|1|2", 0, msg, "requested quality of service")
	fs.Int(&s.count, "C,count", "N", 0, msg, "exit after N messages")
	fs.Seconds(&s.timeout, "W,timeout", "SECONDS", 0, msg, "exit (status 1) after this many seconds")
	fs.Bool(&s.verbose, "v,verbose", msg, `print "topic payload"`)
	fs.Bool(&s.noEOL, "N", msg, "do not add a newline after each payload")
	fs.Bool(&s.persisted, "c,disable-clean-session", msg, "keep the session on the broker (clean session off)")
	s.mqtt.register(fs, "sub")
	s.modem.register(fs, true)
	fs.example(
		"cellmqtt sub --sim -t 'sensors/#' -v",
		"cellmqtt sub --port /dev/ttyUSB2 --apn internet -h test.mosquitto.org -t cellmqtt/hello -C 1",
		"cellmqtt sub --port auto -h broker.example.com --cafile ca.pem --cert dev1.crt --key dev1.key -t dev1/cmd -q 1 -v",
	)
	return fs, s
}

// check validates the sub flags; nothing is opened yet.
func (s *subFlags) check() error {
	if len(s.topics) == 0 {
		return badInput("no topic: give -t FILTER")
	}
	if s.qos < 0 || s.qos > 2 {
		return badInput("-q %d: want 0, 1 or 2", s.qos)
	}
	if s.count < 0 {
		return badInput("-C %d: must not be negative", s.count)
	}
	if err := s.modem.check(); err != nil {
		return err
	}
	if err := s.mqtt.check(s.modem.sim, s.modem.model); err != nil {
		return err
	}
	model, _ := parseModel(s.modem.model)
	for _, t := range s.topics {
		if err := checkTopic("-t", t, true, model); err != nil {
			return err
		}
	}
	return nil
}

// runSub is "cellmqtt sub".
func runSub(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, s := newSubFlags()
	if _, err := fs.parse(args, stdout, stderr); err != nil {
		return parseExit(err)
	}
	if err := s.check(); err != nil {
		return fail(stderr, "sub", err)
	}
	if err := subscribe(ctx, s, stdout, stderr); err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return exitOK // Ctrl-C, even while connecting, ends sub normally
		}
		return fail(stderr, "sub", err)
	}
	return exitOK
}

// printer writes received messages in arrival order and counts them.
type printer struct {
	mu      sync.Mutex
	w       io.Writer
	verbose bool
	noEOL   bool
	limit   int
	n       int
	done    chan struct{} // closed when limit messages were printed
}

// handle prints one message; it is the subscription's handler.
func (p *printer) handle(_ cellmqtt.Client, m cellmqtt.Message) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.limit > 0 && p.n >= p.limit {
		return
	}
	if p.verbose {
		fmt.Fprintf(p.w, "%s ", m.Topic())
	}
	p.w.Write(m.Payload())
	if !p.noEOL {
		io.WriteString(p.w, "\n")
	}
	p.n++
	if p.limit > 0 && p.n == p.limit {
		close(p.done)
	}
}

// count is the number of messages printed.
func (p *printer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// subscribe connects, subscribes and prints until ctx ends, -C or -W.
func subscribe(ctx context.Context, s *subFlags, stdout, stderr io.Writer) error {
	l, err := s.modem.open(ctx, stderr, s.mqtt.host == "")
	if err != nil {
		return err
	}
	defer l.Close()
	if l.Broker != nil {
		fmt.Fprintf(stderr, "cellmqtt sub: embedded broker at %s\n", l.Broker.URL())
	}
	opts, err := s.mqtt.clientOptions("sub", &s.modem, l)
	if err != nil {
		return err
	}
	pr := &printer{w: stdout, verbose: s.verbose, noEOL: s.noEOL, limit: s.count, done: make(chan struct{})}
	opts.SetCleanSession(!s.persisted).
		SetAutoReconnect(true).
		SetResumeSubs(true).
		SetConnectRetryInterval(time.Second). // backs off exponentially from here
		SetMaxReconnectInterval(30 * time.Second).
		SetConnectionLostHandler(func(_ cellmqtt.Client, err error) {
			fmt.Fprintf(stderr, "cellmqtt sub: connection lost: %s; reconnecting\n", describe(err))
		}).
		SetReconnectingHandler(func(cellmqtt.Client, *cellmqtt.ClientOptions) {
			fmt.Fprintln(stderr, "cellmqtt sub: reconnecting ...")
		})
	filters := make(map[string]byte, len(s.topics))
	for _, t := range s.topics {
		filters[t] = byte(s.qos)
	}
	var connected atomic.Bool // handlers run on goroutines of their own
	opts.SetOnConnectHandler(func(c cellmqtt.Client) {
		if connected.Swap(true) {
			fmt.Fprintln(stderr, "cellmqtt sub: reconnected")
		}
	})
	c := cellmqtt.NewClient(opts)
	if err := waitToken(ctx, c.Connect(), stderr, "connecting to "+opts.Servers[0]); err != nil {
		c.Disconnect(0)
		return during("connecting to "+opts.Servers[0], err)
	}
	defer c.Disconnect(1000)
	var tok cellmqtt.Token
	if len(s.topics) == 1 {
		tok = c.Subscribe(s.topics[0], byte(s.qos), pr.handle)
	} else {
		tok = c.SubscribeMultiple(filters, pr.handle)
	}
	if err := waitToken(ctx, tok, stderr, "subscribing"); err != nil {
		return during("subscribing", err)
	}
	var timeout <-chan time.Time
	if s.timeout > 0 {
		t := time.NewTimer(s.timeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done(): // Ctrl-C: a normal end
		return nil
	case <-pr.done:
		return nil
	case <-timeout:
		return fmt.Errorf("timed out after %s with %d message(s)", s.timeout, pr.count())
	}
}
