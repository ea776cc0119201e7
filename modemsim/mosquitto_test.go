package modemsim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Helpers to run a real mosquitto broker and the mosquitto_pub and
// mosquitto_sub clients (Debian's mosquitto and mosquitto-clients) as
// independent peers of the emulator.

// requireInterop skips the test unless CELLMQTT_INTEROP=1; under it the
// mosquitto programs must exist (the test fails rather than skips).
func requireInterop(t *testing.T) {
	t.Helper()
	if os.Getenv("CELLMQTT_INTEROP") != "1" {
		t.Skip("interop test against mosquitto: set CELLMQTT_INTEROP=1 (needs the mosquitto and mosquitto-clients packages)")
	}
}

// mosquittoTool finds a mosquitto program on PATH or in /usr/sbin.
func mosquittoTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("%s not found: install the mosquitto and mosquitto-clients packages", name)
	return ""
}

// mosquittoOptions configures a mosquitto started by startMosquitto.
type mosquittoOptions struct {
	// Users, when not empty, go to a password file made with
	// mosquitto_passwd and anonymous clients are refused.
	Users map[string]string
	// PKI, when set, adds two TLS listeners with its server certificate:
	// one where a client certificate is optional, one where it is required.
	PKI *testPKI
}

// mosquitto is a running broker.
type mosquitto struct {
	Addr     string // plain MQTT listener, host:port
	TLSAddr  string // TLS listener, client certificate not requested
	MTLSAddr string // TLS listener, client certificate required
	log      *lockedBuffer
	stop     func() // terminates mosquitto (idempotent)
}

// lockedBuffer is a bytes.Buffer safe for a writer and readers, with a
// signal on every write.
type lockedBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case l.wrote <- struct{}{}:
	default:
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freePorts reserves n distinct free loopback ports and releases them for
// a program that cannot listen on port 0 itself.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// startMosquitto runs mosquitto with a generated configuration on free
// loopback ports and stops it with the test. mosquitto cannot listen on
// port 0, so a port taken between reservation and start means another try.
func startMosquitto(t *testing.T, opts mosquittoOptions) *mosquitto {
	t.Helper()
	bin := mosquittoTool(t, "mosquitto")
	dir := t.TempDir()
	var common strings.Builder
	common.WriteString("per_listener_settings false\npersistence false\nlog_dest stderr\nlog_type all\n")
	if u, err := user.Current(); err == nil {
		// As root, mosquitto would drop to user "mosquitto", which cannot
		// read the test's files.
		fmt.Fprintf(&common, "user %s\n", u.Username)
	}
	if len(opts.Users) > 0 {
		pw := filepath.Join(dir, "passwd")
		passwd := mosquittoTool(t, "mosquitto_passwd")
		first := true
		for name, pass := range opts.Users {
			args := []string{"-b", pw, name, pass}
			if first {
				args = append([]string{"-c"}, args...)
				first = false
			}
			if out, err := exec.Command(passwd, args...).CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_passwd: %v: %s", err, out)
			}
		}
		fmt.Fprintf(&common, "allow_anonymous false\npassword_file %s\n", pw)
	} else {
		common.WriteString("allow_anonymous true\n")
	}
	var ca, cert, key string
	if opts.PKI != nil {
		ca, cert, key = opts.PKI.writeFiles(t, dir)
	}
	for attempt := 1; ; attempt++ {
		ports := freePorts(t, 3)
		m := &mosquitto{
			Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
			log:  &lockedBuffer{wrote: make(chan struct{}, 1)},
		}
		conf := common.String() + fmt.Sprintf("listener %d 127.0.0.1\n", ports[0])
		if opts.PKI != nil {
			m.TLSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
			m.MTLSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2]))
			for i, require := range []bool{false, true} {
				conf += fmt.Sprintf("listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate %v\n",
					ports[1+i], ca, cert, key, require)
			}
		}
		if m.run(t, bin, filepath.Join(dir, "mosquitto.conf"), conf, attempt < 3) {
			return m
		}
		t.Logf("mosquitto attempt %d: a port was taken, trying others", attempt)
	}
}

// run starts mosquitto with conf and waits until it runs. It returns false
// when mosquitto could not bind a port and retry is allowed.
func (m *mosquitto) run(t *testing.T, bin, confPath, conf string, retry bool) bool {
	t.Helper()
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", confPath)
	cmd.Stdout, cmd.Stderr = m.log, m.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mosquitto: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(testWait)
	for !strings.Contains(m.log.String(), " running") {
		select {
		case <-m.log.wrote:
		case err := <-exited:
			if retry && strings.Contains(m.log.String(), "Address already in use") {
				return false
			}
			t.Fatalf("mosquitto exited: %v\n%s\nconfiguration:\n%s", err, m.log.String(), conf)
		case <-deadline:
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("mosquitto not running within %v:\n%s", testWait, m.log.String())
		}
	}
	var once sync.Once
	m.stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-exited
		})
	}
	t.Cleanup(func() {
		m.stop()
		if t.Failed() {
			t.Logf("mosquitto configuration:\n%s\nmosquitto log:\n%s", conf, m.log.String())
		}
	})
	return true
}

// waitLog waits until mosquitto's log contains s.
func (m *mosquitto) waitLog(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(testWait)
	for !strings.Contains(m.log.String(), s) {
		select {
		case <-m.log.wrote:
		case <-deadline:
			t.Fatalf("mosquitto log has no %q within %v", s, testWait)
		}
	}
}

// hostPort splits a host:port for the clients' -h and -p flags.
func hostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

// mosquittoSub is a running mosquitto_sub that has its subscription.
type mosquittoSub struct {
	msgs   chan rxMessage
	exited chan error
	out    *lockedBuffer
}

var subSeq atomic.Int64

// startMosquittoSub runs mosquitto_sub on filter at the broker's plain
// listener until it got count messages, and returns once the broker sent
// the SUBACK (seen in the broker's log: mosquitto_sub's own output is
// buffered into a pipe, so its messages show when it exits after count).
// Payloads are read in hex, so binary data is exact.
func (m *mosquitto) startMosquittoSub(t *testing.T, filter string, count int) *mosquittoSub {
	t.Helper()
	h, p := hostPort(t, m.Addr)
	id := fmt.Sprintf("mosquitto_sub-%d", subSeq.Add(1))
	args := []string{"-h", h, "-p", p, "-i", id, "-t", filter, "-q", "2", "-C", strconv.Itoa(count),
		"-F", "=MSG %t %x", "-W", strconv.Itoa(int(2 * testWait / time.Second))}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, mosquittoTool(t, "mosquitto_sub"), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &mosquittoSub{msgs: make(chan rxMessage, count), exited: make(chan error, 1), out: &lockedBuffer{wrote: make(chan struct{}, 1)}}
	cmd.Stderr = s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			_, _ = s.out.Write([]byte(line + "\n"))
			if strings.HasPrefix(line, "=MSG ") {
				f := strings.SplitN(line, " ", 3)
				var payload []byte
				if len(f) == 3 {
					payload, _ = hex.DecodeString(f[2])
				}
				s.msgs <- rxMessage{topic: f[1], payload: string(payload)}
			}
		}
		s.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cancel()
		<-s.exited
		if t.Failed() {
			t.Logf("mosquitto_sub %v output:\n%s", args, s.out.String())
		}
	})
	m.waitLog(t, "Sending SUBACK to "+id)
	return s
}

// next returns the next message mosquitto_sub printed or fails the test.
func (s *mosquittoSub) next(t *testing.T) rxMessage {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(testWait):
		t.Fatalf("mosquitto_sub: no message within %v\n%s", testWait, s.out.String())
	}
	return rxMessage{}
}

// mosquittoPub publishes one message with mosquitto_pub (payload on
// stdin, binary safe) and waits for it to finish.
func mosquittoPub(t *testing.T, addr, topic string, qos int, payload []byte, extra ...string) {
	t.Helper()
	h, p := hostPort(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	args := append([]string{"-h", h, "-p", p, "-t", topic, "-q", strconv.Itoa(qos), "-s"}, extra...)
	cmd := exec.CommandContext(ctx, mosquittoTool(t, "mosquitto_pub"), args...)
	cmd.Stdin = bytes.NewReader(payload)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub %v: %v\n%s", args, err, out)
	}
}
