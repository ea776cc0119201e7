package testscript

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rogpeppe/go-internal/testscript"
)

// mqttTimeout bounds the connect, publish and subscribe of the script's
// own MQTT client.
const mqttTimeout = 30 * time.Second

// clientSeq numbers the script clients' IDs.
var clientSeq atomic.Int64

// mqttClient is the script's plain MQTT client to one broker, with the
// messages of each filter subscribed with "mqtt sub".
type mqttClient struct {
	c mqtt.Client

	mu      sync.Mutex
	subs    map[string]*inbox // by filter
	changed chan struct{}     // closed and replaced when a message arrives
}

// inbox is what arrived on one filter and was not yet printed by a wait.
type inbox struct{ msgs []mqtt.Message }

// client returns the script's client to url (the script's broker when
// empty), connecting it the first time.
func (st *state) client(ts *testscript.TestScript, url string) *mqttClient {
	if url == "" {
		url = st.broker.URL()
	}
	st.mu.Lock()
	c, ok := st.clients[url]
	st.mu.Unlock()
	if ok {
		return c
	}
	opts := mqtt.NewClientOptions().
		AddBroker(url).
		SetClientID(fmt.Sprintf("testscript-%d-%d", os.Getpid(), clientSeq.Add(1))).
		SetConnectTimeout(mqttTimeout).
		SetAutoReconnect(false)
	c = &mqttClient{c: mqtt.NewClient(opts), subs: map[string]*inbox{}, changed: make(chan struct{})}
	if err := wait(c.c.Connect()); err != nil {
		ts.Fatalf("mqtt: connect to %s: %v", url, err)
	}
	st.mu.Lock()
	st.clients[url] = c
	st.mu.Unlock()
	return c
}

// wait waits for a paho token within mqttTimeout.
func wait(t mqtt.Token) error {
	if !t.WaitTimeout(mqttTimeout) {
		return fmt.Errorf("no answer within %s", mqttTimeout)
	}
	return t.Error()
}

// close disconnects the client.
func (c *mqttClient) close() { c.c.Disconnect(250) }

// subscribe subscribes to filter once and keeps its messages.
func (c *mqttClient) subscribe(filter string, qos byte) error {
	c.mu.Lock()
	_, ok := c.subs[filter]
	if !ok {
		c.subs[filter] = &inbox{}
	}
	c.mu.Unlock()
	if ok {
		return nil
	}
	return wait(c.c.Subscribe(filter, qos, func(_ mqtt.Client, m mqtt.Message) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if in := c.subs[filter]; in != nil {
			in.msgs = append(in.msgs, m)
			close(c.changed)
			c.changed = make(chan struct{})
		}
	}))
}

// take waits until n messages arrived on filter whose "topic payload"
// line matches match (nil: any), and removes them and the messages before
// them that did not match (duplicates of QoS 1, earlier states).
func (c *mqttClient) take(filter string, n int, match *regexp.Regexp, timeout time.Duration) ([]mqtt.Message, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var got, skipped []mqtt.Message
	for {
		c.mu.Lock()
		in := c.subs[filter]
		for len(in.msgs) > 0 && len(got) < n {
			m := in.msgs[0]
			in.msgs = in.msgs[1:]
			if match == nil || match.MatchString(m.Topic()+" "+string(m.Payload())) {
				got = append(got, m)
			} else {
				skipped = append(skipped, m)
			}
		}
		changed := c.changed
		c.mu.Unlock()
		if len(got) == n {
			return got, nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			var b strings.Builder
			for _, m := range append(got, skipped...) {
				fmt.Fprintf(&b, "\n%s %s", m.Topic(), m.Payload())
			}
			what := ""
			if match != nil {
				what = " matching " + match.String()
			}
			return nil, fmt.Errorf("%d message(s) on %s%s within %s, want %d; got:%s", len(got), filter, what, timeout, n, b.String())
		}
	}
}

// cmdMQTT is "mqtt pub|sub|subscribed".
func cmdMQTT(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "mqtt pub [-q QOS] [-r] [-broker URL] TOPIC PAYLOAD | mqtt sub [-wait [-count N] [-match REGEXP] [-timeout D]] [-q QOS] [-broker URL] FILTER | mqtt subscribed [-timeout D] TOPIC"
	if len(args) == 0 {
		ts.Fatalf("usage: %s", usage)
	}
	st := scriptState(ts)
	var (
		qos     int
		retain  bool
		broker  string
		waitFor bool
		count   int
		match   string
		timeout time.Duration
	)
	rest := commandFlags(ts, usage, args[1:], func(fs *flag.FlagSet) {
		fs.IntVar(&qos, "q", 0, "QoS")
		fs.BoolVar(&retain, "r", false, "retain")
		fs.StringVar(&broker, "broker", "", "broker URL")
		fs.BoolVar(&waitFor, "wait", false, "wait for messages")
		fs.IntVar(&count, "count", 1, "messages to wait for")
		fs.StringVar(&match, "match", "", "only messages whose topic and payload match this regular expression")
		fs.DurationVar(&timeout, "timeout", defaultWait, "how long to wait")
	})
	if qos < 0 || qos > 2 || count < 1 {
		ts.Fatalf("usage: %s", usage)
	}
	switch args[0] {
	case "pub":
		if len(rest) != 2 {
			ts.Fatalf("usage: mqtt pub [-q QOS] [-r] [-broker URL] TOPIC PAYLOAD")
		}
		err := wait(st.client(ts, broker).c.Publish(rest[0], byte(qos), retain, rest[1]))
		switch {
		case err != nil && !neg:
			ts.Fatalf("mqtt pub %s: %v", rest[0], err)
		case err == nil && neg:
			ts.Fatalf("mqtt pub %s: succeeded unexpectedly", rest[0])
		}
	case "sub":
		if neg || len(rest) != 1 {
			ts.Fatalf("usage: mqtt sub [-wait [-count N] [-match REGEXP] [-timeout D]] [-q QOS] [-broker URL] FILTER")
		}
		c := st.client(ts, broker)
		if err := c.subscribe(rest[0], byte(qos)); err != nil {
			ts.Fatalf("mqtt sub %s: %v", rest[0], err)
		}
		if !waitFor {
			return
		}
		var re *regexp.Regexp
		if match != "" {
			var err error
			if re, err = regexp.Compile(match); err != nil {
				ts.Fatalf("mqtt sub -match: %v", err)
			}
		}
		msgs, err := c.take(rest[0], count, re, timeout)
		if err != nil {
			ts.Fatalf("mqtt sub -wait: %v", err)
		}
		for _, m := range msgs {
			fmt.Fprintf(ts.Stdout(), "%s %s\n", m.Topic(), m.Payload())
		}
	case "subscribed":
		if neg || len(rest) != 1 {
			ts.Fatalf("usage: mqtt subscribed [-timeout D] TOPIC")
		}
		deadline := time.Now().Add(timeout)
		for !st.broker.Subscribed(rest[0]) {
			if time.Now().After(deadline) {
				ts.Fatalf("mqtt subscribed: nobody subscribed to %s within %s", rest[0], timeout)
			}
			time.Sleep(20 * time.Millisecond) // polling the broker's index: it has no change signal
		}
	default:
		ts.Fatalf("usage: %s", usage)
	}
}
