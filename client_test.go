package cellmqtt

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

func TestPayloadBytes(t *testing.T) {
	buf := bytes.NewBufferString("buffer")
	src := []byte{0, 1, 2}
	tests := []struct {
		name    string
		in      interface{}
		want    []byte
		wantErr bool
	}{
		{"string", "text", []byte("text"), false},
		{"bytes", src, []byte{0, 1, 2}, false},
		{"bytes.Buffer", *bytes.NewBufferString("value"), []byte("value"), false},
		{"*bytes.Buffer", buf, []byte("buffer"), false},
		{"nil *bytes.Buffer", (*bytes.Buffer)(nil), nil, false},
		{"empty string", "", []byte{}, false},
		{"int", 42, nil, true},
		{"nil", nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := payloadBytes(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrPayloadType) {
					t.Fatalf("err = %v, want ErrPayloadType", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("payloadBytes = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestPubTimeout(t *testing.T) {
	tests := []struct{ in, want time.Duration }{
		{0, 60 * time.Second},
		{time.Second, 60 * time.Second},
		{90 * time.Second, 90 * time.Second},
		{90*time.Second + 500*time.Millisecond, 90 * time.Second},
		{time.Hour, 180 * time.Second},
	}
	for _, tt := range tests {
		if got := pubTimeout(tt.in); got != tt.want {
			t.Errorf("pubTimeout(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	lowest := func(int64) int64 { return 0 }
	highest := func(k int64) int64 { return k - 1 }
	tests := []struct {
		n             int
		initial, max  time.Duration
		wantLo, wantH time.Duration
	}{
		{0, time.Second, time.Minute, 500 * time.Millisecond, time.Second},
		{1, time.Second, time.Minute, time.Second, 2 * time.Second},
		{3, time.Second, time.Minute, 4 * time.Second, 8 * time.Second},
		{10, time.Second, time.Minute, 30 * time.Second, time.Minute}, // capped
		{100, time.Second, time.Minute, 30 * time.Second, time.Minute},
		{0, 0, 0, 500 * time.Millisecond, time.Second}, // zero initial means 1 s
		// A maximum below the first step is honoured, not raised (issue 12
		// point 8: paho does the same).
		{2, time.Minute, time.Second, 500 * time.Millisecond, time.Second},
		{0, time.Second, 200 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond},
	}
	for _, tt := range tests {
		lo := backoff(tt.n, tt.initial, tt.max, lowest)
		hi := backoff(tt.n, tt.initial, tt.max, highest)
		if lo != tt.wantLo || hi != tt.wantH {
			t.Errorf("backoff(%d, %v, %v) in [%v, %v], want [%v, %v]", tt.n, tt.initial, tt.max, lo, hi, tt.wantLo, tt.wantH)
		}
	}
	for range 1000 {
		if d := backoff(2, time.Second, time.Minute, jitter); d < 2*time.Second || d > 4*time.Second {
			t.Fatalf("backoff with jitter = %v, out of [2s, 4s]", d)
		}
	}
}

func TestCheckShared(t *testing.T) {
	long := strings.Repeat("a", 1025)
	pubs := []struct {
		name string
		p    atmodem.Publish
		ok   bool
	}{
		{"ok", atmodem.Publish{Topic: "a/b", Payload: []byte("x"), QoS: 2}, true},
		{"qos 3", atmodem.Publish{Topic: "a", QoS: 3}, false},
		{"empty topic", atmodem.Publish{Topic: ""}, false},
		{"long topic", atmodem.Publish{Topic: long}, false},
		{"bad utf8", atmodem.Publish{Topic: "a\xff"}, false},
		{"wildcard", atmodem.Publish{Topic: "a/+"}, false},
		{"payload too long", atmodem.Publish{Topic: "a", Payload: make([]byte, 10241)}, false},
		// Issue 13 point 5: mosquitto closes the connection for these.
		{"CR LF", atmodem.Publish{Topic: "a/b\r\n", QoS: 1}, false},
		{"C1 control", atmodem.Publish{Topic: "a\u0085b"}, false},
		{"DEL", atmodem.Publish{Topic: "a\x7f"}, false},
	}
	for _, tt := range pubs {
		err := atmodem.CheckPublishAnyModel(tt.p)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, atmodem.ErrInvalidParameter)) {
			t.Errorf("CheckPublishAnyModel(%s) = %v", tt.name, err)
		}
	}
	subs := []struct {
		s  atmodem.Subscription
		ok bool
	}{
		{atmodem.Subscription{Topic: "a/#", QoS: 1}, true},
		{atmodem.Subscription{Topic: "a/#/b"}, false},
		{atmodem.Subscription{Topic: "a", QoS: 3}, false},
		{atmodem.Subscription{Topic: ""}, false},
		{atmodem.Subscription{Topic: "a/\n/#"}, false},
	}
	for _, tt := range subs {
		if err := atmodem.CheckSubscribeAnyModel(tt.s); (err == nil) != tt.ok {
			t.Errorf("CheckSubscribeAnyModel(%+v) = %v", tt.s, err)
		}
	}
}

// TestNotConnected covers every call on a client that never connected: each
// fails with ErrNotConnected, as in paho.
func TestNotConnected(t *testing.T) {
	c := NewClient(NewClientOptions())
	if c.IsConnected() || c.IsConnectionOpen() {
		t.Fatal("new client reports connected")
	}
	toks := map[string]Token{
		"Publish":           c.Publish("a", 1, false, "x"),
		"Subscribe":         c.Subscribe("a", 1, nil),
		"SubscribeMultiple": c.SubscribeMultiple(map[string]byte{"a": 0}, nil),
		"Unsubscribe":       c.Unsubscribe("a"),
	}
	for name, tok := range toks {
		if !tok.WaitTimeout(time.Second) || !errors.Is(tok.Error(), ErrNotConnected) {
			t.Errorf("%s: %v, want ErrNotConnected", name, tok.Error())
		}
	}
	c.Disconnect(0) // no-op
}

// TestConnectConfigErrors: configuration errors fail Connect at once.
func TestConnectConfigErrors(t *testing.T) {
	rw := nopTransport{}
	tests := []struct {
		name string
		opts *ClientOptions
		want error
	}{
		{"no broker", NewClientOptions().SetTransport(rw), ErrNoBroker},
		{"bad scheme", NewClientOptions().SetTransport(rw).AddBroker("ws://h:1"), ErrBadBroker},
		{"path", NewClientOptions().SetTransport(rw).AddBroker("tcp://h:1/x"), ErrBadBroker},
		{"retained will", NewClientOptions().SetTransport(rw).AddBroker("tcp://h:1").SetWill("w", "x", 1, true), ErrWillRetained},
		{"no transport", NewClientOptions().AddBroker("tcp://h:1"), ErrNoTransport},
		{"index", NewClientOptions().SetTransport(rw).AddBroker("tcp://h:1").SetClientIndex(2), atmodem.ErrInvalidParameter},
		{"ssl context", NewClientOptions().SetTransport(rw).AddBroker("ssl://h").SetTLS(TLSConfig{Context: 10}), atmodem.ErrInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClient(tt.opts)
			tok := c.Connect()
			if !tok.WaitTimeout(5 * time.Second) {
				t.Fatal("Connect token not complete")
			}
			if !errors.Is(tok.Error(), tt.want) {
				t.Fatalf("Connect: %v, want %v", tok.Error(), tt.want)
			}
			if rc := tok.(*ConnectToken).ReturnCode(); rc != RCNetworkError {
				t.Errorf("ReturnCode = %d, want RCNetworkError", rc)
			}
			if c.IsConnected() {
				t.Error("connected after a configuration error")
			}
		})
	}
}

// nopTransport is a transport that must never be used.
type nopTransport struct{}

func (nopTransport) Read([]byte) (int, error)  { return 0, errors.New("nopTransport: read") }
func (nopTransport) Write([]byte) (int, error) { return 0, errors.New("nopTransport: write") }
func (nopTransport) Close() error              { return nil }
