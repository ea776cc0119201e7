package bridge

import (
	"fmt"
	"testing"
	"time"
)

// TestLocalMosquitto: the bridge joins an existing local mosquitto
// (--local) as a client: out, in and both rules work, mosquitto's bridge
// marker keeps the bridge's own messages from coming back, and what is
// published locally while the bridge is not running goes out once it
// runs again (its persistent session keeps it, acknowledged by the bridge
// only once queued).
func TestLocalMosquitto(t *testing.T) {
	requireInterop(t)
	remote := startMosquitto(t, "")
	localMosq := startMosquitto(t, "")
	r := newRig(t, remote.addr(), basicConf, Options{Local: "tcp://" + localMosq.addr(), QueueDir: t.TempDir()})
	rp := connect(t, remote.addr(), "RP", nil)
	waitProbe(t, rp, localMosq.addr())
	r.waitSettled(t, 1)

	local := connect(t, localMosq.addr(), "local-sub", map[string]byte{"cmd/#": 1, "chat/#": 1, "home/#": 1})
	far := connect(t, remote.addr(), "far", map[string]byte{"sensors/#": 1, "chat/#": 1, "site1/#": 1})
	pub := connect(t, localMosq.addr(), "local-pub", nil)

	pub.publish("sensors/t", 1, false, "1")
	far.expect("sensors/t 1")
	rp.publish("cmd/light", 1, false, "on")
	local.expect("cmd/light on")
	pub.publish("chat/a", 1, false, "hi")
	local.expect("chat/a hi")
	far.expect("chat/a hi")
	rp.publish("site1/door", 1, false, "open")
	far.expect("site1/door open")
	local.expect("home/door open")
	rp.publish("chat/end", 1, false, "R")
	far.expect("chat/end R")
	local.expect("chat/end R")
	local.none()
	far.none()

	// The bridge stops; the local broker keeps its session.
	if err := r.bridge.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		pub.publish("sensors/t", 1, false, fmt.Sprint("off-", i))
	}
	r.start(t)
	for i := range 20 {
		far.expect(fmt.Sprint("sensors/t off-", i))
	}
	far.none()
}

// waitProbeOn publishes probes on topic at the remote broker until one
// reaches the broker at local.
func waitProbeOn(t *testing.T, rp *collector, local, topic string) {
	t.Helper()
	probe := connect(t, local, "probe", map[string]byte{topic: 0})
	defer probe.client.Disconnect(0)
	deadline := time.Now().Add(waitTimeout)
	for {
		if time.Now().After(deadline) {
			t.Fatal("no probe crossed the bridge")
		}
		rp.client.Publish(topic, 0, false, "p")
		select {
		case <-probe.ch:
			return
		case <-time.After(200 * time.Millisecond): // the next probe
		}
	}
}
