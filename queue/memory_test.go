package queue

import (
	"context"
	"testing"
)

// TestMemoryAllocatesOnlyThePayload: Put, Peek and Remove allocate the
// payload copy and nothing else.
func TestMemoryAllocatesOnlyThePayload(t *testing.T) {
	q := NewMemory(Limits{MaxMessages: 100, MaxBytes: 1 << 20, Policy: DropOldest})
	defer q.Close()
	m := Message{Topic: "t", Payload: make([]byte, 100), QoS: 1}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		id, err := q.Put(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := q.Peek(); !ok || e.ID != id {
			t.Fatal("Peek lost the entry")
		}
		if err := q.Remove(id); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Fatalf("%v allocations per Put+Peek+Remove, want 1 (the payload copy)", allocs)
	}
}

// TestMemoryRingStaysSmall: entries removed out of order behind a head that
// stays do not make the ring grow without bound.
func TestMemoryRingStaysSmall(t *testing.T) {
	q := NewMemory(Limits{})
	defer q.Close()
	head := mustPut(t, q, msg("head", ""))
	var keep []ID
	for i := range 10000 {
		a := mustPut(t, q, msg("a", ""))
		b := mustPut(t, q, msg("b", ""))
		if err := q.Remove(a); err != nil { // between the head and b: leaves a dead slot
			t.Fatal(err)
		}
		if i%100 == 0 {
			keep = append(keep, b)
			continue
		}
		if err := q.Remove(b); err != nil {
			t.Fatal(err)
		}
	}
	if q.Len() != len(keep)+1 {
		t.Fatalf("Len %d, want %d", q.Len(), len(keep)+1)
	}
	if n := len(q.b.r.buf); n > 4*(len(keep)+1)+minRingSize {
		t.Fatalf("ring of %d slots for %d live entries", n, q.Len())
	}
	if e, ok := q.Peek(); !ok || e.ID != head {
		t.Fatalf("head is %d, want %d", e.ID, head)
	}
}

func TestPolicyString(t *testing.T) {
	for p, want := range map[Policy]string{Block: "block", Reject: "reject", DropOldest: "drop-oldest", 7: "Policy(7)"} {
		if got := p.String(); got != want {
			t.Errorf("Policy(%d).String() = %q, want %q", int(p), got, want)
		}
	}
}
