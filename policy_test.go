package cellmqtt

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
	"github.com/cellmqtt/cellmqtt/queue"
)

// offline connects a client, then takes the network away and waits until
// the client knows.
func offline(t *testing.T, e *env, o *ClientOptions) Client {
	t.Helper()
	lost := newLostLog()
	c := e.connect(o.SetConnectionLostHandler(lost.handler))
	e.sim.NoNetwork()
	lost.await(t)
	if c.IsConnectionOpen() || !c.IsConnected() {
		t.Fatalf("while reconnecting: IsConnectionOpen %v, IsConnected %v; want false, true", c.IsConnectionOpen(), c.IsConnected())
	}
	return c
}

func TestIntegrationQueuePolicies(t *testing.T) {
	t.Run("reject", func(t *testing.T) {
		e := newEnv(t, modemsim.Config{})
		p := e.peer("pol/#")
		c := offline(t, e, e.options("rej").SetQueueLimits(2, 0, queue.Reject))
		a, b := c.Publish("pol/a", 1, false, "a"), c.Publish("pol/b", 2, false, "b")
		if err := wait(t, c.Publish("pol/c", 1, false, "c")); !errors.Is(err, queue.ErrQueueFull) {
			t.Fatalf("third publish: %v, want ErrQueueFull", err)
		}
		e.sim.RestoreNetwork()
		mustWait(t, "a", a)
		mustWait(t, "b", b)
		p.waitAll(t, []string{"a", "b"})
	})
	t.Run("drop oldest", func(t *testing.T) {
		e := newEnv(t, modemsim.Config{})
		p := e.peer("pol/#")
		c := offline(t, e, e.options("drop").SetQueueLimits(0, int64(len("pol/a")+1)*2, queue.DropOldest))
		a := c.Publish("pol/a", 1, false, "a")
		b := c.Publish("pol/b", 1, false, "b")
		cc := c.Publish("pol/c", 1, false, "c")
		if err := wait(t, a); !errors.Is(err, queue.ErrDropped) {
			t.Fatalf("oldest: %v, want ErrDropped", err)
		}
		e.sim.RestoreNetwork()
		mustWait(t, "b", b)
		mustWait(t, "c", cc)
		p.waitAll(t, []string{"b", "c"})
	})
	t.Run("block with write timeout", func(t *testing.T) {
		e := newEnv(t, modemsim.Config{})
		c := offline(t, e, e.options("blockt").SetQueueLimits(1, 0, queue.Block).SetWriteTimeout(100*time.Millisecond))
		first := c.Publish("pol/a", 1, false, "a")
		if err := wait(t, c.Publish("pol/b", 1, false, "b")); !errors.Is(err, queue.ErrQueueFull) {
			t.Fatalf("blocked publish: %v, want ErrQueueFull after the write timeout", err)
		}
		e.sim.RestoreNetwork()
		mustWait(t, "first", first)
	})
	t.Run("block until room", func(t *testing.T) {
		e := newEnv(t, modemsim.Config{})
		p := e.peer("pol/#")
		c := offline(t, e, e.options("block").SetQueueLimits(1, 0, queue.Block))
		first := c.Publish("pol/a", 1, false, "a")
		second := make(chan Token)
		go func() { second <- c.Publish("pol/b", 1, false, "b") }()
		select {
		case <-second:
			t.Fatal("Publish returned while the queue is full")
		case <-time.After(50 * time.Millisecond):
		}
		e.sim.RestoreNetwork()
		mustWait(t, "first", first)
		mustWait(t, "second", <-second)
		p.waitAll(t, []string{"a", "b"})
	})
	t.Run("block ended by Disconnect", func(t *testing.T) {
		e := newEnv(t, modemsim.Config{})
		c := offline(t, e, e.options("blockd").SetQueueLimits(1, 0, queue.Block))
		first := c.Publish("pol/a", 1, false, "a")
		second := make(chan Token)
		go func() { second <- c.Publish("pol/b", 1, false, "b") }()
		select {
		case <-second:
			t.Fatal("Publish returned while the queue is full")
		case <-time.After(50 * time.Millisecond):
		}
		c.Disconnect(0)
		for name, tok := range map[string]Token{"queued": first, "blocked": <-second} {
			if err := wait(t, tok); !errors.Is(err, ErrDisconnected) {
				t.Fatalf("%s publish: %v, want ErrDisconnected", name, err)
			}
		}
	})
	t.Run("QoS 0 offline queued", func(t *testing.T) {
		e := newEnv(t, modemsim.Config{})
		p := e.peer("pol/#")
		c := offline(t, e, e.options("q0"))
		tok := c.Publish("pol/z", 0, false, "z")
		e.sim.RestoreNetwork()
		mustWait(t, "qos 0", tok)
		p.waitAll(t, []string{"z"})
	})
	t.Run("QoS 0 offline dropped", func(t *testing.T) {
		e := newEnv(t, modemsim.Config{})
		c := offline(t, e, e.options("q0d").SetDropQoS0WhenOffline(true))
		if err := wait(t, c.Publish("pol/z", 0, false, "z")); !errors.Is(err, ErrQoS0Dropped) || !errors.Is(err, ErrNotConnected) {
			t.Fatalf("QoS 0 offline: %v, want ErrQoS0Dropped", err)
		}
		tok := c.Publish("pol/one", 1, false, "one") // QoS 1 is still queued
		e.sim.RestoreNetwork()
		mustWait(t, "qos 1", tok)
	})
	t.Run("own queue, dropped outside", func(t *testing.T) {
		e := newEnv(t, modemsim.Config{})
		q := queue.NewMemory(queue.Limits{MaxMessages: 1, Policy: queue.DropOldest})
		defer q.Close()
		c := offline(t, e, e.options("ownq").SetQueue(q))
		a := c.Publish("pol/a", 1, false, "a")
		b := c.Publish("pol/b", 1, false, "b")
		e.sim.RestoreNetwork()
		mustWait(t, "b", b)
		if err := wait(t, a); !errors.Is(err, queue.ErrDropped) {
			t.Fatalf("dropped by the application's queue: %v, want ErrDropped", err)
		}
	})
}

// TestIntegrationNoAutoReconnect: without AutoReconnect a loss ends the
// client: the handler is told, pending tokens fail, Connect works again.
func TestIntegrationNoAutoReconnect(t *testing.T) {
	e := newEnv(t, modemsim.Config{})
	lost := newLostLog()
	o := e.options("noauto").SetAutoReconnect(false).SetConnectionLostHandler(lost.handler).
		SetOpenTransport(func(context.Context) (io.ReadWriteCloser, error) { return e.sim.Conn(), nil })
	o.Transport = nil
	c := e.connect(o)
	if err := e.sim.DropConnection(0, modemsim.CauseSocketReset); err != nil {
		t.Fatal(err)
	}
	if err := lost.await(t); !errors.Is(err, atmodem.ErrConnectionLost) {
		t.Fatalf("lost: %v", err)
	}
	eventually(t, "disconnected after the loss", func() bool { return !c.IsConnected() })
	if err := wait(t, c.Publish("x", 1, false, "x")); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("publish after loss: %v", err)
	}
	mustWait(t, "connect again", c.Connect())
	mustWait(t, "publish", c.Publish("x", 1, false, "x"))
}

// eventually polls cond until it holds or the test's patience ends.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitFor)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}
