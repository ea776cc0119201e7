package reliability

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the durable-queue child when the environment asks for it
// (durable_test.go re-executes this test binary), and otherwise the tests,
// failing the package when a goroutine outlives them.
func TestMain(m *testing.M) {
	if ran, code := durableChild(); ran {
		os.Exit(code)
	}
	goleak.VerifyTestMain(m)
}
