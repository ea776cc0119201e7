package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
)

// ErrLocked: the queue directory is already open, in this process or
// another one.
var ErrLocked = errors.New("queue: directory in use by another queue")

// lockFileName is the file in the queue directory that holds the lock.
const lockFileName = "LOCK"

// File is a durable Queue kept in a directory: entries survive a crash of
// the process (kill -9) and a restart, with nothing that Put reported as
// queued lost. It is safe for concurrent use; a lock file keeps a second
// queue (in this or another process) off the directory.
//
// # Storage
//
// The directory holds append-only segment files (record.go describes the
// format): each Put appends a checksummed PUT record and, unless
// FileOptions.NoSync, fsyncs it before returning; Remove (and DropOldest)
// appends a REMOVE record without fsync, so after a power loss a removed
// entry may come back and be sent again (at-least-once), while after a
// killed process it does not. A segment whose entries are all removed is
// deleted once it is the oldest, and when dead records take more than half
// of at least two segments' worth of disk the live entries are rewritten
// into a fresh segment. Opening replays the segments in order, skipping a
// torn tail or a corrupt record with an error on the logger, then rewrites
// the live entries into one new segment, so damage never outlives an open.
//
// IDs keep growing across restarts. Entries found on open are kept even
// when they exceed the limits; Put then applies the policy until there is
// room again. Everything else (limits, policies, Ready, payload copy)
// behaves as for Memory; the live entries are also held in memory.
//
// Put holds the queue's lock while it writes and syncs its record, so Peek
// and Remove wait for a concurrent Put's fsync (about a millisecond on an
// SSD; see the benchmarks). Set FileOptions.NoSync to trade the power-loss
// guarantee for speed.
type File struct {
	b       bounded
	dir     string
	opt     FileOptions
	log     *slog.Logger
	lockf   *os.File
	segs    []*segment // oldest first; the last one is the active segment
	w       *os.File   // the active segment, open for appending
	lastSeg uint64     // highest segment number used so far
	buf     []byte     // record encoding buffer
	disk    int64      // bytes in all segment files
	liveRec int64      // bytes of the PUT records of live entries
	firstID ID         // the ID of the first Put after OpenFile
}

var _ Queue = (*File)(nil)

// OpenFile opens (creating it if needed) the durable queue in dir, bounded
// by lim. It fails with ErrLocked when the directory is in use. Damaged
// records are skipped and logged, never fatal; errors reading or writing
// the directory are returned.
func OpenFile(dir string, lim Limits, opt FileOptions) (*File, error) {
	if dir == "" {
		return nil, errors.New("queue: OpenFile: empty directory name")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("queue: create directory: %w", err)
	}
	lockf, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("queue: open lock file: %w", err)
	}
	if err := lockFile(lockf); err != nil {
		_ = lockf.Close()
		return nil, fmt.Errorf("%w: %s", err, dir)
	}
	f := &File{dir: dir, opt: opt, log: opt.logger(), lockf: lockf}
	if err := f.recover(lim); err != nil {
		_ = lockf.Close()
		return nil, err
	}
	if f.b.r.live > 0 {
		f.b.ready <- struct{}{}
	}
	return f, nil
}

// Put appends msg, applying the policy when the queue is full, and returns
// once its record is written (and synced unless FileOptions.NoSync). It
// fails with ErrTooLarge, ErrQueueFull, ErrClosed or a write error.
func (f *File) Put(ctx context.Context, msg Message) (ID, error) { return f.b.put(ctx, msg) }

// Peek returns the oldest entry without removing it; ok is false when the
// queue is empty or closed. The payload must not be modified.
func (f *File) Peek() (Entry, bool) { return f.b.peek() }

// Remove deletes the entry with id; an unknown id is not an error. It
// fails with ErrClosed, or with a write error (the entry is gone from the
// queue but may return after a restart).
func (f *File) Remove(id ID) error { return f.b.remove(id) }

// Ready returns a channel (capacity 1) that receives a value after each Put,
// and once after OpenFile when entries survived from before.
func (f *File) Ready() <-chan struct{} { return f.b.ready }

// Len is the number of queued entries.
func (f *File) Len() int { return f.b.lockedLen() }

// Bytes is the size of the queued entries as counted by Limits.MaxBytes.
func (f *File) Bytes() int64 { return f.b.lockedBytes() }

// FirstNewID is the ID the first Put after OpenFile got or will get.
// Entries with smaller IDs survived from an earlier run, which may have
// sent them before it stopped, so a sender should send them (QoS 1 and 2)
// with the DUP flag.
func (f *File) FirstNewID() ID { return f.firstID }

// Dir is the queue's directory.
func (f *File) Dir() string { return f.dir }

// Close syncs and closes the segment files and releases the directory lock;
// pending and later Put calls fail with ErrClosed. Closing twice is not an
// error.
func (f *File) Close() error {
	f.b.mu.Lock()
	defer f.b.mu.Unlock()
	if !f.b.shut() {
		return nil
	}
	var errs []error
	if f.w != nil {
		errs = append(errs, f.w.Sync(), f.w.Close())
		f.w = nil
	}
	errs = append(errs, f.lockf.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("queue: close %s: %w", f.dir, err)
	}
	return nil
}

// recover replays the segments of the directory, loads the live entries
// and rewrites them into a new active segment.
func (f *File) recover(lim Limits) error {
	nos, err := f.listSegments()
	if err != nil {
		return err
	}
	live := make(map[ID]Message)
	next := ID(1)
	for _, no := range nos {
		f.lastSeg = max(f.lastSeg, no)
		path := f.segPath(no)
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("queue: read segment: %w", err)
		}
		body := data
		if h, ok := parseSegmentHeader(data); ok {
			next = max(next, h)
			body = data[segmentHeaderSize:]
		} else {
			f.log.Error("queue: segment header damaged; scanning the file for records", "file", path, "size", len(data))
		}
		base := len(data) - len(body)
		scanRecords(body, func(r record) {
			next = max(next, r.id+1)
			switch r.kind {
			case recordPut:
				if _, dup := live[r.id]; !dup { // a copy left by an interrupted rewrite
					live[r.id] = r.msg
				}
			case recordRemove:
				delete(live, r.id)
			}
		}, func(d damage) {
			if d.torn {
				f.log.Error("queue: torn record at the end of a segment skipped", "file", path, "offset", base+d.offset, "bytes", d.skipped)
			} else {
				f.log.Error("queue: corrupt record skipped", "file", path, "offset", base+d.offset, "bytes", d.skipped)
			}
		})
	}
	f.b.init(lim, next, f)
	f.firstID = next
	ids := make([]ID, 0, len(live))
	for id := range live {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		m := live[id]
		f.b.r.push(slot{entry: Entry{ID: id, Message: m}, size: messageSize(&m), rec: putRecordSize(&m)})
		f.liveRec += putRecordSize(&m)
	}
	for _, no := range nos {
		f.segs = append(f.segs, &segment{no: no}) // replaced by rewrite
	}
	return f.rewrite()
}
