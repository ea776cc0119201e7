//go:build linux

package modemsim

import "golang.org/x/sys/unix"

// The termios ioctls of Linux, for makeRaw.
const (
	ioctlGetTermios = unix.TCGETS
	ioctlSetTermios = unix.TCSETS
)
