package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// logRecorder is a slog handler that keeps the messages logged to it.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}

// count is the number of logged messages containing s.
func (l *logRecorder) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.Contains(m, s) {
			n++
		}
	}
	return n
}

func openFile(t *testing.T, dir string, lim Limits, opt FileOptions) *File {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = discardLogger()
	}
	q, err := OpenFile(dir, lim, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func closeFile(t *testing.T, q *File) {
	t.Helper()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestFileSurvivesReopen(t *testing.T) {
	for _, noSync := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoSync=%v", noSync), func(t *testing.T) {
			dir := t.TempDir()
			opt := FileOptions{NoSync: noSync, SegmentSize: 256}
			q := openFile(t, dir, Limits{}, opt)
			var ids []ID
			for i := range 30 {
				ids = append(ids, mustPut(t, q, Message{Topic: fmt.Sprint(i), Payload: []byte{byte(i), 0, 255}, QoS: byte(i % 3), Retained: i%2 == 0}))
			}
			for _, i := range []int{0, 1, 7, 29} {
				if err := q.Remove(ids[i]); err != nil {
					t.Fatal(err)
				}
			}
			closeFile(t, q)

			q = openFile(t, dir, Limits{}, opt)
			if q.FirstNewID() != ids[29]+1 {
				t.Fatalf("FirstNewID %d, want %d", q.FirstNewID(), ids[29]+1)
			}
			select {
			case <-q.Ready():
			default:
				t.Fatal("Ready not signalled for entries that survived")
			}
			for i := range 30 {
				if i == 0 || i == 1 || i == 7 || i == 29 {
					continue
				}
				e, ok := q.Peek()
				want := Message{Topic: fmt.Sprint(i), Payload: []byte{byte(i), 0, 255}, QoS: byte(i % 3), Retained: i%2 == 0}
				if !ok || e.ID != ids[i] || fmt.Sprint(e.Message) != fmt.Sprint(want) {
					t.Fatalf("entry %d: got %d %+v, want %d %+v", i, e.ID, e.Message, ids[i], want)
				}
				if err := q.Remove(e.ID); err != nil {
					t.Fatal(err)
				}
			}
			if q.Len() != 0 {
				t.Fatalf("Len %d after draining", q.Len())
			}
			closeFile(t, q)

			// IDs keep growing even when the queue was empty.
			q = openFile(t, dir, Limits{}, opt)
			if id := mustPut(t, q, msg("after", "")); id <= ids[29] {
				t.Fatalf("ID %d after reopen, want > %d", id, ids[29])
			}
		})
	}
}

func TestFileLock(t *testing.T) {
	dir := t.TempDir()
	q := openFile(t, dir, Limits{}, FileOptions{})
	if _, err := OpenFile(dir, Limits{}, FileOptions{Logger: discardLogger()}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second OpenFile = %v, want ErrLocked", err)
	}
	closeFile(t, q)
	q = openFile(t, dir, Limits{}, FileOptions{})
	closeFile(t, q)
}

func TestFileDeletesFinishedSegments(t *testing.T) {
	dir := t.TempDir()
	q := openFile(t, dir, Limits{}, FileOptions{SegmentSize: 200})
	for round := range 5 {
		for i := range 40 {
			mustPut(t, q, msg(fmt.Sprint(round, i), "payload"))
		}
		if n := len(segmentFiles(t, dir)); n < 5 {
			t.Fatalf("%d segments for 40 entries of 40 bytes in 200-byte segments", n)
		}
		drain(t, q)
		if n := len(segmentFiles(t, dir)); n != 1 {
			t.Fatalf("round %d: %d segment files after removing everything, want 1", round, n)
		}
	}
}

// TestFileCompactsAroundAStuckHead: the oldest entry stays while thousands
// pass behind it; dead segments are rewritten away.
func TestFileCompactsAroundAStuckHead(t *testing.T) {
	dir := t.TempDir()
	q := openFile(t, dir, Limits{}, FileOptions{SegmentSize: 1024, NoSync: true})
	head := mustPut(t, q, msg("head", "stays"))
	for i := range 1000 {
		id := mustPut(t, q, msg(fmt.Sprint(i), "passing through"))
		if err := q.Remove(id); err != nil {
			t.Fatal(err)
		}
	}
	var total int64
	for _, name := range segmentFiles(t, dir) {
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		total += st.Size()
	}
	if total > 4*1024 {
		t.Fatalf("%d bytes on disk for one live entry", total)
	}
	closeFile(t, q)
	q = openFile(t, dir, Limits{}, FileOptions{})
	if e, ok := q.Peek(); !ok || e.ID != head || q.Len() != 1 {
		t.Fatalf("after reopen: %v %v Len %d, want the head entry %d alone", e.ID, ok, q.Len(), head)
	}
}

// writeEntries fills a fresh queue directory and returns its one segment.
func writeEntries(t *testing.T, dir string, n int) string {
	t.Helper()
	q := openFile(t, dir, Limits{}, FileOptions{})
	for i := range n {
		mustPut(t, q, msg(fmt.Sprint(i), strings.Repeat("x", i)))
	}
	closeFile(t, q)
	segs := segmentFiles(t, dir)
	if len(segs) != 1 {
		t.Fatalf("%d segments, want 1", len(segs))
	}
	return segs[0]
}

// TestFileTornTail cuts the segment at every byte of its last records: the
// complete records survive, the torn one is skipped with a logged error.
func TestFileTornTail(t *testing.T) {
	src := t.TempDir()
	seg := writeEntries(t, src, 5)
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	full := int64(segmentHeaderSize)
	var ends []int64 // where each record ends
	for i := range 5 {
		full += putRecordSize(&Message{Topic: fmt.Sprint(i), Payload: make([]byte, i)})
		ends = append(ends, full)
	}
	for cut := ends[2]; cut <= int64(len(data)); cut++ {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(seg)), data[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		rec := &logRecorder{}
		q := openFile(t, dir, Limits{}, FileOptions{Logger: slog.New(rec)})
		want := 0
		for _, e := range ends {
			if e <= cut {
				want++
			}
		}
		if q.Len() != want {
			t.Fatalf("cut at %d: %d entries, want %d", cut, q.Len(), want)
		}
		torn := 0
		if ends[want-1] != cut {
			torn = 1
		}
		if got := rec.count("torn record"); got != torn || rec.count("corrupt") != 0 {
			t.Fatalf("cut at %d: logged %q, want %d torn record errors", cut, rec.msgs, torn)
		}
		if got := fmt.Sprint(drain(t, q)); got != fmt.Sprint([]string{"0", "1", "2", "3", "4"}[:want]) {
			t.Fatalf("cut at %d: entries %s", cut, got)
		}
		closeFile(t, q)
	}
}

// TestFileCorruptRecord flips each byte of a middle record: that record is
// skipped with a logged error and the others survive.
func TestFileCorruptRecord(t *testing.T) {
	src := t.TempDir()
	seg := writeEntries(t, src, 3)
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	start := int64(segmentHeaderSize) + putRecordSize(&Message{Topic: "0"})
	end := start + putRecordSize(&Message{Topic: "1", Payload: []byte("x")})
	for off := start; off < end; off++ {
		dir := t.TempDir()
		bad := append([]byte{}, data...)
		bad[off] ^= 0x41
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(seg)), bad, 0o600); err != nil {
			t.Fatal(err)
		}
		rec := &logRecorder{}
		q := openFile(t, dir, Limits{}, FileOptions{Logger: slog.New(rec)})
		if got := fmt.Sprint(drain(t, q)); got != "[0 2]" {
			t.Fatalf("byte %d flipped: entries %s, want [0 2]", off, got)
		}
		if rec.count("corrupt record") != 1 {
			t.Fatalf("byte %d flipped: logged %q", off, rec.msgs)
		}
		closeFile(t, q)
	}
}

func TestFileDamagedHeader(t *testing.T) {
	dir := t.TempDir()
	seg := writeEntries(t, dir, 3)
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	copy(data, "garbage!")
	if err := os.WriteFile(seg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	rec := &logRecorder{}
	q := openFile(t, dir, Limits{}, FileOptions{Logger: slog.New(rec)})
	if got := fmt.Sprint(drain(t, q)); got != "[0 1 2]" {
		t.Fatalf("entries %s, want [0 1 2]", got)
	}
	if rec.count("header damaged") != 1 {
		t.Fatalf("logged %q", rec.msgs)
	}
}

// TestFileInterruptedRewrite: a crash after a rewrite created its segment
// but before it deleted the old ones leaves every live entry twice.
func TestFileInterruptedRewrite(t *testing.T) {
	dir := t.TempDir()
	q := openFile(t, dir, Limits{}, FileOptions{})
	for i := range 4 {
		mustPut(t, q, msg(fmt.Sprint(i), "p"))
	}
	e, _ := q.Peek()
	if err := q.Remove(e.ID); err != nil {
		t.Fatal(err)
	}
	closeFile(t, q)
	seg := segmentFiles(t, dir)[0]
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	var no uint64
	fmt.Sscanf(filepath.Base(seg), "%x", &no)
	dup := filepath.Join(dir, fmt.Sprintf("%016x%s", no+1, segmentSuffix))
	if err := os.WriteFile(dup, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dup+tempSuffix, data[:30], 0o600); err != nil { // an unfinished one too
		t.Fatal(err)
	}
	q = openFile(t, dir, Limits{}, FileOptions{})
	if got := fmt.Sprint(drain(t, q)); got != "[1 2 3]" {
		t.Fatalf("entries %s, want [1 2 3] once each", got)
	}
	if _, err := os.Stat(dup + tempSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("unfinished segment left behind: %v", err)
	}
}

func TestFileKeepsEntriesBeyondNewLimits(t *testing.T) {
	dir := t.TempDir()
	q := openFile(t, dir, Limits{}, FileOptions{})
	for i := range 5 {
		mustPut(t, q, msg(fmt.Sprint(i), ""))
	}
	closeFile(t, q)
	q = openFile(t, dir, Limits{MaxMessages: 2, Policy: Reject}, FileOptions{})
	if q.Len() != 5 {
		t.Fatalf("Len %d after reopen with a smaller limit, want 5", q.Len())
	}
	if _, err := q.Put(context.Background(), msg("x", "")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Put = %v, want ErrQueueFull", err)
	}
}

func TestOpenFileErrors(t *testing.T) {
	if _, err := OpenFile("", Limits{}, FileOptions{}); err == nil {
		t.Fatal("OpenFile(\"\") succeeded")
	}
	file := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(file, Limits{}, FileOptions{}); err == nil {
		t.Fatal("OpenFile on a plain file succeeded")
	}
}

func TestFileDroppedStayDropped(t *testing.T) {
	dir := t.TempDir()
	var dropped []ID
	q := openFile(t, dir, Limits{MaxMessages: 2, Policy: DropOldest, OnDrop: func(e Entry) { dropped = append(dropped, e.ID) }}, FileOptions{})
	var ids []ID
	for i := range 5 {
		ids = append(ids, mustPut(t, q, msg(fmt.Sprint(i), "")))
	}
	if fmt.Sprint(dropped) != fmt.Sprint(ids[:3]) {
		t.Fatalf("OnDrop got %v, want %v", dropped, ids[:3])
	}
	closeFile(t, q)
	q = openFile(t, dir, Limits{}, FileOptions{})
	if got := fmt.Sprint(drain(t, q)); got != "[3 4]" {
		t.Fatalf("after reopen %s, want [3 4]", got)
	}
}
