package reliability

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the durable-queue child when the environment asks for it
// (durable_test.go re-executes this test binary), and otherwise the tests,
// failing the run when a goroutine outlives them (goleak.VerifyTestMain's
// check, after the built cellmqtt command is removed).
func TestMain(m *testing.M) {
	if ran, code := durableChild(); ran {
		os.Exit(code)
	}
	code := m.Run()
	removeCLI()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
