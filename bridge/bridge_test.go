package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/modemsim"
	"github.com/cellmqtt/cellmqtt/queue"
	"github.com/eclipse/paho.golang/paho"
)

const basicConf = `connection cloud
address REMOTE
remote_clientid gw1
restart_timeout 1 2
topic sensors/# out 1
topic cmd/# in 1
topic chat/# both 1
topic # both 1 home/ site1/
topic probe/# in 0
`

// TestOutInBoth: out, in and both rules, prefixes and the echo of both
// rules, with paho clients on both sides.
func TestOutInBoth(t *testing.T) {
	remote := startRemote(t)
	r := newRig(t, remote, basicConf, Options{})
	r.waitConnected(t)
	local := connect(t, r.bridge.Addr(), "local-sub", map[string]byte{"sensors/#": 1, "cmd/#": 1, "chat/#": 1, "home/#": 1})
	far := connect(t, remote, "remote-sub", map[string]byte{"sensors/#": 1, "cmd/#": 1, "chat/#": 1, "site1/#": 1})
	pub := connect(t, r.bridge.Addr(), "local-pub", nil)
	farPub := connect(t, remote, "remote-pub", nil)

	pub.publish("sensors/t1", 1, false, "21.5")
	local.expect("sensors/t1 21.5")
	far.expect("sensors/t1 21.5")

	farPub.publish("cmd/light", 1, false, "on")
	far.expect("cmd/light on")
	local.expect("cmd/light on")

	pub.publish("chat/a", 1, false, "from local")
	local.expect("chat/a from local")
	far.expect("chat/a from local")
	farPub.publish("chat/b", 1, false, "from remote")
	far.expect("chat/b from remote")
	local.expect("chat/b from remote")

	pub.publish("home/kitchen", 1, false, "warm")
	local.expect("home/kitchen warm")
	far.expect("site1/kitchen warm")
	farPub.publish("site1/door", 1, false, "open")
	far.expect("site1/door open")
	local.expect("home/door open")

	// A marker through every path proves nothing else is on its way: no
	// echo of chat/a or home/kitchen came back, nothing went round twice.
	pub.publish("chat/end", 1, false, "marker")
	local.expect("chat/end marker")
	far.expect("chat/end marker")
	farPub.publish("chat/end2", 1, false, "marker")
	far.expect("chat/end2 marker")
	local.expect("chat/end2 marker")
	// Each message sent out on a topic an in rule subscribes comes back
	// once (chat/a, home/kitchen as site1/kitchen, chat/end) and is
	// dropped: once the third echo is handled, nothing can come round.
	deadline := time.Now().Add(waitTimeout)
	for r.bridge.in.echoes.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("echoes dropped: %d, want 3", r.bridge.in.echoes.Load())
		}
		time.Sleep(5 * time.Millisecond) // polling a counter that has no channel
	}
	local.none()
	far.none()
	if n := r.bridge.in.echoes.Load(); n != 3 {
		t.Errorf("echoes dropped: %d, want 3", n)
	}
}

// TestNotificationFlip: the state topic reads 1 when connected, 0 after
// +CMQTTCONNLOST, 1 again after the reconnect. The loss may come while the
// bridge's subscribe and unsubscribe requests of the connection are in
// flight.
func TestNotificationFlip(t *testing.T) {
	remote := startRemote(t)
	r := newRig(t, remote, basicConf+"notification_topic bridge/state\n", Options{})
	r.waitConnected(t)
	watch := connect(t, r.bridge.Addr(), "watch", map[string]byte{"bridge/state": 1})
	watch.skipUntil("bridge/state 1")
	if err := r.sim.DropConnection(0, modemsim.CauseSocketReset); err != nil {
		t.Fatal(err)
	}
	watch.expect("bridge/state 0", "bridge/state 1")
}

// TestStoreAndForward: while the network is gone, local clients stay
// connected and publish; every QoS 1 message the local broker acknowledged
// arrives in order once the network is back.
func TestStoreAndForward(t *testing.T) {
	remote := startRemote(t)
	r := newRig(t, remote, basicConf+"notification_topic bridge/state\n", Options{QueueDir: t.TempDir()})
	r.waitConnected(t)
	r.waitSettled(t, 1)
	far := connect(t, remote, "remote-sub", map[string]byte{"sensors/#": 1})
	watch := connect(t, r.bridge.Addr(), "watch", map[string]byte{"bridge/state": 1})
	watch.skipUntil("bridge/state 1")
	pub := connect(t, r.bridge.Addr(), "local-pub", nil)

	r.sim.NoNetwork()
	watch.expect("bridge/state 0")
	const n = 50
	var want []string
	for i := range n {
		p := fmt.Sprintf("m%03d", i)
		pub.publish("sensors/x", 1, false, p)
		want = append(want, "sensors/x "+p)
	}
	if got := r.bridge.Status().QueueMessages; got != n {
		t.Errorf("queue holds %d messages while offline, want %d", got, n)
	}
	r.sim.RestoreNetwork()
	watch.expect("bridge/state 1")
	far.expect(want...)
	far.none()
}

// TestRestartSendsQueued: messages queued when the bridge stopped are sent
// by the next bridge on the same queue directory.
func TestRestartSendsQueued(t *testing.T) {
	remote := startRemote(t)
	dir := t.TempDir()
	r := newRig(t, remote, basicConf, Options{QueueDir: dir})
	r.waitConnected(t)
	r.waitSettled(t, 1)
	far := connect(t, remote, "remote-sub", map[string]byte{"sensors/#": 1})
	pub := connect(t, r.bridge.Addr(), "local-pub", nil)
	r.sim.NoNetwork()
	for i := range 10 {
		pub.publish("sensors/y", 1, false, fmt.Sprint(i))
	}
	pub.client.Disconnect(0)
	if err := r.bridge.Close(); err != nil {
		t.Fatal(err)
	}
	r.sim.RestoreNetwork()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.opts.Listener = ln
	r.start(t)
	for i := range 10 {
		far.expect(fmt.Sprintf("sensors/y %d", i))
	}
	far.none()
}

// TestStatusTopic: the retained JSON status carries the link state, the
// modem's signal and registration, and the queue depth.
func TestStatusTopic(t *testing.T) {
	remote := startRemote(t)
	r := newRig(t, remote, basicConf, Options{StatusTopic: "gw/status", StatusInterval: time.Second})
	r.waitConnected(t)
	r.waitSettled(t, 1)
	watch := connect(t, r.bridge.Addr(), "watch", map[string]byte{"gw/status": 1})
	deadline := time.After(waitTimeout)
	for {
		var m string
		select {
		case m = <-watch.ch:
		case <-deadline:
			t.Fatal("no status with the link up arrived")
		}
		var st Status
		if err := json.Unmarshal([]byte(strings.TrimPrefix(m, "gw/status ")), &st); err != nil {
			t.Fatalf("status %q: %v", m, err)
		}
		if !st.Connected {
			continue // published before the connection
		}
		if st.RSSI < 0 || st.RSSI > 31 || st.SignalDBm == nil || st.Registration == "" || st.Error != "" || st.QueueMessages != 0 {
			t.Errorf("status %+v: want the signal, the registration, an empty queue and no error", st)
		}
		return
	}
}

// TestRefusedLocalMessages: a QoS 1 message the bridge cannot queue is not
// acknowledged to an MQTT 3.1.1 publisher (whose connection is closed
// instead), whether the out queue is full (policy reject) or the modem
// cannot carry it (a payload over 10240 bytes); the bridge goes on serving
// the other clients.
func TestRefusedLocalMessages(t *testing.T) {
	remote := startRemote(t)
	r := newRig(t, remote, basicConf, Options{QueueMaxMessages: 2, QueuePolicy: queue.Reject})
	r.waitConnected(t)
	r.waitSettled(t, 1)
	r.sim.NoNetwork()

	pub := connect(t, r.bridge.Addr(), "pub", nil)
	pub.publish("sensors/a", 1, false, "1")
	pub.publish("sensors/a", 1, false, "2")
	tok := pub.client.Publish("sensors/a", 1, false, "3")
	if tok.WaitTimeout(waitTimeout) && tok.Error() == nil {
		t.Error("a message the full queue refused was acknowledged")
	}
	if pub.client.IsConnectionOpen() {
		t.Error("the publisher of a refused message is still connected")
	}

	big := connect(t, r.bridge.Addr(), "big", nil)
	tok = big.client.Publish("sensors/big", 1, false, make([]byte, 10241))
	if tok.WaitTimeout(waitTimeout) && tok.Error() == nil {
		t.Error("a payload the modem cannot carry was acknowledged")
	}
	// At QoS 0 it reaches the local subscribers only.
	local := connect(t, r.bridge.Addr(), "local", map[string]byte{"sensors/big0": 0})
	local.publish("sensors/big0", 0, false, string(make([]byte, 10241)))
	if got := local.collect(1)[0]; len(got) != len("sensors/big0 ")+10241 {
		t.Errorf("a QoS 0 message the bridge cannot carry arrived locally with %d bytes", len(got))
	}
	// Not for the bridge: delivered locally as usual.
	other := connect(t, r.bridge.Addr(), "other", map[string]byte{"misc/#": 1})
	other.publish("misc/x", 1, false, string(make([]byte, 20000)))
	if got := <-other.ch; len(got) != len("misc/x ")+20000 {
		t.Errorf("a local-only message of 20000 bytes arrived with %d", len(got))
	}
}

// TestRefusedLocalMessageMQTT5: an MQTT 5 publisher of a QoS 1 message the
// full queue refuses gets a PUBACK with reason code 0x97 (quota exceeded)
// and stays connected.
func TestRefusedLocalMessageMQTT5(t *testing.T) {
	remote := startRemote(t)
	r := newRig(t, remote, basicConf, Options{QueueMaxMessages: 1, QueuePolicy: queue.Reject})
	r.waitConnected(t)
	r.waitSettled(t, 1)
	r.sim.NoNetwork()

	conn, err := net.Dial("tcp", r.bridge.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "v5", KeepAlive: 30, CleanStart: true}); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(&paho.Disconnect{})
	if pr, err := c.Publish(ctx, &paho.Publish{Topic: "sensors/a", QoS: 1, Payload: []byte("1")}); err != nil || pr.ReasonCode != 0 {
		t.Fatalf("first message: %v %+v", err, pr)
	}
	pr, err := c.Publish(ctx, &paho.Publish{Topic: "sensors/a", QoS: 1, Payload: []byte("2")})
	if pr == nil || pr.ReasonCode != 0x97 {
		t.Errorf("the refused message got %+v, %v; want PUBACK 0x97", pr, err)
	}
	if pr, err := c.Publish(ctx, &paho.Publish{Topic: "misc/x", QoS: 1, Payload: []byte("local")}); err != nil || pr.ReasonCode != 0 {
		t.Errorf("a local-only message after the refusal: %v %+v (the client should still be connected)", err, pr)
	}
}
