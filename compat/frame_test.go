package compat

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	mqtt "github.com/eclipse/paho.mqtt.golang/packets"
)

func TestReadFrameOneByteAtATime(t *testing.T) {
	p := mqtt.NewControlPacket(mqtt.Publish).(*mqtt.PublishPacket)
	p.TopicName = "a/b"
	p.Payload = bytes.Repeat([]byte{0xFF, '\r', '\n'}, 100) // remaining length needs 2 bytes
	want := encode311(p)
	got, err := readFrame(iotest.OneByteReader(bytes.NewReader(want)), maxPacketSize)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("readFrame: % x, %v", got, err)
	}
}

func TestReadFrameErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, io.EOF},
		{"header only", []byte{0x30}, io.ErrUnexpectedEOF},
		{"short body", []byte{0x30, 0x05, 0x00}, io.ErrUnexpectedEOF},
		{"five length bytes", []byte{0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, errMalformed},
		{"over the maximum", []byte{0x30, 0xFF, 0xFF, 0xFF, 0x7F}, errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readFrame(bytes.NewReader(tt.in), maxPacketSize)
			if !errors.Is(err, tt.want) {
				t.Errorf("readFrame(% x) = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
}

func TestConnectLevel(t *testing.T) {
	c := mqtt.NewControlPacket(mqtt.Connect).(*mqtt.ConnectPacket)
	c.ProtocolName, c.ProtocolVersion, c.ClientIdentifier = "MQTT", 4, "x"
	v4 := encode311(c)
	c.ProtocolName, c.ProtocolVersion = "MQIsdp", 3
	v3 := encode311(c)
	tests := []struct {
		name  string
		frame []byte
		want  byte
		err   bool
	}{
		{"3.1.1", v4, 4, false},
		{"3.1", v3, 3, false},
		{"5", []byte{0x10, 0x0A, 0x00, 0x04, 'M', 'Q', 'T', 'T', 5, 0x02, 0x00, 0x3C, 0x00}, 5, false},
		{"truncated", []byte{0x10, 0x02, 0x00, 0x04}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := connectLevel(tt.frame)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("connectLevel = %d, %v; want %d (error %t)", got, err, tt.want, tt.err)
			}
		})
	}
}
