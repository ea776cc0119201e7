package compat

import "github.com/eclipse/paho.golang/packets"

// ack5 encodes an MQTT 5 PUBACK, PUBREC, PUBREL or PUBCOMP (kind is the
// packet type). With reason code 0x00 and no properties the reason code
// and property length are left out (remaining length 2), as MQTT 5
// section 3.4.2.1 allows and mosquitto does: Debian's paho-mqtt 1.6.1
// fails on a reason code without a property length (remaining length 3),
// which the paho.golang encoder writes for PUBREL, PUBREC and PUBCOMP.
// Otherwise the packet always carries the property length, even when it
// is 0. The properties are packed by paho.golang.
func ack5(kind byte, id uint16, rc byte, props *packets.Properties) []byte {
	var first byte = kind << 4
	if kind == packets.PUBREL {
		first |= 0x02 // fixed flags of PUBREL
	}
	var p []byte
	if props != nil {
		p = props.Pack(kind)
	}
	if rc == 0 && len(p) == 0 {
		return []byte{first, 2, byte(id >> 8), byte(id)}
	}
	body := append([]byte{byte(id >> 8), byte(id), rc}, varint(len(p))...)
	body = append(body, p...)
	return append(append([]byte{first}, varint(len(body))...), body...)
}

// varint encodes n as an MQTT variable byte integer.
func varint(n int) []byte {
	var b []byte
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}
