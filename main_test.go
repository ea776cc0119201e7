package cellmqtt

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: every
// Disconnect must leave nothing behind.
func TestMain(m *testing.M) {
	if ran, code := durableChild(); ran {
		os.Exit(code)
	}
	goleak.VerifyTestMain(m)
}
