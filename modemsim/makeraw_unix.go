//go:build linux || darwin || freebsd || netbsd || openbsd

package modemsim

import (
	"os"

	"golang.org/x/sys/unix"
)

// makeRaw puts a terminal into raw mode (cfmakeraw): no echo, no line
// editing, no CR/LF translation, 8-bit bytes.
func makeRaw(f *os.File) error {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, ioctlSetTermios, t)
}

// pollable returns f as a file Go's poller drives (non-blocking), closing
// f. pty.Open's master is in blocking mode (it asked for the terminal's
// name through Fd, which sets blocking mode): a Read blocked on it then
// keeps the descriptor open after Close, so the terminal end never hangs
// up and a host holding it never learns that the modem was unplugged. A
// pollable file's Close ends a blocked Read and closes the descriptor.
func pollable(f *os.File) (*os.File, error) {
	// Close-on-exec like every descriptor Go opens: a program the
	// emulator's process starts must not hold the master open.
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	name := f.Name()
	f.Close()
	return os.NewFile(uintptr(fd), name), nil
}
