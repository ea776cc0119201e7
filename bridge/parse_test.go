package bridge

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/listener"
)

func TestParseConfig(t *testing.T) {
	const conf = `# the bridge section of a mosquitto.conf
connection cloud
address 127.0.0.1:8883 backup.example.com
topic sensors/# out 1
topic cmd/# in 1
topic # both 2 local/ remote/
remote_clientid gw1
remote_username dev
remote_password s3cret
keepalive_interval 120
cleansession true
notifications true
notification_topic gw/state
notifications_local_only true
restart_timeout 2 10
bridge_attempt_unsubscribe false
bridge_outgoing_retain false
bridge_protocol_version mqttv311
try_private false
round_robin false
start_type automatic
local_clientid here
local_cleansession false
`
	c, err := ParseConfig(strings.NewReader(conf), "bridge.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Name:      "cloud",
		Addresses: []string{"127.0.0.1:8883", "backup.example.com"},
		Rules: []Rule{
			{Pattern: "sensors/#", Direction: Out, QoS: 1},
			{Pattern: "cmd/#", Direction: In, QoS: 1},
			{Pattern: "#", Direction: Both, QoS: 2, LocalPrefix: "local/", RemotePrefix: "remote/"},
		},
		RemoteClientID: "gw1", RemoteUsername: "dev", RemotePassword: "s3cret",
		KeepAlive: 120 * time.Second, CleanSession: true,
		RestartBase: 2 * time.Second, RestartCap: 10 * time.Second,
		Notifications: true, NotificationTopic: "gw/state",
		LocalClientID: "here",
	}
	if c.LocalCleanSession == nil || *c.LocalCleanSession {
		t.Errorf("LocalCleanSession = %v, want false", c.LocalCleanSession)
	}
	c.LocalCleanSession = nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("config:\n got %+v\nwant %+v", c, want)
	}
	urls, err := c.BrokerURLs()
	if err != nil || strings.Join(urls, " ") != "tcp://127.0.0.1:8883 tcp://backup.example.com:1883" {
		t.Errorf("BrokerURLs = %v, %v", urls, err)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig(strings.NewReader("connection c1\naddress example.com\ntopic a out\n"), "x.conf")
	if err != nil {
		t.Fatal(err)
	}
	if c.KeepAlive != 60*time.Second || c.CleanSession || !c.Notifications || c.RestartBase != 5*time.Second ||
		c.RestartCap != 30*time.Second || !c.AttemptUnsubscribe || !c.OutgoingRetain || c.LocalCleanSession != nil {
		t.Errorf("defaults differ from mosquitto's: %+v", c)
	}
	c.RemoteClientID = "gw"
	if c.StateTopic() != "$SYS/broker/connection/gw/state" || c.localClientID() != "local.gw" {
		t.Errorf("StateTopic %q localClientID %q", c.StateTopic(), c.localClientID())
	}
	c.RemoteClientID = ""
	if !strings.HasPrefix(c.ClientID(), "c1.") {
		t.Errorf("default client ID %q, want c1.<hostname>", c.ClientID())
	}
	tlsConf, err := ParseConfig(strings.NewReader("connection c1\naddress example.com:8883\ntopic a\nbridge_cafile ca.pem\n"), "x.conf")
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := tlsConf.BrokerURLs(); u[0] != "ssl://example.com:8883" {
		t.Errorf("with a CA file: %v, want ssl://", u)
	}
}

// TestParseConfigRefused: every keyword the bridge cannot honour is refused
// with the file, the line and the keyword named.
func TestParseConfigRefused(t *testing.T) {
	tests := []struct {
		line        string
		unsupported bool
		want        string
	}{
		{"bridge_capath /etc/ssl/certs", true, "x.conf:4: bridge_capath: the modem takes certificate files"},
		{"bridge_insecure true", true, "x.conf:4: bridge_insecure: "},
		{"bridge_identity me", true, "x.conf:4: bridge_identity: the modem's MQTT client has no TLS-PSK"},
		{"bridge_psk 0123", true, "x.conf:4: bridge_psk: "},
		{"bridge_alpn x", true, "x.conf:4: bridge_alpn: "},
		{"bridge_require_ocsp true", true, "x.conf:4: bridge_require_ocsp: "},
		{"bridge_bind_address 10.0.0.1", true, "x.conf:4: bridge_bind_address: "},
		{"bridge_max_packet_size 100", true, "x.conf:4: bridge_max_packet_size: "},
		{"idle_timeout 60", true, "x.conf:4: idle_timeout: "},
		{"threshold 10", true, "x.conf:4: threshold: "},
		{"start_type lazy", true, `x.conf:4: start_type: "lazy": only automatic is supported`},
		{"round_robin true", true, `x.conf:4: round_robin: "true": only false`},
		{"bridge_protocol_version mqttv50", true, `x.conf:4: bridge_protocol_version: "mqttv50": only mqttv311`},
		{"notifications_local_only false", true, `x.conf:4: notifications_local_only: "false": only true`},
		{"bridge_tls_version tlsv1.3", true, `x.conf:4: bridge_tls_version: "tlsv1.3"`},
		{"connection second", true, `x.conf:4: connection: a second connection ("second" after "c1")`},
		{"persistence true", true, "x.conf:4: persistence: not a keyword that cellmqtt bridge reads"},
		// The local listener's keywords that the embedded broker cannot honour.
		{"cafile /etc/ca.pem", true, "x.conf:4: cafile: the local listener does not check client certificates"},
		{"require_certificate true", true, "x.conf:4: require_certificate: the local listener does not check client certificates"},
		{"acl_file /etc/acl", true, "x.conf:4: acl_file: the local broker has no access control lists"},
		{"port 1883", true, `x.conf:4: port: give the local listener as "listener PORT [ADDRESS]"`},
		{"psk_file /etc/psk", true, "x.conf:4: psk_file: the local listener has no TLS-PSK"},
		{"protocol websockets", true, `x.conf:4: protocol: "websockets": only mqtt`},
		{"listener 1883 /run/mqtt.sock", true, `x.conf:4: listener: "/run/mqtt.sock": a unix socket`},
		{"listener 70000", false, `x.conf:4: listener: port "70000": want 0-65535`},
		{"listener", false, `x.conf:4: listener: "": want "listener PORT [ADDRESS]"`},
		{"allow_anonymous yes", false, `x.conf:4: allow_anonymous: "yes": want true or false`},
		{"password_file", false, "x.conf:4: password_file: want one value"},
		{"cleansession maybe", false, `x.conf:4: cleansession: "maybe": want true or false`},
		{"keepalive_interval 2", false, `x.conf:4: keepalive_interval: "2": want whole seconds, at least 5`},
		{"restart_timeout 10 5", false, "x.conf:4: restart_timeout: \"10 5\": the cap is below the base"},
		{"topic a/# out 5", false, `x.conf:4: topic: invalid QoS level "5"`},
		{"address host:99999", false, `x.conf:4: address: address "host:99999": invalid port`},
		{"notification_topic a/#", false, "x.conf:4: notification_topic: "},
		{"remote_clientid a b", false, "x.conf:4: remote_clientid: want one value"},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			conf := "# header\nconnection c1\naddress example.com\n" + tc.line + "\ntopic a out\n"
			_, err := ParseConfig(strings.NewReader(conf), "x.conf")
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v; want one starting with %q", err, tc.want)
			}
			if !errors.Is(err, ErrConfig) || errors.Is(err, ErrUnsupported) != tc.unsupported {
				t.Errorf("errors.Is(ErrConfig) %v, errors.Is(ErrUnsupported) %v; want true, %v", errors.Is(err, ErrConfig), errors.Is(err, ErrUnsupported), tc.unsupported)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Line != 4 {
				t.Errorf("errors.As(*ConfigError) = %v, line %v", ce, ce)
			}
		})
	}
}

// TestParseListener: mosquitto's listener keywords, anywhere in the file as
// in a mosquitto.conf, set the embedded broker's listener.
func TestParseListener(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		conf string
		want ListenerConfig
	}{
		{"", ListenerConfig{}},
		{"listener 1883\n", ListenerConfig{Addr: ":1883"}},
		{"listener 8883 0.0.0.0\npassword_file /etc/cellmqtt/passwd\ncertfile gw.pem\nkeyfile gw.key\nallow_anonymous false\nprotocol mqtt\n",
			ListenerConfig{Addr: "0.0.0.0:8883", PasswordFile: "/etc/cellmqtt/passwd", CertFile: "gw.pem", KeyFile: "gw.key", AllowAnonymous: &no}},
		{"listener 1883 ::1\nallow_anonymous true\n", ListenerConfig{Addr: "[::1]:1883", AllowAnonymous: &yes}},
	}
	for _, tc := range tests {
		// Before the bridge section, as mosquitto.conf puts its listeners,
		// and after it.
		for _, conf := range []string{tc.conf + "connection c\naddress a\ntopic x\n", "connection c\naddress a\ntopic x\n" + tc.conf} {
			c, err := ParseConfig(strings.NewReader(conf), "x.conf")
			if err != nil {
				t.Fatalf("%q: %v", conf, err)
			}
			if !reflect.DeepEqual(c.Listener, tc.want) {
				t.Errorf("%q: listener %+v, want %+v", conf, c.Listener, tc.want)
			}
		}
	}
	_, err := ParseConfig(strings.NewReader("listener 1883\nconnection c\naddress a\ntopic x\nlistener 1884\n"), "x.conf")
	if err == nil || !strings.HasPrefix(err.Error(), "x.conf:5: listener: a second listener") || !errors.Is(err, ErrUnsupported) {
		t.Errorf("two listeners: %v", err)
	}
}

// TestListenerCheck: who may reach the embedded broker and act with the
// device's identity; the rule of "cellmqtt gateway", with mosquitto's
// allow_anonymous.
func TestListenerCheck(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name     string
		l        ListenerConfig
		insecure bool   // wants internal/listener's ErrInsecure
		want     string // in the error; "" for none
	}{
		{"default", ListenerConfig{}, false, ""},
		{"loopback", ListenerConfig{Addr: "127.0.0.1:0"}, false, ""},
		{"every interface", ListenerConfig{Addr: ":1883"}, true, "can be reached from other machines"},
		{"every interface with a password file", ListenerConfig{Addr: ":1883", PasswordFile: "pw"}, false, ""},
		{"every interface with a user", ListenerConfig{Addr: ":1883", Username: "u", Password: "p"}, false, ""},
		{"every interface with TLS", ListenerConfig{Addr: ":8883", CertFile: "c.pem", KeyFile: "k.pem"}, false, ""},
		{"every interface accepted", ListenerConfig{Addr: ":1883", InsecureListen: true}, false, ""},
		{"every interface, allow_anonymous true", ListenerConfig{Addr: ":1883", AllowAnonymous: &yes}, false, ""},
		{"allow_anonymous false without a password file", ListenerConfig{AllowAnonymous: &no}, false, "allow_anonymous false without password_file"},
		{"allow_anonymous false with a password file", ListenerConfig{AllowAnonymous: &no, PasswordFile: "pw"}, false, ""},
		{"certificate without key", ListenerConfig{CertFile: "c.pem"}, false, "certificate needs its key"},
		{"user without password", ListenerConfig{Username: "u"}, false, "user name needs its password"},
		{"no port", ListenerConfig{Addr: "127.0.0.1"}, false, "HOST:PORT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.l.Check()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrConfig) || errors.Is(err, listener.ErrInsecure) != tc.insecure {
				t.Fatalf("Check: %v; want an ErrConfig containing %q (ErrInsecure %v)", err, tc.want, tc.insecure)
			}
		})
	}
}

// TestConfigCheck covers what is wrong only as a whole.
func TestConfigCheck(t *testing.T) {
	tests := []struct {
		conf, want string
	}{
		{"address a\ntopic x\n", `x.conf:1: address: a bridge keyword before "connection <name>"`},
		{"", `x.conf: no "connection <name>" line`},
		{"connection c\ntopic x\n", "no address"},
		{"connection c\naddress a\n", "no topic"},
		{"connection c\naddress a\ntopic x\nremote_password p\n", "remote_password needs remote_username"},
		{"connection c\naddress a\ntopic x\nbridge_cafile ca\nbridge_certfile c\n", "bridge_certfile and bridge_keyfile go together"},
		{"connection c\naddress a\ntopic x\nbridge_certfile c\nbridge_keyfile k\n", "bridge_certfile needs bridge_cafile"},
		{"connection c\naddress a\ntopic x\nremote_clientid " + strings.Repeat("i", 129) + "\n", "the modem cannot connect as configured"},
		{"connection c\naddress a\ntopic x\nremote_clientid a\"b\n", "the modem cannot connect as configured"},
	}
	for _, tc := range tests {
		_, err := ParseConfig(strings.NewReader(tc.conf), "x.conf")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrConfig) {
			t.Errorf("%q: error %v; want one containing %q that wraps ErrConfig", tc.conf, err, tc.want)
		}
	}
}
