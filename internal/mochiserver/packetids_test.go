package mochiserver

import (
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
	mochi "github.com/mochi-mqtt/server/v2"
)

// testWait bounds every wait of these tests; a test that hits it fails.
const testWait = 10 * time.Second

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
		collide func(t *testing.T, c *rawMQTT, b *testBroker, k uint16)
	}{
		{"subscribe", func(t *testing.T, c *rawMQTT, b *testBroker, k uint16) {
			sub := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
			sub.MessageID, sub.Topics, sub.Qoss = k, []string{"b"}, []byte{1}
			c.send(t, sub)
			ack := expectPacket[*packets.SubackPacket](t, c)
			if ack.MessageID != k || len(ack.ReturnCodes) != 1 || ack.ReturnCodes[0] != 1 {
				t.Fatalf("SUBACK id %d codes %v, want id %d codes [1]", ack.MessageID, ack.ReturnCodes, k)
			}
			mustPublish(t, b, "b", "on b", 0)
			if p := expectPacket[*packets.PublishPacket](t, c); p.TopicName != "b" {
				t.Fatalf("got a message on %q, want one on b", p.TopicName)
			}
		}},
		{"unsubscribe", func(t *testing.T, c *rawMQTT, b *testBroker, k uint16) {
			unsub := packets.NewControlPacket(packets.Unsubscribe).(*packets.UnsubscribePacket)
			unsub.MessageID, unsub.Topics = k, []string{"a"}
			c.send(t, unsub)
			if ack := expectPacket[*packets.UnsubackPacket](t, c); ack.MessageID != k {
				t.Fatalf("UNSUBACK id %d, want %d", ack.MessageID, k)
			}
			// One connection keeps the broker's order: once the probe
			// arrived, a message on a sent before it would have too.
			mustPublish(t, b, "a", "after unsubscribe", 0)
			mustPublish(t, b, "probe", "probe", 0)
			if p := expectPacket[*packets.PublishPacket](t, c); p.TopicName != "probe" {
				t.Fatalf("got %q on %q after UNSUBACK, want only the probe", p.Payload, p.TopicName)
			}
		}},
		{"publish qos1", func(t *testing.T, c *rawMQTT, b *testBroker, k uint16) {
			c.send(t, publishPacket("up", "from the client", 1, k))
			if ack := expectPacket[*packets.PubackPacket](t, c); ack.MessageID != k {
				t.Fatalf("PUBACK id %d, want %d", ack.MessageID, k)
			}
		}},
		{"publish qos2", func(t *testing.T, c *rawMQTT, b *testBroker, k uint16) {
			c.send(t, publishPacket("up", "from the client", 2, k))
			if ack := expectPacket[*packets.PubrecPacket](t, c); ack.MessageID != k {
				t.Fatalf("PUBREC id %d, want %d", ack.MessageID, k)
			}
			rel := packets.NewControlPacket(packets.Pubrel).(*packets.PubrelPacket)
			rel.MessageID = k
			c.send(t, rel)
			if ack := expectPacket[*packets.PubcompPacket](t, c); ack.MessageID != k {
				t.Fatalf("PUBCOMP id %d, want %d", ack.MessageID, k)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := startBroker(t)
			c := dialRaw(t, b.addr, "collider")
			sub := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
			sub.MessageID, sub.Topics, sub.Qoss = 1, []string{"a", "probe"}, []byte{1, 0}
			c.send(t, sub)
			expectPacket[*packets.SubackPacket](t, c)
			mustPublish(t, b, "a", "pending", 1)
			d := expectPacket[*packets.PublishPacket](t, c)
			if d.Qos != 1 || d.MessageID == 0 {
				t.Fatalf("delivery QoS %d id %d, want QoS 1 with an id", d.Qos, d.MessageID)
			}
			// The delivery stays unacknowledged: its identifier is in use.
			tc.collide(t, c, b, d.MessageID)
			c.close()

			again := dialRaw(t, b.addr, "collider")
			r := expectPacket[*packets.PublishPacket](t, again)
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
	c := dialRaw(t, b.addr, "qos2")
	sub := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	sub.MessageID, sub.Topics, sub.Qoss = 1, []string{"down"}, []byte{2}
	c.send(t, sub)
	expectPacket[*packets.SubackPacket](t, c)
	const mine = 2
	c.send(t, publishPacket("up", "held", 2, mine))
	if ack := expectPacket[*packets.PubrecPacket](t, c); ack.MessageID != mine {
		t.Fatalf("PUBREC id %d, want %d", ack.MessageID, mine)
	}
	// The client sends the same PUBLISH again (as after a lost PUBREC):
	// the broker answers PUBREC again and holds one message.
	again := publishPacket("up", "held", 2, mine)
	again.Dup = true
	c.send(t, again)
	if ack := expectPacket[*packets.PubrecPacket](t, c); ack.MessageID != mine {
		t.Fatalf("PUBREC of the resent PUBLISH id %d, want %d", ack.MessageID, mine)
	}
	for range 3 {
		mustPublish(t, b, "down", "delivery", 2)
		d := expectPacket[*packets.PublishPacket](t, c)
		rec := packets.NewControlPacket(packets.Pubrec).(*packets.PubrecPacket)
		rec.MessageID = d.MessageID
		c.send(t, rec)
		if rel := expectPacket[*packets.PubrelPacket](t, c); rel.MessageID != d.MessageID {
			t.Fatalf("PUBREL id %d, want %d", rel.MessageID, d.MessageID)
		}
		comp := packets.NewControlPacket(packets.Pubcomp).(*packets.PubcompPacket)
		comp.MessageID = d.MessageID
		c.send(t, comp)
	}
	rel := packets.NewControlPacket(packets.Pubrel).(*packets.PubrelPacket)
	rel.MessageID = mine
	c.send(t, rel)
	if ack := expectPacket[*packets.PubcompPacket](t, c); ack.MessageID != mine {
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
	c := dialRaw(t, b.addr, "persist")
	const mine = 7
	c.send(t, publishPacket("up", "held", 2, mine))
	if ack := expectPacket[*packets.PubrecPacket](t, c); ack.MessageID != mine {
		t.Fatalf("PUBREC id %d, want %d", ack.MessageID, mine)
	}
	c.close()

	again := dialRaw(t, b.addr, "persist")
	if ack := expectPacket[*packets.PubrecPacket](t, again); ack.MessageID != mine {
		t.Fatalf("PUBREC after reconnect id %d, want %d", ack.MessageID, mine)
	}
	rel := packets.NewControlPacket(packets.Pubrel).(*packets.PubrelPacket)
	rel.MessageID = mine
	again.send(t, rel)
	if ack := expectPacket[*packets.PubcompPacket](t, again); ack.MessageID != mine {
		t.Fatalf("PUBCOMP id %d, want %d", ack.MessageID, mine)
	}
}

// rawMQTT is an MQTT 3.1.1 client that sends exactly the packets a test
// writes, identifiers included, over a loopback connection.
type rawMQTT struct{ conn net.Conn }

// dialRaw connects with clean session off and reads the CONNACK.
func dialRaw(t *testing.T, addr, clientID string) *rawMQTT {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, testWait)
	if err != nil {
		t.Fatal(err)
	}
	c := &rawMQTT{conn: conn}
	t.Cleanup(c.close)
	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion = "MQTT", 4
	cp.ClientIdentifier, cp.CleanSession, cp.Keepalive = clientID, false, 60
	c.send(t, cp)
	if ack := expectPacket[*packets.ConnackPacket](t, c); ack.ReturnCode != 0 {
		t.Fatalf("CONNACK %d", ack.ReturnCode)
	}
	return c
}

func (c *rawMQTT) close() { _ = c.conn.Close() }

func (c *rawMQTT) send(t *testing.T, p packets.ControlPacket) {
	t.Helper()
	if err := c.conn.SetWriteDeadline(time.Now().Add(testWait)); err != nil {
		t.Fatal(err)
	}
	if err := p.Write(c.conn); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
}

// expectPacket reads the next packet and fails unless it is a P.
func expectPacket[P packets.ControlPacket](t *testing.T, c *rawMQTT) P {
	t.Helper()
	var want P
	if err := c.conn.SetReadDeadline(time.Now().Add(testWait)); err != nil {
		t.Fatal(err)
	}
	got, err := packets.ReadPacket(c.conn)
	if err != nil {
		t.Fatalf("waiting for a %T: %v", want, err)
	}
	p, ok := got.(P)
	if !ok {
		t.Fatalf("got %s, want a %T", got, want)
	}
	return p
}

func publishPacket(topic, payload string, qos byte, id uint16) *packets.PublishPacket {
	p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	p.TopicName, p.Payload, p.Qos, p.MessageID = topic, []byte(payload), qos, id
	return p
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
