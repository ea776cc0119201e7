package modemsim

import (
	"context"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// This file is the contract between the AT front-end of the emulator (the
// parser, the command handlers and the state machine) and its MQTT back-end
// (backend.go, tlsconfig.go), which holds the real broker connections.

// sslContext is one AT+CSSLCFG context (0-9).
type sslContext struct {
	Version         int  // sslversion 0-4 (0 SSL3.0, 1 TLS1.0, 2 TLS1.1, 3 TLS1.2, 4 all)
	AuthMode        int  // 0-3
	IgnoreLocalTime bool // ignore the validity dates of the server certificate
	NegotiateTime   int  // seconds, 10-300, default 300
	// File names on the emulated modem (AT+CCERTDOWN); empty when unset.
	CACert, ClientCert, ClientKey string
}

// linkConfig is what AT+CMQTTCONNECT (plus ACCQ, WILL*, SSLCFG) gives the backend.
type linkConfig struct {
	Addr               string // host:port to dial (already redirected by Config.Broker)
	TLS                bool   // server type 1
	SSL                sslContext
	Certs              func(name string) ([]byte, bool) // the emulated file system of AT+CCERTDOWN
	ClientID           string
	ProtocolLevel      byte // 3 MQTT 3.1 ("MQIsdp"), 4 MQTT 3.1.1
	KeepAlive          int  // seconds
	CleanSession       bool
	Username, Password string
	HasUsername        bool
	HasPassword        bool
	Will               *willMessage  // nil: no will
	RTT                time.Duration // broker round trip added, half each way (Config.RTT)
}

// willMessage is the will of AT+CMQTTWILLTOPIC and AT+CMQTTWILLMSG.
type willMessage struct {
	Topic   string
	Payload []byte
	QoS     byte
}

// linkEvents are how the backend reports back; called from backend goroutines.
type linkEvents struct {
	Message func(topic string, payload []byte)
	Lost    func(cause int) // 1 socket closed passively, 2 socket reset, 3 network closed
}

// brokerLink is one index's live connection; implemented by the backend (backend.go).
type brokerLink interface {
	Publish(topic string, payload []byte, qos byte, retain, dup bool, timeout time.Duration) simcom.ResultCode
	Subscribe(topics []string, qos []byte, timeout time.Duration) simcom.ResultCode
	Unsubscribe(topics []string, timeout time.Duration) simcom.ResultCode
	Disconnect(timeout time.Duration) simcom.ResultCode // clean DISCONNECT
	Drop()                                              // close the socket without DISCONNECT (faults, reboot): the broker sends the will
	Connected() bool
}

// brokerDialer opens one index's broker connection: a real MQTT 3.1 or
// 3.1.1 connection (linkConfig.ProtocolLevel); a refused CONNACK returns
// codes 27-31, a TLS handshake failure 32, a missing certificate 33, a
// dial failure 3 (sock connect fail) or 25 (DNS). The link is nil unless
// the code is 0.
type brokerDialer func(ctx context.Context, cfg linkConfig, ev linkEvents) (brokerLink, simcom.ResultCode)

// dialBroker is the real back-end dialer; backend.go assigns it in an init
// function. A Sim uses it unless its config carries another dialer (tests).
var dialBroker brokerDialer
