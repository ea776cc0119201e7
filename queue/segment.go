package queue

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// segment is one segment file of a File queue.
type segment struct {
	no   uint64 // the file is named by this number in hex
	size int64  // bytes in the file
	live int    // PUT records whose entry is still queued
}

const (
	segmentSuffix = ".seg"
	tempSuffix    = ".tmp"
)

func (f *File) segPath(no uint64) string {
	return filepath.Join(f.dir, fmt.Sprintf("%016x%s", no, segmentSuffix))
}

// listSegments returns the segment numbers in the directory, oldest first,
// and deletes files left by a rewrite that a crash interrupted.
func (f *File) listSegments() ([]uint64, error) {
	des, err := os.ReadDir(f.dir)
	if err != nil {
		return nil, fmt.Errorf("queue: list segments: %w", err)
	}
	var nos []uint64
	for _, de := range des {
		name := de.Name()
		switch {
		case strings.HasSuffix(name, segmentSuffix+tempSuffix):
			if err := os.Remove(filepath.Join(f.dir, name)); err != nil {
				f.log.Warn("queue: cannot delete an unfinished segment", "file", name, "err", err)
			}
		case strings.HasSuffix(name, segmentSuffix):
			no, err := strconv.ParseUint(strings.TrimSuffix(name, segmentSuffix), 16, 64)
			if err != nil || de.IsDir() {
				f.log.Warn("queue: ignoring a file that is not a segment", "file", name)
				continue
			}
			nos = append(nos, no)
		}
	}
	slices.Sort(nos)
	return nos, nil
}

// writeSegment creates segment no holding a header and, when withEntries,
// the PUT records of every live entry; the file is synced and renamed into
// place, so a segment file is never seen half made.
func (f *File) writeSegment(no uint64, withEntries bool) (*segment, error) {
	path := f.segPath(no)
	tmp := path + tempSuffix
	fh, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("queue: create segment: %w", err)
	}
	seg := &segment{no: no}
	bw := bufio.NewWriterSize(segmentWriter{f, fh}, 64<<10)
	f.buf = appendSegmentHeader(f.buf[:0], f.b.next)
	_, _ = bw.Write(f.buf)
	seg.size = int64(len(f.buf))
	if withEntries {
		f.b.r.each(func(s *slot) {
			f.buf = appendPutRecord(f.buf[:0], &s.entry)
			_, _ = bw.Write(f.buf) // a failure sticks and is returned by Flush
			seg.size += int64(len(f.buf))
			seg.live++
		})
	}
	err = errors.Join(bw.Flush(), fh.Sync())
	err = errors.Join(err, fh.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(f.dir)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("queue: write segment: %w", err)
	}
	return seg, nil
}

// rewrite writes every live entry into a new segment that becomes the
// active one, then deletes the older segments, oldest first (so a REMOVE
// record is never deleted before the PUT it cancels).
func (f *File) rewrite() error {
	no := f.lastSeg + 1
	seg, err := f.writeSegment(no, true)
	if err != nil {
		return err
	}
	w, err := os.OpenFile(f.segPath(no), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		_ = os.Remove(f.segPath(no))
		return fmt.Errorf("queue: open segment: %w", err)
	}
	f.lastSeg = no
	f.b.r.each(func(s *slot) { s.seg = no })
	if f.w != nil {
		_ = f.w.Close() // everything in it is now in the new segment too
	}
	old := f.segs
	f.w, f.segs, f.disk = w, []*segment{seg}, seg.size
	for i, s := range old {
		if err := os.Remove(f.segPath(s.no)); err != nil && !errors.Is(err, os.ErrNotExist) {
			// Keep the rest: deleting a newer one first could bring back removed entries.
			f.log.Error("queue: cannot delete an old segment", "file", f.segPath(s.no), "err", err)
			f.segs = append(old[i:len(old):len(old)], seg)
			for _, o := range old[i:] {
				f.disk += o.size
				o.live = 0 // their entries are in the new segment now
			}
			break
		}
	}
	return syncDir(f.dir)
}

// rotate starts a new, empty active segment.
func (f *File) rotate() error {
	no := f.lastSeg + 1
	seg, err := f.writeSegment(no, false)
	if err != nil {
		return err
	}
	w, err := os.OpenFile(f.segPath(no), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		_ = os.Remove(f.segPath(no))
		return fmt.Errorf("queue: open segment: %w", err)
	}
	f.lastSeg = no
	if f.w != nil {
		if err := f.w.Sync(); err != nil { // with NoSync the old segment's tail was never synced
			f.log.Error("queue: sync segment", "err", err)
		}
		_ = f.w.Close()
	}
	f.w = w
	f.segs = append(f.segs, seg)
	f.disk += seg.size
	f.reclaim()
	return nil
}

// active is the segment being appended to.
func (f *File) active() *segment { return f.segs[len(f.segs)-1] }

// segFor returns the segment numbered no, or nil.
func (f *File) segFor(no uint64) *segment {
	i := sort.Search(len(f.segs), func(i int) bool { return f.segs[i].no >= no })
	if i < len(f.segs) && f.segs[i].no == no {
		return f.segs[i]
	}
	return nil
}

// deleteFinished deletes the oldest segments while all their entries are
// removed (never the active one); false when a deletion failed.
func (f *File) deleteFinished() bool {
	for len(f.segs) > 1 && f.segs[0].live == 0 {
		s := f.segs[0]
		if err := os.Remove(f.segPath(s.no)); err != nil && !errors.Is(err, os.ErrNotExist) {
			f.log.Error("queue: cannot delete a finished segment", "file", f.segPath(s.no), "err", err)
			return false
		}
		f.disk -= s.size
		f.segs = f.segs[1:]
	}
	return true
}

// reclaim deletes the oldest segments while all their entries are removed,
// and rewrites the live entries when dead records dominate the disk.
func (f *File) reclaim() {
	if !f.deleteFinished() {
		return
	}
	if f.disk > 2*f.opt.segmentSize() && f.disk > 2*f.liveRec {
		f.log.Debug("queue: compacting", "dir", f.dir, "disk_bytes", f.disk, "live_bytes", f.liveRec)
		if err := f.rewrite(); err != nil {
			f.log.Error("queue: compaction failed; keeping the old segments", "err", err)
		}
	}
}

// writeFile writes b to a segment file.
func (f *File) writeFile(w *os.File, b []byte) (int, error) {
	if f.opt.writeHook != nil {
		return f.opt.writeHook(w, b)
	}
	return w.Write(b)
}

// segmentWriter is an io.Writer over a segment file being made.
type segmentWriter struct {
	f *File
	w *os.File
}

func (s segmentWriter) Write(b []byte) (int, error) { return s.f.writeFile(s.w, b) }

// write appends one encoded record to the active segment. A write that
// fails part way (a full disk) is taken back: a record cut short would read
// as damage after a restart, with every record appended after it behind
// the garbage.
func (f *File) write(rec []byte) error {
	a := f.active()
	n, err := f.writeFile(f.w, rec)
	if err != nil && n > 0 {
		if terr := f.w.Truncate(a.size); terr == nil {
			n = 0
		} else {
			f.log.Error("queue: cannot take back a record cut short", "file", f.segPath(a.no), "err", terr)
		}
	}
	a.size += int64(n)
	f.disk += int64(n)
	return err
}

// appendPut implements journal. When the record cannot be written (a full
// disk) it makes room and tries once more.
func (f *File) appendPut(e Entry) (seg uint64, rec int64, err error) {
	rec = putRecordSize(&e.Message)
	err = f.tryPut(&e, rec)
	if err != nil && f.makeRoom() {
		err = f.tryPut(&e, rec)
	}
	if err != nil {
		return 0, 0, err
	}
	if !f.opt.NoSync {
		if err := f.w.Sync(); err != nil {
			return 0, 0, fmt.Errorf("queue: sync PUT record: %w", err)
		}
	}
	a := f.active()
	a.live++
	f.liveRec += rec
	return a.no, rec, nil
}

// tryPut writes the PUT record of e (rec bytes) to the active segment,
// starting a new one first when needed.
func (f *File) tryPut(e *Entry, rec int64) error {
	if f.w == nil { // opened on a full disk with no segment at all
		if err := f.rotate(); err != nil {
			return err
		}
	} else if a := f.active(); a.size > segmentHeaderSize && a.size+rec > f.opt.segmentSize() {
		if err := f.rotate(); err != nil {
			return err
		}
	}
	f.buf = appendPutRecord(f.buf[:0], e)
	if err := f.write(f.buf); err != nil {
		return fmt.Errorf("queue: write PUT record: %w", err)
	}
	return nil
}

// makeRoom frees the disk space of removed entries after a write failed
// (typically a full disk): finished segments are deleted, an active segment
// whose entries are all removed is emptied, and otherwise the live entries
// are rewritten into a new segment if there is room for them. It reports
// whether any space was freed.
func (f *File) makeRoom() bool {
	before := f.disk
	f.deleteFinished()
	switch {
	case len(f.segs) == 0:
	case len(f.segs) == 1 && f.segs[0].live == 0:
		if f.segs[0].size > segmentHeaderSize {
			if err := f.resetActive(); err != nil {
				f.log.Error("queue: cannot empty the finished segment", "err", err)
			}
		}
	case f.disk > f.liveRec+int64(len(f.segs))*segmentHeaderSize:
		if err := f.rewrite(); err != nil {
			f.log.Debug("queue: no room to compact", "err", err)
		}
	}
	if f.disk < before {
		f.log.Info("queue: disk space of delivered entries freed", "dir", f.dir, "bytes", before-f.disk)
		return true
	}
	return false
}

// resetActive empties the active segment, the only one, whose entries are
// all removed: its records matter no more. The header is rewritten first
// with the next ID, so IDs keep growing across a restart even if the
// process dies before the truncation. Neither step needs free space.
func (f *File) resetActive() error {
	a := f.active()
	path := f.segPath(a.no)
	h, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = h.WriteAt(appendSegmentHeader(nil, f.b.next), 0)
	if err = errors.Join(err, h.Sync(), h.Close()); err != nil {
		return fmt.Errorf("queue: rewrite segment header: %w", err)
	}
	if err := f.w.Truncate(segmentHeaderSize); err != nil {
		return fmt.Errorf("queue: empty segment: %w", err)
	}
	if err := f.w.Sync(); err != nil {
		return fmt.Errorf("queue: sync segment: %w", err)
	}
	f.disk -= a.size - segmentHeaderSize
	a.size = segmentHeaderSize
	return nil
}

// appendRemove implements journal.
func (f *File) appendRemove(id ID, seg uint64, rec int64) error {
	f.buf = appendRemoveRecord(f.buf[:0], id)
	err := f.write(f.buf)
	if s := f.segFor(seg); s != nil {
		s.live--
	}
	f.liveRec -= rec
	f.reclaim()
	if err != nil && len(f.segs) == 1 && f.active().live == 0 && f.resetActive() == nil {
		return nil // the queue is empty and so is the disk: nothing to cancel
	}
	if err != nil {
		f.log.Error("queue: write REMOVE record; the entry may return after a restart", "id", id, "err", err)
		return fmt.Errorf("queue: write REMOVE record: %w", err)
	}
	return nil
}

// syncDir makes creations, renames and deletions in dir durable. Windows
// cannot sync a directory; there it does nothing.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}
