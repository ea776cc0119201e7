package compat

import (
	"context"
	"testing"
)

func TestJobQueue(t *testing.T) {
	var ran []int
	mk := func(i, size int) job { return job{run: func(context.Context) { ran = append(ran, i) }, size: size} }
	q := newJobQueue(10)
	never := make(chan struct{})
	for i, size := range []int{4, 6} {
		if !q.push(mk(i, size), never) {
			t.Fatalf("push %d refused", i)
		}
	}
	// Full (10 bytes): the next push waits until the worker took one.
	pushed := make(chan bool)
	go func() { pushed <- q.push(mk(2, 3), never) }()
	j, ok := q.pop()
	if !ok {
		t.Fatal("pop found nothing")
	}
	j.run(context.Background())
	if !<-pushed {
		t.Fatal("push after a pop refused")
	}
	// A job over the limit waits for an empty queue, then goes in.
	go func() { pushed <- q.push(mk(3, 50), never) }()
	for range 2 {
		j, _ := q.pop()
		j.run(context.Background())
	}
	if !<-pushed {
		t.Fatal("a job over the limit was refused in an empty queue")
	}
	// Closing keeps what was queued for the worker.
	q.close()
	if q.push(mk(4, 1), never) {
		t.Error("push after close accepted")
	}
	j, ok = q.pop()
	if !ok {
		t.Fatal("the job queued before close was lost")
	}
	j.run(context.Background())
	if _, ok := q.pop(); ok {
		t.Error("pop after the queue drained")
	}
	if want := []int{0, 1, 2, 3}; len(ran) != 4 || ran[0] != 0 || ran[3] != 3 {
		t.Errorf("ran %v, want %v in order", ran, want)
	}

	// A push waiting for room gives up when the adapter stops.
	q = newJobQueue(1)
	q.push(mk(5, 1), never)
	stop := make(chan struct{})
	go func() { pushed <- q.push(mk(6, 1), stop) }()
	close(stop)
	if <-pushed {
		t.Error("push accepted after the abort")
	}
}
