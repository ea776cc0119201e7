package atmodem

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ServerType is the <server_type> of AT+CMQTTACCQ.
type ServerType int

// The server types of AT+CMQTTACCQ.
const (
	ServerTCP ServerType = 0 // MQTT server with TCP
	ServerTLS ServerType = 1 // MQTT server with SSL/TLS
)

// String names the server type.
func (t ServerType) String() string {
	switch t {
	case ServerTCP:
		return "tcp"
	case ServerTLS:
		return "tls"
	}
	return "ServerType(" + strconv.Itoa(int(t)) + ")"
}

// Default broker ports.
const (
	DefaultPort    = 1883 // plain MQTT
	DefaultTLSPort = 8883 // MQTT over TLS
)

// Broker is a parsed broker URL.
type Broker struct {
	// Addr is what the modem gets as <server_addr>: always "tcp://host:port"
	// (the manuals: "must begin with tcp://"); TLS is chosen by Type.
	Addr string
	// Type is ServerTLS for ssl://, tls:// and mqtts://, ServerTCP for
	// tcp:// and mqtt://.
	Type ServerType
	Host string
	Port int
}

// ParseBroker parses a broker URL: tcp:// and mqtt:// select server type 0,
// ssl://, tls:// and mqtts:// server type 1. A missing port defaults to 1883
// (plain) or 8883 (TLS). A URL without a scheme is taken as tcp://.
// ParseBroker does not check the modem's length limit; see Session.CheckConnect.
func ParseBroker(raw string) (Broker, error) {
	s := raw
	if !strings.Contains(s, "://") {
		s = "tcp://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return Broker{}, fmt.Errorf("atmodem: broker %q: %w", raw, err)
	}
	var b Broker
	port := DefaultPort
	switch strings.ToLower(u.Scheme) {
	case "tcp", "mqtt":
		b.Type = ServerTCP
	case "ssl", "tls", "mqtts":
		b.Type = ServerTLS
		port = DefaultTLSPort
	default:
		return Broker{}, fmt.Errorf("atmodem: broker %q: unsupported scheme %q (want tcp, mqtt, ssl, tls or mqtts): %w",
			raw, u.Scheme, ErrInvalidParameter)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return Broker{}, fmt.Errorf("atmodem: broker %q: only scheme://host[:port] is allowed: %w", raw, ErrInvalidParameter)
	}
	b.Host = u.Hostname()
	if b.Host == "" {
		return Broker{}, fmt.Errorf("atmodem: broker %q: no host: %w", raw, ErrInvalidParameter)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Broker{}, fmt.Errorf("atmodem: broker %q: port %q out of range 1-65535: %w", raw, p, ErrInvalidParameter)
		}
		port = n
	}
	b.Port = port
	b.Addr = "tcp://" + net.JoinHostPort(b.Host, strconv.Itoa(port))
	return b, nil
}
