package cellmqtt

import (
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/queue"
)

func TestNewClientOptionsDefaults(t *testing.T) {
	o := NewClientOptions()
	tests := []struct {
		name      string
		got, want any
	}{
		{"CleanSession", o.CleanSession, true},
		{"Order", o.Order, true},
		{"AutoReconnect", o.AutoReconnect, true},
		{"ConnectRetry", o.ConnectRetry, false},
		{"ConnectRetryInterval", o.ConnectRetryInterval, 30 * time.Second},
		{"MaxReconnectInterval", o.MaxReconnectInterval, 10 * time.Minute},
		{"ConnectTimeout", o.ConnectTimeout, 30 * time.Second},
		{"WriteTimeout", o.WriteTimeout, time.Duration(0)},
		{"ResumeSubs", o.ResumeSubs, false},
		{"KeepAlive", o.KeepAlive, 60 * time.Second},
		{"ClientIndex", o.ClientIndex, -1},
		{"Model", o.Model, atmodem.AutoDetect},
		{"LivenessInterval", o.LivenessInterval, DefaultLivenessInterval},
		{"QueuePolicy", o.QueuePolicy, queue.Block},
		{"DropQoS0WhenOffline", o.DropQoS0WhenOffline, false},
		{"WillEnabled", o.WillEnabled, false},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestSetters(t *testing.T) {
	h := func(Client, Message) {}
	l := slog.New(slog.DiscardHandler)
	o := NewClientOptions().
		AddBroker(":1883").AddBroker("mqtts://example.com").
		SetClientID("id").SetUsername("u").SetPassword("p").
		SetKeepAlive(2*time.Minute).SetCleanSession(false).
		SetWill("w", "bye", 1, false).
		SetAutoReconnect(false).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(time.Minute).
		SetConnectTimeout(5*time.Second).SetWriteTimeout(90*time.Second).
		SetDefaultPublishHandler(h).SetOrderMatters(false).SetResumeSubs(true).
		SetSerialPort("/dev/ttyUSB2", 0).SetClientIndex(1).SetModel(atmodem.SIM7600).
		SetTLS(TLSConfig{Context: 3, AuthMode: atmodem.AuthServer, CACert: CertPEM("ca.pem", []byte("x"))}).
		SetQueueLimits(10, 1000, queue.DropOldest).SetQueueDir("/tmp/q").SetDropQoS0WhenOffline(true).
		SetAPN("internet").SetWaitNetwork(time.Minute).SetLivenessInterval(time.Second).
		SetMessageBufferLimit(5).SetLogger(l)
	if !reflect.DeepEqual(o.Servers, []string{"127.0.0.1:1883", "mqtts://example.com"}) {
		t.Errorf("Servers = %v", o.Servers)
	}
	if o.ClientID != "id" || o.Username != "u" || o.Password != "p" || o.KeepAlive != 2*time.Minute || o.CleanSession {
		t.Errorf("identity options not set: %+v", o)
	}
	if !o.WillEnabled || o.WillTopic != "w" || string(o.WillPayload) != "bye" || o.WillQos != 1 || o.WillRetained {
		t.Errorf("will not set")
	}
	if o.UnsetWill().WillEnabled {
		t.Errorf("UnsetWill kept the will")
	}
	if o.AutoReconnect || !o.ConnectRetry || o.ConnectRetryInterval != time.Second || o.MaxReconnectInterval != time.Minute ||
		o.ConnectTimeout != 5*time.Second || o.WriteTimeout != 90*time.Second || o.Order || !o.ResumeSubs || o.DefaultPublishHandler == nil {
		t.Errorf("behaviour options not set")
	}
	if o.SerialPort != "/dev/ttyUSB2" || o.ClientIndex != 1 || o.Model != atmodem.SIM7600 || o.TLS == nil || o.TLS.Context != 3 {
		t.Errorf("modem options not set")
	}
	if o.QueueMaxMessages != 10 || o.QueueMaxBytes != 1000 || o.QueuePolicy != queue.DropOldest || o.QueueDir != "/tmp/q" || !o.DropQoS0WhenOffline {
		t.Errorf("queue options not set")
	}
	if o.APN != "internet" || o.NetworkWait != time.Minute || o.LivenessInterval != time.Second || o.MessageBufferLimit != 5 || o.Logger != l {
		t.Errorf("cellular options not set")
	}
}

func TestTLSConfigConversion(t *testing.T) {
	var none *TLSConfig
	if none.atmodem() != nil {
		t.Fatal("nil TLSConfig converted to non-nil")
	}
	c := TLSConfig{Context: 2, AuthMode: atmodem.AuthServerClient, IgnoreLocalTime: true, NegotiateTimeout: 30 * time.Second,
		CACert: CertPEM("ca.pem", []byte("ca")), ClientCert: CertOnModem("cl.pem"), ClientKey: CertOnModem("key.pem")}
	got := c.atmodem()
	want := &atmodem.TLSConfig{Context: 2, SSLVersion: 4, AuthMode: atmodem.AuthServerClient, IgnoreLocalTime: true,
		NegotiateTime: 30 * time.Second, CACert: atmodem.Cert{Name: "ca.pem", Data: []byte("ca")},
		ClientCert: atmodem.Cert{Name: "cl.pem"}, ClientKey: atmodem.Cert{Name: "key.pem"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("atmodem() = %+v, want %+v", got, want)
	}
	c.SSLVersion = 3
	if c.atmodem().SSLVersion != 3 {
		t.Error("SSLVersion 3 not kept")
	}
}
