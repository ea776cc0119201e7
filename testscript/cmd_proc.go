package testscript

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// proc is a program started with "start", its output watched live.
type proc struct {
	cmd    *exec.Cmd
	stdout *liveBuffer
	stderr *liveBuffer
	done   chan struct{} // closed when the program exited
	err    error         // its exit, valid after done
}

// kill stops the program if it still runs and waits for it.
func (p *proc) kill() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Kill()
		<-p.done
	}
}

// liveBuffer is output that can be read while it is written.
type liveBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newLiveBuffer() *liveBuffer { return &liveBuffer{changed: make(chan struct{})} }

// Write appends p and wakes the waiters.
func (l *liveBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// snapshot returns the output so far and a channel closed on the next write.
func (l *liveBuffer) snapshot() ([]byte, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes()), l.changed
}

// lookPath finds a program on the script's PATH.
func lookPath(ts *testscript.TestScript, name string) (string, error) {
	if filepath.Base(name) != name {
		return ts.MkAbs(name), nil
	}
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on the script's PATH", name)
}

// cmdStart is "start NAME PROGRAM [ARGS]".
func cmdStart(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: start NAME PROGRAM [ARGS]")
	}
	st := scriptState(ts)
	name := args[0]
	st.mu.Lock()
	_, dup := st.procs[name]
	st.mu.Unlock()
	if dup {
		ts.Fatalf("start: %s is already running (end it first)", name)
	}
	path, err := lookPath(ts, args[1])
	ts.Check(err)
	cmd := exec.Command(path, args[2:]...)
	cmd.Args[0] = args[1]
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = st.environ(ts)
	p := &proc{cmd: cmd, stdout: newLiveBuffer(), stderr: newLiveBuffer(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		ts.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	st.mu.Lock()
	st.procs[name] = p
	st.mu.Unlock()
}

// scriptProc returns the program started as name.
func scriptProc(ts *testscript.TestScript, name string) *proc {
	st := scriptState(ts)
	st.mu.Lock()
	defer st.mu.Unlock()
	p, ok := st.procs[name]
	if !ok {
		ts.Fatalf("no program started as %s", name)
	}
	return p
}

// cmdWaitLine is "waitline [-stderr] [-count N] [-timeout D] NAME REGEXP".
func cmdWaitLine(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "waitline [-stderr] [-count N] [-timeout D] NAME REGEXP"
	var (
		onStderr bool
		count    int
		timeout  time.Duration
	)
	rest := commandFlags(ts, usage, args, func(fs *flag.FlagSet) {
		fs.BoolVar(&onStderr, "stderr", false, "watch stderr")
		fs.IntVar(&count, "count", 1, "matching lines to wait for")
		fs.DurationVar(&timeout, "timeout", defaultWait, "how long to wait")
	})
	if neg || len(rest) != 2 || count < 1 {
		ts.Fatalf("usage: %s", usage)
	}
	re, err := regexp.Compile("(?m)" + rest[1])
	ts.Check(err)
	p := scriptProc(ts, rest[0])
	out, stream := p.stdout, "stdout"
	if onStderr {
		out, stream = p.stderr, "stderr"
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		b, changed := out.snapshot()
		// Only whole lines count: a line still being written may match
		// later in full.
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			if len(re.FindAllIndex(b[:i+1], -1)) >= count {
				return
			}
		}
		select {
		case <-changed:
		case <-p.done:
			b, _ := out.snapshot()
			if len(re.FindAllIndex(b, -1)) >= count {
				return
			}
			ts.Fatalf("%s exited (%v) before %d line(s) of its %s matched %q; it wrote:\n%s", rest[0], p.err, count, stream, rest[1], b)
		case <-deadline.C:
			ts.Fatalf("%d line(s) of %s's %s did not match %q within %s; it wrote:\n%s", count, rest[0], stream, rest[1], timeout, b)
		}
	}
}

// endSignals are the signals "end" can send first.
var endSignals = map[string]os.Signal{"-INT": os.Interrupt, "-TERM": syscall.SIGTERM, "-KILL": os.Kill}

// cmdEnd is "end [-INT|-TERM|-KILL] NAME".
func cmdEnd(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "end [-INT|-TERM|-KILL] NAME"
	var sig os.Signal
	if len(args) == 2 {
		s, ok := endSignals[args[0]]
		if !ok {
			ts.Fatalf("usage: %s", usage)
		}
		sig, args = s, args[1:]
	}
	if len(args) != 1 {
		ts.Fatalf("usage: %s", usage)
	}
	p := scriptProc(ts, args[0])
	if sig != nil {
		if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			ts.Fatalf("end: signal %s: %v", args[0], err)
		}
	}
	timer := time.NewTimer(defaultWait)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		p.kill()
		ts.Fatalf("end: %s did not exit within %s; killed", args[0], defaultWait)
	}
	st := scriptState(ts)
	st.mu.Lock()
	delete(st.procs, args[0])
	st.mu.Unlock()
	out, _ := p.stdout.snapshot()
	errOut, _ := p.stderr.snapshot()
	ts.Stdout().Write(out)
	ts.Stderr().Write(errOut)
	switch {
	case p.err != nil && !neg:
		ts.Fatalf("%s: %v", args[0], p.err)
	case p.err == nil && neg:
		ts.Fatalf("%s succeeded unexpectedly", args[0])
	}
}

// cmdExits is "exits CODE PROGRAM [ARGS]": exec that wants exit status
// CODE. The program's output is kept for stdout and stderr.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROGRAM [ARGS]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// cmdWaitPort is "waitport [-timeout D] PORT|HOST:PORT".
func cmdWaitPort(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "waitport [-timeout D] PORT|HOST:PORT"
	var timeout time.Duration
	rest := commandFlags(ts, usage, args, func(fs *flag.FlagSet) {
		fs.DurationVar(&timeout, "timeout", defaultWait, "how long to wait")
	})
	if neg || len(rest) != 1 {
		ts.Fatalf("usage: %s", usage)
	}
	addr := rest[0]
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort("127.0.0.1", addr)
	}
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitport: nothing accepts connections on %s within %s: %v", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond) // another process is starting to listen: nothing to await
	}
}
