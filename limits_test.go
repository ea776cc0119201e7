package cellmqtt

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// written returns every byte the host wrote to the emulated modem so far.
func written(s *modemsim.Sim) []byte {
	var b bytes.Buffer
	for _, e := range s.Transcript() {
		if e.Dir == modemsim.ToModem {
			b.Write(e.Data)
		}
	}
	return b.Bytes()
}

// TestIntegrationPublishSubscribeLimits: every limit and forbidden input of
// Publish, Subscribe and Unsubscribe fails the token at once with a clear
// error, and not one byte reaches the modem.
func TestIntegrationPublishSubscribeLimits(t *testing.T) {
	e := newEnv(t, modemsim.Config{Model: atmodem.A7600})
	c := e.connect(e.options("limits").SetLivenessInterval(0))
	long := strings.Repeat("t", 1025)
	tests := []struct {
		name string
		call func() Token
		want error
	}{
		{"topic 1025 bytes", func() Token { return c.Publish(long, 1, false, "x") }, atmodem.ErrInvalidParameter},
		{"empty topic", func() Token { return c.Publish("", 1, false, "x") }, atmodem.ErrInvalidParameter},
		{"topic not UTF-8", func() Token { return c.Publish("a/\xff", 1, false, "x") }, atmodem.ErrInvalidParameter},
		{"topic with +", func() Token { return c.Publish("a/+", 1, false, "x") }, atmodem.ErrInvalidParameter},
		{"topic with #", func() Token { return c.Publish("a/#", 1, false, "x") }, atmodem.ErrInvalidParameter},
		{"topic with NUL", func() Token { return c.Publish("a\x00b", 1, false, "x") }, atmodem.ErrInvalidParameter},
		{"payload 10241 bytes", func() Token { return c.Publish("a", 1, false, make([]byte, 10241)) }, atmodem.ErrInvalidParameter},
		{"qos 3", func() Token { return c.Publish("a", 3, false, "x") }, atmodem.ErrInvalidParameter},
		{"payload type", func() Token { return c.Publish("a", 1, false, 42) }, ErrPayloadType},
		{"filter 1025 bytes", func() Token { return c.Subscribe(long, 1, nil) }, atmodem.ErrInvalidParameter},
		{"empty filter", func() Token { return c.Subscribe("", 1, nil) }, atmodem.ErrInvalidParameter},
		{"filter # not last", func() Token { return c.Subscribe("a/#/b", 1, nil) }, atmodem.ErrInvalidParameter},
		{"filter a+", func() Token { return c.Subscribe("a+/b", 1, nil) }, atmodem.ErrInvalidParameter},
		{"filter not UTF-8", func() Token { return c.Subscribe("\xfe", 1, nil) }, atmodem.ErrInvalidParameter},
		{"subscribe qos 3", func() Token { return c.Subscribe("a", 3, nil) }, atmodem.ErrInvalidParameter},
		{"multiple, one bad", func() Token { return c.SubscribeMultiple(map[string]byte{"ok": 1, "bad/#/x": 1}, nil) }, atmodem.ErrInvalidParameter},
		{"multiple, none", func() Token { return c.SubscribeMultiple(nil, nil) }, atmodem.ErrInvalidParameter},
		{"unsubscribe empty", func() Token { return c.Unsubscribe("") }, atmodem.ErrInvalidParameter},
		{"unsubscribe none", func() Token { return c.Unsubscribe() }, atmodem.ErrInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(written(e.sim))
			tok := tt.call()
			if !tok.WaitTimeout(0) {
				t.Fatal("token not complete at once")
			}
			if !errors.Is(tok.Error(), tt.want) {
				t.Fatalf("error %v, want %v", tok.Error(), tt.want)
			}
			if after := written(e.sim); len(after) != before {
				t.Fatalf("%d bytes written to the modem: %q", len(after)-before, after[before:])
			}
		})
	}
	// The limits are inclusive: the largest topic and payload go through.
	mustWait(t, "largest publish", c.Publish(strings.Repeat("t", 1024), 1, false, make([]byte, 10240)))
}

// TestIntegrationConnectLimits: a connect parameter the modem would reject
// or misread fails Connect with nothing of the MQTT service touched.
func TestIntegrationConnectLimits(t *testing.T) {
	tests := []struct {
		name  string
		model atmodem.Model
		set   func(*ClientOptions)
	}{
		{"client ID with quote", atmodem.A7600, func(o *ClientOptions) { o.SetClientID(`a"b`) }},
		{"client ID with CR", atmodem.A7600, func(o *ClientOptions) { o.SetClientID("a\rb") }},
		{"client ID with LF", atmodem.A7600, func(o *ClientOptions) { o.SetClientID("a\nb") }},
		{"client ID with control byte", atmodem.A7600, func(o *ClientOptions) { o.SetClientID("a\x01b") }},
		{"empty client ID", atmodem.A7600, func(o *ClientOptions) { o.SetClientID("") }},
		{"client ID 129 bytes on A7600", atmodem.A7600, func(o *ClientOptions) { o.SetClientID(strings.Repeat("c", 129)) }},
		{"client ID 24 bytes on SIM7600", atmodem.SIM7600, func(o *ClientOptions) { o.SetClientID(strings.Repeat("c", 24)) }},
		{"keepalive 30 s on SIM7600", atmodem.SIM7600, func(o *ClientOptions) { o.SetKeepAlive(30 * time.Second) }},
		{"keepalive 64801 s", atmodem.A7600, func(o *ClientOptions) { o.SetKeepAlive(64801 * time.Second) }},
		{"user name with quote", atmodem.A7600, func(o *ClientOptions) { o.SetUsername(`u"`) }},
		{"user name 257 bytes", atmodem.A7600, func(o *ClientOptions) { o.SetUsername(strings.Repeat("u", 257)) }},
		{"password with CR", atmodem.A7600, func(o *ClientOptions) { o.SetUsername("u").SetPassword("p\r") }},
		{"password without user", atmodem.A7600, func(o *ClientOptions) { o.SetPassword("p") }},
		{"will topic 1025 bytes", atmodem.A7600, func(o *ClientOptions) { o.SetWill(strings.Repeat("w", 1025), "x", 1, false) }},
		{"will 1025 bytes on A7600", atmodem.A7600, func(o *ClientOptions) { o.SetBinaryWill("w", make([]byte, 1025), 1, false) }},
		{"will qos 3", atmodem.A7600, func(o *ClientOptions) { o.SetWill("w", "x", 3, false) }},
		{"server address 257 bytes", atmodem.A7600, func(o *ClientOptions) {
			o.Servers = []string{"tcp://" + strings.Repeat("h", 250) + ".example:1883"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, modemsim.Config{Model: tt.model})
			o := e.options("limits").SetModel(tt.model).SetConnectRetry(true)
			tt.set(o)
			c := NewClient(o)
			tok := c.Connect()
			if err := wait(t, tok); !errors.Is(err, atmodem.ErrInvalidParameter) {
				t.Fatalf("Connect: %v, want ErrInvalidParameter", err)
			}
			var pe *atmodem.ParamError
			if errors.As(tok.Error(), &pe) && pe.Model != tt.model {
				t.Errorf("ParamError names model %v, want %v", pe.Model, tt.model)
			}
			c.Disconnect(0)
			if w := written(e.sim); bytes.Contains(w, []byte("AT+CMQTT")) {
				t.Fatalf("MQTT commands written despite the bad parameter: %q", w)
			}
		})
	}
}

// TestConnectAutoDetectBadInputWritesNothing: before the model is known,
// input that no model family accepts fails Connect with not a single byte
// written, not even the model query; input that one family accepts waits
// for the model and fails after it with that family's limit.
func TestConnectAutoDetectBadInputWritesNothing(t *testing.T) {
	tests := []struct {
		name       string
		set        func(*ClientOptions)
		writesNone bool
	}{
		{"client ID with quote", func(o *ClientOptions) { o.SetClientID(`a"` + "\r\nAT+CRESET\r\n") }, true},
		{"password with LF", func(o *ClientOptions) { o.SetUsername("u").SetPassword("p\nAT+CMQTTSTOP") }, true},
		{"user name 257 bytes", func(o *ClientOptions) { o.SetUsername(strings.Repeat("u", 257)) }, true},
		{"client ID 129 bytes", func(o *ClientOptions) { o.SetClientID(strings.Repeat("c", 129)) }, true},
		{"will 10241 bytes", func(o *ClientOptions) { o.SetBinaryWill("w", make([]byte, 10241), 1, false) }, true},
		// 24 bytes suit the A7600 only: the emulated SIM7600 refuses them
		// after the model query, before any MQTT command.
		{"client ID 24 bytes", func(o *ClientOptions) { o.SetClientID(strings.Repeat("c", 24)) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, modemsim.Config{Model: atmodem.SIM7600})
			o := e.options("autodetect").SetModel(atmodem.AutoDetect)
			tt.set(o)
			c := NewClient(o)
			if err := wait(t, c.Connect()); !errors.Is(err, atmodem.ErrInvalidParameter) {
				t.Fatalf("Connect: %v, want ErrInvalidParameter", err)
			}
			c.Disconnect(0)
			w := written(e.sim)
			if tt.writesNone && len(w) != 0 {
				t.Fatalf("bytes written despite input no model accepts: %q", w)
			}
			if bytes.Contains(w, []byte("AT+CMQTT")) {
				t.Fatalf("MQTT commands written despite the bad parameter: %q", w)
			}
		})
	}
}
