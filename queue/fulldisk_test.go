package queue

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// smallDiskSize is the size of the file system of the full-disk tests.
const smallDiskSize = 1 << 20

// diskFullHook makes the queue's writes in dir behave as on a file system
// of size bytes: a write that does not fit writes what fits and fails with
// ENOSPC. It stands in for a real small file system where the test cannot
// mount one.
func diskFullHook(dir string, size int64) func(*os.File, []byte) (int, error) {
	return func(w *os.File, b []byte) (int, error) {
		var used int64
		_ = filepath.WalkDir(dir, func(_ string, de fs.DirEntry, err error) error {
			if err == nil && !de.IsDir() {
				if fi, err := de.Info(); err == nil {
					used += fi.Size()
				}
			}
			return nil
		})
		free := max(size-used, 0)
		if int64(len(b)) <= free {
			return w.Write(b)
		}
		n, _ := w.Write(b[:free])
		return n, &os.PathError{Op: "write", Path: w.Name(), Err: syscall.ENOSPC}
	}
}

// smallDisks are the 1 MiB file systems the full-disk tests run on: a real
// tmpfs when the test can mount one (root on Linux), and always a
// directory with injected write failures.
func smallDisks(t *testing.T) map[string]func(t *testing.T) (string, FileOptions) {
	disks := map[string]func(t *testing.T) (string, FileOptions){
		"injected": func(t *testing.T) (string, FileOptions) {
			dir := t.TempDir()
			// NoSync: this disk is a directory on the real one, whose
			// fsyncs would only slow the test down.
			return dir, FileOptions{Logger: discardLogger(), NoSync: true, writeHook: diskFullHook(dir, smallDiskSize)}
		},
	}
	if mountSmallTmpfs != nil {
		disks["tmpfs"] = func(t *testing.T) (string, FileOptions) {
			dir := mountSmallTmpfs(t, smallDiskSize)
			if dir == "" {
				t.Skip("cannot mount a tmpfs here (needs root)")
			}
			return dir, FileOptions{Logger: discardLogger()}
		}
	}
	return disks
}

// kb is the 1 KB payload of message n.
func kb(n int) []byte {
	p := fmt.Appendf(nil, "%06d:", n)
	for len(p) < 1024 {
		p = append(p, byte('a'+n%26))
	}
	return p
}

// fillUntilFull puts 1 KB messages numbered from start until the disk is
// full (ENOSPC) or max messages; it returns how many were queued and how
// many failed.
func fillUntilFull(t *testing.T, q *File, start, count int) (queued []int, failed int) {
	t.Helper()
	for n := start; n < start+count; n++ {
		_, err := q.Put(context.Background(), Message{Topic: "full/disk", Payload: kb(n), QoS: 1})
		switch {
		case err == nil:
			queued = append(queued, n)
		case errors.Is(err, syscall.ENOSPC):
			failed++
		default:
			t.Fatalf("Put %d: %v, want nil or ENOSPC", n, err)
		}
	}
	return queued, failed
}

// drainAll removes every entry as a sender that delivered them would,
// checking they are the messages queued, in order. Remove may fail to
// write its record on a full disk; the entry is gone all the same.
func drainAll(t *testing.T, q *File, want []int) {
	t.Helper()
	for _, n := range want {
		e, ok := q.Peek()
		if !ok {
			t.Fatalf("queue empty, want message %d", n)
		}
		if string(e.Message.Payload) != string(kb(n)) {
			t.Fatalf("head is %.7q, want message %d", e.Message.Payload, n)
		}
		if err := q.Remove(e.ID); err != nil && !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Remove: %v", err)
		}
	}
	if q.Len() != 0 {
		t.Fatalf("%d entries left after draining", q.Len())
	}
}

// openSmall opens the queue in dir/q, closed when the test ends (before
// its file system goes).
func openSmall(t *testing.T, dir string, opt FileOptions) *File {
	t.Helper()
	q, err := OpenFile(filepath.Join(dir, "q"), Limits{}, opt)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// TestFileFullDiskRecovers: issue 13.4 on a 1 MiB file system. 1500 x 1 KB
// messages while the broker is unreachable: Put fails with ENOSPC once the
// disk is full; once the queue has drained, Put works again (before, the
// drained segment kept the disk full while the process ran).
func TestFileFullDiskRecovers(t *testing.T) {
	for name, disk := range smallDisks(t) {
		t.Run(name, func(t *testing.T) {
			dir, opt := disk(t)
			q := openSmall(t, dir, opt)
			queued, failed := fillUntilFull(t, q, 0, 1500)
			if failed == 0 || len(queued) == 0 {
				t.Fatalf("%d queued, %d failed: the disk was not filled", len(queued), failed)
			}
			t.Logf("%d of 1500 queued before the disk was full", len(queued))
			drainAll(t, q, queued)
			again, failed := fillUntilFull(t, q, 2000, 1500)
			if len(again) < len(queued)*9/10 {
				t.Fatalf("after draining only %d messages fit (%d failed), %d did before", len(again), failed, len(queued))
			}
			drainAll(t, q, again)
		})
	}
}

// TestFileOpensFullDisk: a queue closed on a full disk opens again with
// everything it held, in order, and works once drained (before, OpenFile
// failed: it rewrites the entries into a new segment first, and there was
// no room for it).
func TestFileOpensFullDisk(t *testing.T) {
	for name, disk := range smallDisks(t) {
		t.Run(name, func(t *testing.T) {
			dir, opt := disk(t)
			q := openSmall(t, dir, opt)
			queued, failed := fillUntilFull(t, q, 0, 1500)
			if failed == 0 {
				t.Fatal("the disk was not filled")
			}
			if err := q.Close(); err != nil {
				t.Fatal(err)
			}
			q = openSmall(t, dir, opt)
			if q.Len() != len(queued) {
				t.Fatalf("reopened with %d entries, want %d", q.Len(), len(queued))
			}
			if q.FirstNewID() != ID(len(queued)+1) {
				t.Errorf("FirstNewID %d, want %d", q.FirstNewID(), len(queued)+1)
			}
			drainAll(t, q, queued)
			again, _ := fillUntilFull(t, q, 2000, 1500)
			if len(again) < len(queued)*9/10 {
				t.Fatalf("after draining the reopened queue only %d messages fit, %d did before", len(again), len(queued))
			}
			// And once more, from a queue that filled the disk after a
			// restart: the IDs keep growing.
			if err := q.Close(); err != nil {
				t.Fatal(err)
			}
			q = openSmall(t, dir, opt)
			if e, ok := q.Peek(); !ok || e.ID <= ID(len(queued)) || string(e.Message.Payload) != string(kb(2000)) {
				t.Fatalf("head after the second restart: %v %d %.7q", ok, e.ID, e.Message.Payload)
			}
			drainAll(t, q, again)
		})
	}
}

// mountSmallTmpfs mounts a tmpfs where the system allows it (set by an
// init function of a system-specific test file), nil elsewhere.
var mountSmallTmpfs func(t *testing.T, size int64) string

// TestFileFullDiskLeavesNoTornRecord: a Put that fails part way on a full
// disk takes its bytes back, so the queue reopens clean (no damage) where
// there is room again.
func TestFileFullDiskLeavesNoTornRecord(t *testing.T) {
	dir := t.TempDir()
	opt := FileOptions{Logger: discardLogger(), NoSync: true, writeHook: diskFullHook(dir, 100<<10)}
	q := openSmall(t, dir, opt)
	queued, failed := fillUntilFull(t, q, 0, 200)
	if failed == 0 {
		t.Fatal("the disk was not filled")
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	var reported []Damage
	q = openSmall(t, dir, FileOptions{Logger: discardLogger(), OnDamage: func(d Damage) { reported = append(reported, d) }})
	if len(reported) != 0 || len(q.Damage()) != 0 {
		t.Fatalf("damage after a full disk: %v", reported)
	}
	drainAll(t, q, queued)
}

// TestFileOpensInPlaceCutsTornTail: opened on a disk too full to rewrite
// it, a queue keeps its segments and appends to the last one, after
// cutting its torn tail; the damage is reported once, and the next open
// (with room) finds every entry, the new ones too, and no damage.
func TestFileOpensInPlaceCutsTornTail(t *testing.T) {
	dir := t.TempDir()
	q := openSmall(t, dir, FileOptions{Logger: discardLogger()})
	queued, _ := fillUntilFull(t, q, 0, 50)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	segs := segmentFiles(t, filepath.Join(dir, "q"))
	last := segs[len(segs)-1]
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	torn := appendPutRecord(nil, &Entry{ID: 999, Message: Message{Topic: "torn", Payload: kb(999)}})
	if _, err := f.Write(torn[:len(torn)/2]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	st, err := os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	// Room for a few records, not for a rewrite of 50 KB.
	var reported []Damage
	opt := FileOptions{Logger: discardLogger(), OnDamage: func(d Damage) { reported = append(reported, d) },
		writeHook: diskFullHook(dir, st.Size()+4<<10)}
	q = openSmall(t, dir, opt)
	if len(reported) != 1 || !reported[0].Torn || reported[0].File != last || reported[0].Offset != st.Size()-int64(len(torn)/2) {
		t.Fatalf("reported %v, want the torn record at the end of %s", reported, last)
	}
	if got := q.Damage(); len(got) != 1 || got[0] != reported[0] {
		t.Fatalf("Damage() = %v", got)
	}
	if q.Len() != len(queued) {
		t.Fatalf("%d entries, want %d", q.Len(), len(queued))
	}
	more, _ := fillUntilFull(t, q, 100, 2)
	if len(more) != 2 {
		t.Fatalf("%d of 2 Puts fit after the torn tail was cut", len(more))
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	reported = nil
	q = openSmall(t, dir, FileOptions{Logger: discardLogger(), OnDamage: func(d Damage) { reported = append(reported, d) }})
	if len(reported) != 0 {
		t.Fatalf("damage reported again: %v", reported)
	}
	drainAll(t, q, append(queued, more...))
}
