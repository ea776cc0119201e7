package bridge

import (
	"fmt"
	"slices"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestInboundFlags: what a local subscriber can expect of a message from
// the remote broker, which the modem hands over without its QoS or retain
// flag. It arrives not retained, at the QoS of the in rule that matches it
// (1 here, whatever it was published with) capped by the subscriber's
// own; and a retained message of the remote broker is not kept for local
// subscribers that come later.
func TestInboundFlags(t *testing.T) {
	remote := startRemote(t)
	r := newRig(t, remote, basicConf, Options{})
	r.waitConnected(t)
	r.waitSettled(t, 1)
	at2 := subscribeMessages(t, r.bridge.Addr(), "at2", "cmd/#", 2)
	at0 := subscribeMessages(t, r.bridge.Addr(), "at0", "cmd/#", 0)
	far := connect(t, remote, "far", nil)

	tests := []struct {
		topic  string
		qos    byte
		retain bool
	}{
		{"cmd/q0", 0, false},
		{"cmd/q2", 2, false},
		{"cmd/retained", 1, true},
	}
	for _, tc := range tests {
		far.publish(tc.topic, tc.qos, tc.retain, "x")
		for _, sub := range []struct {
			ch      chan mqtt.Message
			wantQoS byte
		}{{at2, 1}, {at0, 0}} {
			m := nextMessage(t, sub.ch)
			if m.Topic() != tc.topic || m.Qos() != sub.wantQoS || m.Retained() {
				t.Errorf("published on %s at QoS %d retain %v: got %s at QoS %d retain %v; want QoS %d, not retained",
					tc.topic, tc.qos, tc.retain, m.Topic(), m.Qos(), m.Retained(), sub.wantQoS)
			}
		}
	}

	// A local client subscribing now gets no retained copy: its first
	// message is the marker published after it subscribed.
	late := subscribeMessages(t, r.bridge.Addr(), "late", "cmd/#", 1)
	far.publish("cmd/marker", 1, false, "marker")
	if m := nextMessage(t, late); m.Topic() != "cmd/marker" {
		t.Errorf("a later local subscriber got %s first, want the marker: the remote retained message was kept locally", m.Topic())
	}
}

// subscribeMessages connects a paho client to addr, subscribes filter at
// qos, and returns the channel of the messages it receives.
func subscribeMessages(t *testing.T, addr, id, filter string, qos byte) chan mqtt.Message {
	t.Helper()
	ch := make(chan mqtt.Message, 100)
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetAutoReconnect(false).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { ch <- m }))
	if tok := c.Connect(); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("%s: connect: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	if tok := c.Subscribe(filter, qos, nil); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("%s: subscribe: %v", id, tok.Error())
	}
	return ch
}

// nextMessage waits for the next message on ch.
func nextMessage(t *testing.T, ch chan mqtt.Message) mqtt.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(waitTimeout):
		t.Fatal("no message arrived")
	}
	return nil
}

// TestInboundWhileDown: with cleansession false (the default) the remote
// broker keeps the QoS 1 messages of the in rules while the link is down,
// and the bridge delivers them to the local subscribers after the
// reconnect. (In the order the remote broker resends them: the embedded
// remote broker, mochi v2.7.9, takes them from a map and sorts them by
// their creation time in whole seconds, so messages of the same second
// come back in any order; the test does not look at the order.)
func TestInboundWhileDown(t *testing.T) {
	remote := startRemote(t)
	r := newRig(t, remote, basicConf+"notification_topic bridge/state\n", Options{})
	r.waitConnected(t)
	r.waitSettled(t, 1)
	local := connect(t, r.bridge.Addr(), "local", map[string]byte{"cmd/#": 1, "bridge/state": 1})
	local.skipUntil("bridge/state 1")
	far := connect(t, remote, "far", nil)
	r.sim.NoNetwork()
	local.expect("bridge/state 0")
	for i := range 3 {
		far.publish("cmd/x", 1, false, fmt.Sprint(i))
	}
	r.sim.RestoreNetwork()
	// The state may come before or after what the remote broker kept.
	var got []string
	timeout := time.After(waitTimeout)
	for len(got) < 3 {
		select {
		case m := <-local.ch:
			if m != "bridge/state 1" {
				got = append(got, m)
			}
		case <-timeout:
			t.Fatalf("after the reconnect the local subscriber got %q, want cmd/x 0, 1 and 2", got)
		}
	}
	slices.Sort(got)
	if want := []string{"cmd/x 0", "cmd/x 1", "cmd/x 2"}; !slices.Equal(got, want) {
		t.Errorf("after the reconnect: %q, want %q", got, want)
	}
}
