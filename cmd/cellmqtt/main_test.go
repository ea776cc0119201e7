package main

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// leakChecked runs the tests, then fails the run when a goroutine
// outlives them (goleak.VerifyTestMain's check, for testscript.Main, which
// calls os.Exit itself).
type leakChecked struct{ m *testing.M }

// Run runs the tests and the leak check.
func (l leakChecked) Run() int {
	code := l.m.Run()
	if code != 0 {
		return code
	}
	if err := goleak.Find(); err != nil {
		fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
		return 1
	}
	return 0
}
