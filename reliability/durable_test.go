package reliability

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
	"github.com/cellmqtt/cellmqtt/queue"
)

// Environment of the durable-queue child process.
const (
	envChild  = "CELLMQTT_RELIABILITY_CHILD" // "publish" or "drain"
	envDir    = "CELLMQTT_RELIABILITY_DIR"
	envBroker = "CELLMQTT_RELIABILITY_BROKER"
	envPrefix = "CELLMQTT_RELIABILITY_PREFIX"
)

// Log lines of queue.File's recovery, as the child's stderr carries them.
const (
	logCorrupt = "queue: corrupt record skipped"
	logTorn    = "queue: torn record at the end of a segment skipped"
)

// perChild is how many messages a publishing child hands over at most
// (then it waits to be killed while they are sent).
const perChild = 300

// durableCycles is the number of SIGKILL cycles.
func durableCycles() int {
	if longForm() {
		return 50
	}
	return 3
}

// childRun is what one child process did before it ended.
type childRun struct {
	queued        []string // payloads whose Publish returned without error
	corrupt, torn int
	killedAfter   time.Duration
}

// TestDurableQueueKill9: a child process (this test binary, re-executed)
// runs the native client with SetQueueDir over its own emulator at 115200
// baud (slow enough that the queue holds a backlog) and publishes numbered
// QoS 1 messages to a broker this process runs, which outlives every child.
// Each child is killed with SIGKILL at a random point (during start-up,
// queue recovery, connect or publishing) and the next one opens the same
// directory. A last child drains the queue. Every message a child reported
// as handed over (Publish returned its token, so the queue's Put succeeded)
// must arrive at the subscriber, and the queue's recovery must find no
// corrupt record.
func TestDurableQueueKill9(t *testing.T) {
	b := startBroker(t)
	rec := newRecorder(t, b, "dur/#")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))

	cycles := durableCycles()
	var queued []string
	corrupt, torn := 0, 0
	start := time.Now()
	for k := range cycles {
		// Odd cycles: a random moment after the process started (it may be
		// still recovering the queue or connecting). Even cycles: a random
		// moment after it handed over its first message.
		delay := time.Duration(rng.IntN(1200)) * time.Millisecond
		run, err := runChild(ctx, "publish", dir, b.URL(), fmt.Sprintf("k%02d", k), k%2 == 0, delay)
		if err != nil {
			t.Fatalf("cycle %d: %v", k, err)
		}
		queued = append(queued, run.queued...)
		corrupt += run.corrupt
		torn += run.torn
		t.Logf("cycle %2d: killed %v after start, %d queued by this child, %d total, %d arrived so far",
			k, run.killedAfter.Round(time.Millisecond), len(run.queued), len(queued), len(queued)-len(rec.missing(queued)))
	}
	drain, err := runChild(ctx, "drain", dir, b.URL(), "drain", false, 0)
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	corrupt += drain.corrupt
	torn += drain.torn

	wctx, wcancel := context.WithTimeout(ctx, waitFor)
	miss := rec.await(wctx, queued)
	wcancel()
	got, dups := rec.tally(queued)
	t.Logf("kill -9: %d cycles in %v: %d messages handed over, %d received, %d duplicates, %d lost, %d corrupt records, %d torn tails",
		cycles, time.Since(start).Round(time.Millisecond), len(queued), got, dups, len(miss), corrupt, torn)
	if len(miss) > 0 {
		t.Errorf("lost %d messages: %v", len(miss), miss)
	}
	if corrupt > 0 {
		t.Errorf("the queue skipped %d corrupt records", corrupt)
	}
	if len(queued) == 0 {
		t.Error("no child handed over a message before it was killed")
	}
}

// runChild starts a child in mode. A "publish" child is killed with
// SIGKILL delay after its start (afterFirst: after its first handed-over
// message); a "drain" child runs until the queue is empty and exits.
func runChild(ctx context.Context, mode, dir, broker, prefix string, afterFirst bool, delay time.Duration) (childRun, error) {
	var run childRun
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+mode, envDir+"="+dir, envBroker+"="+broker, envPrefix+"="+prefix)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return run, err
	}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return run, err
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	var kill <-chan time.Time
	if mode == "publish" && !afterFirst {
		kill = time.After(delay)
	}
	killed, drained := false, false
	for lines != nil {
		select {
		case l, ok := <-lines:
			if !ok {
				lines = nil
				continue
			}
			if p, ok := strings.CutPrefix(l, "queued "); ok {
				run.queued = append(run.queued, p)
				if afterFirst && kill == nil && !killed {
					kill = time.After(delay)
				}
			}
			drained = drained || l == "drained"
		case <-kill:
			kill = nil
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				return run, err
			}
			killed = true
			run.killedAfter = time.Since(started)
		}
	}
	err = cmd.Wait()
	log := stderr.String()
	run.corrupt = strings.Count(log, logCorrupt)
	run.torn = strings.Count(log, logTorn)
	switch {
	case mode == "drain" && (err != nil || !drained):
		return run, fmt.Errorf("drain child: %v (drained %v), stderr:\n%s", err, drained, log)
	case mode == "publish" && !killed:
		return run, fmt.Errorf("publish child ended before it was killed: %v, stderr:\n%s", err, log)
	}
	return run, nil
}

// durableChild runs the child side of TestDurableQueueKill9 when the
// environment asks for it; it reports whether it ran and its exit code.
func durableChild() (ran bool, code int) {
	mode := os.Getenv(envChild)
	if mode == "" {
		return false, 0
	}
	if err := childMain(mode); err != nil {
		fmt.Fprintln(os.Stderr, "durable child:", err)
		return true, 1
	}
	return true, 0
}

func childMain(mode string) error {
	baud := 0
	if mode == "publish" {
		baud = 115200 // the queue holds a backlog when the kill comes
	}
	sim, err := modemsim.New(modemsim.Config{Broker: os.Getenv(envBroker), Baud: baud})
	if err != nil {
		return err
	}
	defer sim.Close()
	// The queue logs damage it skips on the client's logger: stderr, where
	// the parent counts it.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o := cellmqtt.NewClientOptions().AddBroker("tcp://broker.invalid:1883").SetClientID("durable").
		SetModel(atmodem.A7600).SetTransport(sim.Conn()).SetQueueDir(os.Getenv(envDir)).
		SetLogger(logger)
	c := cellmqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		return fmt.Errorf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	switch mode {
	case "publish":
		prefix := os.Getenv(envPrefix)
		for i := range perChild {
			payload := fmt.Sprintf("%s-%06d", prefix, i)
			tok := c.Publish("dur/"+prefix, 1, false, payload)
			select {
			case <-tok.Done():
				if tok.Error() != nil {
					return fmt.Errorf("publish %s: %w", payload, tok.Error())
				}
			default:
			}
			fmt.Printf("queued %s\n", payload)
		}
		// All handed over: the kill comes while they are being sent.
		<-time.After(2 * waitFor)
		return fmt.Errorf("not killed")
	case "drain":
		// The client sends what the killed children left; a message
		// published now completes after all of them (the queue is FIFO).
		tok := c.Publish("dur/drain", 1, false, "drain-marker")
		if !tok.WaitTimeout(waitFor) {
			return fmt.Errorf("queue not drained after %v", waitFor)
		}
		if tok.Error() != nil {
			return tok.Error()
		}
		fmt.Println("drained")
		return nil
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// TestCorruptRecordDetector checks the detector TestDurableQueueKill9
// relies on: a queue whose segment has a damaged record (a byte flipped in
// the middle of the first of three) logs logCorrupt when it is opened, and
// the records after it survive.
func TestCorruptRecordDetector(t *testing.T) {
	dir := t.TempDir()
	q, err := queue.OpenFile(dir, queue.Limits{}, queue.FileOptions{NoSync: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"first-record-payload", "second", "third"} {
		if _, err := q.Put(context.Background(), queue.Message{Topic: "t", Payload: []byte(p), QoS: 1}); err != nil {
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
	data, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte("first-record-payload"))
	if i < 0 {
		t.Fatal("payload not found in the segment")
	}
	data[i+5] ^= 0xff
	if err := os.WriteFile(segs[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	q, err = queue.OpenFile(dir, queue.Limits{}, queue.FileOptions{NoSync: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if n := strings.Count(logs.String(), logCorrupt); n != 1 {
		t.Errorf("%d %q lines after damaging one record; log:\n%s", n, logCorrupt, logs.String())
	}
	if q.Len() != 2 {
		t.Errorf("%d entries survive, want the 2 undamaged ones", q.Len())
	}
}
