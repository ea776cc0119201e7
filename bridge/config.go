package bridge

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// Config is one bridge connection as mosquitto.conf describes it (a
// "connection" section). ParseConfig reads it from mosquitto's syntax;
// NewConfig gives mosquitto's defaults for building one in code.
type Config struct {
	// Name is the connection name ("connection <name>").
	Name string
	// Addresses are the remote brokers as host[:port] (port 1883 when
	// omitted), tried in order at every connection attempt.
	Addresses []string
	// Rules are the topic lines, in order.
	Rules []Rule

	// RemoteClientID is the client ID on the remote broker; empty means
	// mosquitto's default, "<name>.<hostname>".
	RemoteClientID string
	// RemoteUsername and RemotePassword are the remote credentials.
	RemoteUsername, RemotePassword string

	// CAFile, CertFile and KeyFile are PEM files for TLS to the remote
	// broker (bridge_cafile, bridge_certfile, bridge_keyfile); a CA file
	// turns TLS on, as in mosquitto. They are uploaded to the modem.
	CAFile, CertFile, KeyFile string
	// TLSVersion is the modem's AT+CSSLCFG "sslversion" (bridge_tls_version:
	// tlsv1.1 is 2, tlsv1.2 is 3); 0 lets the modem offer every version.
	TLSVersion int

	// KeepAlive is keepalive_interval (default 60 s).
	KeepAlive time.Duration
	// CleanSession is cleansession (default false: the remote broker keeps
	// the bridge's subscriptions and queues its QoS 1 and 2 messages while
	// the link is down).
	CleanSession bool
	// RestartBase and RestartCap are restart_timeout: the reconnect backoff
	// starts at RestartBase and grows to RestartCap (default 5 s and 30 s;
	// "restart_timeout N" makes both N).
	RestartBase, RestartCap time.Duration

	// Notifications turns the bridge state messages on (default true).
	Notifications bool
	// NotificationTopic is where the state goes; empty means
	// "$SYS/broker/connection/<remote client ID>/state".
	NotificationTopic string

	// AttemptUnsubscribe is bridge_attempt_unsubscribe (default true): with
	// a persistent remote session, out-only rules are unsubscribed on the
	// remote broker after each connect so an older in rule stops
	// delivering.
	AttemptUnsubscribe bool
	// OutgoingRetain is bridge_outgoing_retain (default true); false clears
	// the retain flag of every message sent out.
	OutgoingRetain bool

	// LocalClientID, LocalUsername and LocalPassword are used when the
	// bridge joins an existing local broker as a client (default client
	// ID: "local.<remote client ID>").
	LocalClientID, LocalUsername, LocalPassword string
	// LocalCleanSession is local_cleansession for that client. The default
	// (nil) is a persistent session, so the local broker keeps what is
	// published while the bridge is not running.
	LocalCleanSession *bool

	// Listener is the embedded local broker's listener, from mosquitto's
	// listener keywords (outside the bridge section in mosquitto.conf).
	// Check does not check it: settings given elsewhere (the command's
	// flags) may complete it; Start does (ListenerConfig.Check).
	Listener ListenerConfig
}

// NewConfig returns a configuration with mosquitto's defaults for a
// connection called name.
func NewConfig(name string) *Config {
	return &Config{
		Name:               name,
		KeepAlive:          60 * time.Second,
		RestartBase:        5 * time.Second,
		RestartCap:         30 * time.Second,
		Notifications:      true,
		AttemptUnsubscribe: true,
		OutgoingRetain:     true,
	}
}

// ClientID is the remote client ID: RemoteClientID, or "<name>.<hostname>".
func (c *Config) ClientID() string {
	if c.RemoteClientID != "" {
		return c.RemoteClientID
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return c.Name + "." + host
}

// StateTopic is the topic of the notifications.
func (c *Config) StateTopic() string {
	if c.NotificationTopic != "" {
		return c.NotificationTopic
	}
	return "$SYS/broker/connection/" + c.ClientID() + "/state"
}

// localClientID is the client ID when joining an existing local broker.
func (c *Config) localClientID() string {
	if c.LocalClientID != "" {
		return c.LocalClientID
	}
	return "local." + c.ClientID()
}

// tls reports whether the remote connection uses TLS.
func (c *Config) tls() bool { return c.CAFile != "" }

// BrokerURLs are the addresses as broker URLs for the modem: tcp://, or
// ssl:// with a CA file.
func (c *Config) BrokerURLs() ([]string, error) {
	scheme := "tcp://"
	if c.tls() {
		scheme = "ssl://"
	}
	urls := make([]string, 0, len(c.Addresses))
	for _, a := range c.Addresses {
		host, port, err := splitAddress(a)
		if err != nil {
			return nil, err
		}
		urls = append(urls, scheme+net.JoinHostPort(host, strconv.Itoa(port)))
	}
	return urls, nil
}

// splitAddress splits mosquitto's address[:port] (an IPv6 address needs
// the port: the last colon separates it).
func splitAddress(a string) (string, int, error) {
	host, port := a, 1883
	if i := strings.LastIndexByte(a, ':'); i >= 0 {
		p, err := strconv.Atoi(a[i+1:])
		if err != nil || p < 1 || p > 65535 {
			return "", 0, fmt.Errorf("address %q: invalid port %q", a, a[i+1:])
		}
		host, port = strings.Trim(a[:i], "[]"), p
	}
	if host == "" {
		return "", 0, fmt.Errorf("address %q: no host", a)
	}
	return host, port, nil
}

// Check validates the configuration as a whole: what mosquitto checks, and
// what the modem cannot carry (client ID, credentials and keepalive outside
// the range of both model families, found before anything reaches the
// modem).
func (c *Config) Check() error {
	if c.Name == "" {
		return fmt.Errorf("no connection name: %w", ErrConfig)
	}
	if len(c.Addresses) == 0 {
		return fmt.Errorf("connection %s: no address: give the remote broker with \"address host[:port]\": %w", c.Name, ErrConfig)
	}
	if len(c.Rules) == 0 {
		return fmt.Errorf("connection %s: no topic: give at least one \"topic <pattern> [out|in|both] [qos]\" line: %w", c.Name, ErrConfig)
	}
	urls, err := c.BrokerURLs()
	if err != nil {
		return fmt.Errorf("connection %s: %w: %w", c.Name, err, ErrConfig)
	}
	if c.RemotePassword != "" && c.RemoteUsername == "" {
		return fmt.Errorf("connection %s: remote_password needs remote_username: %w", c.Name, ErrConfig)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return fmt.Errorf("connection %s: bridge_certfile and bridge_keyfile go together: %w", c.Name, ErrConfig)
	}
	if c.CertFile != "" && c.CAFile == "" {
		return fmt.Errorf("connection %s: bridge_certfile needs bridge_cafile (the CA file turns TLS on): %w", c.Name, ErrConfig)
	}
	if c.RestartBase <= 0 || c.RestartCap < c.RestartBase {
		return fmt.Errorf("connection %s: restart_timeout %v %v: want a positive base and a cap not below it: %w", c.Name, c.RestartBase, c.RestartCap, ErrConfig)
	}
	if err := checkTopicName(c.StateTopic()); err != nil {
		return fmt.Errorf("connection %s: notification_topic %q: %w: %w", c.Name, c.StateTopic(), err, ErrConfig)
	}
	for _, r := range c.Rules {
		if err := r.check(); err != nil {
			return fmt.Errorf("connection %s: topic %s: %w: %w", c.Name, r, err, ErrConfig)
		}
	}
	for _, u := range urls {
		err := atmodem.CheckConnectAnyModel(0, atmodem.ConnectOptions{
			Broker: u, ClientID: c.ClientID(), KeepAlive: c.KeepAlive,
			Username: c.RemoteUsername, Password: c.RemotePassword,
		})
		if err != nil {
			return fmt.Errorf("connection %s: the modem cannot connect as configured: %w: %w", c.Name, err, ErrConfig)
		}
	}
	return nil
}

// checkTopicName checks a topic to publish on.
func checkTopicName(t string) error {
	if err := checkFilter(t); err != nil {
		return err
	}
	if strings.ContainsAny(t, "+#") {
		return fmt.Errorf("a topic to publish on cannot hold a wildcard")
	}
	return nil
}
