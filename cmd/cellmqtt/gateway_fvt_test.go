package main

import (
	"context"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fvtModule is the paho.mqtt.golang module whose FVT suite runs through
// the gateway: the version this module requires.
const fvtModule = "github.com/eclipse/paho.mqtt.golang"

// fvtTests is the number of tests in paho.mqtt.golang v1.5.1's
// fvt_client_test.go.
const fvtTests = 35

// fvtModemLimited are the FVT tests that the modem's limits make
// impossible through the gateway, with the limit (README "Limitations"
// lists them). They run directly against mosquitto, not through the
// gateway.
var fvtModemLimited = map[string]string{
	// It publishes to a topic of 65536 bytes and waits for it without a
	// timeout: the modem carries topics of 1-1024 bytes (AT+CMQTTTOPIC),
	// so the gateway drops the QoS 0 message and the test would wait
	// forever.
	"Test_OverLengthTopic": "topics of up to 1024 bytes",
}

// TestPahoFVTThroughGateway runs paho.mqtt.golang's own functional test
// suite (fvt_client_test.go, fvt_test.go and the package's helpers, from
// the module cache) directly against a mosquitto the test starts, and then
// through "cellmqtt gateway --sim" in front of that mosquitto on both
// model families: every test that passes directly must pass through the
// gateway, except those in fvtModemLimited. The suite is paho's code: it is
// copied into a temporary folder at run time, where only the broker
// address changes (the suite hard-codes port 1883).
func TestPahoFVTThroughGateway(t *testing.T) {
	requireInterop(t, "go")
	src := fvtSource(t)
	names := fvtTestNames(t, src)
	broker := startMosquittoProc(t)

	direct := runFVT(t, src, broker.port, names)
	var passed []string
	for _, n := range names {
		if direct[n] {
			passed = append(passed, n)
		}
	}
	t.Logf("directly against mosquitto: %d of %d pass", len(passed), len(names))
	if len(passed) != len(names) {
		t.Errorf("directly against mosquitto, failing: %v", missing(names, direct))
	}
	var through []string
	for _, n := range passed {
		if _, limited := fvtModemLimited[n]; !limited {
			through = append(through, n)
		}
	}
	for _, model := range []string{"a7600", "sim7600"} {
		t.Run(model, func(t *testing.T) {
			addr := startGatewayWith(t, io.Discard, "--model", model, "--broker", broker.url())
			_, port := hostPort(t, addr)
			p, err := strconv.Atoi(port)
			if err != nil {
				t.Fatal(err)
			}
			got := runFVT(t, src, p, through)
			n := 0
			for _, name := range through {
				if got[name] {
					n++
				}
			}
			t.Logf("through the gateway (%s): %d of %d pass (%d modem-limited not run)", model, n, len(through), len(names)-len(through))
			if n != len(through) {
				t.Errorf("through the gateway (%s), failing: %v", model, missing(through, got))
			}
		})
	}
}

// fvtSource returns the directory of the paho.mqtt.golang module this
// module requires, in the module cache.
func fvtSource(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", fvtModule).Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Fatalf("go list -m %s: %v (%q)", fvtModule, err, out)
	}
	return dir
}

// fvtTestNames lists the tests of fvt_client_test.go.
func fvtTestNames(t *testing.T, src string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(src, "fvt_client_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^func (Test_\w+)\(t \*testing\.T\)`).FindAllSubmatch(b, -1) {
		names = append(names, string(m[1]))
	}
	if len(names) != fvtTests {
		t.Fatalf("fvt_client_test.go has %d tests, want %d (paho.mqtt.golang v1.5.1)", len(names), fvtTests)
	}
	return names
}

// runFVT copies the module into a temporary folder, points the FVT
// suite's broker address at port, runs the named tests and reports which
// passed.
func runFVT(t *testing.T, src string, port int, names []string) map[string]bool {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "paho")
	if err := copyTree(src, dir); err != nil {
		t.Fatal(err)
	}
	// The only change: the broker address (fvt_test.go: "tcp://" + addr + ":1883").
	fvt := filepath.Join(dir, "fvt_test.go")
	b, err := os.ReadFile(fvt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `":1883"`) {
		t.Fatalf("fvt_test.go has no \":1883\" broker address to change")
	}
	b = []byte(strings.Replace(string(b), `":1883"`, `":`+strconv.Itoa(port)+`"`, 1))
	if err := os.WriteFile(fvt, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-v", "-timeout", "7m", "-run", "^("+strings.Join(sorted, "|")+")$", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TEST_FVT_ADDR=127.0.0.1", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	results := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^--- (PASS|FAIL): (Test_\w+)`).FindAllSubmatch(out, -1) {
		results[string(m[2])] = string(m[1]) == "PASS"
	}
	if err != nil {
		t.Logf("paho FVT on port %d: %v\n%s", port, err, tail(out, 60))
	}
	return results
}

// missing lists the names that did not pass.
func missing(names []string, passed map[string]bool) []string {
	var out []string
	for _, n := range names {
		if !passed[n] {
			out = append(out, n)
		}
	}
	return out
}

// tail returns the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// copyTree copies the regular files under src to dst, writable (the module
// cache is read-only).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}
