package queue

import (
	"context"
	"testing"
)

// benchPutPeekRemove measures one message through the queue: Put, Peek,
// Remove, with a 256-byte payload.
func benchPutPeekRemove(b *testing.B, q Queue) {
	m := Message{Topic: "sensors/1/temperature", Payload: make([]byte, 256), QoS: 1}
	ctx := context.Background()
	b.SetBytes(messageSize(&m))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := q.Put(ctx, m); err != nil {
			b.Fatal(err)
		}
		e, ok := q.Peek()
		if !ok {
			b.Fatal("empty after Put")
		}
		if err := q.Remove(e.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryPutPeekRemove(b *testing.B) {
	q := NewMemory(Limits{MaxMessages: 1000, MaxBytes: 1 << 20, Policy: Reject})
	defer q.Close()
	benchPutPeekRemove(b, q)
}

func BenchmarkFilePutPeekRemove(b *testing.B) {
	for _, bc := range []struct {
		name string
		opt  FileOptions
	}{
		{"fsync", FileOptions{}},
		{"NoSync", FileOptions{NoSync: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bc.opt.Logger = discardLogger()
			q, err := OpenFile(b.TempDir(), Limits{MaxMessages: 1000, Policy: Reject}, bc.opt)
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			benchPutPeekRemove(b, q)
		})
	}
}

// BenchmarkMemoryBacklog measures Put and Remove with 1000 entries queued,
// removing the oldest, as a sender catching up does.
func BenchmarkMemoryBacklog(b *testing.B) {
	q := NewMemory(Limits{})
	defer q.Close()
	m := Message{Topic: "t", Payload: make([]byte, 64)}
	ctx := context.Background()
	for range 1000 {
		if _, err := q.Put(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := q.Put(ctx, m); err != nil {
			b.Fatal(err)
		}
		e, _ := q.Peek()
		if err := q.Remove(e.ID); err != nil {
			b.Fatal(err)
		}
	}
}
