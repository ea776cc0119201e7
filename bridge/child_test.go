package bridge

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// childEnv holds the configuration of a bridge run in a child process:
// the test binary started again runs the bridge on an emulated modem with
// this configuration, the listen address of BRIDGE_CHILD_LISTEN and the
// queue directory of BRIDGE_CHILD_QUEUE, prints "ready" and runs until it
// is killed.
const childEnv = "BRIDGE_CHILD_CONF"

// runChild is the child process's main.
func runChild() int {
	cfg, err := ParseConfig(strings.NewReader(os.Getenv(childEnv)), "child")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// The link runs at 115200 baud, so messages wait in the queue when the
	// bridge is killed.
	sim, err := modemsim.New(modemsim.Config{Model: atmodem.A7600, Baud: 115200})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", os.Getenv("BRIDGE_CHILD_LISTEN"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b, err := Start(cfg, Options{
		Modem:    atmodem.New(sim.Conn(), atmodem.WithModel(atmodem.A7600)),
		Listener: ln,
		QueueDir: os.Getenv("BRIDGE_CHILD_QUEUE"),
		Logger:   testLogger(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	<-b.Done()
	fmt.Fprintln(os.Stderr, b.Err())
	return 1
}

// child is a bridge in a child process.
type child struct {
	cmd  *exec.Cmd
	exit chan struct{}
}

// startChild runs a bridge in a child process and waits until it listens.
func startChild(t *testing.T, conf, listen, queueDir string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+conf, "BRIDGE_CHILD_LISTEN="+listen, "BRIDGE_CHILD_QUEUE="+queueDir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, exit: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		defer close(c.exit)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				close(ready)
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(c.kill)
	select {
	case <-ready:
	case <-c.exit:
		t.Fatal("the bridge process exited before it was ready")
	case <-time.After(waitTimeout):
		t.Fatal("the bridge process did not get ready")
	}
	return c
}

// kill ends the child with SIGKILL (kill -9) and waits for it.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exit
}
