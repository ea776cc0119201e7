package cellmqtt

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cellmqtt/cellmqtt/modemsim"
	"github.com/cellmqtt/cellmqtt/queue"
)

// TestQueueDamageHandler: damage the durable queue finds when Connect
// opens it reaches the application's handler (issue 13.8), and the
// messages that survived are delivered.
func TestQueueDamageHandler(t *testing.T) {
	dir := t.TempDir()
	q, err := queue.OpenFile(dir, queue.Limits{}, queue.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"kept", "torn"} {
		if _, err := q.Put(context.Background(), queue.Message{Topic: "dmg/t", Payload: []byte(p), QoS: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil || len(segs) != 1 {
		t.Fatalf("segments %v, %v", segs, err)
	}
	st, err := os.Stat(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(segs[0], st.Size()-2); err != nil { // a crash while writing "torn"
		t.Fatal(err)
	}

	e := newEnv(t, modemsim.Config{})
	p := e.peer("dmg/#")
	var mu sync.Mutex
	var damage []queue.Damage
	e.connect(e.options("dmg").SetQueueDir(dir).SetQueueDamageHandler(func(d queue.Damage) {
		mu.Lock()
		damage = append(damage, d)
		mu.Unlock()
	}))
	mu.Lock()
	got := append([]queue.Damage(nil), damage...)
	mu.Unlock()
	if len(got) != 1 || !got[0].Torn || got[0].File != segs[0] {
		t.Fatalf("damage handler got %v, want the torn record of %s", got, segs[0])
	}
	p.waitAll(t, []string{"kept"})
}
