package testscript_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	cmtest "github.com/cellmqtt/cellmqtt/testscript"
)

// recorder is a testscript.T that records a script's log and failure
// instead of failing the test.
type recorder struct {
	mu     sync.Mutex
	logs   map[string]*strings.Builder
	failed map[string]bool
	name   string
}

func (r *recorder) Skip(args ...any)  { r.Fatal(args...) }
func (r *recorder) Fatal(args ...any) { r.Log(args...); r.FailNow() }
func (r *recorder) Parallel()         {}
func (r *recorder) Verbose() bool     { return false }
func (r *recorder) Log(args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(r.logs[r.name], args...)
}
func (r *recorder) FailNow() {
	r.mu.Lock()
	r.failed[r.name] = true
	r.mu.Unlock()
	runtime.Goexit()
}

// Run runs one script to its end on a goroutine of its own, as testing does.
func (r *recorder) Run(name string, f func(testscript.T)) {
	sub := &recorder{logs: r.logs, failed: r.failed, name: name}
	r.mu.Lock()
	r.logs[name] = &strings.Builder{}
	r.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(sub)
	}()
	<-done
}

// TestWaitsFail: every wait that cannot be met fails its script in
// bounded time with what it saw, and a bad use says how to use it.
func TestWaitsFail(t *testing.T) {
	want := map[string]string{
		"mqttwait":   "0 message(s) on never/here within 200ms, want 1",
		"subscribed": "nobody subscribed to nobody/here within 200ms",
		"modemwait":  `"NEVER" written 0 times, want 1, within 200ms`,
		"waitline":   `did not match "^never$" within 200ms; it wrote:`,
		"exited":     `exited (exit status 2) before 1 line(s) of its stdout matched`,
		"exits":      "atcmd exited with 2, want 0",
		"usage":      "usage: mqtt pub",
	}
	r := &recorder{logs: map[string]*strings.Builder{}, failed: map[string]bool{}}
	testscript.RunT(r, testscript.Params{
		Dir:                 "testdata/fail",
		RequireExplicitExec: true,
		Setup:               cmtest.Setup,
		Cmds:                cmtest.Commands(),
	})
	for name, text := range want {
		log := r.logs[name]
		if log == nil {
			t.Errorf("%s: did not run", name)
			continue
		}
		if !r.failed[name] || !strings.Contains(log.String(), text) {
			t.Errorf("%s: failed %v, log does not say %q:\n%s", name, r.failed[name], text, log)
		}
	}
}
