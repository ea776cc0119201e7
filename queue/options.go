package queue

import (
	"fmt"
	"log/slog"
	"os"
)

// DefaultSegmentSize is the size at which the file queue starts a new
// segment file when FileOptions.SegmentSize is zero.
const DefaultSegmentSize = 4 << 20

// FileOptions tune a File queue. The zero value is safe: every Put is on
// stable storage before it returns.
type FileOptions struct {
	// Logger receives errors found while replaying the segments (torn or
	// corrupt records) and write failures. Nil means slog.Default().
	Logger *slog.Logger
	// SegmentSize is the size in bytes at which a new segment file is
	// started; zero means DefaultSegmentSize. A message larger than this
	// gets a segment of its own.
	SegmentSize int64
	// NoSync skips the fsync after each Put. Every record is still handed
	// to the operating system (one write call) before Put returns, so it
	// survives the process being killed (kill -9), but a power loss or a
	// kernel crash may lose the last Puts. Close always syncs.
	NoSync bool
	// OnDamage, when set, is called by OpenFile for each damaged part of
	// the segment files it skips (a torn or corrupt record, a damaged
	// header), so that a loss is never silent; File.Damage lists them
	// afterwards. It runs before OpenFile returns, without the queue's lock.
	OnDamage func(Damage)

	// writeHook, when set, replaces every write to a segment file (tests
	// of a full disk where no small file system can be mounted).
	writeHook func(w *os.File, b []byte) (int, error)
}

func (o *FileOptions) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

func (o *FileOptions) segmentSize() int64 {
	if o.SegmentSize > 0 {
		return o.SegmentSize
	}
	return DefaultSegmentSize
}

// Damage is a part of a file queue's segment file that could not be read
// back when the queue was opened, and was skipped.
type Damage struct {
	// File is the segment file.
	File string
	// Offset and Bytes locate the skipped bytes in the file.
	Offset int64
	Bytes  int
	// Torn: the bytes are a record cut short at the end of the file, as a
	// crash while writing it leaves; otherwise they failed their checksum.
	Torn bool
	// Header: the bytes start at the file's header, which was damaged
	// (the records after it were found by scanning).
	Header bool
}

// String describes the damage in one line.
func (d Damage) String() string {
	what := "corrupt record"
	switch {
	case d.Header:
		what = "damaged segment header"
	case d.Torn:
		what = "record cut short"
	}
	return fmt.Sprintf("%s: %d bytes at offset %d of %s", what, d.Bytes, d.Offset, d.File)
}
