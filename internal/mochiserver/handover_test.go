package mochiserver

import (
	"fmt"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/cellmqtt/cellmqtt/internal/mochiserver/rawmqtt"
)

// TestReconnectAtOnceKeepsSubscriptions: a clean client connects again with
// the same client ID at once (after a DISCONNECT, after dropping its
// socket, or while still connected: a take-over), subscribes and is
// published to. mochi v2.7.9 alone tears the first connection's session
// down after the second connection registered and subscribed, deleting the
// second connection's subscription and client entry (the broker
// acknowledges the SUBSCRIBE and never delivers): a round in a few hundred
// under -race here, one run in thirty of the compat tests that reconnect
// between subscribing and publishing. The handover hook New installs makes
// the second CONNECT wait for that teardown. Every round's message arrives.
func TestReconnectAtOnceKeepsSubscriptions(t *testing.T) {
	rounds := 300
	if testing.Short() {
		rounds = 100
	}
	for _, tc := range []struct {
		name string
		end  func(*rawmqtt.Conn) // how the earlier connection ends
	}{
		{"after DISCONNECT", func(c *rawmqtt.Conn) { c.Send(t, packets.NewControlPacket(packets.Disconnect)) }},
		{"after the socket dropped", (*rawmqtt.Conn).Close},
		{"taking over", func(*rawmqtt.Conn) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startBroker(t)
			c := rawmqtt.Dial(t, b.addr, "returner", true)
			for i := range rounds {
				tc.end(c)
				c = rawmqtt.Dial(t, b.addr, "returner", true)
				s := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
				s.MessageID = 1
				s.Topics, s.Qoss = []string{"handover/t"}, []byte{0}
				c.Send(t, s)
				rawmqtt.Expect[*packets.SubackPacket](t, c)
				mustPublish(t, b, "handover/t", fmt.Sprint(i), 0)
				if m := rawmqtt.Expect[*packets.PublishPacket](t, c); string(m.Payload) != fmt.Sprint(i) {
					t.Fatalf("round %d: got %q", i, m.Payload)
				}
			}
		})
	}
}
