package testscript

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// Config says what Config.Setup starts for each script. The zero value is
// what Setup starts: an A7600 emulator with the firmware's defaults and a
// broker that accepts every client.
type Config struct {
	// Sim configures the emulated modem (model, link speed, firmware
	// variants); its Broker is replaced by the script's broker.
	Sim modemsim.Config
	// Broker configures the script's broker (credentials, TLS, refused
	// subscriptions); its Addr is replaced by a free loopback port.
	Broker modemsim.EmbeddedOptions
}

// Setup starts a broker and an emulated modem for a script, with the
// zero Config, and sets the script's environment (see the package
// documentation). Use it as testscript.Params.Setup, or call it first from
// a Setup of your own.
func Setup(env *testscript.Env) error { return Config{}.Setup(env) }

// Setup starts the broker and the emulated modem c describes for a script
// and sets the script's environment. Both stop when the script ends.
func (c Config) Setup(env *testscript.Env) error {
	st := &state{env: env, procs: map[string]*proc{}, clients: map[string]*mqttClient{}}
	env.Defer(st.close)
	bo := c.Broker
	bo.Addr = ""
	b, err := modemsim.StartEmbeddedBroker(bo)
	if err != nil {
		return fmt.Errorf("cellmqtt testscript: %w", err)
	}
	st.broker = b
	cfg := c.Sim
	cfg.Broker = b.URL()
	sim, err := modemsim.New(cfg)
	if err != nil {
		return fmt.Errorf("cellmqtt testscript: %w", err)
	}
	st.sim = sim
	addr, err := sim.ListenTCP("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("cellmqtt testscript: %w", err)
	}
	st.link = filepath.Join(env.WorkDir, "modem")
	if err := st.plug(); err == nil {
		env.Setenv("MODEM_PORT", st.link)
	} else if !errorsIsUnsupported(err) {
		return err
	}
	env.Setenv("MODEM_TCP", "tcp://"+addr.String())
	env.Setenv("MODEM_MODEL", modelName(sim.Model()))
	host, port, _ := net.SplitHostPort(b.Addr())
	env.Setenv("BROKER_URL", b.URL())
	env.Setenv("BROKER_HOST", host)
	env.Setenv("BROKER_PORT", port)
	env.Values[stateKey{}] = st
	return nil
}

// modelName is the --model spelling of a family.
func modelName(m atmodem.Model) string {
	if m == atmodem.SIM7600 {
		return "sim7600"
	}
	return "a7600"
}

// stateKey is the key of a script's *state in testscript.Env.Values.
type stateKey struct{}

// state is what Setup started for one script.
type state struct {
	env    *testscript.Env // the Setup environment, for the variables start passes on
	broker *modemsim.EmbeddedBroker
	sim    *modemsim.Sim
	link   string // MODEM_PORT: $WORK/modem

	mu      sync.Mutex
	procs   map[string]*proc       // start NAME
	clients map[string]*mqttClient // mqtt: one client per broker URL
}

// scriptState returns the state Setup made, failing the script without.
func scriptState(ts *testscript.TestScript) *state {
	st, ok := ts.Value(stateKey{}).(*state)
	if !ok {
		ts.Fatalf("cellmqtt testscript: no state: set Params.Setup to this package's Setup")
	}
	return st
}

// plug attaches a new pseudo-terminal to the emulator and points
// MODEM_PORT's link at it.
func (st *state) plug() error {
	path, err := st.sim.OpenPTY()
	if err != nil {
		return &unsupportedError{err}
	}
	tmp := st.link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(path, tmp); err != nil {
		return fmt.Errorf("cellmqtt testscript: link %s: %w", st.link, err)
	}
	if err := os.Rename(tmp, st.link); err != nil { // atomic for a program reopening it
		return fmt.Errorf("cellmqtt testscript: link %s: %w", st.link, err)
	}
	return nil
}

// close stops what the script left running, then the emulator and the
// broker.
func (st *state) close() {
	st.mu.Lock()
	procs, clients := st.procs, st.clients
	st.procs, st.clients = nil, nil
	st.mu.Unlock()
	for _, p := range procs {
		p.kill()
	}
	for _, c := range clients {
		c.close()
	}
	if st.sim != nil {
		st.sim.Close()
	}
	if st.broker != nil {
		st.broker.Close()
	}
}

// environ is the environment start gives a program: every variable the
// script had at Setup, at its current value.
func (st *state) environ(ts *testscript.TestScript) []string {
	var out []string
	for _, kv := range st.env.Vars {
		k, _, _ := strings.Cut(kv, "=")
		out = append(out, k+"="+ts.Getenv(k))
	}
	return out
}

// unsupportedError is a pseudo-terminal the system cannot give.
type unsupportedError struct{ err error }

// Error is the cause.
func (e *unsupportedError) Error() string { return e.err.Error() }

// errorsIsUnsupported reports whether err is an *unsupportedError.
func errorsIsUnsupported(err error) bool {
	var u *unsupportedError
	return errors.As(err, &u)
}

// Commands returns the script commands of this package by name, for
// testscript.Params.Cmds (add your own to the map).
func Commands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"modem":    cmdModem,
		"mqtt":     cmdMQTT,
		"start":    cmdStart,
		"waitline": cmdWaitLine,
		"end":      cmdEnd,
		"exits":    cmdExits,
		"waitport": cmdWaitPort,
	}
}
