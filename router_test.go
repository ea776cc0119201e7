package cellmqtt

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"
)

func TestTopicMatches(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/b", "a/b/c", false},
		{"a/b/c", "a/b", false},
		{"a/+", "a/b", true},
		{"a/+", "a/", true}, // '+' matches an empty level
		{"a/+", "a/b/c", false},
		{"+/+", "/x", true},
		{"+", "/x", false},
		{"/+", "/x", true},
		{"a/#", "a", true}, // '#' includes the parent
		{"a/#", "a/b/c", true},
		{"a/#", "ab", false},
		{"#", "a/b", true},
		{"#", "/", true},
		{"a/+/c", "a/b/c", true},
		{"a/+/c", "a/b/d", false},
		{"a/+/#", "a/b", true},
		{"+/b/#", "x/b/y/z", true},
		{"sport/tennis/+", "sport/tennis/player1", true},
		{"sport/tennis/+", "sport/tennis/player1/ranking", false},
		{"sport/+", "sport", false},
		// $ topics are not matched by leading wildcards (MQTT 4.7.2).
		{"#", "$SYS/x", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
		{"$SYS/+", "$SYS/x", true},
		// Shared subscriptions match as their filter.
		{"$share/g/a/+", "a/b", true},
		{"$share/g/#", "a/b", true},
		{"$share/g", "g", false},
		{"A/b", "a/b", false}, // case-sensitive
	}
	for _, tt := range tests {
		if got := TopicMatches(tt.filter, tt.topic); got != tt.want {
			t.Errorf("TopicMatches(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
	}
}

func TestValidFilter(t *testing.T) {
	tests := []struct {
		filter string
		want   bool
	}{
		{"a/b", true}, {"+", true}, {"#", true}, {"a/+/b", true}, {"a/#", true}, {"+/+", true},
		{"a#", false}, {"a/b+", false}, {"a/#/b", false}, {"#/a", false}, {"a/++", false},
	}
	for _, tt := range tests {
		if got := ValidFilter(tt.filter); got != tt.want {
			t.Errorf("ValidFilter(%q) = %v, want %v", tt.filter, got, tt.want)
		}
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// recorder collects handler calls.
type recorder struct {
	mu    sync.Mutex
	calls []string
	got   chan struct{}
}

func newRecorder() *recorder { return &recorder{got: make(chan struct{}, 1000)} }

func (r *recorder) handler(name string) MessageHandler {
	return func(_ Client, m Message) {
		r.mu.Lock()
		r.calls = append(r.calls, name+":"+m.Topic())
		r.mu.Unlock()
		r.got <- struct{}{}
	}
}

func (r *recorder) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for range n {
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("timed out waiting for %d handler calls", n)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func TestRouterRoutes(t *testing.T) {
	rec := newRecorder()
	r := newRouter(discard(), true, 0, rec.handler("default"))
	r.addRoute("a/+", rec.handler("first"))
	r.addRoute("a/#", rec.handler("second"))
	r.addRoute("a/+", rec.handler("replaced")) // replaces, keeps position
	r.addRoute("x", nil)                       // nil handlers are not routes

	tests := []struct {
		topic string
		want  int
	}{{"a/b", 2}, {"a", 1}, {"z", 1}, {"x", 1}}
	for _, tt := range tests {
		if got := len(r.handlers(tt.topic)); got != tt.want {
			t.Errorf("handlers(%q): %d, want %d", tt.topic, got, tt.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.run(ctx, nil); close(done) }()
	r.enqueue(&message{topic: "a/b"})
	r.enqueue(&message{topic: "z"})
	calls := rec.wait(t, 3)
	want := []string{"replaced:a/b", "second:a/b", "default:z"}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Errorf("calls = %v, want %v", calls, want)
	}
	r.deleteRoute("a/+")
	if got := len(r.handlers("a/b")); got != 1 {
		t.Errorf("after deleteRoute: %d handlers, want 1", got)
	}
	cancel()
	<-done
}

func TestRouterOrderedSlowHandler(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var order []string
	done := make(chan struct{}, 100)
	r := newRouter(discard(), true, 0, func(_ Client, m Message) {
		<-release
		mu.Lock()
		order = append(order, m.Topic())
		mu.Unlock()
		done <- struct{}{}
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { r.run(ctx, nil); close(stopped) }()
	// enqueue never blocks, even while the handler is stuck.
	for i := range 50 {
		r.enqueue(&message{topic: fmt.Sprint(i)})
	}
	close(release)
	for range 50 {
		<-done
	}
	for i, topic := range order {
		if topic != fmt.Sprint(i) {
			t.Fatalf("delivery %d was %s: order not kept", i, topic)
		}
	}
	cancel()
	<-stopped
}

func TestRouterUnorderedConcurrent(t *testing.T) {
	const n = 4
	var started sync.WaitGroup
	started.Add(n)
	release := make(chan struct{})
	r := newRouter(discard(), false, 0, func(Client, Message) {
		started.Done()
		<-release
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { r.run(ctx, nil); close(stopped) }()
	for range n {
		r.enqueue(&message{topic: "t"})
	}
	started.Wait() // all n handlers run at the same time
	close(release)
	cancel()
	<-stopped // run waits for its handler goroutines
}

func TestRouterBufferLimit(t *testing.T) {
	r := newRouter(discard(), true, 3, nil)
	for i := range 5 {
		r.enqueue(&message{topic: fmt.Sprint(i)})
	}
	ms := r.take()
	if len(ms) != 3 || ms[0].topic != "2" || ms[2].topic != "4" {
		t.Fatalf("inbox after overflow = %d messages starting %q, want the newest 3", len(ms), ms[0].topic)
	}
	if r.dropped != 2 {
		t.Fatalf("dropped = %d, want 2", r.dropped)
	}
}
