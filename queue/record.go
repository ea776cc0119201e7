package queue

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// On-disk format of the file queue. All integers are little-endian.
//
// A segment file starts with a 20-byte header:
//
//	magic   [8]byte  "CMQTTQ\x00\x01" (format version 1)
//	nextID  uint64   the ID the next Put would get when the segment was created
//	crc     uint32   CRC32C (Castagnoli) of the 16 bytes before it
//
// followed by records:
//
//	crc     uint32   CRC32C of the length field and the body
//	length  uint32   number of body bytes
//	body:
//	  kind  byte     1 PUT, 2 REMOVE
//	  id    uint64
//	  PUT only:
//	  qos       byte
//	  retained  byte     0 or 1
//	  topicLen  uint32
//	  topic     [topicLen]byte
//	  payload   the rest of the body
//
// A record is written with one write call. A record that is cut short (a
// torn tail after a crash) or whose checksum does not match is skipped; the
// reader then looks for the next offset where a whole, valid record starts.

const (
	segmentMagic      = "CMQTTQ\x00\x01"
	segmentHeaderSize = 20
	recordHeaderSize  = 8
	recordPut         = 1
	recordRemove      = 2
	removeBodySize    = 1 + 8
	putBodyFixedSize  = 1 + 8 + 1 + 1 + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// record is one decoded record.
type record struct {
	kind byte
	id   ID
	msg  Message // PUT only; Payload and Topic are copies
}

// errRecordTorn: the bytes end before the record does.
var errRecordTorn = errors.New("record cut short")

// errRecordCorrupt: the record is complete but its checksum or fields are wrong.
var errRecordCorrupt = errors.New("record corrupt")

// appendSegmentHeader appends a segment header recording next.
func appendSegmentHeader(dst []byte, next ID) []byte {
	start := len(dst)
	dst = append(dst, segmentMagic...)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(next))
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// parseSegmentHeader returns the next ID a segment header records; ok is
// false when the header is missing or damaged.
func parseSegmentHeader(b []byte) (next ID, ok bool) {
	if len(b) < segmentHeaderSize || string(b[:8]) != segmentMagic {
		return 0, false
	}
	if crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:20]) {
		return 0, false
	}
	return ID(binary.LittleEndian.Uint64(b[8:16])), true
}

// putRecordSize is the number of bytes appendPutRecord writes for m.
func putRecordSize(m *Message) int64 {
	return recordHeaderSize + putBodyFixedSize + int64(len(m.Topic)) + int64(len(m.Payload))
}

// appendPutRecord appends the PUT record of e.
func appendPutRecord(dst []byte, e *Entry) []byte {
	start := len(dst)
	m := &e.Message
	bodyLen := putBodyFixedSize + len(m.Topic) + len(m.Payload)
	dst = append(dst, 0, 0, 0, 0) // crc, filled in below
	dst = binary.LittleEndian.AppendUint32(dst, uint32(bodyLen))
	dst = append(dst, recordPut)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(e.ID))
	retained := byte(0)
	if m.Retained {
		retained = 1
	}
	dst = append(dst, m.QoS, retained)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(m.Topic)))
	dst = append(dst, m.Topic...)
	dst = append(dst, m.Payload...)
	binary.LittleEndian.PutUint32(dst[start:], crc32.Checksum(dst[start+4:], castagnoli))
	return dst
}

// appendRemoveRecord appends the REMOVE record of id.
func appendRemoveRecord(dst []byte, id ID) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.LittleEndian.AppendUint32(dst, removeBodySize)
	dst = append(dst, recordRemove)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(id))
	binary.LittleEndian.PutUint32(dst[start:], crc32.Checksum(dst[start+4:], castagnoli))
	return dst
}

// decodeRecord decodes the record at the start of b and returns it with
// its size in bytes. It fails with errRecordTorn when b ends before the
// record does and errRecordCorrupt when the record is damaged.
func decodeRecord(b []byte) (rec record, size int, err error) {
	if len(b) < recordHeaderSize {
		return record{}, 0, errRecordTorn
	}
	n := binary.LittleEndian.Uint32(b[4:8])
	if n < removeBodySize {
		return record{}, 0, errRecordCorrupt
	}
	if uint64(n) > uint64(len(b)-recordHeaderSize) {
		return record{}, 0, errRecordTorn
	}
	size = recordHeaderSize + int(n)
	if crc32.Checksum(b[4:size], castagnoli) != binary.LittleEndian.Uint32(b[:4]) {
		return record{}, 0, errRecordCorrupt
	}
	body := b[recordHeaderSize:size]
	rec.kind = body[0]
	rec.id = ID(binary.LittleEndian.Uint64(body[1:9]))
	switch rec.kind {
	case recordRemove:
		if n != removeBodySize {
			return record{}, 0, errRecordCorrupt
		}
	case recordPut:
		if n < putBodyFixedSize || body[10] > 1 {
			return record{}, 0, errRecordCorrupt
		}
		topicLen := binary.LittleEndian.Uint32(body[11:15])
		if uint64(topicLen) > uint64(n-putBodyFixedSize) {
			return record{}, 0, errRecordCorrupt
		}
		rest := body[putBodyFixedSize:]
		rec.msg = Message{
			Topic:    string(rest[:topicLen]),
			Payload:  append([]byte{}, rest[topicLen:]...),
			QoS:      body[9],
			Retained: body[10] == 1,
		}
	default:
		return record{}, 0, errRecordCorrupt
	}
	return rec, size, nil
}

// damage describes bytes of a segment that were skipped.
type damage struct {
	offset  int  // where the unreadable bytes start
	skipped int  // how many bytes were skipped
	torn    bool // the bytes run to the end of the segment and start a record cut short
}

// scanRecords calls visit for each valid record of b, the records of a
// segment after its header, and report for each run of bytes that holds no
// valid record. After a bad record it resumes at the next offset where a
// complete record with a valid checksum starts.
func scanRecords(b []byte, visit func(record), report func(damage)) {
	off := 0
	for off < len(b) {
		rec, size, err := decodeRecord(b[off:])
		if err == nil {
			visit(rec)
			off += size
			continue
		}
		torn := errors.Is(err, errRecordTorn)
		next := off + 1
		for ; next < len(b); next++ {
			if _, _, err := decodeRecord(b[next:]); err == nil {
				break
			}
		}
		report(damage{offset: off, skipped: next - off, torn: torn && next == len(b)})
		off = next
	}
}
