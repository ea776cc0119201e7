package queue

import "log/slog"

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
