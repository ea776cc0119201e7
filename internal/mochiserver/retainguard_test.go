package mochiserver

import (
	"fmt"
	"sync"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/cellmqtt/cellmqtt/internal/mochiserver/rawmqtt"
)

// TestRetainedPublishWhileSubscribing: retained messages published (by the
// embedding program, and by a client) while another client makes wildcard
// subscriptions, which read the retained store. Under -race mochi v2.7.9
// alone reports a data race here (TopicsIndex.RetainMessage writes a topic's
// retain path that TopicsIndex.Messages reads unlocked: the bridge's state
// topic met it); the guard New installs keeps the two apart. Every
// subscription still gets the retained message.
func TestRetainedPublishWhileSubscribing(t *testing.T) {
	b := startBroker(t)
	pub := rawmqtt.Dial(t, b.addr, "retainer", true)
	sub := rawmqtt.Dial(t, b.addr, "subscriber", true)
	if err := Publish(b.server, "state/bridge", []byte("1"), true, 0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 200 {
			if err := Publish(b.server, fmt.Sprintf("state/%d", i%7), []byte("x"), true, 0); err != nil {
				t.Error(err)
				return
			}
			p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
			p.TopicName, p.Payload, p.Retain = fmt.Sprintf("client/%d", i%5), []byte("y"), true
			pub.Send(t, p)
		}
	})
	for i := range 50 {
		s := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
		s.MessageID = uint16(i + 1)
		s.Topics, s.Qoss = []string{"state/+", "client/#"}, []byte{0, 0}
		sub.Send(t, s)
		drainUntil[*packets.SubackPacket](t, sub) // live messages of the last round may come first
		for got := false; !got; {
			// The retained messages follow the SUBACK; state/bridge is one.
			if m, ok := rawmqtt.Next(t, sub).(*packets.PublishPacket); ok {
				got = m.TopicName == "state/bridge" && m.Retain
			}
		}
		u := packets.NewControlPacket(packets.Unsubscribe).(*packets.UnsubscribePacket)
		u.MessageID = uint16(i + 1)
		u.Topics = []string{"state/+", "client/#"}
		sub.Send(t, u)
		drainUntil[*packets.UnsubackPacket](t, sub)
	}
	wg.Wait()
}

// drainUntil reads packets until one is a P (retained messages may still
// be arriving).
func drainUntil[P packets.ControlPacket](t *testing.T, c *rawmqtt.Conn) {
	t.Helper()
	for {
		if _, ok := rawmqtt.Next(t, c).(P); ok {
			return
		}
	}
}
