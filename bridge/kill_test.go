package bridge

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestKill9: a bridge process killed with SIGKILL in the middle of a
// stream of QoS 1 messages, then started again on the same queue: every
// message the local broker acknowledged reaches the remote broker, in the
// order published. The remote broker is a mosquitto under
// CELLMQTT_INTEROP=1, else an embedded broker; CELLMQTT_LONG=1 kills it
// with more messages queued.
func TestKill9(t *testing.T) {
	var remote string
	if interop() {
		remote = startMosquitto(t, "").addr()
	} else {
		remote = startRemote(t)
	}
	conf := strings.ReplaceAll("connection k9\naddress REMOTE\nremote_clientid gw-k9\nrestart_timeout 1 2\ntopic sensors/# out 1\n", "REMOTE", remote)
	far := connect(t, remote, "far", map[string]byte{"sensors/#": 1})
	listen := "127.0.0.1:" + strconv.Itoa(freePort(t))
	queueDir := t.TempDir()

	first := startChild(t, conf, listen, queueDir)
	acked := newAckLog()
	// Publish without waiting for each acknowledgement, so messages are in
	// flight at every stage when the bridge dies.
	pub := dialPublisher(t, listen, "pub1")
	// The queue drains at about 60 messages a second at 115200 baud.
	stopAt, after := 100, 30
	if os.Getenv("CELLMQTT_LONG") == "1" {
		stopAt, after = 600, 200
	}
	window := make(chan struct{}, 20) // messages in flight at most
	var n int
	for n = 0; acked.count() < stopAt; n++ {
		window <- struct{}{}
		tok := pub.Publish("sensors/k", 1, false, fmt.Sprintf("%05d", n))
		acked.follow(n, tok, window)
	}
	first.kill()
	pub.Disconnect(0)
	killedAt := acked.count()
	arrivedAt := len(far.ch)

	startChild(t, conf, listen, queueDir)
	pub2 := dialPublisher(t, listen, "pub2")
	for i := n + 1; i <= n+after; i++ {
		tok := pub2.Publish("sensors/k", 1, false, fmt.Sprintf("%05d", i))
		if !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
			t.Fatalf("publish %d after the restart: %v", i, tok.Error())
		}
		acked.add(i)
	}
	pub2.Disconnect(0)

	// Every acknowledged message arrives; first arrivals keep the order.
	want := acked.all()
	got := map[int]bool{}
	last := -1
	timeout := time.After(waitTimeout)
	for missing := len(want); missing > 0; {
		select {
		case m := <-far.ch:
			i, err := strconv.Atoi(strings.TrimPrefix(m, "sensors/k "))
			if err != nil {
				t.Fatalf("unexpected message %q", m)
			}
			if got[i] {
				continue // a resend (at least once)
			}
			got[i] = true
			if i < last {
				t.Errorf("message %d arrived after %d", i, last)
			}
			last = i
			if want[i] {
				missing--
			}
		case <-timeout:
			var lost []int
			for i := range want {
				if !got[i] {
					lost = append(lost, i)
				}
			}
			t.Fatalf("%d acknowledged messages lost (killed after %d acknowledged): %v", len(lost), killedAt, lost)
		}
	}
	t.Logf("killed after %d acknowledged of %d published, %d of them at the remote broker; %d acknowledged in all, 0 lost", killedAt, n+1, arrivedAt, len(want))
	if arrivedAt >= killedAt {
		t.Errorf("nothing was waiting in the queue when the bridge was killed")
	}
}

// dialPublisher connects a paho publisher to the bridge's local broker.
func dialPublisher(t *testing.T, addr, id string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).SetMaxResumePubInFlight(0))
	if tok := c.Connect(); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("connect to the bridge at %s: %v", addr, tok.Error())
	}
	return c
}

// ackLog records which messages the local broker acknowledged.
type ackLog struct {
	mu    sync.Mutex
	acked map[int]bool
	wg    sync.WaitGroup
}

func newAckLog() *ackLog { return &ackLog{acked: map[int]bool{}} }

// follow records message i once tok completes without error, then frees
// a place in window.
func (a *ackLog) follow(i int, tok mqtt.Token, window chan struct{}) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if tok.WaitTimeout(waitTimeout) && tok.Error() == nil {
			a.add(i)
		}
		<-window
	}()
}

func (a *ackLog) add(i int) {
	a.mu.Lock()
	a.acked[i] = true
	a.mu.Unlock()
}

func (a *ackLog) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.acked)
}

// all waits for the followed tokens and returns the acknowledged messages.
func (a *ackLog) all() map[int]bool {
	a.wg.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[int]bool, len(a.acked))
	for i := range a.acked {
		out[i] = true
	}
	return out
}
