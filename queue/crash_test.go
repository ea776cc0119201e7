//go:build unix

package queue

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
)

// Environment of the crash child process.
const (
	crashDirEnv   = "CELLMQTT_QUEUE_CRASH_DIR"
	crashStartEnv = "CELLMQTT_QUEUE_CRASH_START"
)

// crashPayload is the payload of message n: its number, then filler of a
// length that varies so records straddle pages and segment boundaries.
func crashPayload(n int) []byte {
	p := fmt.Appendf(nil, "%08d:", n)
	return append(p, bytes.Repeat([]byte{byte('a' + n%26)}, (n*7919)%1500)...)
}

// TestHelperProcess is the child of TestCrashDurability, not a test of its
// own: it Puts numbered messages into the queue in $CELLMQTT_QUEUE_CRASH_DIR
// and prints "P id n" after each Put returns. It removes the oldest entry
// after every sixth Put, like a sender, and most others out of order, so
// segments are deleted and rewritten while it runs; it prints "r id" before
// Remove and "R id" after. It runs until the parent kills it.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestCrashDurability")
	}
	start, _ := strconv.Atoi(os.Getenv(crashStartEnv))
	q, err := OpenFile(dir, Limits{}, FileOptions{SegmentSize: 8 << 10, Logger: discardLogger()})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	remove := func(id ID) {
		fmt.Fprintf(os.Stdout, "r %d\n", id)
		if err := q.Remove(id); err != nil {
			fmt.Fprintln(os.Stderr, "remove:", err)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stdout, "R %d\n", id)
	}
	var prev ID
	for n := start; n < start+1_000_000; n++ {
		id, err := q.Put(context.Background(), Message{Topic: "crash", Payload: crashPayload(n), QoS: 1})
		if err != nil {
			fmt.Fprintln(os.Stderr, "put:", err)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stdout, "P %d %d\n", id, n) // unbuffered: printed means acknowledged
		switch {
		case n%6 == 0: // a sender done with the oldest
			if e, ok := q.Peek(); ok {
				remove(e.ID)
			}
		case n%3 != 0 && prev != 0: // out of order: dead records pile up and get compacted
			remove(prev)
		}
		prev = id
	}
	os.Exit(3) // the parent should have killed us long before
}

// crashLog is what the parent learned from a child's output.
type crashLog struct {
	acked    map[ID]int // ID -> message number, for every Put that returned
	removing map[ID]bool
	removed  map[ID]bool
	puts     int
}

// TestCrashDurability kills a child process that is writing to a File
// queue with SIGKILL at random points, reopens the queue each time and
// checks that every acknowledged Put is there (unless the child removed
// it), no removed entry came back, IDs kept growing and no record was
// corrupt. CELLMQTT_LONG=1 runs 60 cycles instead of 5.
func TestCrashDurability(t *testing.T) {
	cycles := 5
	if os.Getenv("CELLMQTT_LONG") == "1" {
		cycles = 60
	}
	dir := t.TempDir()
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	all := crashLog{acked: map[ID]int{}, removing: map[ID]bool{}, removed: map[ID]bool{}}
	next, torn := 0, 0
	var lastID ID
	for c := range cycles {
		killAfter := 1 + rng.IntN(400)
		cl := runCrashChild(t, dir, next, killAfter)
		next += cl.puts + 1 // skip the number that may have been in flight
		for id, n := range cl.acked {
			if id <= lastID {
				t.Fatalf("cycle %d: ID %d not above %d from earlier runs", c, id, lastID)
			}
			all.acked[id] = n
		}
		for id := range cl.removing {
			all.removing[id] = true
		}
		for id := range cl.removed {
			all.removed[id] = true
		}

		rec := &logRecorder{}
		q, err := OpenFile(dir, Limits{}, FileOptions{Logger: slog.New(rec)})
		if err != nil {
			t.Fatalf("cycle %d: reopen: %v", c, err)
		}
		if n := rec.count("corrupt") + rec.count("header damaged"); n != 0 {
			t.Fatalf("cycle %d: %d corrupt records: %q", c, n, rec.msgs)
		}
		torn += rec.count("torn record")
		present := map[ID]bool{}
		q.b.mu.Lock()
		q.b.r.each(func(s *slot) {
			present[s.entry.ID] = true
			lastID = max(lastID, s.entry.ID)
			p := s.entry.Message.Payload
			n, err := strconv.Atoi(string(p[:min(8, len(p))]))
			if err != nil || !bytes.Equal(p, crashPayload(n)) {
				t.Errorf("cycle %d: entry %d has a damaged payload %.20q", c, s.entry.ID, p)
			}
			if want, ok := all.acked[s.entry.ID]; ok && want != n {
				t.Errorf("cycle %d: entry %d holds message %d, want %d", c, s.entry.ID, n, want)
			}
		})
		lastID = max(lastID, q.b.next-1)
		q.b.mu.Unlock()
		for id, n := range all.acked {
			if !present[id] && !all.removing[id] {
				t.Errorf("cycle %d: acknowledged message %d (ID %d) lost", c, n, id)
			}
		}
		for id := range all.removed {
			if present[id] {
				t.Errorf("cycle %d: removed ID %d came back", c, id)
			}
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("%d cycles: %d Puts acknowledged, %d removed, %d torn tails skipped, none lost",
		cycles, len(all.acked), len(all.removed), torn)
}

// runCrashChild starts the helper process, SIGKILLs it after it
// acknowledged killAfter Puts and returns everything it printed.
func runCrashChild(t *testing.T, dir string, start, killAfter int) crashLog {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashStartEnv+"="+strconv.Itoa(start))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cl := crashLog{acked: map[ID]int{}, removing: map[ID]bool{}, removed: map[ID]bool{}}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() { // after the kill, read what the child printed before it died
		var kind string
		var id ID
		var n int
		fmt.Sscan(sc.Text(), &kind, &id, &n)
		switch kind {
		case "P":
			cl.acked[id] = n
			cl.puts++
		case "r":
			cl.removing[id] = true
		case "R":
			cl.removed[id] = true
		}
		if !killed && cl.puts >= killAfter {
			_ = cmd.Process.Kill() // SIGKILL
			killed = true
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v; stderr: %s", err, stderr.String())
	}
	return cl
}
