package main

import (
	"bytes"
	"net"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// simKey is where a script's in-test emulator is kept: Setup puts an empty
// holder there, simtcp fills it (commands cannot add values).
const simKey = "sim"

// simHolder holds the emulator of simtcp.
type simHolder struct{ sim *modemsim.Sim }

// scriptSim returns the emulator of simtcp, failing the script without one.
func scriptSim(ts *testscript.TestScript) *modemsim.Sim {
	h := ts.Value(simKey).(*simHolder)
	if h.sim == nil {
		ts.Fatalf("no emulator: run simtcp first")
	}
	return h.sim
}

// cmdSimTCP starts an emulator inside the test process with its AT port on
// a loopback TCP port (SIM_PORT), so that the script can inject faults
// while a cellmqtt process uses it: "simtcp [a7600|sim7600]".
func cmdSimTCP(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: simtcp [a7600|sim7600]")
	}
	model := atmodem.A7600
	if len(args) == 1 {
		m, err := parseModel(args[0])
		if err != nil || m == atmodem.AutoDetect {
			ts.Fatalf("simtcp: model %q", args[0])
		}
		model = m
	}
	sim, err := modemsim.New(modemsim.Config{Model: model})
	if err != nil {
		ts.Fatalf("simtcp: %v", err)
	}
	ts.Defer(func() { sim.Close() })
	addr, err := sim.ListenTCP("127.0.0.1:0")
	if err != nil {
		ts.Fatalf("simtcp: %v", err)
	}
	ts.Setenv("SIM_PORT", strconv.Itoa(addr.(*net.TCPAddr).Port))
	ts.Value(simKey).(*simHolder).sim = sim
}

// cmdSimFault injects a fault into the emulator of simtcp:
// "simfault drop IDX CAUSE", "simfault nonet", "simfault restore",
// "simfault reboot".
func cmdSimFault(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: simfault drop IDX CAUSE | nonet | restore | reboot")
	}
	sim := scriptSim(ts)
	switch args[0] {
	case "drop":
		if len(args) != 3 {
			ts.Fatalf("usage: simfault drop IDX CAUSE")
		}
		idx, err1 := strconv.Atoi(args[1])
		cause, err2 := strconv.Atoi(args[2])
		if err1 != nil || err2 != nil {
			ts.Fatalf("simfault drop: bad numbers %q %q", args[1], args[2])
		}
		if err := sim.DropConnection(idx, cause); err != nil {
			ts.Fatalf("simfault: %v", err)
		}
	case "nonet":
		sim.NoNetwork()
	case "restore":
		sim.RestoreNetwork()
	case "reboot":
		sim.Reboot()
	default:
		ts.Fatalf("simfault: unknown fault %q", args[0])
	}
}

// cmdSimWait waits until the emulator of simtcp has sent TEXT to the host
// N times (default once) in all: "simwait TEXT [N]".
func cmdSimWait(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: simwait TEXT [N]")
	}
	n := 1
	if len(args) == 2 {
		var err error
		if n, err = strconv.Atoi(args[1]); err != nil {
			ts.Fatalf("simwait: bad count %q", args[1])
		}
	}
	sim := scriptSim(ts)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var out []byte
		for _, e := range sim.Transcript() {
			if e.Dir == modemsim.ToHost {
				out = append(out, e.Data...)
			}
		}
		if got := bytes.Count(out, []byte(args[0])); got >= n {
			return
		} else if time.Now().After(deadline) {
			ts.Fatalf("simwait: %q sent %d times, want %d, within 60s", args[0], got, n)
		}
		time.Sleep(20 * time.Millisecond) // polling the emulator's transcript
	}
}
