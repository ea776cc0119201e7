package testscript

import (
	"flag"
	"io"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// defaultWait bounds every wait of a script command without -timeout.
const defaultWait = 60 * time.Second

// commandFlags parses the flags of a script command; a bad one fails the
// script with usage.
func commandFlags(ts *testscript.TestScript, usage string, args []string, define func(fs *flag.FlagSet)) []string {
	fs := flag.NewFlagSet(usage, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	define(fs)
	if err := fs.Parse(args); err != nil {
		ts.Fatalf("%v; usage: %s", err, usage)
	}
	return fs.Args()
}
