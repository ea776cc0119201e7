//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package queue

import "os"

// lockFile does nothing on this platform: there is no portable file lock,
// so keeping two processes off one directory is up to the application.
func lockFile(*os.File) error { return nil }
