package modemsim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	mochipk "github.com/mochi-mqtt/server/v2/packets"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// observeHook records what the embedded broker receives from clients.
type observeHook struct {
	mochi.HookBase
	mu       sync.Mutex
	connects []mochipk.ConnectParams
	levels   []byte // the protocol level of each CONNECT
	publish  chan mochipk.Packet
	gone     chan string // client IDs, once the broker is done with them (will sent)
}

func (h *observeHook) ID() string { return "observe" }

func (h *observeHook) Provides(b byte) bool {
	return b == mochi.OnConnect || b == mochi.OnPublish || b == mochi.OnDisconnect
}

func (h *observeHook) OnDisconnect(cl *mochi.Client, _ error, _ bool) {
	select {
	case h.gone <- cl.ID:
	default:
	}
}

// waitGone waits until the broker has finished with client id (mochi
// sends the will before it reports the disconnection).
func (h *observeHook) waitGone(t *testing.T, id string) {
	t.Helper()
	deadline := time.After(testWait)
	for {
		select {
		case got := <-h.gone:
			if got == id {
				return
			}
		case <-deadline:
			t.Fatalf("broker did not see %s go within %v", id, testWait)
		}
	}
}

func (h *observeHook) OnConnect(_ *mochi.Client, pk mochipk.Packet) error {
	h.mu.Lock()
	h.connects = append(h.connects, pk.Connect)
	h.levels = append(h.levels, pk.ProtocolVersion)
	h.mu.Unlock()
	return nil
}

func (h *observeHook) OnPublish(cl *mochi.Client, pk mochipk.Packet) (mochipk.Packet, error) {
	if !cl.Net.Inline {
		h.publish <- pk
	}
	return pk, nil
}

// lastConnect is the last CONNECT the broker saw.
func (h *observeHook) lastConnect(t *testing.T) mochipk.ConnectParams {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.connects) == 0 {
		t.Fatal("broker saw no CONNECT")
	}
	return h.connects[len(h.connects)-1]
}

// lastLevel is the protocol level and name of the last CONNECT.
func (h *observeHook) lastLevel(t *testing.T) (byte, string) {
	t.Helper()
	c := h.lastConnect(t)
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.levels[len(h.levels)-1], string(c.ProtocolName)
}

// observe attaches an observeHook to an embedded broker.
func observe(t *testing.T, b *EmbeddedBroker) *observeHook {
	t.Helper()
	h := &observeHook{publish: make(chan mochipk.Packet, 100), gone: make(chan string, 100)}
	if err := b.server.AddHook(h, nil); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestDialSendsConnectFields(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*linkConfig)
		want mochipk.ConnectParams
	}{
		{"anonymous clean", func(c *linkConfig) {},
			mochipk.ConnectParams{ClientIdentifier: "dev-1", Keepalive: 60, Clean: true}},
		{"persistent session keepalive 1", func(c *linkConfig) { c.CleanSession = false; c.KeepAlive = 1 },
			mochipk.ConnectParams{ClientIdentifier: "dev-1", Keepalive: 1}},
		{"user name only", func(c *linkConfig) { c.Username, c.HasUsername = "alice", true },
			mochipk.ConnectParams{ClientIdentifier: "dev-1", Keepalive: 60, Clean: true, UsernameFlag: true, Username: []byte("alice")}},
		{"user name and password", func(c *linkConfig) {
			c.Username, c.HasUsername = "alice", true
			c.Password, c.HasPassword = "s3cret", true
		}, mochipk.ConnectParams{ClientIdentifier: "dev-1", Keepalive: 60, Clean: true,
			UsernameFlag: true, Username: []byte("alice"), PasswordFlag: true, Password: []byte("s3cret")}},
		{"will", func(c *linkConfig) {
			c.Will = &willMessage{Topic: "dev/1/status", Payload: []byte("offline\r\n"), QoS: 1}
		},
			mochipk.ConnectParams{ClientIdentifier: "dev-1", Keepalive: 60, Clean: true,
				WillFlag: true, WillTopic: "dev/1/status", WillPayload: []byte("offline\r\n"), WillQos: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startEmbedded(t, EmbeddedOptions{})
			h := observe(t, b)
			cfg := plainConfig(b.Addr(), "dev-1")
			tt.cfg(&cfg)
			link := dialTest(t, cfg, newRecorder().events(), simcom.CodeOK)
			if !link.Connected() {
				t.Fatal("Connected() = false after CONNECT")
			}
			got := h.lastConnect(t)
			if got.ClientIdentifier != tt.want.ClientIdentifier || got.Keepalive != tt.want.Keepalive ||
				got.Clean != tt.want.Clean || got.UsernameFlag != tt.want.UsernameFlag ||
				!bytes.Equal(got.Username, tt.want.Username) || got.PasswordFlag != tt.want.PasswordFlag ||
				!bytes.Equal(got.Password, tt.want.Password) || got.WillFlag != tt.want.WillFlag ||
				got.WillTopic != tt.want.WillTopic || !bytes.Equal(got.WillPayload, tt.want.WillPayload) ||
				got.WillQos != tt.want.WillQos || got.WillRetain {
				t.Errorf("broker got CONNECT %+v\nwant %+v", got, tt.want)
			}
			if code := link.Disconnect(time.Second); code != simcom.CodeOK {
				t.Errorf("Disconnect = %d, want 0", code)
			}
			if link.Connected() {
				t.Error("Connected() = true after Disconnect")
			}
		})
	}
}

// Brokers answer bad credentials of an MQTT 3.1.1 CONNECT with return
// code 5 "not authorized" (mochi and mosquitto 2.0 both do), which the
// modem reports as 31; return code 4 would give 30.
func TestDialRefusedCredentials(t *testing.T) {
	b := startEmbedded(t, EmbeddedOptions{Username: "alice", Password: "right"})
	tests := []struct {
		name       string
		user, pass string
		hasUser    bool
		want       simcom.ResultCode
	}{
		{"right", "alice", "right", true, simcom.CodeOK},
		{"wrong password", "alice", "wrong", true, simcom.CodeRefusedNotAuthorized},
		{"unknown user", "bob", "right", true, simcom.CodeRefusedNotAuthorized},
		{"no credentials", "", "", false, simcom.CodeRefusedNotAuthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := plainConfig(b.Addr(), "cred")
			cfg.Username, cfg.HasUsername = tt.user, tt.hasUser
			cfg.Password, cfg.HasPassword = tt.pass, tt.hasUser
			dialTest(t, cfg, newRecorder().events(), tt.want)
		})
	}
}

func TestConnackCodesMapTo27To31(t *testing.T) {
	for rc := byte(1); rc <= 5; rc++ {
		want := simcom.ResultCode(26 + int(rc))
		t.Run(want.String(), func(t *testing.T) {
			f := startFakeBrokerRC(t, rc)
			dialTest(t, plainConfig(f.Addr(), "x"), newRecorder().events(), want)
		})
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestDialFailures(t *testing.T) {
	plain := startEmbedded(t, EmbeddedOptions{})
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = silent.Close() })
	tests := []struct {
		name string
		cfg  linkConfig
		want simcom.ResultCode
	}{
		{"connection refused", plainConfig(closedPort(t), "x"), simcom.CodeSockConnectFail},
		{"unknown host", plainConfig("no-such-host.invalid:1883", "x"), simcom.CodeDNSError},
		{"TLS to a plain broker", linkConfig{Addr: plain.Addr(), TLS: true, ClientID: "x", KeepAlive: 60,
			SSL: sslContext{Version: 4, NegotiateTime: 10}}, simcom.CodeHandshakeFail},
		{"CA file missing", linkConfig{Addr: plain.Addr(), TLS: true, ClientID: "x", KeepAlive: 60,
			SSL: sslContext{Version: 4, AuthMode: 1, CACert: "ca.pem"}, Certs: fileStore(nil)}, simcom.CodeCertNotSet},
		{"CA not configured", linkConfig{Addr: plain.Addr(), TLS: true, ClientID: "x", KeepAlive: 60,
			SSL: sslContext{Version: 4, AuthMode: 2}, Certs: fileStore(nil)}, simcom.CodeCertNotSet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dialTest(t, tt.cfg, newRecorder().events(), tt.want)
		})
	}
}

func TestPublishArrivesAtSubscriber(t *testing.T) {
	b := startEmbedded(t, EmbeddedOptions{})
	sub := newPeer(t, b.Addr())
	sub.subscribe(t, "up/#")
	link := dialTest(t, plainConfig(b.Addr(), "pub"), newRecorder().events(), simcom.CodeOK)
	binary := []byte("a\r\nOK\r\n\x00\xff+CMQTTRXEND: 0\r\n")
	for qos := byte(0); qos <= 2; qos++ {
		t.Run(fmt.Sprintf("qos%d", qos), func(t *testing.T) {
			topic := fmt.Sprintf("up/q%d", qos)
			if code := link.Publish(topic, binary, qos, false, false, testWait); code != simcom.CodeOK {
				t.Fatalf("Publish = %d %q", code, code)
			}
			got := sub.next(t)
			if got.topic != topic || got.payload != string(binary) || got.qos != qos {
				t.Errorf("subscriber got %+v, want topic %q qos %d payload %q", got, topic, qos, binary)
			}
		})
	}
}

func TestPublishRetainedAndDup(t *testing.T) {
	b := startEmbedded(t, EmbeddedOptions{})
	h := observe(t, b)
	link := dialTest(t, plainConfig(b.Addr(), "pub"), newRecorder().events(), simcom.CodeOK)
	tests := []struct {
		qos           byte
		retain, dup   bool
		wantDupOnWire bool
	}{
		{0, false, false, false},
		{0, true, true, false}, // MQTT 3.1.1: DUP must be 0 for QoS 0
		{1, false, true, true},
		{1, true, false, false},
		{2, false, true, true},
		{2, false, false, false},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("qos%d retain %v dup %v", tt.qos, tt.retain, tt.dup), func(t *testing.T) {
			topic := fmt.Sprintf("flags/%d", i)
			if code := link.Publish(topic, []byte("x"), tt.qos, tt.retain, tt.dup, testWait); code != simcom.CodeOK {
				t.Fatalf("Publish = %d %q", code, code)
			}
			select {
			case pk := <-h.publish:
				fh := pk.FixedHeader
				if pk.TopicName != topic || fh.Qos != tt.qos || fh.Retain != tt.retain || fh.Dup != tt.wantDupOnWire {
					t.Errorf("broker got %q qos %d retain %v dup %v, want %q qos %d retain %v dup %v",
						pk.TopicName, fh.Qos, fh.Retain, fh.Dup, topic, tt.qos, tt.retain, tt.wantDupOnWire)
				}
			case <-time.After(testWait):
				t.Fatal("broker saw no PUBLISH")
			}
		})
	}
	// The retained message reaches a subscriber that comes later.
	late := newPeer(t, b.Addr())
	late.subscribe(t, "flags/1")
	if got := late.next(t); got.topic != "flags/1" || !got.retain {
		t.Errorf("late subscriber got %+v, want retained flags/1", got)
	}
}

// TestDupFlagsInPublishOrder: the DUP flags of AT+CMQTTPUB go onto the
// QoS 1 and 2 PUBLISH packets in the order the publishes were handed to
// paho (which writes them in that order), whatever their topics; QoS 0
// PUBLISH and other packets are written as they are.
func TestDupFlagsInPublishOrder(t *testing.T) {
	var wire bytes.Buffer
	c := &brokerConn{Conn: &writeOnly{&wire}}
	c.queueDup(false)
	c.queueDup(true)
	pkts := [][]byte{
		{0x32, 7, 0, 3, 'a', '/', 'b', 0, 1}, // QoS 1, first: no DUP
		{0x30, 5, 0, 3, 'a', '/', 'b'},       // QoS 0: as it is
		{0x40, 2, 0, 1},                      // PUBACK: as it is
		{0x34, 7, 0, 3, 'x', '/', 'y', 0, 2}, // QoS 2, second: DUP
		{0x32, 7, 0, 3, 'a', '/', 'b', 0, 3}, // no flag queued: as it is
	}
	want := []byte{0x32, 0x30, 0x40, 0x3c, 0x32}
	for i, p := range pkts {
		wire.Reset()
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
		if got := wire.Bytes()[0]; got != want[i] {
			t.Errorf("packet %d: first byte %#x, want %#x", i, got, want[i])
		}
	}
}

// writeOnly is a net.Conn that only writes to a buffer.
type writeOnly struct{ w *bytes.Buffer }

func (c *writeOnly) Read([]byte) (int, error)         { return 0, io.EOF }
func (c *writeOnly) Write(p []byte) (int, error)      { return c.w.Write(p) }
func (c *writeOnly) Close() error                     { return nil }
func (c *writeOnly) LocalAddr() net.Addr              { return nil }
func (c *writeOnly) RemoteAddr() net.Addr             { return nil }
func (c *writeOnly) SetDeadline(time.Time) error      { return nil }
func (c *writeOnly) SetReadDeadline(time.Time) error  { return nil }
func (c *writeOnly) SetWriteDeadline(time.Time) error { return nil }

func TestSubscribeReceivesInOrder(t *testing.T) {
	b := startEmbedded(t, EmbeddedOptions{})
	rec := newRecorder()
	link := dialTest(t, plainConfig(b.Addr(), "sub"), rec.events(), simcom.CodeOK)
	if code := link.Subscribe([]string{"down/a", "down/b/#"}, []byte{1, 2}, testWait); code != simcom.CodeOK {
		t.Fatalf("Subscribe = %d %q", code, code)
	}
	pub := newPeer(t, b.Addr())
	const n = 200
	for i := 0; i < n; i++ {
		topic := "down/a"
		if i%2 == 1 {
			topic = "down/b/c"
		}
		pub.publish(t, topic, byte(i%3), false, []byte(fmt.Sprintf("m%03d", i)))
	}
	for i := 0; i < n; i++ {
		got := rec.next(t)
		if want := fmt.Sprintf("m%03d", i); got.payload != want {
			t.Fatalf("message %d: got %q on %q, want %q", i, got.payload, got.topic, want)
		}
	}
}

func TestSubscribeLargePayload(t *testing.T) {
	b := startEmbedded(t, EmbeddedOptions{})
	rec := newRecorder()
	link := dialTest(t, plainConfig(b.Addr(), "sub"), rec.events(), simcom.CodeOK)
	if code := link.Subscribe([]string{"big"}, []byte{1}, testWait); code != simcom.CodeOK {
		t.Fatalf("Subscribe = %d", code)
	}
	payload := bytes.Repeat([]byte("0123456789\r\n"), 10240/12+1)[:10240]
	newPeer(t, b.Addr()).publish(t, "big", 1, false, payload)
	if got := rec.next(t); got.payload != string(payload) {
		t.Errorf("got %d bytes, want the 10240 published", len(got.payload))
	}
}

func TestSubscribeRefusedBySuback(t *testing.T) {
	b := startEmbedded(t, EmbeddedOptions{DenySubscribe: []string{"secret/#"}})
	link := dialTest(t, plainConfig(b.Addr(), "sub"), newRecorder().events(), simcom.CodeOK)
	tests := []struct {
		topics []string
		qos    []byte
		want   simcom.ResultCode
	}{
		{[]string{"open"}, []byte{0}, simcom.CodeOK},
		{[]string{"secret/#"}, []byte{1}, simcom.CodeFailed},
		{[]string{"open", "secret/#"}, []byte{1, 1}, simcom.CodeFailed},
		{[]string{"a", "b"}, []byte{1}, simcom.CodeInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.topics, ","), func(t *testing.T) {
			if code := link.Subscribe(tt.topics, tt.qos, testWait); code != tt.want {
				t.Errorf("Subscribe = %d %q, want %d", code, code, tt.want)
			}
		})
	}
}

func TestUnsubscribeStopsDelivery(t *testing.T) {
	b := startEmbedded(t, EmbeddedOptions{})
	rec := newRecorder()
	link := dialTest(t, plainConfig(b.Addr(), "sub"), rec.events(), simcom.CodeOK)
	if code := link.Subscribe([]string{"x", "y", "z"}, []byte{1, 1, 1}, testWait); code != simcom.CodeOK {
		t.Fatalf("Subscribe = %d", code)
	}
	if code := link.Unsubscribe([]string{"x", "y"}, testWait); code != simcom.CodeOK {
		t.Fatalf("Unsubscribe = %d", code)
	}
	pub := newPeer(t, b.Addr())
	pub.publish(t, "x", 1, false, []byte("gone"))
	pub.publish(t, "y", 1, false, []byte("gone"))
	pub.publish(t, "z", 1, false, []byte("kept"))
	// Delivery is ordered: had x or y still been subscribed, their
	// messages would come first.
	if got := rec.next(t); got.topic != "z" || got.payload != "kept" {
		t.Errorf("first message after UNSUBSCRIBE: %+v, want z kept", got)
	}
}

func TestDropDeliversWillDisconnectDoesNot(t *testing.T) {
	tests := []struct {
		name     string
		end      func(brokerLink)
		wantWill bool
	}{
		{"drop", func(l brokerLink) { l.Drop() }, true},
		{"disconnect", func(l brokerLink) { l.Disconnect(time.Second) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startEmbedded(t, EmbeddedOptions{})
			h := observe(t, b)
			watcher := newPeer(t, b.Addr())
			watcher.subscribe(t, "will/#")
			cfg := plainConfig(b.Addr(), "dev-"+tt.name)
			cfg.Will = &willMessage{Topic: "will/dev", Payload: []byte("gone"), QoS: 1}
			rec := newRecorder()
			link := dialTest(t, cfg, rec.events(), simcom.CodeOK)
			tt.end(link)
			if link.Connected() {
				t.Error("Connected() = true after the end of the link")
			}
			// Once the broker is done with the client, a marker published
			// afterwards shows whether a will came first.
			h.waitGone(t, cfg.ClientID)
			newPeer(t, b.Addr()).publish(t, "will/marker", 1, false, []byte("marker"))
			got := watcher.next(t)
			if gotWill := got.topic == "will/dev"; gotWill != tt.wantWill {
				t.Errorf("first message %+v; want will: %v", got, tt.wantWill)
			}
			select {
			case c := <-rec.lost:
				t.Errorf("Lost(%d) reported after a local %s", c, tt.name)
			default:
			}
		})
	}
}

func TestServerCloseReportsLost1(t *testing.T) {
	b := startEmbedded(t, EmbeddedOptions{})
	rec := newRecorder()
	link := dialTest(t, plainConfig(b.Addr(), "victim"), rec.events(), simcom.CodeOK)
	if code := link.Subscribe([]string{"t"}, []byte{1}, testWait); code != simcom.CodeOK {
		t.Fatalf("Subscribe = %d", code)
	}
	newPeer(t, b.Addr()).publish(t, "t", 1, false, []byte("before"))
	if got := rec.next(t); got.payload != "before" {
		t.Fatalf("got %+v", got)
	}
	if !b.DropClient("victim") {
		t.Fatal("DropClient: no such client")
	}
	if cause := rec.nextLost(t); cause != 1 {
		t.Errorf("Lost(%d), want 1 (socket closed passively)", cause)
	}
	if link.Connected() {
		t.Error("Connected() = true after the loss")
	}
	if code := link.Publish("t", []byte("x"), 1, false, false, testWait); code != simcom.CodeNoConnection {
		t.Errorf("Publish after loss = %d, want 11", code)
	}
}

func TestResetReportsLost2(t *testing.T) {
	f := startFakeBroker(t)
	rec := newRecorder()
	link := dialTest(t, plainConfig(f.Addr(), "victim"), rec.events(), simcom.CodeOK)
	c := f.accepted(t).(*net.TCPConn)
	if err := c.SetLinger(0); err != nil { // Close sends RST
		t.Fatal(err)
	}
	_ = c.Close()
	if cause := rec.nextLost(t); cause != 2 {
		t.Errorf("Lost(%d), want 2 (socket reset)", cause)
	}
	if link.Connected() {
		t.Error("Connected() = true after the reset")
	}
}

func TestUnansweredPingReportsLost3(t *testing.T) {
	f := startFakeBroker(t)
	rec := newRecorder()
	cfg := plainConfig(f.Addr(), "pinger")
	cfg.KeepAlive = 1
	link := dialTest(t, cfg, rec.events(), simcom.CodeOK)
	f.accepted(t) // reads nothing: the PINGREQ goes unanswered
	if cause := rec.nextLost(t); cause != 3 {
		t.Errorf("Lost(%d), want 3 (network closed)", cause)
	}
	if link.Connected() {
		t.Error("Connected() = true after the keepalive failed")
	}
}

func TestPublishWithoutAckTimesOut(t *testing.T) {
	f := startFakeBroker(t)
	link := dialTest(t, plainConfig(f.Addr(), "pub"), newRecorder().events(), simcom.CodeOK)
	f.accepted(t) // the fake broker reads nothing more and never acknowledges
	if code := link.Publish("t", []byte("x"), 1, false, false, 50*time.Millisecond); code != simcom.CodeTimeout {
		t.Errorf("Publish without PUBACK = %d, want 17", code)
	}
}

func TestLinkClosedAnswersNoConnection(t *testing.T) {
	b := startEmbedded(t, EmbeddedOptions{})
	link := dialTest(t, plainConfig(b.Addr(), "c"), newRecorder().events(), simcom.CodeOK)
	if code := link.Disconnect(time.Second); code != simcom.CodeOK {
		t.Fatalf("Disconnect = %d", code)
	}
	checks := map[string]simcom.ResultCode{
		"publish":     link.Publish("t", []byte("x"), 1, false, false, time.Second),
		"subscribe":   link.Subscribe([]string{"t"}, []byte{0}, time.Second),
		"unsubscribe": link.Unsubscribe([]string{"t"}, time.Second),
		"disconnect":  link.Disconnect(time.Second),
	}
	for op, code := range checks {
		if code != simcom.CodeNoConnection {
			t.Errorf("%s after Disconnect = %d, want 11", op, code)
		}
	}
	link.Drop() // harmless after Disconnect
}

func TestLostCauseMapping(t *testing.T) {
	opErr := func(errno syscall.Errno) error {
		return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", errno)}
	}
	tests := []struct {
		err  error
		want int
	}{
		{io.EOF, 1},
		{io.ErrUnexpectedEOF, 1},
		{fmt.Errorf("wrapped: %w", io.EOF), 1},
		{opErr(syscall.ECONNRESET), 2},
		{opErr(syscall.EPIPE), 2},
		{opErr(syscall.ENETUNREACH), 3},
		{os.ErrDeadlineExceeded, 3},
		{errors.New("pingresp not received, disconnecting"), 3},
	}
	for _, tt := range tests {
		if got := lostCause(tt.err); got != tt.want {
			t.Errorf("lostCause(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
