package queue_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cellmqtt/cellmqtt/queue"
)

// A memory queue of at most two messages that drops the oldest when full;
// OnDrop learns which entry went, so its sender can fail that message.
func ExampleNewMemory() {
	q := queue.NewMemory(queue.Limits{
		MaxMessages: 2,
		Policy:      queue.DropOldest,
		OnDrop:      func(e queue.Entry) { fmt.Println("dropped", e.ID, e.Message.Topic) },
	})
	defer q.Close()
	for _, topic := range []string{"a", "b", "c"} {
		if _, err := q.Put(context.Background(), queue.Message{Topic: topic, Payload: []byte("x"), QoS: 1}); err != nil {
			fmt.Println(err)
		}
	}
	for {
		e, ok := q.Peek()
		if !ok {
			break
		}
		fmt.Println("send", e.ID, e.Message.Topic) // a sender publishes, then removes once confirmed
		_ = q.Remove(e.ID)
	}

	r := queue.NewMemory(queue.Limits{MaxMessages: 1, Policy: queue.Reject})
	defer r.Close()
	_, _ = r.Put(context.Background(), queue.Message{Topic: "a"})
	_, err := r.Put(context.Background(), queue.Message{Topic: "b"})
	fmt.Println(errors.Is(err, queue.ErrQueueFull))
	// Output:
	// dropped 1 a
	// send 2 b
	// send 3 c
	// true
}

// A durable queue: what was put before Close (or a crash) is there after
// reopening the directory, and IDs keep growing.
func ExampleOpenFile() {
	dir, err := os.MkdirTemp("", "cellmqtt-queue")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	q, err := queue.OpenFile(dir, queue.Limits{MaxBytes: 1 << 20, Policy: queue.Block}, queue.FileOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range []string{"21.5", "21.7"} {
		if _, err := q.Put(context.Background(), queue.Message{Topic: "temp", Payload: []byte(p), QoS: 1}); err != nil {
			fmt.Println(err)
		}
	}
	_ = q.Close() // or the process dies here

	q, err = queue.OpenFile(dir, queue.Limits{MaxBytes: 1 << 20, Policy: queue.Block}, queue.FileOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer q.Close()
	<-q.Ready() // signalled: entries survived
	for {
		e, ok := q.Peek()
		if !ok {
			break
		}
		fmt.Printf("%d %s %s\n", e.ID, e.Message.Topic, e.Message.Payload)
		_ = q.Remove(e.ID)
	}
	id, _ := q.Put(context.Background(), queue.Message{Topic: "temp", Payload: []byte("21.9")})
	fmt.Println("next ID", id)
	// Output:
	// 1 temp 21.5
	// 2 temp 21.7
	// next ID 3
}
