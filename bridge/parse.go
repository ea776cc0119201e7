package bridge

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Errors of the configuration, usable with errors.Is.
var (
	// ErrConfig: the configuration is invalid (every configuration error
	// wraps it).
	ErrConfig = errors.New("bridge: invalid configuration")
	// ErrUnsupported: a mosquitto keyword (or value) the bridge cannot
	// honour over the modem. It also wraps ErrConfig.
	ErrUnsupported = fmt.Errorf("%w: not supported over the modem", ErrConfig)
)

// ConfigError is an error in a configuration file, with where it is.
type ConfigError struct {
	File    string // the file name given to ParseConfig
	Line    int    // 1-based line number
	Keyword string // the keyword of the line
	Err     error
}

// Error gives "file:line: keyword: problem".
func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, e.Keyword, e.Err)
}

// Unwrap gives the problem.
func (e *ConfigError) Unwrap() error { return e.Err }

// ParseFile reads a bridge configuration file in mosquitto.conf syntax.
func ParseFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	defer f.Close()
	return ParseConfig(f, path)
}

// ParseConfig reads one bridge connection in mosquitto.conf syntax: a
// "connection <name>" line, then the bridge keywords that apply over the
// modem (address, topic, remote_clientid, remote_username,
// remote_password, bridge_cafile, bridge_certfile, bridge_keyfile,
// bridge_tls_version, keepalive_interval, cleansession, notifications,
// notification_topic, notifications_local_only true, restart_timeout,
// bridge_attempt_unsubscribe, bridge_outgoing_retain,
// bridge_protocol_version mqttv311, try_private, round_robin false,
// start_type automatic, and the local_* keywords used with an existing
// local broker). Anywhere in the input, as in a mosquitto.conf, it also
// reads the keywords of one listener for the embedded local broker
// (listener PORT [ADDRESS], password_file, certfile, keyfile,
// allow_anonymous, protocol mqtt) into Config.Listener. A keyword it
// cannot honour is refused with an error that names it and wraps
// ErrUnsupported; comments (#) and blank lines are skipped. name names the
// input in errors. The result is checked with Config.Check.
func ParseConfig(r io.Reader, name string) (*Config, error) {
	var c *Config
	var l ListenerConfig
	listeners := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kw, rest := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			kw, rest = line[:i], strings.TrimSpace(line[i+1:])
		}
		wrap := func(err error) error {
			if !errors.Is(err, ErrConfig) {
				err = fmt.Errorf("%w: %w", err, ErrConfig)
			}
			return &ConfigError{File: name, Line: n, Keyword: kw, Err: err}
		}
		if kw == "connection" {
			if c != nil {
				return nil, wrap(fmt.Errorf("a second connection (%q after %q): the bridge carries one connection over one modem client index; run one bridge per connection: %w", rest, c.Name, ErrUnsupported))
			}
			if rest == "" || len(strings.Fields(rest)) != 1 {
				return nil, wrap(errors.New("want one connection name"))
			}
			c = NewConfig(rest)
			continue
		}
		if lk, ok := listenerKeywords[kw]; ok {
			// mosquitto reads its listener keywords anywhere in the file.
			if lk.refuse != "" {
				return nil, wrap(fmt.Errorf("%s: %w", lk.refuse, ErrUnsupported))
			}
			if kw == "listener" {
				if listeners++; listeners > 1 {
					return nil, wrap(fmt.Errorf("a second listener: the bridge's local broker has one: %w", ErrUnsupported))
				}
			}
			if err := lk.set(&l, rest); err != nil {
				return nil, wrap(err)
			}
			continue
		}
		k, known := keywords[kw]
		if !known {
			return nil, wrap(fmt.Errorf("not a keyword that cellmqtt bridge reads: give a bridge section (connection, address, topic ...) and, for the local broker, listener, password_file, certfile, keyfile or allow_anonymous: %w", ErrUnsupported))
		}
		if c == nil {
			return nil, wrap(errors.New(`a bridge keyword before "connection <name>": the bridge section starts with its connection line`))
		}
		if k.refuse != "" {
			return nil, wrap(fmt.Errorf("%s: %w", k.refuse, ErrUnsupported))
		}
		if err := k.set(c, rest); err != nil {
			return nil, wrap(err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bridge: reading %s: %w", name, err)
	}
	if c == nil {
		return nil, fmt.Errorf("%s: no \"connection <name>\" line: %w", name, ErrConfig)
	}
	c.Listener = l
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// keyword is how one mosquitto keyword is read: set, or refused with the
// reason.
type keyword struct {
	set    func(c *Config, v string) error
	refuse string
}

// keywords are the mosquitto bridge keywords and what the bridge does
// with each.
var keywords = map[string]keyword{
	"address":   {set: setAddresses},
	"addresses": {set: setAddresses},
	"topic": {set: func(c *Config, v string) error {
		r, err := ParseRule(v)
		if err != nil {
			return err
		}
		c.Rules = append(c.Rules, r)
		return nil
	}},
	"remote_clientid": {set: setString(func(c *Config) *string { return &c.RemoteClientID })},
	"clientid":        {set: setString(func(c *Config) *string { return &c.RemoteClientID })},
	"remote_username": {set: setString(func(c *Config) *string { return &c.RemoteUsername })},
	"username":        {set: setString(func(c *Config) *string { return &c.RemoteUsername })},
	"remote_password": {set: setString(func(c *Config) *string { return &c.RemotePassword })},
	"password":        {set: setString(func(c *Config) *string { return &c.RemotePassword })},
	"bridge_cafile":   {set: setString(func(c *Config) *string { return &c.CAFile })},
	"bridge_certfile": {set: setString(func(c *Config) *string { return &c.CertFile })},
	"bridge_keyfile":  {set: setString(func(c *Config) *string { return &c.KeyFile })},
	"local_clientid":  {set: setString(func(c *Config) *string { return &c.LocalClientID })},
	"local_username":  {set: setString(func(c *Config) *string { return &c.LocalUsername })},
	"local_password":  {set: setString(func(c *Config) *string { return &c.LocalPassword })},
	"notification_topic": {set: func(c *Config, v string) error {
		if err := checkTopicName(v); err != nil {
			return fmt.Errorf("%q: %w", v, err)
		}
		c.NotificationTopic = v
		return nil
	}},
	"keepalive_interval": {set: func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 5 {
			return fmt.Errorf("%q: want whole seconds, at least 5", v)
		}
		c.KeepAlive = time.Duration(n) * time.Second
		return nil
	}},
	"restart_timeout": {set: setRestart},
	"cleansession":    {set: setBool(func(c *Config) *bool { return &c.CleanSession })},
	"local_cleansession": {set: func(c *Config, v string) error {
		b, err := parseBool(v)
		if err != nil {
			return err
		}
		c.LocalCleanSession = &b
		return nil
	}},
	"notifications":              {set: setBool(func(c *Config) *bool { return &c.Notifications })},
	"bridge_attempt_unsubscribe": {set: setBool(func(c *Config) *bool { return &c.AttemptUnsubscribe })},
	"bridge_outgoing_retain":     {set: setBool(func(c *Config) *bool { return &c.OutgoingRetain })},
	"notifications_local_only": {set: onlyValue("true",
		"false: the notifications go to the local broker only, because the modem cannot send a retained will that would mark the bridge down on the remote broker")},
	"bridge_protocol_version": {set: onlyValue("mqttv311",
		"the modem's MQTT client speaks MQTT 3.1.1 to the remote broker")},
	"try_private": {set: func(c *Config, v string) error {
		// Either value is accepted: the modem connects as an ordinary
		// client in any case, and the bridge drops the remote broker's
		// echo of what it sent (see the package documentation).
		_, err := parseBool(v)
		return err
	}},
	"round_robin": {set: onlyValue("false",
		"true: the bridge tries the addresses in the order given at every connection attempt")},
	"start_type": {set: onlyValue("automatic",
		"the bridge connects at start and reconnects after every loss (start_type automatic)")},
	"bridge_tls_version": {set: func(c *Config, v string) error {
		switch v {
		case "tlsv1.2":
			c.TLSVersion = 3
		case "tlsv1.1":
			c.TLSVersion = 2
		default:
			return fmt.Errorf("%q: the modem offers tlsv1.1 or tlsv1.2: %w", v, ErrUnsupported)
		}
		return nil
	}},

	"bridge_capath":          {refuse: "the modem takes certificate files, not a directory: use bridge_cafile"},
	"bridge_insecure":        {refuse: "the modem's TLS has no setting to skip the check of the server's host name"},
	"bridge_identity":        {refuse: "the modem's MQTT client has no TLS-PSK"},
	"bridge_psk":             {refuse: "the modem's MQTT client has no TLS-PSK"},
	"bridge_alpn":            {refuse: "the modem's TLS has no ALPN setting"},
	"bridge_require_ocsp":    {refuse: "the modem's TLS has no OCSP setting"},
	"bridge_bind_address":    {refuse: "the modem connects from its own cellular interface"},
	"bridge_max_packet_size": {refuse: "the modem carries payloads of up to 10240 bytes and topics of up to 1024 bytes; larger messages are refused by the bridge"},
	"idle_timeout":           {refuse: "only for start_type lazy, which the bridge does not have"},
	"threshold":              {refuse: "only for start_type lazy, which the bridge does not have"},
	"local_bind_address":     {refuse: "the bridge reaches an existing local broker with --local"},
}

// listenerKeyword is how one of mosquitto's listener keywords is read.
type listenerKeyword struct {
	set    func(l *ListenerConfig, v string) error
	refuse string
}

// noClientCerts is why the keywords of client certificates are refused.
const noClientCerts = "the local listener does not check client certificates: authenticate local clients with password_file"

// listenerKeywords are mosquitto's keywords for a listener and what the
// bridge does with each, for its embedded local broker.
var listenerKeywords = map[string]listenerKeyword{
	"listener":      {set: setListener},
	"password_file": {set: setString(func(l *ListenerConfig) *string { return &l.PasswordFile })},
	"certfile":      {set: setString(func(l *ListenerConfig) *string { return &l.CertFile })},
	"keyfile":       {set: setString(func(l *ListenerConfig) *string { return &l.KeyFile })},
	"allow_anonymous": {set: func(l *ListenerConfig, v string) error {
		b, err := parseBool(v)
		if err != nil {
			return err
		}
		l.AllowAnonymous = &b
		return nil
	}},
	"protocol": {set: func(_ *ListenerConfig, v string) error {
		if v != "mqtt" {
			return fmt.Errorf("%q: only mqtt: the local broker has no websockets listener: %w", v, ErrUnsupported)
		}
		return nil
	}},
	"port":                     {refuse: `give the local listener as "listener PORT [ADDRESS]"`},
	"bind_address":             {refuse: `give the local listener as "listener PORT [ADDRESS]"`},
	"bind_interface":           {refuse: `give the local listener as "listener PORT [ADDRESS]"`},
	"socket_domain":            {refuse: `give the local listener as "listener PORT [ADDRESS]" with an IPv4 or IPv6 address`},
	"cafile":                   {refuse: noClientCerts + " (bridge_cafile is the remote broker's CA)"},
	"capath":                   {refuse: noClientCerts},
	"crlfile":                  {refuse: noClientCerts},
	"require_certificate":      {refuse: noClientCerts},
	"use_identity_as_username": {refuse: noClientCerts},
	"use_subject_as_username":  {refuse: noClientCerts},
	"psk_file":                 {refuse: "the local listener has no TLS-PSK"},
	"psk_hint":                 {refuse: "the local listener has no TLS-PSK"},
	"tls_version":              {refuse: "the local listener speaks TLS 1.2 and 1.3, with Go's cipher suites"},
	"ciphers":                  {refuse: "the local listener speaks TLS 1.2 and 1.3, with Go's cipher suites"},
	"ciphers_tls1.3":           {refuse: "the local listener speaks TLS 1.2 and 1.3, with Go's cipher suites"},
	"acl_file":                 {refuse: "the local broker has no access control lists: every local client it lets in may use every topic"},
	"mount_point":              {refuse: "no mount point: give the topics' prefixes in the topic lines"},
}

// setListener reads "listener PORT [ADDRESS]": without an address, every
// interface, as in mosquitto.
func setListener(l *ListenerConfig, v string) error {
	f := strings.Fields(v)
	if len(f) < 1 || len(f) > 2 {
		return fmt.Errorf("%q: want \"listener PORT [ADDRESS]\"", v)
	}
	port, err := strconv.Atoi(f[0])
	if err != nil || port < 0 || port > 65535 {
		return fmt.Errorf("port %q: want 0-65535", f[0])
	}
	host := ""
	if len(f) == 2 {
		host = f[1]
		if strings.ContainsRune(host, '/') {
			return fmt.Errorf("%q: a unix socket: the local broker listens on TCP: %w", host, ErrUnsupported)
		}
	}
	l.Addr = net.JoinHostPort(host, strconv.Itoa(port))
	return nil
}

// setString stores a single value in a field of a Config or a
// ListenerConfig.
func setString[T any](field func(*T) *string) func(*T, string) error {
	return func(c *T, v string) error {
		if v == "" || len(strings.Fields(v)) != 1 {
			return fmt.Errorf("want one value, got %q", v)
		}
		*field(c) = v
		return nil
	}
}

// setBool stores true or false.
func setBool(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := parseBool(v)
		if err == nil {
			*field(c) = b
		}
		return err
	}
}

// parseBool reads mosquitto's true or false.
func parseBool(v string) (bool, error) {
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q: want true or false", v)
}

// onlyValue accepts the one value the bridge honours and refuses the others
// with the reason.
func onlyValue(want, reason string) func(*Config, string) error {
	return func(_ *Config, v string) error {
		if v == want {
			return nil
		}
		return fmt.Errorf("%q: only %s is supported: %s: %w", v, want, reason, ErrUnsupported)
	}
}

// setAddresses stores the address list.
func setAddresses(c *Config, v string) error {
	f := strings.Fields(v)
	if len(f) == 0 {
		return errors.New("want one or more address[:port]")
	}
	for _, a := range f {
		if _, _, err := splitAddress(a); err != nil {
			return err
		}
	}
	c.Addresses = f
	return nil
}

// setRestart reads "restart_timeout constant" or "restart_timeout base cap".
func setRestart(c *Config, v string) error {
	f := strings.Fields(v)
	secs := make([]time.Duration, len(f))
	for i, s := range f {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("%q: want whole seconds, at least 1", s)
		}
		secs[i] = time.Duration(n) * time.Second
	}
	switch len(secs) {
	case 1:
		c.RestartBase, c.RestartCap = secs[0], secs[0]
	case 2:
		if secs[1] < secs[0] {
			return fmt.Errorf("%q: the cap is below the base", v)
		}
		c.RestartBase, c.RestartCap = secs[0], secs[1]
	default:
		return fmt.Errorf("%q: want \"restart_timeout constant\" or \"restart_timeout base cap\"", v)
	}
	return nil
}
