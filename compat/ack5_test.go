package compat

import (
	"bytes"
	"net"
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
	packets5 "github.com/eclipse/paho.golang/packets"
)

func TestAck5Encoding(t *testing.T) {
	tests := []struct {
		name  string
		kind  byte
		rc    byte
		props *packets5.Properties
		want  []byte
	}{
		{"PUBACK success", packets5.PUBACK, 0, nil, []byte{0x40, 0x02, 0x01, 0x02}},
		{"PUBACK success, empty properties", packets5.PUBACK, 0, &packets5.Properties{}, []byte{0x40, 0x02, 0x01, 0x02}},
		{"PUBREC success", packets5.PUBREC, 0, nil, []byte{0x50, 0x02, 0x01, 0x02}},
		{"PUBREL success", packets5.PUBREL, 0, nil, []byte{0x62, 0x02, 0x01, 0x02}},
		{"PUBCOMP success", packets5.PUBCOMP, 0, nil, []byte{0x70, 0x02, 0x01, 0x02}},
		// A reason code always comes with a property length.
		{"PUBCOMP packet ID not found", packets5.PUBCOMP, 0x92, nil, []byte{0x70, 0x04, 0x01, 0x02, 0x92, 0x00}},
		{"PUBACK refused with reason", packets5.PUBACK, 0x90, &packets5.Properties{ReasonString: "no"},
			[]byte{0x40, 0x09, 0x01, 0x02, 0x90, 0x05, 0x1F, 0x00, 0x02, 'n', 'o'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ack5(tt.kind, 0x0102, tt.rc, tt.props)
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("ack5 = % x, want % x", got, tt.want)
			}
			cp, err := packets5.ReadPacket(bytes.NewReader(got))
			if err != nil || cp.Type != tt.kind {
				t.Fatalf("paho.golang reads it as %v, %v", cp, err)
			}
		})
	}
}

// readRaw reads one whole packet's bytes.
func readRaw(t *testing.T, c net.Conn) []byte {
	t.Helper()
	b, err := readFrame(c, 1<<20)
	if err != nil {
		t.Fatalf("reading the adapter's answer: %v", err)
	}
	return b
}

// TestV5AcksWire: every PUBACK, PUBREC, PUBREL and PUBCOMP the adapter
// writes in MQTT 5 leaves out reason code 0x00 and empty properties, byte
// for byte as mosquitto does (Debian's paho-mqtt 1.6.1 fails otherwise).
func TestV5AcksWire(t *testing.T) {
	r := newRig(t, modemsim.EmbeddedOptions{}, simcom.A7600)
	c, ca := connected5(t, r, nil)
	if ca.ReasonCode != 0 {
		t.Fatalf("CONNACK 0x%02X", ca.ReasonCode)
	}
	sub := packets5.NewControlPacket(packets5.SUBSCRIBE)
	s := sub.Content.(*packets5.Subscribe)
	s.PacketID, s.Subscriptions = 1, []packets5.SubOptions{{Topic: "acks/in", QoS: 2}}
	send5(t, c, sub)
	if got := read5(t, c); got.Type != packets5.SUBACK {
		t.Fatalf("SUBSCRIBE answered with %s", got.PacketType())
	}

	pub := func(qos byte, id uint16) {
		cp := packets5.NewControlPacket(packets5.PUBLISH)
		p := cp.Content.(*packets5.Publish)
		p.Topic, p.QoS, p.PacketID, p.Payload = "acks/out", qos, id, []byte("x")
		send5(t, c, cp)
	}
	pub(1, 7)
	if got, want := readRaw(t, c), []byte{0x40, 0x02, 0x00, 0x07}; !bytes.Equal(got, want) {
		t.Errorf("PUBACK % x, want % x", got, want)
	}
	pub(2, 8)
	if got, want := readRaw(t, c), []byte{0x50, 0x02, 0x00, 0x08}; !bytes.Equal(got, want) {
		t.Errorf("PUBREC % x, want % x", got, want)
	}
	rel := packets5.NewControlPacket(packets5.PUBREL)
	rel.Content.(*packets5.Pubrel).PacketID = 8
	send5(t, c, rel)
	if got, want := readRaw(t, c), []byte{0x70, 0x02, 0x00, 0x08}; !bytes.Equal(got, want) {
		t.Errorf("PUBCOMP % x, want % x", got, want)
	}

	// A message delivered with QoS 2: the adapter's PUBREL.
	if err := r.broker.Publish("acks/in", []byte("in"), false, 2); err != nil {
		t.Fatal(err)
	}
	in := read5(t, c)
	p, ok := in.Content.(*packets5.Publish)
	if !ok || p.QoS != 2 {
		t.Fatalf("delivered %s, want a QoS 2 PUBLISH", in.PacketType())
	}
	rec := packets5.NewControlPacket(packets5.PUBREC)
	rec.Content.(*packets5.Pubrec).PacketID = p.PacketID
	send5(t, c, rec)
	if got, want := readRaw(t, c), []byte{0x62, 0x02, byte(p.PacketID >> 8), byte(p.PacketID)}; !bytes.Equal(got, want) {
		t.Errorf("PUBREL % x, want % x (remaining length 2, as mosquitto)", got, want)
	}
}
