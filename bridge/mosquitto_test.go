package bridge

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// interop reports whether CELLMQTT_INTEROP=1 asks for the mosquitto tests.
func interop() bool { return os.Getenv("CELLMQTT_INTEROP") == "1" }

// requireInterop skips the test unless CELLMQTT_INTEROP=1; under it, the
// mosquitto packages must be installed.
func requireInterop(t testing.TB) {
	t.Helper()
	if !interop() {
		t.Skip("interop test against mosquitto: set CELLMQTT_INTEROP=1 (needs the mosquitto and mosquitto-clients packages)")
	}
	for _, tool := range []string{"mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("CELLMQTT_INTEROP=1 but %s is missing (apt-get install mosquitto-clients)", tool)
		}
	}
}

// requireLong skips the test unless CELLMQTT_LONG=1.
func requireLong(t testing.TB) {
	t.Helper()
	if os.Getenv("CELLMQTT_LONG") != "1" {
		t.Skip("long test: set CELLMQTT_LONG=1")
	}
}

// mosquitto is a mosquitto process on a fixed loopback port, which can be
// stopped and started again on the same port.
type mosquitto struct {
	t     testing.TB
	bin   string
	dir   string
	port  int
	extra string // configuration after the listener

	mu   sync.Mutex
	cmd  *exec.Cmd
	logs *bytes.Buffer
	exit chan struct{}
}

// startMosquitto starts mosquitto on a free port with extra configuration
// lines (a bridge section, persistence ...).
func startMosquitto(t testing.TB, extra string) *mosquitto {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("CELLMQTT_INTEROP=1 but mosquitto is not installed (apt-get install mosquitto)")
		}
	}
	// mosquitto started as root drops to the "mosquitto" user, which must
	// be able to write its persistence file.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	m := &mosquitto{t: t, bin: bin, dir: dir, extra: extra}
	for range 3 {
		m.port = freePort(t)
		if m.start() == nil {
			t.Cleanup(m.kill)
			return m
		}
	}
	t.Fatalf("mosquitto did not start:\n%s", m.logs)
	return nil
}

// freePort finds a free loopback port (another process may take it
// before it is used; callers retry).
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// addr is host:port.
func (m *mosquitto) addr() string { return "127.0.0.1:" + strconv.Itoa(m.port) }

// start runs mosquitto and waits until it accepts connections.
func (m *mosquitto) start() error {
	conf := filepath.Join(m.dir, "mosquitto.conf")
	body := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence_location %s/\n%s", m.port, m.dir, m.extra)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(m.bin, "-c", conf)
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return err
	}
	exit := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exit) }()
	m.mu.Lock()
	m.cmd, m.logs, m.exit = cmd, logs, exit
	m.mu.Unlock()
	deadline := time.Now().Add(waitTimeout)
	for {
		c, err := net.DialTimeout("tcp", m.addr(), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exit:
			return fmt.Errorf("mosquitto exited: %s", logs)
		case <-time.After(20 * time.Millisecond): // waiting for the listener of another process
		}
		if time.Now().After(deadline) {
			m.kill()
			return fmt.Errorf("mosquitto did not listen on %s", m.addr())
		}
	}
}

// restart starts mosquitto again on the same port.
func (m *mosquitto) restart() {
	m.t.Helper()
	if err := m.start(); err != nil {
		m.t.Fatal(err)
	}
}

// stop ends mosquitto with SIGTERM (it saves its persistence file) and
// waits.
func (m *mosquitto) stop() {
	m.mu.Lock()
	cmd, exit := m.cmd, m.exit
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-exit
}

// kill ends mosquitto at once.
func (m *mosquitto) kill() {
	m.mu.Lock()
	cmd, exit := m.cmd, m.exit
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exit
}
