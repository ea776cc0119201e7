package compat

import (
	"errors"
	"fmt"
	"io"
)

// maxPacketSize is the largest MQTT packet the adapter reads from a
// client: room for a 10240-byte payload or will message plus a 1024-byte
// topic, credentials and MQTT 5 properties. MQTT 5 clients learn it from
// the CONNACK's Maximum Packet Size; a larger packet from an MQTT 3.1.1
// client is a message the modem cannot carry (see refuseOversize).
const maxPacketSize = 32 << 10

// errMalformed marks input that is not MQTT; errTooLarge, with it, a packet
// over the adapter's maximum size.
var (
	errMalformed = errors.New("compat: malformed packet")
	errTooLarge  = errors.New("packet too large")
)

// oversize is the error of a packet over the maximum size: its fixed header
// was read, its body of length bytes was not (the reader may skip it).
type oversize struct {
	header byte // first byte of the fixed header: type and flags
	length int  // remaining length
	max    int
}

func (o *oversize) Error() string {
	return fmt.Sprintf("%v: %v: %d bytes, the maximum is %d", errMalformed, errTooLarge, o.length, o.max)
}

// Unwrap makes errors.Is find errMalformed and errTooLarge.
func (o *oversize) Unwrap() []error { return []error{errMalformed, errTooLarge} }

// readFrame reads one whole MQTT control packet (fixed header, remaining
// length, body) so that it can be handed to the packet library of the
// protocol version. Only the framing is read here; the packet libraries
// decode the contents. A remaining length over max fails before anything
// is allocated for it.
func readFrame(r io.Reader, max int) ([]byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:1]); err != nil {
		return nil, err
	}
	length, mult, n := 0, 1, 1
	for {
		if n == len(hdr) {
			return nil, fmt.Errorf("%w: remaining length longer than 4 bytes", errMalformed)
		}
		if _, err := io.ReadFull(r, hdr[n:n+1]); err != nil {
			return nil, unexpected(err)
		}
		length += int(hdr[n]&0x7f) * mult
		mult *= 128
		n++
		if hdr[n-1]&0x80 == 0 {
			break
		}
	}
	if length > max {
		return nil, &oversize{header: hdr[0], length: length, max: max}
	}
	frame := make([]byte, n+length)
	copy(frame, hdr[:n])
	if _, err := io.ReadFull(r, frame[n:]); err != nil {
		return nil, unexpected(err)
	}
	return frame, nil
}

// unexpected turns io.EOF inside a packet into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// packetType returns the MQTT control packet type of a frame.
func packetType(frame []byte) byte { return frame[0] >> 4 }

// connectLevel returns the protocol level of a CONNECT frame: the byte after
// the protocol name in the variable header (4 for MQTT 3.1.1, 5 for MQTT 5,
// 3 for MQTT 3.1).
func connectLevel(frame []byte) (byte, error) {
	i := 1
	for i < len(frame) && frame[i]&0x80 != 0 {
		i++
	}
	i++ // past the last remaining-length byte
	if i+2 > len(frame) {
		return 0, fmt.Errorf("%w: CONNECT too short", errMalformed)
	}
	nameLen := int(frame[i])<<8 | int(frame[i+1])
	at := i + 2 + nameLen
	if at >= len(frame) {
		return 0, fmt.Errorf("%w: CONNECT too short", errMalformed)
	}
	return frame[at], nil
}

// recoverMalformed turns a panic of a packet library on hostile input into
// errMalformed, so that a client's garbage ends its own connection only.
func recoverMalformed(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: decoder panic: %v", errMalformed, r)
	}
}

// skipPublish reads the topic of a PUBLISH whose fixed header (remaining
// length n) was read, and skips the rest of it.
func skipPublish(r io.Reader, n int) (string, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return "", unexpected(err)
	}
	tlen := min(int(l[0])<<8|int(l[1]), n-2)
	topic := make([]byte, tlen)
	if _, err := io.ReadFull(r, topic); err != nil {
		return "", unexpected(err)
	}
	if _, err := io.CopyN(io.Discard, r, int64(n-2-tlen)); err != nil {
		return "", unexpected(err)
	}
	return string(topic), nil
}

// logTopic shortens a topic for a log line: topics the modem refuses can
// be 65535 bytes long.
func logTopic(t string) string {
	const keep = 100
	if len(t) <= keep {
		return t
	}
	return fmt.Sprintf("%s… (%d bytes)", t[:keep], len(t))
}
