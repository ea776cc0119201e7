package reliability

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// faultEnv is what a fault acts on: one cell's emulator, the broker and
// the client under test.
type faultEnv struct {
	sim    *modemsim.Sim
	broker *modemsim.EmbeddedBroker
	id     string // the client ID at the broker
	inbox  string // a topic the client is subscribed to
	pub    publisher
	subs   int  // filters the faults subscribed
	strict bool // the client keeps every request through a loss (native)
}

// fault is one kind of trouble, injected while messages flow (or, with a
// nil inject, set up in the emulator before the client opens it).
type fault struct {
	name   string
	inject func(ctx context.Context, e *faultEnv) error
}

// setups configure the emulator of a fault's cells: the firmware variant
// it needs, or (for a fault with a nil inject) the fault itself, before
// the client opens the modem.
var setups = map[string]func(cfg *modemsim.Config){
	"boot during the first command":   func(cfg *modemsim.Config) { cfg.Booting = &modemsim.Booting{Lines: 1} },
	"no network, ACCQ? still listing": func(cfg *modemsim.Config) { cfg.NoNetListsClients = true },
}

// faults lists every fault modemsim offers, plus the broker dropping the
// client.
var faults = []fault{
	{"connection lost, cause 1", dropCause(modemsim.CauseSocketClosed)},
	{"connection lost, cause 2", dropCause(modemsim.CauseSocketReset)},
	{"connection lost, cause 3", dropCause(modemsim.CauseNetworkClosed)},
	{"no network", func(ctx context.Context, e *faultEnv) error {
		n := e.pub.lost().count()
		e.sim.NoNetwork()
		defer e.sim.RestoreNetwork()
		// The operator restores data after the client noticed.
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if !e.pub.lost().awaitAfter(lctx, n) {
			return fmt.Errorf("no connection loss reported after +CMQTTNONET")
		}
		return nil
	}},
	{"keepalive failure", func(ctx context.Context, e *faultEnv) error {
		return whenConnected(ctx, func() error { return e.sim.KeepaliveFail(0) })
	}},
	{"reboot", func(_ context.Context, e *faultEnv) error { e.sim.Reboot(); return nil }},
	{"line noise", func(_ context.Context, e *faultEnv) error {
		// Garbage, a NUL, bytes >= 0x80 and a stray URC line; never a
		// well-formed final result ("OK"), which no driver could tell from
		// the real one.
		e.sim.Noise([]byte("\r\n\x00\xfe#~garbage\x13\x88}\r\n+CMQTTRXEND: 0\r\n"))
		return nil
	}},
	{"dropped answer", func(_ context.Context, e *faultEnv) error { e.sim.DropNextAnswer(); return nil }},
	{"busy while streaming (rejected)", streamIn(modemsim.BusyReject)},
	{"busy while streaming (corrupted)", streamIn(modemsim.BusyCorrupt)},
	{"stall 500 ms", func(_ context.Context, e *faultEnv) error { e.sim.Stall(500 * time.Millisecond); return nil }},
	{"unplug", func(_ context.Context, e *faultEnv) error { e.sim.Unplug(); return nil }},
	// Real firmware (issue 12): the link dies under a PUB or a SUB.
	{"PUB result 6, CONNLOST at once", dying(false, modemsim.DyingLink{})},
	{"PUB result 6, CONNLOST 2 s later", dying(false, modemsim.DyingLink{LostAfter: 2 * time.Second})},
	{"PUB result 6, no CONNLOST", dying(false, modemsim.DyingLink{NeverLost: true})},
	{"PUB delivered, result 6, CONNLOST", dying(false, modemsim.DyingLink{Delivered: true})},
	{"PUB CONNLOST before its result", dying(false, modemsim.DyingLink{NoResult: true})},
	{"SUB result 6, CONNLOST", dying(true, modemsim.DyingLink{})},
	{"SUB CONNLOST before its result", dying(true, modemsim.DyingLink{NoResult: true})},
	{"SUB result 6, no CONNLOST", dying(true, modemsim.DyingLink{NeverLost: true})},
	{"no network, ACCQ? still listing", func(ctx context.Context, e *faultEnv) error {
		// The firmware stops the MQTT service at +CMQTTNONET; AT+CMQTTACCQ?
		// still lists the client while AT+CMQTTACCQ= answers ERROR: only
		// AT+CMQTTSTART brings it back.
		n := e.pub.lost().count()
		e.sim.NoNetwork()
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		ok := e.pub.lost().awaitAfter(lctx, n)
		time.Sleep(time.Second) // the client tries while the network is still down
		e.sim.RestoreNetwork()
		if !ok {
			return fmt.Errorf("no connection loss reported after +CMQTTNONET")
		}
		return nil
	}},
	{"boot during the first command", nil}, // setup: the modem boots when the client opens it
	// The port (issue 13).
	{"stall 12 s, backlog replayed", func(_ context.Context, e *faultEnv) error { e.sim.Stall(12 * time.Second); return nil }},
	{"reboot inside a 10 KB inbound message", func(_ context.Context, e *faultEnv) error {
		if err := e.sim.RebootInRX(700); err != nil {
			return err
		}
		return e.broker.Publish(e.inbox, make([]byte, 10000), false, 1)
	}},
	{"late echo", func(_ context.Context, e *faultEnv) error { e.sim.LateEcho(3); return nil }},
	{"broker drops client", func(ctx context.Context, e *faultEnv) error {
		return whenConnected(ctx, func() error {
			if !e.broker.DropClient(e.id) {
				return fmt.Errorf("client %q not connected at the broker", e.id)
			}
			return nil
		})
	}},
}

// dying makes the link die under the next PUB (or SUB, which the fault
// makes the client send) of index 0, as d says.
func dying(sub bool, d modemsim.DyingLink) func(context.Context, *faultEnv) error {
	return func(ctx context.Context, e *faultEnv) error {
		if !sub {
			return e.sim.DyingLinkOnPublish(0, d)
		}
		if err := e.sim.DyingLinkOnSubscribe(0, d); err != nil {
			return err
		}
		e.subs++
		err := e.pub.subscribe(fmt.Sprintf("%s/%d", e.inbox, e.subs), 1)
		if err != nil && !e.strict {
			// paho.mqtt.golang fails a SUBSCRIBE the connection was lost
			// under ("connection lost before Subscribe completed") and
			// leaves making it again to the application.
			return nil
		}
		return err
	}
}

// dropCause drops index 0's broker connection with a +CMQTTCONNLOST cause.
func dropCause(cause int) func(context.Context, *faultEnv) error {
	return func(ctx context.Context, e *faultEnv) error {
		return whenConnected(ctx, func() error { return e.sim.DropConnection(0, cause) })
	}
}

// streamIn makes the broker send large messages to the client while it
// publishes, with mode deciding what happens to commands written meanwhile.
func streamIn(mode modemsim.BusyMode) func(context.Context, *faultEnv) error {
	return func(_ context.Context, e *faultEnv) error {
		e.sim.SetBusyWhileStreaming(mode)
		big := make([]byte, 8000)
		for range 5 {
			if err := e.broker.Publish(e.inbox, big, false, 1); err != nil {
				return err
			}
		}
		return nil
	}
}

// whenConnected retries a fault that needs a live connection (the client
// may be reconnecting from the previous one) for up to 10 seconds.
func whenConnected(ctx context.Context, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return err
		}
	}
}

// cell is one fault x QoS x path combination and its outcome.
type cell struct {
	fault fault
	qos   byte
	path  pathKind
	model atmodem.Model
	key   string // unique per cell: client ID suffix, topic and payload prefix

	payloads   []string // every message handed over
	failed     int      // tokens that completed with an error
	incomplete int      // tokens not complete 10 s after the last delivery
	firstErr   string   // the first token error
	applied    int      // faults injected
	elapsed    time.Duration
	errs       []string
}

// name is "model/fault/qosN/path", the cell's subtest name.
func (c *cell) name() string {
	return fmt.Sprintf("%s/%s/qos%d/%s", c.model, c.fault.name, c.qos, c.path.name)
}

func (c *cell) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// matrixSize is the messages per cell, the faults injected per cell, how
// many cells run at once and the modem models.
func matrixSize() (messages, repeats, parallel int, models []atmodem.Model) {
	if longForm() {
		return 200, 5, 13, []atmodem.Model{atmodem.A7600, atmodem.SIM7600}
	}
	// All cells at once: most of a cell's time is waiting (a dropped
	// answer costs the engine's 9 s command timeout).
	return 20, 1, len(faults) * 2 * len(paths), []atmodem.Model{atmodem.A7600}
}

// TestFaultMatrix injects every fault while QoS 1 or QoS 2 messages flow,
// through the native client and through paho.mqtt.golang over compat, and
// counts at a subscriber on the broker: every message whose publish was
// handed over arrives (lost 0), every token succeeds; duplicates are
// counted (at-least-once allows them for QoS 1; for QoS 2 they come from a
// resend after the broker session was lost with the connection).
func TestFaultMatrix(t *testing.T) {
	n, reps, par, models := matrixSize()
	b := startBroker(t)
	rec := newRecorder(t, b, "rel/#")

	only, err := regexp.Compile(os.Getenv("CELLMQTT_MATRIX"))
	if err != nil {
		t.Fatalf("CELLMQTT_MATRIX: %v", err)
	}
	var cells []*cell
	for _, m := range models {
		for _, f := range faults {
			for _, qos := range []byte{1, 2} {
				for _, p := range paths {
					c := &cell{fault: f, qos: qos, path: p, model: m, key: fmt.Sprintf("c%03d", len(cells))}
					if only.MatchString(c.name()) {
						cells = append(cells, c)
					}
				}
			}
		}
	}
	start := time.Now()
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, c := range cells {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c.run(b, rec, n, reps)
		}()
	}
	wg.Wait()
	total := time.Since(start)

	var tbl strings.Builder
	fmt.Fprintf(&tbl, "fault matrix: %d messages per cell, %d fault(s) per cell, %d cells in %v\n", n, reps, len(cells), total.Round(time.Millisecond))
	fmt.Fprintf(&tbl, "| model | fault | QoS | path | sent | received | dups | lost | token errors | tokens incomplete | faults | time |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	sums := map[string][4]int{}
	for _, c := range cells {
		// Wait for stragglers of cells that finished early, then count.
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		miss := rec.await(ctx, c.payloads)
		cancel()
		got, dups := rec.tally(c.payloads)
		fmt.Fprintf(&tbl, "| %s | %s | %d | %s | %d | %d | %d | %d | %d | %d | %d | %v |\n",
			c.model, c.fault.name, c.qos, c.path.name, len(c.payloads), got, dups, len(miss), c.failed, c.incomplete, c.applied, c.elapsed.Round(10*time.Millisecond))
		s := sums[c.path.name]
		sums[c.path.name] = [4]int{s[0] + len(c.payloads), s[1] + got, s[2] + dups, s[3] + len(miss)}
		t.Run(c.name(), func(t *testing.T) {
			for _, e := range c.errs {
				t.Error(e)
			}
			if len(miss) > 0 {
				t.Errorf("lost %d of %d messages: %v", len(miss), len(c.payloads), miss)
			}
			if c.path.strictTokens && c.failed+c.incomplete > 0 {
				t.Errorf("%d publish tokens failed, %d incomplete; first error: %s", c.failed, c.incomplete, c.firstErr)
			}
			if c.failed+c.incomplete > 0 {
				t.Logf("%d publish tokens failed, %d incomplete; first error: %s", c.failed, c.incomplete, c.firstErr)
			}
			if c.applied != reps {
				t.Errorf("fault applied %d times, want %d", c.applied, reps)
			}
		})
	}
	for _, p := range paths {
		s := sums[p.name]
		fmt.Fprintf(&tbl, "| all | all | 1+2 | %s | %d | %d | %d | %d | | | | |\n", p.name, s[0], s[1], s[2], s[3])
	}
	t.Log("\n" + tbl.String())
}

// run drives one cell: a fresh emulator and client, n messages with the
// fault injected reps times while they flow.
func (c *cell) run(b *modemsim.EmbeddedBroker, rec *recorder, n, reps int) {
	start := time.Now()
	defer func() { c.elapsed = time.Since(start) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*waitFor)
	defer cancel()
	cfg := modemsim.Config{Model: c.model, Broker: b.URL()}
	if setup, ok := setups[c.fault.name]; ok {
		setup(&cfg)
	}
	if c.fault.inject == nil {
		c.applied = reps // the one fault of the cell, before the first command
	}
	sim, err := modemsim.New(cfg)
	if err != nil {
		c.errorf("emulator: %v", err)
		return
	}
	defer sim.Close()
	id := "rel-" + c.key
	pub, err := c.path.open(sim, c.model, id)
	if err != nil {
		c.errorf("%v", err)
		return
	}
	defer pub.close()
	e := &faultEnv{sim: sim, broker: b, id: id, inbox: "in/" + c.key, pub: pub, strict: c.path.strictTokens}
	if err := pub.subscribe(e.inbox, 1); err != nil {
		c.errorf("subscribe: %v", err)
		return
	}
	step := n / (reps + 1)
	var waits []func(context.Context) error
	for i := range n {
		if i > 0 && i%step == 0 && c.applied+len(c.errs) < reps && c.fault.inject != nil {
			// Messages are flowing: the one half a step back is
			// confirmed, the ones after it are queued or in flight.
			// (A paho token may fail although the message is resent.)
			if err := waits[i-step/2](ctx); errors.Is(err, context.DeadlineExceeded) {
				c.errorf("publish %d before the fault: %v", i-step/2, err)
			}
			if err := c.fault.inject(ctx, e); err != nil {
				c.errorf("inject %s: %v", c.fault.name, err)
			} else {
				c.applied++
			}
		}
		payload := fmt.Sprintf("%s/%04d", c.key, i)
		c.payloads = append(c.payloads, payload)
		waits = append(waits, pub.publish("rel/"+c.key, payload, c.qos))
	}
	// Everything handed over must reach the subscriber; then the tokens
	// must have completed (paho's may complete late or never: counted).
	rec.await(ctx, c.payloads) // TestFaultMatrix counts what is missing
	tctx, tcancel := context.WithTimeout(ctx, 10*time.Second)
	defer tcancel()
	for i, w := range waits {
		switch err := w(tctx); {
		case errors.Is(err, context.DeadlineExceeded):
			c.incomplete++
		case err != nil:
			c.failed++
			if c.failed == 1 {
				c.firstErr = fmt.Sprintf("publish %d: %v", i, err)
			}
		}
	}
}
