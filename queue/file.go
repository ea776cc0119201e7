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
// torn tail or a corrupt record with an error on the logger and a report
// to FileOptions.OnDamage, then rewrites the live entries into one new
// segment, so damage never outlives an open.
//
// # A full disk
//
// Put fails with the write error (ENOSPC) while the disk is full, and the
// queue holds what it had. A write cut short is taken back, and when a
// record cannot be written the queue frees the disk space of the entries
// already removed (deleting or emptying their segments, or compacting when
// the live entries fit) and tries again, so Put works again by itself once
// the queue has drained or space was freed. Opened on a disk with no room
// for the rewrite, the queue keeps its segment files as they are (damage
// in them is reported again at the next open) and appends to the last one.
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
	damage  []Damage   // what OpenFile found damaged
}

var _ Queue = (*File)(nil)

// OpenFile opens (creating it if needed) the durable queue in dir, bounded
// by lim. It fails with ErrLocked when the directory is in use. Damaged
// records are skipped, logged and reported (FileOptions.OnDamage, Damage),
// never fatal; errors reading the directory are returned. On a full disk
// it opens all the same, with what the directory holds.
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

// PeekAfter returns the oldest entry whose ID is greater than id.
func (f *File) PeekAfter(id ID) (Entry, bool) { return f.b.peekAfter(id) }

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
// and rewrites them into a new active segment. When there is no room for
// that (a full disk), it keeps the segments as they are and appends to the
// last one (openInPlace): the space comes back as the entries are removed.
func (f *File) recover(lim Limits) error {
	nos, err := f.listSegments()
	if err != nil {
		return err
	}
	type liveEntry struct {
		msg Message
		seg uint64 // the segment that holds its PUT record
	}
	live := make(map[ID]liveEntry)
	next := ID(1)
	sizes := make(map[uint64]int64, len(nos))
	tornAt := int64(-1) // where a torn tail of the last segment starts
	for i, no := range nos {
		f.lastSeg = max(f.lastSeg, no)
		path := f.segPath(no)
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("queue: read segment: %w", err)
		}
		sizes[no] = int64(len(data))
		body := data
		h, headerOK := parseSegmentHeader(data)
		if headerOK {
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
					live[r.id] = liveEntry{msg: r.msg, seg: no}
				}
			case recordRemove:
				delete(live, r.id)
			}
		}, func(d damage) {
			if d.torn {
				f.log.Error("queue: torn record at the end of a segment skipped", "file", path, "offset", base+d.offset, "bytes", d.skipped)
				if i == len(nos)-1 {
					tornAt = int64(base + d.offset)
				}
			} else {
				f.log.Error("queue: corrupt record skipped", "file", path, "offset", base+d.offset, "bytes", d.skipped)
			}
			f.found(Damage{File: path, Offset: int64(base + d.offset), Bytes: d.skipped, Torn: d.torn,
				Header: !headerOK && base+d.offset == 0})
		})
	}
	f.b.init(lim, next, f)
	f.firstID = next
	ids := make([]ID, 0, len(live))
	for id := range live {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	liveIn := make(map[uint64]int, len(nos))
	for _, id := range ids {
		e := live[id]
		m := e.msg
		rec := putRecordSize(&m)
		f.b.r.push(slot{entry: Entry{ID: id, Message: m}, size: messageSize(&m), rec: rec, seg: e.seg})
		f.liveRec += rec
		liveIn[e.seg]++
	}
	for _, no := range nos {
		f.segs = append(f.segs, &segment{no: no, size: sizes[no], live: liveIn[no]})
		f.disk += sizes[no]
	}
	err = f.rewrite()
	if err == nil {
		return nil
	}
	f.log.Warn("queue: no room to rewrite the queue on open; keeping its segments as they are", "dir", f.dir, "err", err)
	if ferr := f.openInPlace(tornAt); ferr != nil {
		return errors.Join(err, ferr)
	}
	return nil
}

// openInPlace makes the last segment found on open the active one, cut
// before its torn tail if it has one, without writing anything new; with
// no segment at all the first Put creates one. f.segs and the slots already
// say where each live entry's record is.
func (f *File) openInPlace(tornAt int64) error {
	if len(f.segs) == 0 {
		f.disk = 0
		return nil
	}
	a := f.active()
	w, err := os.OpenFile(f.segPath(a.no), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("queue: open segment: %w", err)
	}
	if tornAt >= 0 {
		if err := w.Truncate(tornAt); err != nil {
			_ = w.Close()
			return fmt.Errorf("queue: cut the torn tail of a segment: %w", err)
		}
		f.disk -= a.size - tornAt
		a.size = tornAt
	}
	f.w = w
	f.deleteFinished()
	return nil
}

// found records damage found on open and reports it to FileOptions.OnDamage.
func (f *File) found(d Damage) {
	f.damage = append(f.damage, d)
	if f.opt.OnDamage != nil {
		f.opt.OnDamage(d)
	}
}

// Damage returns the damaged parts of the segment files that OpenFile
// found and skipped, oldest first (FileOptions.OnDamage got each as it was
// found). A skipped PUT record is a message lost; a skipped REMOVE record
// brings a delivered message back. Empty when the queue opened clean.
func (f *File) Damage() []Damage { return slices.Clone(f.damage) }
