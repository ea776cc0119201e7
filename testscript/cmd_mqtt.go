package testscript

import (
	"flag"
	"fmt"
	"os"
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

// take waits until n messages arrived on filter and removes them.
func (c *mqttClient) take(filter string, n int, timeout time.Duration) ([]mqtt.Message, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		in := c.subs[filter]
		if len(in.msgs) >= n {
			got := in.msgs[:n:n]
			in.msgs = in.msgs[n:]
			c.mu.Unlock()
			return got, nil
		}
		have, changed := len(in.msgs), c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			return nil, fmt.Errorf("%d message(s) on %s within %s, want %d", have, filter, timeout, n)
		}
	}
}

// cmdMQTT is "mqtt pub|sub|subscribed".
func cmdMQTT(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "mqtt pub [-q QOS] [-r] [-broker URL] TOPIC PAYLOAD | mqtt sub [-wait [-count N] [-timeout D]] [-q QOS] [-broker URL] FILTER | mqtt subscribed [-timeout D] TOPIC"
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
		timeout time.Duration
	)
	rest := commandFlags(ts, usage, args[1:], func(fs *flag.FlagSet) {
		fs.IntVar(&qos, "q", 0, "QoS")
		fs.BoolVar(&retain, "r", false, "retain")
		fs.StringVar(&broker, "broker", "", "broker URL")
		fs.BoolVar(&waitFor, "wait", false, "wait for messages")
		fs.IntVar(&count, "count", 1, "messages to wait for")
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
			ts.Fatalf("usage: mqtt sub [-wait [-count N] [-timeout D]] [-q QOS] [-broker URL] FILTER")
		}
		c := st.client(ts, broker)
		if err := c.subscribe(rest[0], byte(qos)); err != nil {
			ts.Fatalf("mqtt sub %s: %v", rest[0], err)
		}
		if !waitFor {
			return
		}
		msgs, err := c.take(rest[0], count, timeout)
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
