package bridge

import (
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/mochiserver/rawmqtt"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// TestLocalUnsubscribeDuringQoS2Delivery: a local MQTT 3.1.1 client
// subscribed at QoS 2 numbers its UNSUBSCRIBE with the packet identifier of
// the QoS 2 message the embedded broker is delivering to it, as MQTT allows
// (each direction numbers its own packets). mochi v2.7.9 alone refuses that
// UNSUBSCRIBE with 0x91, which a 3.1.1 UNSUBACK cannot say: the client
// believes it unsubscribed and goes on receiving. The bridge's broker keeps
// the two directions apart (internal/mochiserver): the subscription is gone,
// and the delivery in flight completes.
func TestLocalUnsubscribeDuringQoS2Delivery(t *testing.T) {
	remote := startRemote(t)
	r := newRig(t, remote, `connection cloud
address REMOTE
remote_clientid gw1
restart_timeout 1 2
topic q2/# in 2
`, Options{})
	r.waitConnected(t)
	r.waitSettled(t, 1)
	far := connect(t, remote, "far", nil)
	witness := connect(t, r.bridge.Addr(), "witness", map[string]byte{"q2/#": 2})

	c := rawmqtt.Dial(t, r.bridge.Addr(), "q2-sub", true)
	sub := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	sub.MessageID, sub.Topics, sub.Qoss = 1, []string{"q2/#", "probe"}, []byte{2, 0}
	c.Send(t, sub)
	rawmqtt.Expect[*packets.SubackPacket](t, c)

	far.publish("q2/a", 2, false, "first")
	d := rawmqtt.Expect[*packets.PublishPacket](t, c)
	if d.TopicName != "q2/a" || d.Qos != 2 || d.MessageID == 0 {
		t.Fatalf("got %q QoS %d id %d, want q2/a at QoS 2 with an id", d.TopicName, d.Qos, d.MessageID)
	}
	witness.expect("q2/a first")

	// The delivery stays unacknowledged: its identifier is in use.
	unsub := packets.NewControlPacket(packets.Unsubscribe).(*packets.UnsubscribePacket)
	unsub.MessageID, unsub.Topics = d.MessageID, []string{"q2/#"}
	c.Send(t, unsub)
	if ack := rawmqtt.Expect[*packets.UnsubackPacket](t, c); ack.MessageID != d.MessageID {
		t.Fatalf("UNSUBACK id %d, want %d", ack.MessageID, d.MessageID)
	}

	// Once the witness has the next message, the broker has queued it to
	// every subscriber; a probe queued after it to the same connection
	// comes after it.
	far.publish("q2/b", 2, false, "second")
	witness.expect("q2/b second")
	witness.publish("probe", 0, false, "probe")
	if p := rawmqtt.Expect[*packets.PublishPacket](t, c); p.TopicName != "probe" {
		t.Fatalf("got %q on %q after UNSUBACK, want only the probe: the subscription stayed", p.Payload, p.TopicName)
	}

	// The QoS 2 delivery is still in flight under its identifier.
	c.CompleteQoS2(t, d.MessageID)
}
