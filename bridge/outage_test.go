package bridge

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestBrokerOutage30s: the remote mosquitto is down for 30 s while four
// local publishers publish 1000 QoS 1 out messages between them; local
// clients stay connected, and once mosquitto is back every message
// arrives, in order per publisher, none lost (CELLMQTT_INTEROP=1,
// CELLMQTT_LONG=1: it takes about 35 s).
func TestBrokerOutage30s(t *testing.T) {
	requireInterop(t)
	requireLong(t)
	remote := startMosquitto(t, "persistence true\n")
	r := newRig(t, remote.addr(), basicConf+"notification_topic bridge/state\n", Options{QueueDir: t.TempDir()})
	r.waitConnected(t)
	r.waitSettled(t, 1)

	// The remote subscriber keeps its session across the restart
	// (mosquitto saves it on SIGTERM) and comes back within a second.
	far := &collector{t: t, name: "far", ch: make(chan string, 2000)}
	fc := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + remote.addr()).SetClientID("far").
		SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(time.Second).
		SetOnConnectHandler(func(c mqtt.Client) { c.Subscribe("sensors/#", 1, nil) }).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { far.ch <- m.Topic() + " " + string(m.Payload()) }))
	if tok := fc.Connect(); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer fc.Disconnect(0)
	watch := connect(t, r.bridge.Addr(), "watch", map[string]byte{"bridge/state": 1})
	watch.skipUntil("bridge/state 1")

	const publishers, each = 4, 250
	const outage = 30 * time.Second
	remote.stop()
	watch.expect("bridge/state 0")
	down := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	for p := range publishers {
		pub := connect(t, r.bridge.Addr(), fmt.Sprintf("pub%d", p), nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(outage / (each + 10))
			defer tick.Stop()
			for i := range each {
				tok := pub.client.Publish(fmt.Sprintf("sensors/p%d", p), 1, false, strconv.Itoa(i))
				if !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
					errs <- fmt.Errorf("pub%d message %d: %v", p, i, tok.Error())
					return
				}
				<-tick.C // spread over the outage
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if q := r.bridge.Status().QueueMessages; q != publishers*each {
		t.Errorf("%d messages queued during the outage, want %d", q, publishers*each)
	}
	time.Sleep(time.Until(down.Add(outage))) // the outage lasts its 30 s
	remote.restart()
	watch.expect("bridge/state 1")

	next := make([]int, publishers) // the next message expected per publisher
	timeout := time.After(2 * waitTimeout)
	for got := 0; got < publishers*each; {
		select {
		case m := <-far.ch:
			var p, i int
			if _, err := fmt.Sscanf(strings.TrimPrefix(m, "sensors/p"), "%d %d", &p, &i); err != nil {
				t.Fatalf("unexpected message %q", m)
			}
			switch {
			case i == next[p]:
				next[p]++
				got++
			case i < next[p]: // a resend
			default:
				t.Fatalf("pub%d: message %d arrived before %d", p, i, next[p])
			}
		case <-timeout:
			t.Fatalf("after the outage: next expected per publisher %v of %d: messages lost", next, each)
		}
	}
	t.Logf("%d messages published during a %v outage, all delivered in order", publishers*each, outage)
}
