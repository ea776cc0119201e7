// Package rawmqtt is an MQTT 3.1.1 client for tests that sends exactly the
// packets a test writes, packet identifiers included: what provokes on
// purpose what client libraries leave to chance, such as a client choosing
// the identifier of a delivery the broker has in flight to it.
package rawmqtt

import (
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// Timeout bounds every write and every wait for a packet; a test that
// reaches it fails.
const Timeout = 20 * time.Second

// Conn is one client connection.
type Conn struct{ conn net.Conn }

// Dial connects to addr over TCP with clientID and the clean session flag
// clean, and reads a successful CONNACK; the connection closes with the
// test.
func Dial(t testing.TB, addr, clientID string, clean bool) *Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		t.Fatal(err)
	}
	c := &Conn{conn: conn}
	t.Cleanup(c.Close)
	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion = "MQTT", 4
	cp.ClientIdentifier, cp.CleanSession, cp.Keepalive = clientID, clean, 60
	c.Send(t, cp)
	if ack := Expect[*packets.ConnackPacket](t, c); ack.ReturnCode != 0 {
		t.Fatalf("CONNACK %d", ack.ReturnCode)
	}
	return c
}

// Close closes the connection without DISCONNECT.
func (c *Conn) Close() { _ = c.conn.Close() }

// Send writes p.
func (c *Conn) Send(t testing.TB, p packets.ControlPacket) {
	t.Helper()
	if err := c.conn.SetWriteDeadline(time.Now().Add(Timeout)); err != nil {
		t.Fatal(err)
	}
	if err := p.Write(c.conn); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
}

// Next reads the next packet, whatever it is.
func Next(t testing.TB, c *Conn) packets.ControlPacket {
	t.Helper()
	if err := c.conn.SetReadDeadline(time.Now().Add(Timeout)); err != nil {
		t.Fatal(err)
	}
	got, err := packets.ReadPacket(c.conn)
	if err != nil {
		t.Fatalf("waiting for a packet: %v", err)
	}
	return got
}

// Expect reads the next packet and fails the test unless it is a P.
func Expect[P packets.ControlPacket](t testing.TB, c *Conn) P {
	t.Helper()
	var want P
	got := Next(t, c)
	p, ok := got.(P)
	if !ok {
		t.Fatalf("got %s, want a %T", got, want)
	}
	return p
}

// CompleteQoS2 completes the broker's QoS 2 delivery id: it sends PUBREC,
// wants PUBREL with id, and sends PUBCOMP.
func (c *Conn) CompleteQoS2(t testing.TB, id uint16) {
	t.Helper()
	rec := packets.NewControlPacket(packets.Pubrec).(*packets.PubrecPacket)
	rec.MessageID = id
	c.Send(t, rec)
	if rel := Expect[*packets.PubrelPacket](t, c); rel.MessageID != id {
		t.Fatalf("PUBREL id %d, want %d", rel.MessageID, id)
	}
	comp := packets.NewControlPacket(packets.Pubcomp).(*packets.PubcompPacket)
	comp.MessageID = id
	c.Send(t, comp)
}

// Publish is a PUBLISH packet.
func Publish(topic, payload string, qos byte, id uint16) *packets.PublishPacket {
	p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	p.TopicName, p.Payload, p.Qos, p.MessageID = topic, []byte(payload), qos, id
	return p
}
