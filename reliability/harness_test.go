package reliability

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/cellmqtt/cellmqtt/modemsim"
)

// waitFor bounds every single wait of the suite (a token, a delivery, a
// connection); a step that takes longer fails its test.
const waitFor = 60 * time.Second

// longForm reports whether CELLMQTT_LONG=1 asks for the long form.
func longForm() bool { return os.Getenv("CELLMQTT_LONG") == "1" }

// startBroker starts an embedded mochi broker on a free loopback port,
// closed when the test ends.
func startBroker(t testing.TB) *modemsim.EmbeddedBroker {
	t.Helper()
	b, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// recorder is a real MQTT client (paho.mqtt.golang, plain TCP) subscribed
// directly to the broker with QoS 2: the independent witness the suite
// counts at. It records how often each payload arrived.
type recorder struct {
	c    mqtt.Client
	mu   sync.Mutex
	got  map[string]int
	wake chan struct{}
}

var recorderSeq atomic.Int64

// newRecorder subscribes a recorder to filter on broker b.
func newRecorder(t testing.TB, b *modemsim.EmbeddedBroker, filter string) *recorder {
	t.Helper()
	r := &recorder{got: map[string]int{}, wake: make(chan struct{}, 1)}
	o := mqtt.NewClientOptions().AddBroker(b.URL()).
		SetClientID(fmt.Sprintf("recorder-%d-%d", os.Getpid(), recorderSeq.Add(1))).
		SetAutoReconnect(false).SetOrderMatters(false)
	r.c = mqtt.NewClient(o)
	if tok := r.c.Connect(); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("recorder connect: %v", tok.Error())
	}
	t.Cleanup(func() { r.c.Disconnect(100) })
	if tok := r.c.Subscribe(filter, 2, r.handle); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("recorder subscribe %q: %v", filter, tok.Error())
	}
	return r
}

func (r *recorder) handle(_ mqtt.Client, m mqtt.Message) {
	r.mu.Lock()
	r.got[string(m.Payload())]++
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// times is how often payload arrived.
func (r *recorder) times(payload string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[payload]
}

// missing returns the payloads of want that have not arrived.
func (r *recorder) missing(want []string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, w := range want {
		if r.got[w] == 0 {
			out = append(out, w)
		}
	}
	return out
}

// await waits until every payload of want has arrived or ctx ends, and
// returns the payloads still missing.
func (r *recorder) await(ctx context.Context, want []string) []string {
	tick := time.NewTicker(50 * time.Millisecond) // wakes are coalesced
	defer tick.Stop()
	for {
		miss := r.missing(want)
		if len(miss) == 0 {
			return nil
		}
		select {
		case <-r.wake:
		case <-tick.C:
		case <-ctx.Done():
			return miss
		}
	}
}

// tally counts, for the payloads of want, how many arrived at least once
// and how many extra copies arrived.
func (r *recorder) tally(want []string) (received, dups int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range want {
		if n := r.got[w]; n > 0 {
			received++
			dups += n - 1
		}
	}
	return received, dups
}

// signal counts events (connection losses) and lets a waiter wait for the
// next one.
type signal struct {
	mu   sync.Mutex
	n    int
	wake chan struct{}
}

func newSignal() *signal { return &signal{wake: make(chan struct{})} }

// fire records one event.
func (s *signal) fire() {
	s.mu.Lock()
	s.n++
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

// count is the number of events so far.
func (s *signal) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// awaitAfter waits until more than n events happened; it reports whether
// they did before ctx ended.
func (s *signal) awaitAfter(ctx context.Context, n int) bool {
	for {
		s.mu.Lock()
		if s.n > n {
			s.mu.Unlock()
			return true
		}
		w := s.wake
		s.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return false
		}
	}
}

// TestRecorderCounts checks the witness itself: a message never sent is
// reported missing, a message sent twice counts one duplicate.
func TestRecorderCounts(t *testing.T) {
	b := startBroker(t)
	rec := newRecorder(t, b, "chk/#")
	for _, p := range []string{"one", "two", "two"} {
		if err := b.Publish("chk/x", []byte(p), false, 1); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if miss := rec.await(ctx, []string{"one", "two"}); len(miss) != 0 {
		t.Fatalf("missing %v", miss)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for rec.times("two") < 2 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the second copy of \"two\" did not arrive")
		}
	}
	got, dups := rec.tally([]string{"one", "two", "three"})
	if got != 2 || dups != 1 {
		t.Errorf("tally: %d received, %d duplicates; want 2 and 1", got, dups)
	}
	if miss := rec.missing([]string{"one", "three"}); len(miss) != 1 || miss[0] != "three" {
		t.Errorf("missing %v, want [three]", miss)
	}
}
