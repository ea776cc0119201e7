package testscript

import (
	"bytes"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cellmqtt/cellmqtt/modemsim"
)

// cmdModem is "modem": faults, plug, and waits on the AT traffic.
func cmdModem(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "modem FAULT [ARGS] | modem help | modem plug | modem wait|waitcmd [-timeout D] TEXT [N]"
	if len(args) == 0 {
		ts.Fatalf("usage: %s", usage)
	}
	st := scriptState(ts)
	switch args[0] {
	case "plug":
		if neg || len(args) != 1 {
			ts.Fatalf("usage: modem plug")
		}
		ts.Check(st.plug())
	case "wait", "waitcmd":
		dir := modemsim.ToHost
		if args[0] == "waitcmd" {
			dir = modemsim.ToModem
		}
		modemWait(ts, st.sim, dir, neg, args)
	case "help":
		fmt.Fprintln(ts.Stdout(), modemsim.InjectHelp)
	default:
		// The emulator's own parser, the one "cellmqtt sim" reads its
		// standard input with.
		err := st.sim.Inject(strings.Join(args, " "))
		switch {
		case err != nil && !neg:
			ts.Fatalf("modem %s: %v", strings.Join(args, " "), err)
		case err == nil && neg:
			ts.Fatalf("modem %s: succeeded unexpectedly", strings.Join(args, " "))
		}
	}
}

// modemWait waits until the emulator's transcript holds TEXT N times in
// direction dir: "modem wait [-timeout D] TEXT [N]". Negated, it checks
// at once that TEXT was not written N times so far (nothing to wait for).
func modemWait(ts *testscript.TestScript, sim *modemsim.Sim, dir modemsim.Direction, neg bool, args []string) {
	usage := "modem " + args[0] + " [-timeout D] TEXT [N]"
	timeout := defaultWait
	rest := commandFlags(ts, usage, args[1:], func(fs *flag.FlagSet) {
		fs.DurationVar(&timeout, "timeout", defaultWait, "how long to wait")
	})
	if len(rest) < 1 || len(rest) > 2 {
		ts.Fatalf("usage: %s", usage)
	}
	want := 1
	if len(rest) == 2 {
		n, err := strconv.Atoi(rest[1])
		if err != nil || n < 1 {
			ts.Fatalf("%s: bad count %q", usage, rest[1])
		}
		want = n
	}
	text := []byte(rest[0])
	deadline := time.Now().Add(timeout)
	for {
		var all []byte
		for _, e := range sim.Transcript() {
			if e.Dir == dir {
				all = append(all, e.Data...)
			}
		}
		got := bytes.Count(all, text)
		switch {
		case neg && got >= want:
			ts.Fatalf("modem %s: %q was written %d times", args[0], text, got)
		case neg:
			return
		case got >= want:
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("modem %s: %q written %d times, want %d, within %s", args[0], text, got, want, timeout)
		}
		time.Sleep(20 * time.Millisecond) // the transcript has no change signal to await
	}
}
