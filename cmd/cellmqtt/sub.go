package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/internal/topic"
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
	mqtt         mqttFlags
	modem        modemFlags
	topics       stringList
	filterOut    stringList // -T
	unsubscribe  stringList // -U
	qos          int
	count        int
	timeout      time.Duration
	verbose      bool
	noEOL        bool
	persisted    bool // -c: clean session off
	exitSubacked bool // -E
	format       string
	pretty       bool
	randomFilter float64
	formatter    *formatter // -F, parsed by check
}

// exitTimeout is the exit status after -W ran out: mosquitto_sub's 27
// (ETIMEDOUT).
const exitTimeout = 27

// newSubFlags defines the flags and help of "cellmqtt sub".
func newSubFlags() (*flagSet, *subFlags) {
	fs := newFlagSet("sub", "cellmqtt sub -t FILTER [-t FILTER ...] [flags]", `
Subscribes through the MQTT client of the modem and prints each message's
payload (with -v: the topic, a space and the payload; with -F: a format)
until interrupted, until -C messages arrived, or until -W seconds passed. A
lost connection is reported on stderr and re-established, with the
subscriptions, by itself. The flags are mosquitto_sub's where they apply
(README: "From mosquitto_pub/sub").

The modem reports neither the QoS, nor the retain flag, nor the packet ID
of a received message, so none is printed, and the flags and -F
parameters that need them (-R, --retained-only, --remove-retained, %q, %r,
%m) are refused.

Exit status: 0 after Ctrl-C, -C messages or -E, 1 on a failure, 2 bad flags
(nothing was sent), 27 when -W ran out (as mosquitto_sub).`)
	s := &subFlags{}
	const msg = "Subscription"
	fs.Var(&s.topics, "t,topic", "FILTER", msg, "topic filter to subscribe to (+ and # allowed); repeat for more")
	fs.Var(&s.filterOut, "T,filter-out", "FILTER", msg, "do not print messages on topics matching FILTER; repeat for more")
	fs.Var(&s.unsubscribe, "U,unsubscribe", "FILTER", msg, "unsubscribe from FILTER first (a session kept with -c); repeat for more")
	fs.Int(&s.qos, "q,qos", "0|1|2", 0, msg, "requested quality of service")
	fs.Int(&s.count, "C,count", "N", 0, msg, "exit after N messages")
	fs.Seconds(&s.timeout, "W,timeout", "SECONDS", 0, msg, "exit (status 27) after this many seconds")
	fs.Bool(&s.exitSubacked, "E", msg, "exit once the subscriptions are acknowledged")
	fs.Bool(&s.persisted, "c,disable-clean-session", msg, "keep the session on the broker (clean session off)")
	const out = "Output"
	fs.Bool(&s.verbose, "v,verbose", out, `print "topic payload" ("topic (null)" for an empty payload)`)
	fs.Bool(&s.noEOL, "N", out, "do not add a newline after each message")
	fs.String(&s.format, "F", "FORMAT", "", out, "mosquitto_sub's output format: %t topic, %p payload, %x/%X hex, %l length, %I/%U/@X time, %j/%J JSON, \\n \\t ...")
	fs.Bool(&s.pretty, "pretty", out, "indent the JSON of -F %j and %J")
	fs.Var((*percentValue)(&s.randomFilter), "random-filter", "PERCENT", out, "print only this percentage of the messages, at random")
	s.randomFilter = 100
	fs.NotApplicable("R", "", "the modem does not report the retain flag of a received message")
	fs.NotApplicable("retained-only", "", "the modem does not report the retain flag of a received message")
	fs.NotApplicable("remove-retained", "", "the modem does not report which received messages were retained, so it cannot tell which to clear")
	s.mqtt.register(fs, "sub")
	s.modem.register(fs, true)
	fs.example(
		"cellmqtt sub --sim -t 'sensors/#' -v",
		"cellmqtt sub --port /dev/ttyUSB2 --apn internet -h test.mosquitto.org -t cellmqtt/hello -C 1",
		"cellmqtt sub --port auto -h broker.example.com --cafile ca.pem --cert dev1.crt --key dev1.key -t dev1/cmd -q 1 -F '%I %t %p'",
	)
	return fs, s
}

// percentValue is a percentage flag, 0.1-100.
type percentValue float64

// String prints the percentage.
func (p *percentValue) String() string { return strconv.FormatFloat(float64(*p), 'g', -1, 64) }

// Set parses 0.1-100, mosquitto_sub's range.
func (p *percentValue) Set(v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0.1 || f > 100 {
		return errors.New("want a percentage, 0.1-100 (as mosquitto_sub)")
	}
	*p = percentValue(f)
	return nil
}

// check validates the sub flags; nothing is opened yet.
func (s *subFlags) check() error {
	if err := s.modem.check(); err != nil {
		return err
	}
	if err := s.mqtt.check(s.modem.sim, s.modem.model); err != nil {
		return err
	}
	if t := s.mqtt.urlTopic(); t != "" {
		s.topics = append(s.topics, t)
	}
	if len(s.topics) == 0 {
		return badInput("no topic: give -t FILTER")
	}
	if s.qos < 0 || s.qos > 2 {
		return badInput("-q %d: want 0, 1 or 2", s.qos)
	}
	if s.count < 0 {
		return badInput("-C %d: must not be negative", s.count)
	}
	model, _ := parseModel(s.modem.model)
	for _, list := range []struct {
		flag string
		l    stringList
	}{{"-t", s.topics}, {"-T", s.filterOut}, {"-U", s.unsubscribe}} {
		for _, t := range list.l {
			if err := checkTopic(list.flag, t, true, model); err != nil {
				return err
			}
		}
	}
	if s.format != "" {
		f, err := parseFormat(s.format)
		if err != nil {
			return err
		}
		f.pretty = s.pretty
		s.formatter = f
	}
	return nil
}

// runSub is "cellmqtt sub".
func runSub(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, s := newSubFlags()
	if _, err := fs.parse(args, stdout, stderr); err != nil {
		return parseExit(err)
	}
	if s.mqtt.quiet {
		stderr = io.Discard
	}
	if err := s.check(); err != nil {
		return fail(stderr, "sub", err)
	}
	if err := subscribe(ctx, s, stdout, stderr); err != nil {
		var te *timedOut
		switch {
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			return exitOK // Ctrl-C, even while connecting, ends sub normally
		case errors.As(err, &te):
			fmt.Fprintf(stderr, "cellmqtt sub: %v\n", err)
			return exitTimeout
		}
		return fail(stderr, "sub", err)
	}
	return exitOK
}

// timedOut is the end of -W.
type timedOut struct {
	after time.Duration
	n     int
}

// Error says how long and how many messages.
func (e *timedOut) Error() string {
	return fmt.Sprintf("timed out after %s with %d message(s)", e.after, e.n)
}

// printer writes received messages in arrival order and counts them.
type printer struct {
	mu        sync.Mutex
	w         io.Writer
	errw      io.Writer
	s         *subFlags
	n         int
	done      chan struct{} // closed when -C messages were printed
	randFloat func() float64
}

// handle prints one message; it is the subscription's handler.
func (p *printer) handle(_ cellmqtt.Client, m cellmqtt.Message) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.s
	if s.count > 0 && p.n >= s.count {
		return
	}
	for _, f := range s.filterOut {
		if topic.Match(f, m.Topic()) {
			return
		}
	}
	if s.randomFilter < 100 && p.randFloat()*100 >= s.randomFilter {
		return
	}
	var out []byte
	switch {
	case s.formatter != nil:
		b, err := s.formatter.format(message{topic: m.Topic(), payload: m.Payload(), at: time.Now()})
		if err != nil {
			fmt.Fprintf(p.errw, "cellmqtt sub: %v\n", err)
			return
		}
		out = b
	case s.verbose:
		payload := m.Payload()
		if len(payload) == 0 {
			payload = []byte("(null)") // as mosquitto_sub -v
		}
		out = append([]byte(m.Topic()+" "), payload...)
	default:
		out = m.Payload()
	}
	// mosquitto_sub prints nothing at all, not even the newline, for an
	// empty payload without -v or -F.
	if !s.noEOL && (len(out) > 0 || s.verbose || s.formatter != nil) {
		out = append(out, '\n')
	}
	p.w.Write(out)
	p.n++
	if s.count > 0 && p.n == s.count {
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
	pr := &printer{w: stdout, errw: stderr, s: s, done: make(chan struct{}), randFloat: rand.Float64}
	gone := make(chan error, 1) // the modem's port went away for good
	opts.SetCleanSession(!s.persisted).
		SetAutoReconnect(true).
		SetResumeSubs(true).
		SetConnectRetryInterval(time.Second). // backs off exponentially from here
		SetMaxReconnectInterval(30 * time.Second).
		SetConnectionLostHandler(func(_ cellmqtt.Client, err error) {
			if errors.Is(err, cellmqtt.ErrModemGone) {
				select {
				case gone <- err:
				default:
				}
				return
			}
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
	if len(s.unsubscribe) > 0 {
		if err := waitToken(ctx, c.Unsubscribe(s.unsubscribe...), stderr, "unsubscribing"); err != nil {
			return during("unsubscribing", err)
		}
	}
	var tok cellmqtt.Token
	if len(s.topics) == 1 {
		tok = c.Subscribe(s.topics[0], byte(s.qos), pr.handle)
	} else {
		tok = c.SubscribeMultiple(filters, pr.handle)
	}
	if err := waitToken(ctx, tok, stderr, "subscribing"); err != nil {
		return during("subscribing", err)
	}
	if s.exitSubacked {
		return nil
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
		return &timedOut{after: s.timeout, n: pr.count()}
	case err := <-gone:
		return during("receiving", err)
	}
}
