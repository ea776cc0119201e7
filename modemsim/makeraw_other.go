//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd

package modemsim

import (
	"errors"
	"os"
)

// makeRaw: this OS has no termios pseudo-terminals; OpenPTY fails here and
// the in-memory and TCP transports are the ones to use.
func makeRaw(f *os.File) error {
	return errors.New("modemsim: pseudo-terminals need a Unix system")
}

// pollable is not needed where OpenPTY fails anyway.
func pollable(f *os.File) (*os.File, error) { return f, nil }
