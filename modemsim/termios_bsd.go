//go:build darwin || freebsd || netbsd || openbsd

package modemsim

import "golang.org/x/sys/unix"

// The termios ioctls of the BSDs and macOS, for makeRaw.
const (
	ioctlGetTermios = unix.TIOCGETA
	ioctlSetTermios = unix.TIOCSETA
)
