package bridge

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/queue"
)

// fullQueue is a bridge whose out queue (3 messages, policy) is full of
// m0, m1 and m2, published by pub while the link is down; far subscribes
// the remote side of sensors/#.
func fullQueue(t *testing.T, policy queue.Policy) (r *rig, pub, far *collector, logs *logBuffer) {
	t.Helper()
	remote := startRemote(t)
	logs = &logBuffer{wake: make(chan struct{})}
	r = newRig(t, remote, basicConf, Options{QueueMaxMessages: 3, QueuePolicy: policy, QueueDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	r.waitConnected(t)
	r.waitSettled(t, 1)
	far = connect(t, remote, "far", map[string]byte{"sensors/#": 1})
	r.sim.NoNetwork()
	pub = connect(t, r.bridge.Addr(), "pub", nil)
	for i := range 3 {
		pub.publish("sensors/q", 1, false, fmt.Sprint("m", i))
	}
	return r, pub, far, logs
}

// TestQueueFullBlock: with policy block, the publisher of a message that
// does not fit in the full out queue gets its PUBACK only once there is
// room (after the reconnect), and nothing is lost.
func TestQueueFullBlock(t *testing.T) {
	r, pub, far, logs := fullQueue(t, queue.Block)
	tok := pub.client.Publish("sensors/q", 1, false, "m3")
	logs.waitFor(t, "out queue full")
	if tok.WaitTimeout(0) {
		t.Fatal("m3 was acknowledged while the queue was full")
	}
	r.sim.RestoreNetwork()
	if !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("m3 after the reconnect: %v", tok.Error())
	}
	far.expect("sensors/q m0", "sensors/q m1", "sensors/q m2", "sensors/q m3")
	far.none()
}

// TestQueueFullDropOldest: with policy drop-oldest, every message is
// acknowledged; the oldest ones make room, each logged, and the newest
// arrive in order.
func TestQueueFullDropOldest(t *testing.T) {
	r, pub, far, logs := fullQueue(t, queue.DropOldest)
	pub.publish("sensors/q", 1, false, "m3")
	pub.publish("sensors/q", 1, false, "m4")
	r.sim.RestoreNetwork()
	far.expect("sensors/q m2", "sensors/q m3", "sensors/q m4")
	far.none()
	if s := logs.String(); !strings.Contains(s, "out queue full") || strings.Count(s, "dropped the oldest message") != 2 {
		t.Errorf("want a line saying the queue is full and one per dropped message:\n%s", s)
	}
}

// logBuffer holds a logger's output, for several goroutines, and wakes
// waiters at each write.
type logBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	wake chan struct{} // closed and replaced at each write
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.wake)
	l.wake = make(chan struct{})
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits until the output holds text.
func (l *logBuffer) waitFor(t *testing.T, text string) {
	t.Helper()
	limit := time.After(waitTimeout)
	for {
		l.mu.Lock()
		found, wake := strings.Contains(l.b.String(), text), l.wake
		l.mu.Unlock()
		if found {
			return
		}
		select {
		case <-wake:
		case <-limit:
			t.Fatalf("no log line holds %q:\n%s", text, l)
		}
	}
}
