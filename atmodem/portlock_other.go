//go:build !unix

package atmodem

// portLock is nothing where serial ports are exclusive by themselves
// (Windows opens a COM port for one program).
type portLock struct{}

// lockPort takes no lock here.
func lockPort(string) (*portLock, error) { return nil, nil }

// release does nothing.
func (*portLock) release() {}

// soleOpener is unknown here.
func soleOpener(string) int { return 0 }

// processName is unknown here.
func processName(int) string { return "" }
