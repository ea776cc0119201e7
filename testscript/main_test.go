package testscript_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"go.uber.org/goleak"

	"github.com/cellmqtt/cellmqtt/atmodem"
	cmtest "github.com/cellmqtt/cellmqtt/testscript"
)

// TestMain makes the test binary the programs the scripts run: atcmd and
// atmon, two small users of a modem's AT port.
func TestMain(m *testing.M) {
	testscript.Main(leakChecked{m}, map[string]func(){
		"atcmd":  atcmd,
		"atmon":  atmon,
		"ticker": ticker,
	})
}

// leakChecked runs the tests, then fails the run when a goroutine
// outlives them (goleak.VerifyTestMain's check, for testscript.Main).
type leakChecked struct{ m *testing.M }

// Run runs the tests and the leak check.
func (l leakChecked) Run() int {
	code := l.m.Run()
	if code != 0 {
		return code
	}
	if err := goleak.Find(); err != nil {
		fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
		return 1
	}
	return 0
}

// TestScripts runs the scripts of testdata, each with its own broker and
// emulated A7600.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		Setup:               cmtest.Setup,
		Cmds:                cmtest.Commands(),
	})
}

// TestScriptsSIM7600: Config chooses the emulated family.
func TestScriptsSIM7600(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/sim7600",
		RequireExplicitExec: true,
		Setup:               cmtest.Config{Sim: cmtestModel(atmodem.SIM7600)}.Setup,
		Cmds:                cmtest.Commands(),
	})
}

// atcmd opens the AT port of its first argument with atmodem.Open and
// runs the other arguments as commands, printing their answers.
func atcmd() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: atcmd PORT COMMAND...")
		os.Exit(2)
	}
	m, err := atmodem.Open(os.Args[1], 115200)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer m.Close()
	for _, c := range os.Args[2:] {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		lines, err := m.Command(ctx, c)
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			m.Close()
			os.Exit(1)
		}
		fmt.Println(strings.Join(lines, "\n"))
	}
}

// atmon opens the AT port of its argument raw (atmodem.OpenPort), says
// "ready" and prints every line the modem writes until the port ends
// (exit 3) or it is interrupted (exit 0).
func atmon() {
	p, err := atmodem.OpenPort(context.Background(), os.Args[1], 115200)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	ended := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(p)
		for sc.Scan() {
			if line := strings.Trim(sc.Text(), "\r\x00"); line != "" {
				fmt.Println(line)
			}
		}
		close(ended)
	}()
	fmt.Println("ready")
	select {
	case <-sig:
		p.Close()
		os.Exit(0)
	case <-ended:
		fmt.Println("port ended")
		os.Exit(3)
	}
}

// ticker prints "tick N" every 10ms to stdout and "tock N" to stderr
// until interrupted.
func ticker() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	t := time.NewTicker(10 * time.Millisecond)
	for i := 1; ; i++ {
		select {
		case <-sig:
			fmt.Println("interrupted")
			return
		case <-t.C:
			fmt.Println("tick", i)
			fmt.Fprintln(os.Stderr, "tock", i)
		}
	}
}
