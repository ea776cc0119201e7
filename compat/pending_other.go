//go:build !linux

package compat

import "net"

// socketPending returns 0: only Linux is asked for the bytes waiting on a
// socket, so elsewhere a reader does not wait for the other connections'
// readers (see arrival.go).
func socketPending(net.Conn) int { return 0 }
