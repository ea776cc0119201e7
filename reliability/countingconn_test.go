package reliability

import (
	"io"
	"sync"
)

// countingConn wraps the host end of the emulator's AT port and keeps
// every byte the host writes, so a test can tell exactly what reached the
// modem during a call.
type countingConn struct {
	io.ReadWriteCloser
	mu    sync.Mutex
	wrote []byte
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.wrote = append(c.wrote, p...)
	c.mu.Unlock()
	return c.ReadWriteCloser.Write(p)
}

// written is the number of bytes written so far.
func (c *countingConn) written() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.wrote)
}

// since returns the bytes written after the first n.
func (c *countingConn) since(n int) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.wrote[n:]...)
}
