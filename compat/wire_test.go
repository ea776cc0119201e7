package compat

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
	packets5 "github.com/eclipse/paho.golang/packets"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// These tests speak raw MQTT packets (encoded with the paho packet
// libraries) to the adapter and check the packets it answers with.

func dialRaw(t *testing.T, r *rig) net.Conn {
	t.Helper()
	conn, err := Dial(testContext(t), r.modem, r.broker.URL(), WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(waitTimeout))
	return conn
}

func send5(t *testing.T, c net.Conn, cp *packets5.ControlPacket) {
	t.Helper()
	if _, err := cp.WriteTo(c); err != nil {
		t.Fatal(err)
	}
}

func read5(t *testing.T, c net.Conn) *packets5.ControlPacket {
	t.Helper()
	cp, err := packets5.ReadPacket(c)
	if err != nil {
		t.Fatalf("reading the adapter's answer: %v", err)
	}
	return cp
}

func connect5(clientID string, edit func(*packets5.Connect)) *packets5.ControlPacket {
	cp := packets5.NewControlPacket(packets5.CONNECT)
	c := cp.Content.(*packets5.Connect)
	c.ClientID, c.KeepAlive, c.CleanStart = clientID, 30, true
	if edit != nil {
		edit(c)
	}
	return cp
}

// connected5 connects an MQTT 5 raw client and returns its CONNACK.
func connected5(t *testing.T, r *rig, edit func(*packets5.Connect)) (net.Conn, *packets5.Connack) {
	t.Helper()
	c := dialRaw(t, r)
	send5(t, c, connect5("raw5", edit))
	ca, ok := read5(t, c).Content.(*packets5.Connack)
	if !ok {
		t.Fatal("first answer is not CONNACK")
	}
	return c, ca
}

func TestV5ConnectRefusals(t *testing.T) {
	r := newRig(t, modemsim.EmbeddedOptions{}, simcom.A7600)
	tests := []struct {
		name string
		edit func(*packets5.Connect)
		want byte
	}{
		{"enhanced authentication", func(c *packets5.Connect) { c.Properties.AuthMethod = "SCRAM-SHA-1" }, packets5.ConnackBadAuthenticationMethod},
		{"will retain", func(c *packets5.Connect) {
			c.WillFlag, c.WillTopic, c.WillMessage, c.WillRetain = true, "w", []byte("x"), true
			c.WillProperties = &packets5.Properties{}
		}, packets5.ConnackRetainNotSupported},
		{"client ID the modem cannot carry", func(c *packets5.Connect) { c.ClientID = `a"b` }, packets5.ConnackInvalidClientID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ca := connected5(t, r, tt.edit)
			if ca.ReasonCode != tt.want || ca.Properties.ReasonString == "" {
				t.Errorf("CONNACK 0x%02X %q, want 0x%02X with a reason string", ca.ReasonCode, ca.Properties.ReasonString, tt.want)
			}
		})
	}
}

func TestV5ConnackProperties(t *testing.T) {
	r := newRig(t, modemsim.EmbeddedOptions{}, simcom.SIM7600)
	c, ca := connected5(t, r, func(c *packets5.Connect) {
		c.ClientID = ""
		c.Properties.SessionExpiryInterval = ptr(uint32(3600))
	})
	if ca.ReasonCode != 0 {
		t.Fatalf("CONNACK 0x%02X %s", ca.ReasonCode, ca.Properties.ReasonString)
	}
	p := ca.Properties
	if len(p.AssignedClientID) != 21 {
		t.Errorf("assigned client ID %q", p.AssignedClientID)
	}
	if p.SessionExpiryInterval == nil || *p.SessionExpiryInterval != sessionNeverExpires {
		t.Errorf("session expiry %v, want 0xFFFFFFFF (the 3.1.1 broker keeps the session)", p.SessionExpiryInterval)
	}
	if p.TopicAliasMaximum != nil && *p.TopicAliasMaximum != 0 {
		t.Errorf("topic alias maximum %d", *p.TopicAliasMaximum)
	}
	send5(t, c, packets5.NewControlPacket(packets5.PINGREQ))
	if got := read5(t, c); got.Type != packets5.PINGRESP {
		t.Errorf("PINGREQ answered with %s", got.PacketType())
	}
}

func TestV5PacketAnswers(t *testing.T) {
	r := newRig(t, modemsim.EmbeddedOptions{}, simcom.A7600)
	publish := func(topic string, qos byte, id uint16, payload []byte, props *packets5.Properties) *packets5.ControlPacket {
		cp := packets5.NewControlPacket(packets5.PUBLISH)
		p := cp.Content.(*packets5.Publish)
		p.Topic, p.QoS, p.PacketID, p.Payload = topic, qos, id, payload
		if props != nil {
			p.Properties = props
		}
		return cp
	}
	subscribe := func(props *packets5.Properties, opts ...packets5.SubOptions) *packets5.ControlPacket {
		cp := packets5.NewControlPacket(packets5.SUBSCRIBE)
		s := cp.Content.(*packets5.Subscribe)
		s.PacketID, s.Subscriptions = 9, opts
		if props != nil {
			s.Properties = props
		}
		return cp
	}
	pubrel := packets5.NewControlPacket(packets5.PUBREL)
	pubrel.Content.(*packets5.Pubrel).PacketID = 77

	tests := []struct {
		name  string
		send  *packets5.ControlPacket
		check func(t *testing.T, got *packets5.ControlPacket)
	}{
		{"topic alias: DISCONNECT 0x94", publish("a", 0, 0, []byte("x"), &packets5.Properties{TopicAlias: ptr(uint16(1))}),
			wantDisconnect(packets5.DisconnectTopicAliasInvalid)},
		{"subscription identifier: DISCONNECT 0xA1", subscribe(&packets5.Properties{SubscriptionIdentifier: ptr(5)}, packets5.SubOptions{Topic: "a"}),
			wantDisconnect(packets5.DisconnectSubscriptionIdentifiersNotSupported)},
		{"AUTH: DISCONNECT 0x82", packets5.NewControlPacket(packets5.AUTH), wantDisconnect(packets5.DisconnectProtocolError)},
		{"shared subscription and retain handling refused per filter",
			subscribe(nil, packets5.SubOptions{Topic: "$share/g/a", QoS: 1}, packets5.SubOptions{Topic: "ok/+", QoS: 2},
				packets5.SubOptions{Topic: "r", RetainHandling: 2}),
			func(t *testing.T, got *packets5.ControlPacket) {
				sa, ok := got.Content.(*packets5.Suback)
				if !ok || !bytes.Equal(sa.Reasons, []byte{0x9E, 2, 0x83}) {
					t.Errorf("got %s, want SUBACK 9e 02 83", got)
				}
			}},
		{"PUBREL for no message: PUBCOMP 0x92", pubrel, func(t *testing.T, got *packets5.ControlPacket) {
			pc, ok := got.Content.(*packets5.Pubcomp)
			if !ok || pc.PacketID != 77 || pc.ReasonCode != packets5.PubcompPacketIdentifierNotFound {
				t.Errorf("got %s, want PUBCOMP 77 0x92", got)
			}
		}},
		{"payload over 10240 bytes: PUBACK 0x83", publish("big", 1, 5, make([]byte, 10241), nil), func(t *testing.T, got *packets5.ControlPacket) {
			pa, ok := got.Content.(*packets5.Puback)
			if !ok || pa.PacketID != 5 || pa.ReasonCode != packets5.PubackImplementationSpecificError || pa.Properties.ReasonString == "" {
				t.Errorf("got %s, want PUBACK 5 0x83 with a reason", got)
			}
		}},
		{"QoS 2: PUBREC after the modem confirmed", publish("q2", 2, 6, []byte("x"), nil), func(t *testing.T, got *packets5.ControlPacket) {
			pr, ok := got.Content.(*packets5.Pubrec)
			if !ok || pr.PacketID != 6 || pr.ReasonCode != 0 {
				t.Errorf("got %s, want PUBREC 6 0x00", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ca := connected5(t, r, nil)
			if ca.ReasonCode != 0 {
				t.Fatalf("CONNACK 0x%02X", ca.ReasonCode)
			}
			send5(t, c, tt.send)
			tt.check(t, read5(t, c))
		})
	}
}

// A packet over the Maximum Packet Size the CONNACK announced gets
// DISCONNECT 0x95.
func TestV5PacketTooLarge(t *testing.T) {
	r := newRig(t, modemsim.EmbeddedOptions{}, simcom.A7600)
	c, ca := connected5(t, r, nil)
	if ca.ReasonCode != 0 {
		t.Fatalf("CONNACK 0x%02X", ca.ReasonCode)
	}
	cp := packets5.NewControlPacket(packets5.PUBLISH)
	p := cp.Content.(*packets5.Publish)
	p.Topic, p.Payload = "big", make([]byte, maxPacketSize+1)
	go func() { _, _ = cp.WriteTo(c) }() // the adapter stops reading half way
	wantDisconnect(packets5.DisconnectPacketTooLarge)(t, read5(t, c))
}

func wantDisconnect(rc byte) func(*testing.T, *packets5.ControlPacket) {
	return func(t *testing.T, got *packets5.ControlPacket) {
		t.Helper()
		d, ok := got.Content.(*packets5.Disconnect)
		if !ok || d.ReasonCode != rc {
			t.Errorf("got %s, want DISCONNECT 0x%02X", got, rc)
		}
	}
}

func TestV311RawAnswers(t *testing.T) {
	r := newRig(t, modemsim.EmbeddedOptions{}, simcom.A7600)
	connect := func(level byte, id string, clean bool) []byte {
		c := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
		c.ProtocolName, c.ProtocolVersion, c.ClientIdentifier, c.CleanSession, c.Keepalive = "MQTT", level, id, clean, 30
		return encode311(c)
	}
	tests := []struct {
		name    string
		in      []byte
		want    []byte
		thenEOF bool // the adapter closes the connection after want
	}{
		{"unknown protocol level", connect(6, "x", true), []byte{0x20, 0x02, 0x00, 0x01}, true},
		{"empty client ID without clean session", connect(4, "", false), []byte{0x20, 0x02, 0x00, 0x02}, true},
		{"retained will", func() []byte {
			c := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
			c.ProtocolName, c.ProtocolVersion, c.ClientIdentifier, c.CleanSession, c.Keepalive = "MQTT", 4, "w", true, 30
			c.WillFlag, c.WillTopic, c.WillMessage, c.WillRetain = true, "w", []byte("x"), true
			return encode311(c)
		}(), []byte{0x20, 0x02, 0x00, 0x03}, true},
		{"accepted, then PINGRESP", append(connect(4, "raw311", true), 0xC0, 0x00), []byte{0x20, 0x02, 0x00, 0x00, 0xD0, 0x00}, false},
		// MQTT 3.1.1 cannot refuse a message: a QoS 1 message the modem
		// cannot carry ends the connection unacknowledged (MQTT-3.3.5-2),
		// so the client does not take it as delivered.
		{"accepted, oversized QoS 1 publish closes the connection without PUBACK",
			append(connect(4, "raw311b", true), publish311("big", 1, 3, 10241)...),
			[]byte{0x20, 0x02, 0x00, 0x00}, true},
		{"accepted, QoS 2 publish to an over-long topic closes the connection without PUBREC",
			append(connect(4, "raw311c", true), publish311Topic(strings.Repeat("t", 1025), 2, 4, 10)...),
			[]byte{0x20, 0x02, 0x00, 0x00}, true},
		{"accepted, QoS 1 packet over 32 KiB closes the connection without PUBACK",
			append(connect(4, "raw311d", true), publish311("big", 1, 5, 40000)...),
			[]byte{0x20, 0x02, 0x00, 0x00}, true},
		// QoS 0 has no answer to give: the message is dropped (and
		// logged), the connection goes on.
		{"accepted, oversized QoS 0 publish dropped, connection goes on",
			append(append(connect(4, "raw311e", true), publish311("big", 0, 0, 10241)...), 0xC0, 0x00),
			[]byte{0x20, 0x02, 0x00, 0x00, 0xD0, 0x00}, false},
		{"accepted, QoS 0 packet over 32 KiB skipped, connection goes on",
			append(append(connect(4, "raw311f", true), publish311("big", 0, 0, 70000)...), 0xC0, 0x00),
			[]byte{0x20, 0x02, 0x00, 0x00, 0xD0, 0x00}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, r)
			if _, err := c.Write(tt.in); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(tt.want))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatalf("read: %v (got % x)", err, got)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("answer % x, want % x", got, tt.want)
			}
			if tt.thenEOF {
				if n, err := c.Read(make([]byte, 16)); err == nil {
					t.Errorf("read %d more bytes; want the connection closed", n)
				}
			}
		})
	}
}

// publish311 encodes a 3.1.1 PUBLISH with a payload of n bytes.
func publish311(topic string, qos byte, id uint16, n int) []byte {
	return publish311Topic(topic, qos, id, n)
}

// publish311Topic encodes a 3.1.1 PUBLISH to topic with a payload of n
// bytes.
func publish311Topic(topic string, qos byte, id uint16, n int) []byte {
	p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	p.TopicName, p.Qos, p.MessageID, p.Payload = topic, qos, id, make([]byte, n)
	return encode311(p)
}

// A SUBSCRIBE of several filters, one of which the broker refuses: the
// SUBACK says which.
func TestSubscribeRefusedFilter(t *testing.T) {
	r := newRig(t, modemsim.EmbeddedOptions{DenySubscribe: []string{"denied/#"}}, simcom.A7600)
	t.Run("3.1.1", func(t *testing.T) {
		c := mqtt.NewClient(pahoOptions(r, "deny311").SetAutoReconnect(false))
		waitToken(t, c.Connect(), "connect")
		defer c.Disconnect(1000)
		tok := c.SubscribeMultiple(map[string]byte{"ok/+": 1, "denied/#": 1}, func(mqtt.Client, mqtt.Message) {})
		if !tok.WaitTimeout(waitTimeout) {
			t.Fatal("no SUBACK")
		}
		got := tok.(*mqtt.SubscribeToken).Result()
		if got["ok/+"] != 1 || got["denied/#"] != 0x80 {
			t.Errorf("SUBACK %v, want ok/+ granted 1 and denied/# 0x80", got)
		}
	})
	t.Run("5", func(t *testing.T) {
		c, ca := connected5(t, r, nil)
		if ca.ReasonCode != 0 {
			t.Fatalf("CONNACK 0x%02X", ca.ReasonCode)
		}
		cp := packets5.NewControlPacket(packets5.SUBSCRIBE)
		s := cp.Content.(*packets5.Subscribe)
		s.PacketID = 4
		s.Subscriptions = []packets5.SubOptions{{Topic: "denied/#", QoS: 1}, {Topic: "ok/#", QoS: 2}}
		send5(t, c, cp)
		sa, ok := read5(t, c).Content.(*packets5.Suback)
		if !ok || !bytes.Equal(sa.Reasons, []byte{0x80, 2}) || sa.Properties.ReasonString == "" {
			t.Errorf("SUBACK %+v, want 80 02 with a reason string", sa)
		}
	})
}

// After the modem reports the end of the connection, Read returns an error
// that wraps io.EOF and the atmodem sentinel, and the index is free again.
func TestReadErrorAfterModemEvents(t *testing.T) {
	tests := []struct {
		name     string
		inject   func(r *rig) error
		sentinel error
	}{
		{"connection lost", func(r *rig) error { return r.sim.DropConnection(0, modemsim.CauseNetworkClosed) }, atmodem.ErrConnectionLost},
		{"keepalive failed", func(r *rig) error { return r.sim.KeepaliveFail(0) }, atmodem.ErrKeepalive},
		{"no network", func(r *rig) error { r.sim.NoNetwork(); return nil }, atmodem.ErrNoNetwork},
		{"reboot", func(r *rig) error { r.sim.Reboot(); return nil }, atmodem.ErrModemReset},
		{"port closed", func(r *rig) error { return r.modem.Close() }, atmodem.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, modemsim.EmbeddedOptions{}, simcom.A7600)
			c, ca := connected5(t, r, nil)
			if ca.ReasonCode != 0 {
				t.Fatalf("CONNACK 0x%02X", ca.ReasonCode)
			}
			if err := tt.inject(r); err != nil {
				t.Fatal(err)
			}
			_, err := c.Read(make([]byte, 1))
			if !errors.Is(err, io.EOF) || !errors.Is(err, tt.sentinel) {
				t.Fatalf("Read: %v; want io.EOF and %v", err, tt.sentinel)
			}
			if tt.sentinel == atmodem.ErrClosed {
				return
			}
			s, err := r.modem.Session(0)
			if err != nil {
				t.Fatalf("index 0 not free after the loss was read: %v", err)
			}
			_ = s.Close()
		})
	}
}

// A QoS 2 PUBLISH sent again (DUP) before its PUBREL is answered with
// PUBREC without publishing it a second time; PUBREL gets PUBCOMP.
func TestQoS2ResendPublishedOnce(t *testing.T) {
	r := newRig(t, modemsim.EmbeddedOptions{}, simcom.A7600)
	watch := peer(t, r.broker, "", "", "q2/#")
	c := dialRaw(t, r)
	conn := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	conn.ProtocolName, conn.ProtocolVersion, conn.ClientIdentifier, conn.CleanSession, conn.Keepalive = "MQTT", 4, "q2", true, 30
	pub := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pub.TopicName, pub.Qos, pub.MessageID, pub.Payload = "q2/once", 2, 9, []byte("exactly once")
	first := encode311(pub)
	pub.Dup = true
	again := encode311(pub)
	rel := packets.NewControlPacket(packets.Pubrel).(*packets.PubrelPacket)
	rel.MessageID = 9
	marker := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	marker.TopicName, marker.Qos, marker.MessageID, marker.Payload = "q2/marker", 1, 10, []byte("m")

	steps := []struct {
		send, want []byte
	}{
		{encode311(conn), []byte{0x20, 0x02, 0x00, 0x00}},
		{first, []byte{0x50, 0x02, 0x00, 0x09}},          // PUBREC
		{again, []byte{0x50, 0x02, 0x00, 0x09}},          // PUBREC again, not published again
		{encode311(rel), []byte{0x70, 0x02, 0x00, 0x09}}, // PUBCOMP
		{encode311(marker), []byte{0x40, 0x02, 0x00, 0x0A}},
	}
	for i, s := range steps {
		if _, err := c.Write(s.send); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(s.want))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, s.want) {
			t.Fatalf("step %d: answer % x, %v; want % x", i, got, err, s.want)
		}
	}
	watch.wait(t, "q2/marker", 1)
	if n := watch.count("q2/once"); n != 1 {
		t.Errorf("the broker got the QoS 2 message %d times, want once", n)
	}
}

func TestWithModelMismatchRefused(t *testing.T) {
	r := newRig(t, modemsim.EmbeddedOptions{}, simcom.A7600)
	tests := []struct {
		model atmodem.Model
		want  []byte
	}{
		{atmodem.SIM7600, []byte{0x20, 0x02, 0x00, 0x03}},
		{atmodem.A7600, []byte{0x20, 0x02, 0x00, 0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.model.String(), func(t *testing.T) {
			c, err := Dial(testContext(t), r.modem, r.broker.URL(), WithModel(tt.model))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
			cp.ProtocolName, cp.ProtocolVersion, cp.ClientIdentifier, cp.CleanSession, cp.Keepalive = "MQTT", 4, "model", true, 60
			if _, err := c.Write(encode311(cp)); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 4)
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, tt.want) {
				t.Errorf("CONNACK % x, %v; want % x", got, err, tt.want)
			}
		})
	}
}
