package cellmqtt

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/modemsim"
)

// Environment of the child process of TestIntegrationDurableQueueSIGKILL.
const (
	envChild  = "CELLMQTT_DURABLE_CHILD" // "publish" or "drain"
	envDir    = "CELLMQTT_DURABLE_DIR"
	envBroker = "CELLMQTT_DURABLE_BROKER"
	envCount  = "CELLMQTT_DURABLE_COUNT"
)

// TestIntegrationDurableQueueSIGKILL: a process publishes QoS 1 messages
// through a durable queue over a slow link and is killed with SIGKILL in
// the middle; a new process on the same queue directory sends what was
// left. Every message whose Publish returned reaches the broker.
func TestIntegrationDurableQueueSIGKILL(t *testing.T) {
	b, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p := peerOn(t, b, "dur/#")
	dir := t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
	defer cancel()
	child := func(mode string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envChild+"="+mode, envDir+"="+dir, envBroker+"="+b.URL(), envCount+"=400")
		cmd.Stderr = os.Stderr
		return cmd
	}

	pub := child("publish")
	out, err := pub.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	var queued []string
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "queued "); ok {
			queued = append(queued, "d"+n)
			if len(queued) == 100 && !killed {
				if err := pub.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
	}
	if err := pub.Wait(); err == nil || !killed {
		t.Fatalf("publisher was not killed (err %v)", err)
	}
	before := p.count()
	t.Logf("killed after %d messages queued; %d had reached the broker", len(queued), before)

	drain := child("drain")
	res, err := drain.Output()
	if err != nil || !strings.Contains(string(res), "drained") {
		t.Fatalf("drain: %v, output %q", err, res)
	}
	dups := p.waitAll(t, queued)
	t.Logf("all %d messages arrived, %d duplicates", len(queued), dups)
}

// count is how many distinct payloads the peer received.
func (p *peer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.got)
}

// durableChild runs the child side of TestIntegrationDurableQueueSIGKILL
// when the environment asks for it; it reports whether it did.
func durableChild() (ran bool, code int) {
	mode := os.Getenv(envChild)
	if mode == "" {
		return false, 0
	}
	fail := func(err error) (bool, int) {
		fmt.Fprintln(os.Stderr, "durable child:", err)
		return true, 1
	}
	baud := 0
	if mode == "publish" {
		baud = 19200 // slow enough that the queue holds a backlog when killed
	}
	sim, err := modemsim.New(modemsim.Config{Broker: os.Getenv(envBroker), Baud: baud})
	if err != nil {
		return fail(err)
	}
	defer sim.Close()
	o := NewClientOptions().AddBroker("tcp://broker.invalid:1883").SetClientID("durable-" + mode).
		SetTransport(sim.Conn()).SetQueueDir(os.Getenv(envDir))
	c := NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		return fail(fmt.Errorf("connect: %v", tok.Error()))
	}
	defer c.Disconnect(0)
	switch mode {
	case "publish":
		n, _ := strconv.Atoi(os.Getenv(envCount))
		for i := range n {
			tok := c.Publish("dur/x", 1, false, fmt.Sprintf("d%04d", i))
			select {
			case <-tok.Done():
				if tok.Error() != nil {
					return fail(tok.Error())
				}
			default:
			}
			fmt.Printf("queued %04d\n", i)
		}
		<-time.After(2 * waitFor) // wait to be killed
		return fail(fmt.Errorf("not killed"))
	case "drain":
		q := c.(*client).run.q
		deadline := time.Now().Add(waitFor)
		for q.Len() > 0 {
			if time.Now().After(deadline) {
				return fail(fmt.Errorf("%d messages left", q.Len()))
			}
			<-time.After(10 * time.Millisecond)
		}
		fmt.Println("drained")
		return true, 0
	}
	return fail(fmt.Errorf("unknown mode %q", mode))
}
