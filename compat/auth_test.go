package compat

import (
	"net"
	"strings"
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/listener"
	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// authGateway runs Serve with local authentication (user "local",
// password "pw") in front of a broker that takes only "device"/"secret".
func authGateway(t *testing.T) (*rig, string) {
	t.Helper()
	r := newRig(t, modemsim.EmbeddedOptions{Username: "device", Password: "secret"}, simcom.A7600)
	auth, err := listener.Config{Addr: "127.0.0.1:0", Username: "local", Password: "pw"}.Authenticator()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- Serve(ln, r.modem, r.broker.URL(), WithLogger(testLogger()),
			WithAuthenticator(auth), WithBrokerCredentials("device", "secret"))
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return r, ln.Addr().String()
}

// TestServeAuthenticator: with local authentication, a client without
// credentials or with wrong ones is refused before anything reaches the
// modem; one with the local credentials is served, and the modem connects
// with the broker's credentials, not the local ones.
func TestServeAuthenticator(t *testing.T) {
	r, addr := authGateway(t)
	tests := []struct {
		name       string
		user, pass string
		rc311      byte
		rc5        byte
	}{
		{"anonymous", "", "", 5, 0x87},
		{"wrong password", "local", "guess", 4, 0x86},
		{"unknown user", "device", "secret", 4, 0x86},
		{"local credentials", "local", "pw", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/3.1.1", func(t *testing.T) {
			o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("auth-311").SetProtocolVersion(4).
				SetAutoReconnect(false).SetConnectTimeout(waitTimeout).SetUsername(tt.user).SetPassword(tt.pass)
			c := mqtt.NewClient(o)
			tok := c.Connect()
			if !tok.WaitTimeout(waitTimeout) {
				t.Fatal("no CONNACK")
			}
			if rc := tok.(*mqtt.ConnectToken).ReturnCode(); rc != tt.rc311 {
				t.Fatalf("return code %d (%v), want %d", rc, tok.Error(), tt.rc311)
			}
			if tt.rc311 == 0 {
				waitToken(t, c.Publish("auth/x", 1, false, "through"), "publish")
				c.Disconnect(1000)
			}
		})
		t.Run(tt.name+"/5", func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c := paho.NewClient(paho.ClientConfig{Conn: conn})
			cp := &paho.Connect{ClientID: "auth-5", KeepAlive: 30, CleanStart: true}
			if tt.user != "" {
				cp.Username, cp.UsernameFlag, cp.Password, cp.PasswordFlag = tt.user, true, []byte(tt.pass), true
			}
			ca, err := c.Connect(testContext(t), cp)
			if ca == nil || ca.ReasonCode != tt.rc5 {
				t.Fatalf("CONNACK %+v, %v; want 0x%02X", ca, err, tt.rc5)
			}
			if tt.rc5 == 0 {
				_ = c.Disconnect(&paho.Disconnect{})
			}
			<-c.Done()
		})
	}
	// The refused clients took no client index: the modem saw one
	// connection sequence per accepted client, with the broker's user.
	var sent strings.Builder
	for _, e := range r.sim.Transcript() {
		if e.Dir == modemsim.ToModem {
			sent.Write(e.Data)
		}
	}
	if n := strings.Count(sent.String(), "AT+CMQTTACCQ="); n != 2 {
		t.Errorf("%d AT+CMQTTACCQ sent, want 2 (one per accepted client)", n)
	}
	if strings.Contains(sent.String(), `"local"`) || !strings.Contains(sent.String(), `"device"`) {
		t.Errorf("the modem did not connect with the broker's credentials only:\n%s", sent.String())
	}
}
