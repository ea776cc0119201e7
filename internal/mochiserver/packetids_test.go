package mochiserver

import (
	"log/slog"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/mochiserver/rawmqtt"
	"github.com/eclipse/paho.mqtt.golang/packets"
	mochi "github.com/mochi-mqtt/server/v2"
)

// TestPacketIDCollision provokes on purpose what mochi-mqtt v2.7.9 gets
// wrong (packetIDSpaces): with a QoS 1 delivery to the client
// in flight under packet identifier k, the client numbers its own
// SUBSCRIBE, UNSUBSCRIBE or QoS 1/2 PUBLISH k, as MQTT allows. Each must
// work as without the collision, every answer must carry k, and the
// delivery must still be in flight: a reconnect with clean session off
// gets it again, with DUP, under k.
func TestPacketIDCollision(t *testing.T) {
	cases := []struct {
		name    string
		collide func(t *testing.T, c *rawmqtt.Conn, b *testBroker, k uint16)
	}{
		{"subscribe", func(t *testing.T, c *rawmqtt.Conn, b *testBroker, k uint16) {
			sub := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
			sub.MessageID, sub.Topics, sub.Qoss = k, []string{"b"}, []byte{1}
			c.Send(t, sub)
			ack := rawmqtt.Expect[*packets.SubackPacket](t, c)
			if ack.MessageID != k || len(ack.ReturnCodes) != 1 || ack.ReturnCodes[0] != 1 {
				t.Fatalf("SUBACK id %d codes %v, want id %d codes [1]", ack.MessageID, ack.ReturnCodes, k)
			}
			mustPublish(t, b, "b", "on b", 0)
			if p := rawmqtt.Expect[*packets.PublishPacket](t, c); p.TopicName != "b" {
				t.Fatalf("got a message on %q, want one on b", p.TopicName)
			}
		}},
		{"unsubscribe", func(t *testing.T, c *rawmqtt.Conn, b *testBroker, k uint16) {
			unsub := packets.NewControlPacket(packets.Unsubscribe).(*packets.UnsubscribePacket)
			unsub.MessageID, unsub.Topics = k, []string{"a"}
			c.Send(t, unsub)
			if ack := rawmqtt.Expect[*packets.UnsubackPacket](t, c); ack.MessageID != k {
				t.Fatalf("UNSUBACK id %d, want %d", ack.MessageID, k)
			}
			// One connection keeps the broker's order: once the probe
			// arrived, a message on a sent before it would have too.
			mustPublish(t, b, "a", "after unsubscribe", 0)
			mustPublish(t, b, "probe", "probe", 0)
			if p := rawmqtt.Expect[*packets.PublishPacket](t, c); p.TopicName != "probe" {
				t.Fatalf("got %q on %q after UNSUBACK, want only the probe", p.Payload, p.TopicName)
			}
		}},
		{"publish qos1", func(t *testing.T, c *rawmqtt.Conn, b *testBroker, k uint16) {
			c.Send(t, rawmqtt.Publish("up", "from the client", 1, k))
			if ack := rawmqtt.Expect[*packets.PubackPacket](t, c); ack.MessageID != k {
				t.Fatalf("PUBACK id %d, want %d", ack.MessageID, k)
			}
		}},
		{"publish qos2", func(t *testing.T, c *rawmqtt.Conn, b *testBroker, k uint16) {
			c.Send(t, rawmqtt.Publish("up", "from the client", 2, k))
			if ack := rawmqtt.Expect[*packets.PubrecPacket](t, c); ack.MessageID != k {
				t.Fatalf("PUBREC id %d, want %d", ack.MessageID, k)
			}
			rel := packets.NewControlPacket(packets.Pubrel).(*packets.PubrelPacket)
			rel.MessageID = k
			c.Send(t, rel)
			if ack := rawmqtt.Expect[*packets.PubcompPacket](t, c); ack.MessageID != k {
				t.Fatalf("PUBCOMP id %d, want %d", ack.MessageID, k)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := startBroker(t)
			c := rawmqtt.Dial(t, b.addr, "collider", false)
			sub := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
			sub.MessageID, sub.Topics, sub.Qoss = 1, []string{"a", "probe"}, []byte{1, 0}
			c.Send(t, sub)
			rawmqtt.Expect[*packets.SubackPacket](t, c)
			mustPublish(t, b, "a", "pending", 1)
			d := rawmqtt.Expect[*packets.PublishPacket](t, c)
			if d.Qos != 1 || d.MessageID == 0 {
				t.Fatalf("delivery QoS %d id %d, want QoS 1 with an id", d.Qos, d.MessageID)
			}
			// The delivery stays unacknowledged: its identifier is in use.
			tc.collide(t, c, b, d.MessageID)
			c.Close()

			again := rawmqtt.Dial(t, b.addr, "collider", false)
			r := rawmqtt.Expect[*packets.PublishPacket](t, again)
			if r.MessageID != d.MessageID || !r.Dup || string(r.Payload) != "pending" {
				t.Fatalf("after reconnect got id %d dup %v %q, want the pending delivery id %d again with DUP",
					r.MessageID, r.Dup, r.Payload, d.MessageID)
			}
		})
	}
}

// TestClientQoS2AcrossDeliveries: while a QoS 2 PUBLISH of
// the client waits for its PUBREL, the broker's deliveries to that client
// take other identifiers, and the PUBREL still completes the flow under
// the client's identifier.
func TestClientQoS2AcrossDeliveries(t *testing.T) {
	b := startBroker(t)
	c := rawmqtt.Dial(t, b.addr, "qos2", false)
	sub := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	sub.MessageID, sub.Topics, sub.Qoss = 1, []string{"down"}, []byte{2}
	c.Send(t, sub)
	rawmqtt.Expect[*packets.SubackPacket](t, c)
	const mine = 2
	c.Send(t, rawmqtt.Publish("up", "held", 2, mine))
	if ack := rawmqtt.Expect[*packets.PubrecPacket](t, c); ack.MessageID != mine {
		t.Fatalf("PUBREC id %d, want %d", ack.MessageID, mine)
	}
	// The client sends the same PUBLISH again (as after a lost PUBREC):
	// the broker answers PUBREC again and holds one message.
	again := rawmqtt.Publish("up", "held", 2, mine)
	again.Dup = true
	c.Send(t, again)
	if ack := rawmqtt.Expect[*packets.PubrecPacket](t, c); ack.MessageID != mine {
		t.Fatalf("PUBREC of the resent PUBLISH id %d, want %d", ack.MessageID, mine)
	}
	for range 3 {
		mustPublish(t, b, "down", "delivery", 2)
		d := rawmqtt.Expect[*packets.PublishPacket](t, c)
		c.CompleteQoS2(t, d.MessageID)
	}
	rel := packets.NewControlPacket(packets.Pubrel).(*packets.PubrelPacket)
	rel.MessageID = mine
	c.Send(t, rel)
	if ack := rawmqtt.Expect[*packets.PubcompPacket](t, c); ack.MessageID != mine {
		t.Fatalf("PUBCOMP id %d, want %d", ack.MessageID, mine)
	}
}

// TestClientQoS2AcrossReconnect: a QoS 2 PUBLISH of the
// client whose PUBREL did not go out before the connection broke is still
// the client's: after a reconnect with clean session off the broker sends
// its PUBREC again under the client's identifier, and the PUBREL completes
// it.
func TestClientQoS2AcrossReconnect(t *testing.T) {
	b := startBroker(t)
	c := rawmqtt.Dial(t, b.addr, "persist", false)
	const mine = 7
	c.Send(t, rawmqtt.Publish("up", "held", 2, mine))
	if ack := rawmqtt.Expect[*packets.PubrecPacket](t, c); ack.MessageID != mine {
		t.Fatalf("PUBREC id %d, want %d", ack.MessageID, mine)
	}
	c.Close()

	again := rawmqtt.Dial(t, b.addr, "persist", false)
	if ack := rawmqtt.Expect[*packets.PubrecPacket](t, again); ack.MessageID != mine {
		t.Fatalf("PUBREC after reconnect id %d, want %d", ack.MessageID, mine)
	}
	rel := packets.NewControlPacket(packets.Pubrel).(*packets.PubrelPacket)
	rel.MessageID = mine
	again.Send(t, rel)
	if ack := rawmqtt.Expect[*packets.PubcompPacket](t, again); ack.MessageID != mine {
		t.Fatalf("PUBCOMP id %d, want %d", ack.MessageID, mine)
	}
}

// testBroker is a server from New with an inline client, on a loopback
// listener, closed with the test.
type testBroker struct {
	server *mochi.Server
	addr   string
}

func startBroker(t *testing.T) *testBroker {
	t.Helper()
	s, err := New(&mochi.Options{Logger: slog.New(slog.DiscardHandler), InlineClient: true})
	if err != nil {
		t.Fatal(err)
	}
	ln := serve(t, s)
	t.Cleanup(func() { _ = Close(s, ln, time.Second) })
	return &testBroker{server: s, addr: ln.Addr().String()}
}

// mustPublish publishes from the broker's inline client, as another client
// would.
func mustPublish(t *testing.T, b *testBroker, topic, payload string, qos byte) {
	t.Helper()
	if err := b.server.Publish(topic, []byte(payload), false, qos); err != nil {
		t.Fatal(err)
	}
}
