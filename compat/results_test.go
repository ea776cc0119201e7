package compat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

func TestConnectRefusal(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		rc3, rc5 byte
	}{
		{"protocol", &atmodem.ResultError{Command: "AT+CMQTTCONNECT", Code: 27}, 1, 0x84},
		{"identifier", &atmodem.ResultError{Command: "AT+CMQTTCONNECT", Code: 28}, 2, 0x85},
		{"unavailable", &atmodem.ResultError{Command: "AT+CMQTTCONNECT", Code: 29}, 3, 0x88},
		{"credentials", fmt.Errorf("wrapped: %w", &atmodem.ResultError{Command: "AT+CMQTTCONNECT", Code: 30}), 4, 0x86},
		{"not authorized", &atmodem.ResultError{Command: "AT+CMQTTCONNECT", Code: 31}, 5, 0x87},
		{"sock connect fail", &atmodem.ResultError{Command: "AT+CMQTTCONNECT", Code: 3}, 3, 0x88},
		{"client ID too long", &atmodem.ParamError{Param: "clientID"}, 2, 0x85},
		{"password", &atmodem.ParamError{Param: "pass_word"}, 4, 0x86},
		{"will topic", &atmodem.ParamError{Param: "topic"}, 3, 0x80},
		{"timeout", atmodem.ErrTimeout, 3, 0x88},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc3, rc5 := connectRefusal(tt.err)
			if rc3 != tt.rc3 || rc5 != tt.rc5 {
				t.Errorf("connectRefusal = %d, 0x%02X; want %d, 0x%02X", rc3, rc5, tt.rc3, tt.rc5)
			}
		})
	}
}

func TestLostErrorWrapsBoth(t *testing.T) {
	for _, kind := range []struct {
		ev       atmodem.Event
		sentinel error
	}{
		{atmodem.Event{Kind: atmodem.EventConnLost, Err: fmt.Errorf("cause 1: %w", atmodem.ErrConnectionLost)}, atmodem.ErrConnectionLost},
		{atmodem.Event{Kind: atmodem.EventReset, Err: atmodem.ErrModemReset}, atmodem.ErrModemReset},
		{atmodem.Event{Kind: atmodem.EventNoNetwork, Err: atmodem.ErrNoNetwork}, atmodem.ErrNoNetwork},
	} {
		err := lostError(kind.ev)
		if !errors.Is(err, io.EOF) || !errors.Is(err, kind.sentinel) {
			t.Errorf("lostError(%v) = %v", kind.ev.Kind, err)
		}
	}
}

func TestClampKeepAlive(t *testing.T) {
	sim := atmodem.Range{Min: 60, Max: 64800}
	tests := []struct {
		in   uint16
		want time.Duration
	}{
		{0, 0},
		{30, 60 * time.Second},
		{120, 120 * time.Second},
		{65535, 64800 * time.Second},
	}
	for _, tt := range tests {
		if got := clampKeepAlive(tt.in, sim); got != tt.want {
			t.Errorf("clampKeepAlive(%d) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if id := assignClientID(); len(id) != 21 {
		t.Errorf("assigned client ID %q: %d bytes, want 21", id, len(id))
	}
}

func TestOptionChecks(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
		ok   bool
	}{
		{"index 1", WithClientIndex(1), true},
		{"index 2", WithClientIndex(2), false},
		{"index -1", WithClientIndex(-1), false},
		{"publish timeout 90 s", WithPublishTimeout(90 * time.Second), true},
		{"publish timeout 10 s", WithPublishTimeout(10 * time.Second), false},
		{"disconnect timeout 0", WithDisconnectTimeout(0), true},
		{"disconnect timeout 200 s", WithDisconnectTimeout(200 * time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newConfig([]Option{tt.opt}).check()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, atmodem.ErrInvalidParameter)) {
				t.Errorf("check = %v, want ok %t", err, tt.ok)
			}
		})
	}
}

// TestServeRefusesBadBroker: a broker URL the modem cannot carry is an
// error of Serve and Dial at once, not a refusal of every client later.
func TestServeRefusesBadBroker(t *testing.T) {
	m := atmodem.New(newNopPort())
	defer m.Close()
	for _, server := range []string{`tcp://a"b:1883`, "tcp://a\rb:1883", "http://broker:1883"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- Serve(ln, m, server) }()
		select {
		case err := <-served:
			if err == nil {
				t.Errorf("Serve(%q) returned nil", server)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Serve(%q) accepts clients", server)
			ln.Close()
			<-served
		}
		ln.Close()
		if c, err := Dial(context.Background(), m, server); err == nil {
			c.Close()
			t.Errorf("Dial(%q) dialled", server)
		}
	}
}

// nopPort is an AT port that never answers: nothing may be written to it.
type nopPort struct{ closed chan struct{} }

func newNopPort() *nopPort { return &nopPort{closed: make(chan struct{})} }

func (p *nopPort) Read([]byte) (int, error) {
	<-p.closed
	return 0, io.EOF
}
func (p *nopPort) Write(b []byte) (int, error) { panic(fmt.Sprintf("wrote %q to the modem", b)) }
func (p *nopPort) Close() error {
	close(p.closed)
	return nil
}
