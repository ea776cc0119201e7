package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// impl opens a fresh queue of one implementation for the conformance suite.
type impl struct {
	name string
	open func(t *testing.T, lim Limits) Queue
}

func implementations() []impl {
	return []impl{
		{"memory", func(t *testing.T, lim Limits) Queue {
			q := NewMemory(lim)
			t.Cleanup(func() { _ = q.Close() })
			return q
		}},
		{"file", func(t *testing.T, lim Limits) Queue {
			q, err := OpenFile(t.TempDir(), lim, FileOptions{Logger: discardLogger(), SegmentSize: 512})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = q.Close() })
			return q
		}},
	}
}

// forEach runs the test body against every implementation.
func forEach(t *testing.T, body func(t *testing.T, open func(Limits) Queue)) {
	t.Helper()
	for _, im := range implementations() {
		t.Run(im.name, func(t *testing.T) {
			body(t, func(lim Limits) Queue { return im.open(t, lim) })
		})
	}
}

func msg(topic, payload string) Message {
	return Message{Topic: topic, Payload: []byte(payload), QoS: 1}
}

func mustPut(t *testing.T, q Queue, m Message) ID {
	t.Helper()
	id, err := q.Put(context.Background(), m)
	if err != nil {
		t.Fatalf("Put(%q): %v", m.Topic, err)
	}
	return id
}

// drain removes every entry, oldest first, and returns their topics.
func drain(t *testing.T, q Queue) []string {
	t.Helper()
	var topics []string
	for {
		e, ok := q.Peek()
		if !ok {
			return topics
		}
		topics = append(topics, e.Message.Topic)
		if err := q.Remove(e.ID); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFIFOAndIDs(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Limits) Queue) {
		q := open(Limits{})
		if _, ok := q.Peek(); ok {
			t.Fatal("Peek on an empty queue reported an entry")
		}
		var last ID
		for i := range 50 {
			id := mustPut(t, q, msg(fmt.Sprintf("t/%d", i), "p"))
			if id <= last {
				t.Fatalf("ID %d after %d: IDs must grow", id, last)
			}
			last = id
		}
		got := drain(t, q)
		for i, topic := range got {
			if want := fmt.Sprintf("t/%d", i); topic != want {
				t.Fatalf("entry %d is %q, want %q", i, topic, want)
			}
		}
		if len(got) != 50 || q.Len() != 0 || q.Bytes() != 0 {
			t.Fatalf("drained %d entries, Len %d, Bytes %d", len(got), q.Len(), q.Bytes())
		}
	})
}

func TestMessageRoundTrip(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	cases := []Message{
		{Topic: "bin", Payload: all, QoS: 2, Retained: true},
		{Topic: "empty", QoS: 0},
		{Topic: "", Payload: []byte{0}, QoS: 1},
		{Topic: "utf8/ünïcode/+", Payload: []byte("\r\n\x1a"), QoS: 1},
	}
	forEach(t, func(t *testing.T, open func(Limits) Queue) {
		q := open(Limits{})
		for _, m := range cases {
			buf := bytes.Clone(m.Payload)
			id := mustPut(t, q, Message{Topic: m.Topic, Payload: buf, QoS: m.QoS, Retained: m.Retained})
			for i := range buf { // the queue keeps its own copy
				buf[i] ^= 0xff
			}
			e, ok := q.Peek()
			if !ok || e.ID != id {
				t.Fatalf("Peek = %v, %v; want ID %d", e.ID, ok, id)
			}
			if e.Message.Topic != m.Topic || !bytes.Equal(e.Message.Payload, m.Payload) ||
				e.Message.QoS != m.QoS || e.Message.Retained != m.Retained {
				t.Fatalf("got %+v, want %+v", e.Message, m)
			}
			if err := q.Remove(id); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestRemoveOutOfOrder(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Limits) Queue) {
		q := open(Limits{})
		ids := make([]ID, 10)
		for i := range ids {
			ids[i] = mustPut(t, q, msg(fmt.Sprint(i), "xy"))
		}
		for _, i := range []int{5, 9, 1, 5} { // 5 twice: unknown the second time
			if err := q.Remove(ids[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.Remove(ids[9] + 100); err != nil {
			t.Fatalf("Remove(unknown) = %v, want nil", err)
		}
		if q.Len() != 7 || q.Bytes() != 7*3 {
			t.Fatalf("Len %d Bytes %d, want 7 and 21", q.Len(), q.Bytes())
		}
		got := fmt.Sprint(drain(t, q))
		if want := "[0 2 3 4 6 7 8]"; got != want {
			t.Fatalf("order %s, want %s", got, want)
		}
	})
}

// TestPeekAfter: the sender of a publish window takes the next entry after
// the last one it sent, over entries removed out of order.
func TestPeekAfter(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Limits) Queue) {
		q := open(Limits{})
		if _, ok := q.PeekAfter(0); ok {
			t.Fatal("PeekAfter on an empty queue")
		}
		ids := make([]ID, 5)
		for i := range ids {
			ids[i] = mustPut(t, q, msg(fmt.Sprint(i), "x"))
		}
		if err := q.Remove(ids[2]); err != nil {
			t.Fatal(err)
		}
		var got []string
		for e, ok := q.PeekAfter(0); ok; e, ok = q.PeekAfter(e.ID) {
			got = append(got, e.Message.Topic)
		}
		if fmt.Sprint(got) != "[0 1 3 4]" {
			t.Fatalf("walk %v, want [0 1 3 4]", got)
		}
		if e, ok := q.PeekAfter(ids[1]); !ok || e.ID != ids[3] {
			t.Fatalf("PeekAfter(%d) = %d, %v: want %d (the removed one skipped)", ids[1], e.ID, ok, ids[3])
		}
		if _, ok := q.PeekAfter(ids[4]); ok {
			t.Fatal("PeekAfter the last entry")
		}
		_ = q.Close()
		if _, ok := q.PeekAfter(0); ok {
			t.Fatal("PeekAfter on a closed queue")
		}
	})
}

func TestLimitsReject(t *testing.T) {
	cases := []struct {
		name string
		lim  Limits
		puts []int // payload sizes; the last one must fail
	}{
		{"messages", Limits{MaxMessages: 3, Policy: Reject}, []int{1, 1, 1, 1}},
		{"bytes", Limits{MaxBytes: 10, Policy: Reject}, []int{4, 4, 4}}, // topic "t" adds 1 each
		{"both", Limits{MaxMessages: 5, MaxBytes: 10, Policy: Reject}, []int{8, 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEach(t, func(t *testing.T, open func(Limits) Queue) {
				q := open(tc.lim)
				for i, n := range tc.puts {
					_, err := q.Put(context.Background(), Message{Topic: "t", Payload: make([]byte, n)})
					last := i == len(tc.puts)-1
					if last && !errors.Is(err, ErrQueueFull) {
						t.Fatalf("Put %d = %v, want ErrQueueFull", i, err)
					}
					if !last && err != nil {
						t.Fatalf("Put %d: %v", i, err)
					}
				}
				if q.Len() != len(tc.puts)-1 {
					t.Fatalf("Len %d after a rejected Put, want %d", q.Len(), len(tc.puts)-1)
				}
			})
		})
	}
}

func TestTooLargeWhateverThePolicy(t *testing.T) {
	for _, p := range []Policy{Block, Reject, DropOldest} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			forEach(t, func(t *testing.T, open func(Limits) Queue) {
				q := open(Limits{MaxBytes: 8, Policy: p, OnDrop: func(Entry) { t.Error("nothing may be dropped") }})
				id := mustPut(t, q, msg("a", "b"))
				_, err := q.Put(context.Background(), msg("topic", "long"))
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("Put = %v, want ErrTooLarge", err)
				}
				if q.Len() != 1 {
					t.Fatalf("Len %d after ErrTooLarge, want 1", q.Len())
				}
				if err := q.Remove(id); err != nil {
					t.Fatal(err)
				}
				mustPut(t, q, msg("to", "pic123")) // exactly MaxBytes fits an empty queue
			})
		})
	}
}

func TestDropOldest(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Limits) Queue) {
		var dropped []string
		var q Queue
		q = open(Limits{MaxMessages: 3, MaxBytes: 12, Policy: DropOldest, OnDrop: func(e Entry) {
			_ = q.Len() // the lock is not held: this must not deadlock
			dropped = append(dropped, e.Message.Topic)
		}})
		for _, tp := range []string{"a", "b", "c", "d"} { // count limit drops a
			mustPut(t, q, msg(tp, "xx"))
		}
		mustPut(t, q, msg("e", "0123456789")) // 11 bytes: drops b, c, d
		if got := fmt.Sprint(dropped); got != "[a b c d]" {
			t.Fatalf("dropped %s, want [a b c d]", got)
		}
		if got := fmt.Sprint(drain(t, q)); got != "[e]" {
			t.Fatalf("left %s, want [e]", got)
		}
	})
}

func TestBlockWaitsForRoom(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Limits) Queue) {
		q := open(Limits{MaxMessages: 1, Policy: Block})
		first := mustPut(t, q, msg("1", ""))
		done := make(chan error, 1)
		go func() {
			_, err := q.Put(context.Background(), msg("2", ""))
			done <- err
		}()
		waitFor(t, func() bool { return waiting(q) == 1 })
		select {
		case err := <-done:
			t.Fatalf("Put returned %v while the queue was full", err)
		default:
		}
		if err := q.Remove(first); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("blocked Put: %v", err)
		}
		if got := fmt.Sprint(drain(t, q)); got != "[2]" {
			t.Fatalf("queue %s, want [2]", got)
		}
	})
}

func TestBlockGivesUpWithContext(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Limits) Queue) {
		q := open(Limits{MaxMessages: 1, Policy: Block})
		mustPut(t, q, msg("1", ""))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		_, err := q.Put(ctx, msg("2", ""))
		if !errors.Is(err, ErrQueueFull) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Put = %v, want ErrQueueFull wrapping DeadlineExceeded", err)
		}
		if q.Len() != 1 {
			t.Fatalf("Len %d, want 1", q.Len())
		}
	})
}

func TestCloseWakesBlockedPut(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Limits) Queue) {
		q := open(Limits{MaxMessages: 1, Policy: Block})
		mustPut(t, q, msg("1", ""))
		done := make(chan error, 1)
		go func() {
			_, err := q.Put(context.Background(), msg("2", ""))
			done <- err
		}()
		waitFor(t, func() bool { return waiting(q) == 1 })
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked Put after Close = %v, want ErrClosed", err)
		}
	})
}

func TestClosed(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Limits) Queue) {
		q := open(Limits{})
		id := mustPut(t, q, msg("1", ""))
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		if err := q.Close(); err != nil {
			t.Fatalf("second Close = %v", err)
		}
		if _, err := q.Put(context.Background(), msg("2", "")); !errors.Is(err, ErrClosed) {
			t.Fatalf("Put = %v, want ErrClosed", err)
		}
		if err := q.Remove(id); !errors.Is(err, ErrClosed) {
			t.Fatalf("Remove = %v, want ErrClosed", err)
		}
		if _, ok := q.Peek(); ok {
			t.Fatal("Peek after Close reported an entry")
		}
	})
}

func TestReady(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Limits) Queue) {
		q := open(Limits{})
		select {
		case <-q.Ready():
			t.Fatal("Ready signalled on an empty queue")
		default:
		}
		mustPut(t, q, msg("1", ""))
		mustPut(t, q, msg("2", "")) // capacity 1: must not block
		select {
		case <-q.Ready():
		default:
			t.Fatal("Ready not signalled after Put")
		}
		select {
		case <-q.Ready():
			t.Fatal("Ready signalled twice for one wake-up")
		default:
		}
	})
}

// TestAgainstModel runs random operations and compares with a slice.
func TestAgainstModel(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Limits) Queue) {
		rng := rand.New(rand.NewPCG(1, 2))
		q := open(Limits{MaxMessages: 40, Policy: DropOldest})
		var model []Entry
		for op := range 1500 {
			switch r := rng.IntN(10); {
			case r < 5:
				m := msg(fmt.Sprint(op), string(make([]byte, rng.IntN(20))))
				id := mustPut(t, q, m)
				if len(model) == 40 {
					model = model[1:]
				}
				model = append(model, Entry{ID: id, Message: m})
			case r < 8 && len(model) > 0:
				i := rng.IntN(len(model))
				if rng.IntN(2) == 0 {
					i = 0
				}
				if err := q.Remove(model[i].ID); err != nil {
					t.Fatal(err)
				}
				model = append(model[:i], model[i+1:]...)
			case r < 9:
				e, ok := q.Peek()
				if ok != (len(model) > 0) || ok && e.ID != model[0].ID {
					t.Fatalf("op %d: Peek = %d, %v; model head %v", op, e.ID, ok, model)
				}
			default:
				after := ID(rng.IntN(op + 2))
				e, ok := q.PeekAfter(after)
				var want *Entry
				for k := range model {
					if model[k].ID > after {
						want = &model[k]
						break
					}
				}
				if ok != (want != nil) || ok && e.ID != want.ID {
					t.Fatalf("op %d: PeekAfter(%d) = %d, %v; model %v", op, after, e.ID, ok, model)
				}
			}
			var bytes int64
			for _, e := range model {
				bytes += messageSize(&e.Message)
			}
			if q.Len() != len(model) || q.Bytes() != bytes {
				t.Fatalf("op %d: Len %d Bytes %d, model %d %d", op, q.Len(), q.Bytes(), len(model), bytes)
			}
		}
	})
}

func TestConcurrentProducers(t *testing.T) {
	forEach(t, func(t *testing.T, open func(Limits) Queue) {
		const producers, each = 4, 50
		q := open(Limits{MaxMessages: 8, Policy: Block})
		var wg sync.WaitGroup
		for p := range producers {
			wg.Go(func() {
				for i := range each {
					if _, err := q.Put(context.Background(), msg(fmt.Sprint(p), fmt.Sprint(i))); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		next := make([]int, producers)
		for got := 0; got < producers*each; {
			e, ok := q.Peek()
			if !ok {
				<-q.Ready()
				continue
			}
			var p, i int
			fmt.Sscan(e.Message.Topic, &p)
			fmt.Sscan(string(e.Message.Payload), &i)
			if i != next[p] {
				t.Fatalf("producer %d: got message %d, want %d", p, i, next[p])
			}
			next[p]++
			got++
			if err := q.Remove(e.ID); err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
	})
}

// waiting reports how many Put calls wait for room.
func waiting(q Queue) int {
	var b *bounded
	switch q := q.(type) {
	case *Memory:
		b = &q.b
	case *File:
		b = &q.b
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiters
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
