package main

import (
	"errors"
	"fmt"
	"io"
)

// parseExit turns the error of flagSet.parse into an exit code: 0 after
// --help, 2 for a bad flag.
func parseExit(err error) int {
	if errors.Is(err, errHelp) {
		return exitOK
	}
	return exitUsage
}

// usageErr marks an error as the user's input being wrong (exit 2).
type usageErr struct{ err error }

// Error is the wrapped message.
func (e usageErr) Error() string { return e.err.Error() }

// Unwrap returns the wrapped error.
func (e usageErr) Unwrap() error { return e.err }

// badInput wraps err so that fail exits with the usage code.
func badInput(format string, args ...any) error {
	return usageErr{fmt.Errorf(format, args...)}
}

// fail prints err for the subcommand and returns its exit code: 2 when the
// input was wrong (nothing was sent), 1 for everything that went wrong at
// run time.
func fail(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "cellmqtt %s: %s\n", cmd, describe(err))
	if isUsage(err) {
		return exitUsage
	}
	return exitRuntime
}
