package compat

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
	packets5 "github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// fuzzSeeds are byte streams a client could write: valid sessions in both
// protocol versions and broken ones.
func fuzzSeeds() [][]byte {
	c := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	c.ProtocolName, c.ProtocolVersion, c.ClientIdentifier, c.CleanSession, c.Keepalive = "MQTT", 4, "fuzz", true, 60
	connect4 := encode311(c)
	pub := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pub.TopicName, pub.Payload, pub.Qos, pub.MessageID = "f/z", []byte("x"), 1, 7
	sub := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	sub.MessageID, sub.Topics, sub.Qoss = 8, []string{"f/#"}, []byte{2}
	disc := encode311(packets.NewControlPacket(packets.Disconnect))

	cp := packets5.NewControlPacket(packets5.CONNECT)
	c5 := cp.Content.(*packets5.Connect)
	c5.ClientID, c5.KeepAlive, c5.CleanStart = "fuzz5", 60, true
	connect5 := encode5(cp)
	alias := packets5.NewControlPacket(packets5.PUBLISH)
	p5 := alias.Content.(*packets5.Publish)
	p5.Topic, p5.QoS, p5.PacketID, p5.Properties = "f/z", 1, 3, &packets5.Properties{TopicAlias: ptr(uint16(1))}

	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	return [][]byte{
		connect4,
		cat(connect4, encode311(pub), encode311(sub), []byte{0xC0, 0x00}, disc),
		cat(connect5, encode5(alias)),
		connect5[:len(connect5)-3],
		{0x10, 0xFF, 0xFF, 0xFF, 0x7F},
		{0x30, 0x02, 0x00, 0x05},
		cat(connect4, []byte{0x82, 0x04, 0x00, 0x01, 0xFF, 0xFF}),
		{0xF0, 0x00},
	}
}

// FuzzPacketPath writes arbitrary bytes into a Conn as a client would: the
// adapter must not panic, must answer or end the connection, and must give
// the client index back after Close (the next Dial gets it).
func FuzzPacketPath(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	r := newRig(f, modemsim.EmbeddedOptions{}, simcom.A7600)
	f.Fuzz(func(t *testing.T, in []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := Dial(ctx, r.modem, r.broker.URL(), WithClientIndex(0))
		if err != nil {
			t.Fatalf("Dial (the last connection did not give its index back?): %v", err)
		}
		_ = conn.SetDeadline(time.Now().Add(100 * time.Millisecond))
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			_, _ = conn.Write(in)
		}()
		// Drain the answers until the adapter ends the connection or the
		// deadline passes (a valid CONNECT, or half a packet, keeps it
		// open).
		_, _ = io.Copy(io.Discard, conn)
		_ = conn.Close()
		<-wrote
		// The next Dial in the next run waits for the index; make this run
		// wait for it too, so a hang shows up here.
		again, err := Dial(ctx, r.modem, r.broker.URL(), WithClientIndex(0))
		if err != nil {
			t.Fatalf("index 0 not given back after Close: %v", err)
		}
		_ = again.Close()
	})
}
