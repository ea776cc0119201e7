package bridge

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// waitTimeout bounds every wait of the tests; nothing waits for a fixed
// time.
const waitTimeout = 20 * time.Second

// rig is a remote broker, an emulated modem in front of it, and a bridge on
// the modem with its local broker on a free loopback port.
type rig struct {
	remoteAddr string // host:port of the remote broker
	sim        *modemsim.Sim
	modem      *atmodem.Modem
	bridge     *Bridge
	opts       Options
	cfg        *Config
}

// testLogger logs to stderr with BRIDGE_TRACE set, else nowhere.
func testLogger() *slog.Logger {
	if os.Getenv("BRIDGE_TRACE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startRemote starts an embedded mochi broker as the remote broker.
func startRemote(t testing.TB) string {
	t.Helper()
	b, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b.Addr()
}

// newRig parses conf (its address lines may use %s for the remote
// broker's address) and starts the bridge with opts.
func newRig(t testing.TB, remoteAddr, conf string, opts Options) *rig {
	t.Helper()
	cfg, err := ParseConfig(strings.NewReader(strings.ReplaceAll(conf, "REMOTE", remoteAddr)), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	simCfg := modemsim.Config{Model: atmodem.A7600}
	modemOpts := []atmodem.Option{atmodem.WithModel(atmodem.A7600)}
	if os.Getenv("BRIDGE_TRACE") != "" {
		simCfg.Logger = testLogger().With("sim", true)
		modemOpts = append(modemOpts, atmodem.WithLogger(testLogger()))
	}
	sim, err := modemsim.New(simCfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{remoteAddr: remoteAddr, sim: sim, cfg: cfg}
	r.modem = atmodem.New(sim.Conn(), modemOpts...)
	t.Cleanup(func() {
		_ = r.modem.Close()
		_ = sim.Close()
	})
	if opts.Listener == nil && opts.Local == "" && cfg.Listener.Addr == "" && !cfg.Listener.TLS() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		opts.Listener = ln
	}
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	opts.Modem = r.modem
	r.opts = opts
	r.start(t)
	return r
}

// start starts (or restarts) the bridge.
func (r *rig) start(t testing.TB) {
	t.Helper()
	b, err := Start(r.cfg, r.opts)
	if err != nil {
		t.Fatal(err)
	}
	r.bridge = b
	t.Cleanup(func() { _ = b.Close() })
}

// waitConnected waits until the bridge's uplink is up.
func (r *rig) waitConnected(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !r.bridge.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("the bridge did not connect to the remote broker")
		}
		time.Sleep(10 * time.Millisecond) // polling a state that has no channel
	}
}

// waitSettled waits until the subscribe and unsubscribe requests of n
// connections have completed, so a test's fault finds the bridge idle.
func (r *rig) waitSettled(t testing.TB, n uint64) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for r.bridge.settled.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the bridge's subscriptions of connection %d did not complete", n)
		}
		time.Sleep(10 * time.Millisecond) // polling a counter that has no channel
	}
}

// skipUntil reads messages until want arrives (the retained state may be
// an older value first).
func (c *collector) skipUntil(want string) {
	c.t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case got := <-c.ch:
			if got == want {
				return
			}
		case <-timeout:
			c.t.Fatalf("%s: %q did not arrive", c.name, want)
		}
	}
}

// collector is a paho client that records what it receives.
type collector struct {
	t      testing.TB
	name   string
	client mqtt.Client
	mu     sync.Mutex
	got    []string // "topic payload"
	ch     chan string
}

// connect connects a paho client to addr (host:port) with id and
// subscribes filters (topic -> qos).
func connect(t testing.TB, addr, id string, filters map[string]byte) *collector {
	t.Helper()
	c := &collector{t: t, name: id, ch: make(chan string, 10000)}
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			s := m.Topic() + " " + string(m.Payload())
			c.mu.Lock()
			c.got = append(c.got, s)
			c.mu.Unlock()
			c.ch <- s
		})
	c.client = mqtt.NewClient(o)
	if tok := c.client.Connect(); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("%s: connect to %s: %v", id, addr, tok.Error())
	}
	t.Cleanup(func() { c.client.Disconnect(0) })
	if len(filters) > 0 {
		if tok := c.client.SubscribeMultiple(filters, nil); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
			t.Fatalf("%s: subscribe: %v", id, tok.Error())
		}
	}
	return c
}

// publish publishes and waits for the acknowledgement.
func (c *collector) publish(topic string, qos byte, retain bool, payload string) {
	c.t.Helper()
	tok := c.client.Publish(topic, qos, retain, payload)
	if !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		c.t.Fatalf("%s: publish %s: %v", c.name, topic, tok.Error())
	}
}

// expect waits for the messages want ("topic payload"), in order.
func (c *collector) expect(want ...string) {
	c.t.Helper()
	for _, w := range want {
		select {
		case got := <-c.ch:
			if got != w {
				c.t.Fatalf("%s received %q, want %q", c.name, got, w)
			}
		case <-time.After(waitTimeout):
			c.t.Fatalf("%s: %q did not arrive", c.name, w)
		}
	}
}

// collect waits for n messages and returns them sorted.
func (c *collector) collect(n int) []string {
	c.t.Helper()
	var got []string
	timeout := time.After(waitTimeout)
	for len(got) < n {
		select {
		case m := <-c.ch:
			got = append(got, m)
		case <-timeout:
			c.t.Fatalf("%s: %d of %d messages arrived: %q", c.name, len(got), n, got)
		}
	}
	slices.Sort(got)
	return got
}

// received is everything received so far.
func (c *collector) received() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

// quiet checks that nothing more arrives within d (after a marker proved
// that everything sent before it was delivered).
func (c *collector) none() {
	c.t.Helper()
	select {
	case got := <-c.ch:
		c.t.Fatalf("%s received %q, want nothing more", c.name, got)
	default:
	}
}

func (c *collector) String() string { return fmt.Sprintf("%s %v", c.name, c.received()) }
