package queue

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FuzzFileReplay opens a queue whose only segment holds arbitrary bytes:
// OpenFile must not panic or fail, memory stays bounded by the file (the
// replay reads one segment and keeps only decoded entries), and the queue
// must work afterwards, across a reopen.
func FuzzFileReplay(f *testing.F) {
	valid := appendSegmentHeader(nil, 7)
	valid = appendPutRecord(valid, &Entry{ID: 7, Message: Message{Topic: "a/b", Payload: []byte{0, 1, 2}, QoS: 1}})
	valid = appendPutRecord(valid, &Entry{ID: 8, Message: Message{Topic: "c", Retained: true}})
	valid = appendRemoveRecord(valid, 7)
	f.Add(valid)
	f.Add(valid[:len(valid)-3])                                                   // torn tail
	f.Add(valid[:segmentHeaderSize])                                              // header only
	f.Add(valid[segmentHeaderSize:])                                              // records without a header
	f.Add([]byte{})                                                               // empty file
	f.Add(append(append([]byte{}, valid...), 0xff, 0xff, 0xff, 0xff, 9, 0, 0, 0)) // bad checksum
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%016x%s", 1, segmentSuffix)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		q, err := OpenFile(dir, Limits{}, FileOptions{Logger: discardLogger()})
		if err != nil {
			t.Fatalf("OpenFile: %v", err)
		}
		n := q.Len()
		if q.Bytes() > int64(len(data)) {
			t.Fatalf("%d bytes of entries from a %d-byte file", q.Bytes(), len(data))
		}
		id, err := q.Put(context.Background(), Message{Topic: "after", Payload: []byte("fuzz")})
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		q, err = OpenFile(dir, Limits{}, FileOptions{Logger: discardLogger()})
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer q.Close()
		if q.Len() != n+1 {
			t.Fatalf("Len %d after reopen, want %d", q.Len(), n+1)
		}
		var last Entry
		q.b.mu.Lock()
		q.b.r.each(func(s *slot) { last = s.entry })
		q.b.mu.Unlock()
		if last.ID != id || string(last.Message.Payload) != "fuzz" {
			t.Fatalf("newest entry %d %q, want %d \"fuzz\"", last.ID, last.Message.Payload, id)
		}
	})
}

// FuzzScanRecords checks the record scanner alone, in memory: no panic,
// and every byte is either part of a valid record or reported as damage,
// once, in order.
func FuzzScanRecords(f *testing.F) {
	var recs []byte
	recs = appendPutRecord(recs, &Entry{ID: 1, Message: Message{Topic: "t", Payload: []byte("p")}})
	recs = appendRemoveRecord(recs, 1)
	f.Add(recs)
	f.Add(recs[3:])
	f.Add(append([]byte{9, 0, 0, 0}, recs...))
	f.Fuzz(func(t *testing.T, data []byte) {
		covered := 0
		scanRecords(data, func(r record) {
			if r.kind != recordPut && r.kind != recordRemove {
				t.Fatalf("record of kind %d accepted", r.kind)
			}
			size := recordHeaderSize + removeBodySize
			if r.kind == recordPut {
				size = int(putRecordSize(&r.msg))
			}
			covered += size
		}, func(d damage) {
			if d.offset != covered || d.skipped <= 0 {
				t.Fatalf("damage %+v after %d covered bytes", d, covered)
			}
			covered += d.skipped
		})
		if covered != len(data) {
			t.Fatalf("covered %d of %d bytes", covered, len(data))
		}
	})
}
