package bridge

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// passwdFile is a mosquitto password_file written by mosquitto_passwd
// 2.0.11: "mosquitto_passwd -c -b passwd alice secret".
const passwdFile = "alice:$7$101$gZhUsrcr3KT3idoO$5Xgruvei2CfdcVRQ/PQggFe0KDiEZo77zOhLJGkXh4uVXe7FA0xj9MNWeFaGaNVoYoP7x4Z8ZRGLoeZ7o9VNyg==\n"

// TestLocalClientsAuthenticated: with a password file, the embedded broker
// lets in only local clients that give a user and password of the file,
// and refuses the others as "cellmqtt gateway" does: no user name "not
// authorized" (MQTT 3.1.1 return code 5, MQTT 5 0x87), a wrong password
// "bad user name or password" (4, 0x86). allow_anonymous true lets clients
// without a user name in, as in mosquitto. A client let in reaches the
// remote broker.
func TestLocalClientsAuthenticated(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(pw, []byte(passwdFile), 0o600); err != nil {
		t.Fatal(err)
	}
	type client struct {
		user, pass string
		rc311, rc5 byte
	}
	anonymous, wrong, alice := client{"", "", 5, 0x87}, client{"alice", "guess", 4, 0x86}, client{"alice", "secret", 0, 0}
	tests := []struct {
		name    string
		conf    string
		clients []client
	}{
		{"password file", "password_file " + pw + "\n", []client{anonymous, wrong, alice, {"bob", "secret", 4, 0x86}}},
		{"password file, allow_anonymous false", "password_file " + pw + "\nallow_anonymous false\n", []client{anonymous, wrong, alice}},
		{"password file, allow_anonymous true", "allow_anonymous true\npassword_file " + pw + "\n", []client{{"", "", 0, 0}, wrong, alice}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			remote := startRemote(t)
			r := newRig(t, remote, tc.conf+basicConf, Options{})
			r.waitConnected(t)
			r.waitSettled(t, 1)
			far := connect(t, remote, "far", map[string]byte{"sensors/#": 1})
			for i, c := range tc.clients {
				if rc := connect311(t, r.bridge.Addr(), c.user, c.pass); rc != c.rc311 {
					t.Errorf("MQTT 3.1.1 client %q/%q: return code %d, want %d", c.user, c.pass, rc, c.rc311)
				}
				if rc := connect5(t, r.bridge.Addr(), c.user, c.pass); rc != c.rc5 {
					t.Errorf("MQTT 5 client %q/%q: reason code %#x, want %#x", c.user, c.pass, rc, c.rc5)
				}
				if c.rc311 != 0 {
					continue
				}
				id := "in-" + string(rune('a'+i))
				o := mqtt.NewClientOptions().AddBroker("tcp://" + r.bridge.Addr()).SetClientID(id).
					SetUsername(c.user).SetPassword(c.pass).SetAutoReconnect(false)
				pc := mqtt.NewClient(o)
				if tok := pc.Connect(); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
					t.Fatalf("%s: %v", id, tok.Error())
				}
				if tok := pc.Publish("sensors/"+id, 1, false, "let in"); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
					t.Fatalf("%s: publish: %v", id, tok.Error())
				}
				pc.Disconnect(100)
				far.expect("sensors/" + id + " let in")
			}
		})
	}
}

// connect311 connects an MQTT 3.1.1 client (paho.mqtt.golang) with the
// credentials and returns the CONNACK's return code.
func connect311(t *testing.T, addr, user, pass string) byte {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("v311-" + user + "-" + pass).
		SetUsername(user).SetPassword(pass).SetAutoReconnect(false).SetConnectRetry(false))
	tok := c.Connect()
	if !tok.WaitTimeout(waitTimeout) {
		t.Fatal("no CONNACK")
	}
	rc := tok.(*mqtt.ConnectToken).ReturnCode()
	if rc == 0 {
		c.Disconnect(100)
	}
	return rc
}

// connect5 connects an MQTT 5 client (paho.golang) with the credentials
// and returns the CONNACK's reason code.
func connect5(t *testing.T, addr, user, pass string) byte {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cp := &paho.Connect{ClientID: "v5-" + user + "-" + pass, KeepAlive: 30, CleanStart: true}
	if user != "" {
		cp.Username, cp.UsernameFlag = user, true
		cp.Password, cp.PasswordFlag = []byte(pass), true
	}
	ack, err := c.Connect(ctx, cp)
	if ack == nil {
		t.Fatalf("MQTT 5 connect: no CONNACK: %v", err)
	}
	if ack.ReasonCode == 0 {
		_ = c.Disconnect(&paho.Disconnect{})
	}
	return ack.ReasonCode
}

// TestStartRefusesListener: listener settings that cannot work together
// are refused by Start before anything reaches the modem.
func TestStartRefusesListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tests := []struct {
		name string
		conf string
		opts Options
		want string
	}{
		{"every interface, open", "listener 0\n", Options{}, "can be reached from other machines"},
		{"listener keywords with an existing local broker", "password_file pw\n", Options{Local: "tcp://127.0.0.1:1"}, "existing local broker"},
		{"a listener and Options.Listener", "listener 0 127.0.0.1\n", Options{Listener: ln}, "exclude each other"},
		{"allow_anonymous false and nobody to let in", "allow_anonymous false\n", Options{}, "allow_anonymous false without password_file"},
		{"a password file that does not exist", "password_file " + filepath.Join(t.TempDir(), "none") + "\n", Options{}, "password file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig(strings.NewReader(tc.conf+strings.ReplaceAll(basicConf, "REMOTE", "127.0.0.1:1")), "x.conf")
			if err != nil {
				t.Fatal(err)
			}
			m := newIdleModem(t)
			tc.opts.Modem = m.Modem
			_, err = Start(cfg, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrConfig) {
				t.Fatalf("Start: %v; want an ErrConfig containing %q", err, tc.want)
			}
			if s := m.sent(); s != "" {
				t.Errorf("%q reached the modem", s)
			}
		})
	}
}

// idleModem is a modem whose port records what is written to it.
type idleModem struct {
	*atmodem.Modem
	mu      sync.Mutex
	written []byte
	read    chan struct{} // closed when the port's reader stopped
}

// newIdleModem is a modem on a pipe nothing answers; it is closed with the
// test.
func newIdleModem(t *testing.T) *idleModem {
	t.Helper()
	port, far := net.Pipe()
	m := &idleModem{Modem: atmodem.New(port, atmodem.WithModel(atmodem.A7600)), read: make(chan struct{})}
	go func() {
		defer close(m.read)
		buf := make([]byte, 256)
		for {
			n, err := far.Read(buf)
			m.mu.Lock()
			m.written = append(m.written, buf[:n]...)
			m.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = m.Modem.Close()
		_ = far.Close()
		<-m.read
	})
	return m
}

// sent is what was written to the modem so far.
func (m *idleModem) sent() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return string(m.written)
}

// TestLocalConnectWait: a local connection that sends no CONNECT (or no TLS
// handshake) is closed after the CONNECT wait, as by "cellmqtt gateway";
// a client that connected keeps its connection past it.
func TestLocalConnectWait(t *testing.T) {
	remote := startRemote(t)
	r := newRig(t, remote, basicConf, Options{connectWait: 200 * time.Millisecond})
	r.waitConnected(t)
	client := connect(t, r.bridge.Addr(), "client", map[string]byte{"misc/#": 1})

	idle, err := net.Dial("tcp", r.bridge.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if err := idle.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	if n, err := idle.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("an idle connection read %d bytes, %v; want it closed by the bridge", n, err)
	}
	// The client was accepted before the idle connection: its first
	// deadline has passed too, and it must have been lifted.
	client.publish("misc/after", 1, false, "still connected")
	client.expect("misc/after still connected")
}
