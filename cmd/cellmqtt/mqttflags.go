package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/atmodem"
)

// Help headings of the MQTT flags.
const (
	brokerGroup = "Broker (as mosquitto_pub / mosquitto_sub)"
	tlsGroup    = "TLS (the modem's SSL context; files are uploaded with AT+CCERTDOWN)"
	willGroup   = "Will"
)

// mqttFlags are the broker, session, TLS and will flags pub and sub share,
// spelled as mosquitto_pub and mosquitto_sub spell them.
type mqttFlags struct {
	host      string
	port      int
	id        string
	user      string
	password  string
	keepalive time.Duration
	cafile    string
	cert      string
	key       string

	willTopic   string
	willPayload string
	willQoS     int
	willRetain  bool
}

// register adds the flags to fs; cmd ("pub" or "sub") goes into the default
// client ID.
func (f *mqttFlags) register(fs *flagSet, cmd string) {
	fs.String(&f.host, "h,host", "HOST", "", brokerGroup, "broker host name or address, as the modem reaches it over the cellular network (with --sim: the embedded broker unless given)")
	fs.Int(&f.port, "p", "PORT", 0, brokerGroup, "broker port (default 1883, 8883 with TLS; --port is the modem's AT port)")
	fs.String(&f.id, "i,id", "ID", "", brokerGroup, "client ID (default cellmqtt-"+cmd+"-<pid>; 1-23 bytes on the SIM7600, 1-128 on the A7600)")
	fs.String(&f.user, "u,username", "USER", "", brokerGroup, "user name (1-256 bytes)")
	fs.String(&f.password, "P,pw", "PASSWORD", "", brokerGroup, "password (1-256 bytes; no double quote, it travels in quotes)")
	fs.Seconds(&f.keepalive, "k,keepalive", "SECONDS", 60*time.Second, brokerGroup, "keepalive (60-64800 s on the SIM7600, 1-64800 on the A7600)")
	fs.String(&f.cafile, "cafile", "FILE|modem:NAME", "", tlsGroup, "CA certificate (PEM) to verify the broker; turns TLS on; modem:NAME uses a file already on the modem")
	fs.String(&f.cert, "cert", "FILE|modem:NAME", "", tlsGroup, "client certificate for mutual TLS")
	fs.String(&f.key, "key", "FILE|modem:NAME", "", tlsGroup, "client private key for mutual TLS")
	fs.String(&f.willTopic, "will-topic", "TOPIC", "", willGroup, "topic of the will the broker sends if the link dies")
	fs.String(&f.willPayload, "will-payload", "TEXT", "", willGroup, "payload of the will")
	fs.Int(&f.willQoS, "will-qos", "0|1|2", 0, willGroup, "QoS of the will")
	fs.Bool(&f.willRetain, "will-retain", willGroup, "retain the will (refused: the modem has no will retain flag)")
}

// tls reports whether the broker is reached over TLS.
func (f *mqttFlags) tls() bool { return f.cafile != "" || f.cert != "" || f.key != "" }

// check validates the flags that need no modem.
func (f *mqttFlags) check(sim bool, model string) error {
	if f.host == "" && !sim {
		return badInput("no broker: give -h HOST (the modem connects to it over the cellular network), or --sim to try without hardware")
	}
	if f.port < 0 || f.port > 65535 {
		return badInput("-p %d: not a port number", f.port)
	}
	if f.willQoS < 0 || f.willQoS > 2 {
		return badInput("--will-qos %d: want 0, 1 or 2", f.willQoS)
	}
	if f.willRetain {
		return badInput("--will-retain: the modem cannot send a retained will (AT+CMQTTWILLTOPIC has no retain flag)")
	}
	if (f.willPayload != "" || f.willQoS != 0) && f.willTopic == "" {
		return badInput("--will-payload and --will-qos need --will-topic")
	}
	if f.willTopic != "" && f.willPayload == "" {
		return badInput("--will-topic needs --will-payload (the modem's will message is 1 byte or more)")
	}
	if (f.cert == "") != (f.key == "") {
		return badInput("--cert and --key go together")
	}
	if f.password != "" && f.user == "" {
		return badInput("-P needs -u: the modem sends a password only with a user name")
	}
	m, err := parseModel(model)
	if err != nil {
		return err
	}
	return f.checkStrings(m)
}

// brokerURL is the URL for AddBroker: tcp:// or, with TLS, ssl://.
func (f *mqttFlags) brokerURL(embedded string) string {
	if f.host == "" && embedded != "" {
		return embedded
	}
	scheme, port := "tcp", 1883
	if f.tls() {
		scheme, port = "ssl", 8883
	}
	if f.port != 0 {
		port = f.port
	}
	return scheme + "://" + net.JoinHostPort(f.host, strconv.Itoa(port))
}

// certFrom reads a --cafile/--cert/--key value: a local file uploaded
// under a name derived from its content (so a changed file is uploaded
// again), or modem:NAME for a file already on the modem.
func certFrom(flagName, v, prefix string) (cellmqtt.Cert, error) {
	if name, ok := strings.CutPrefix(v, "modem:"); ok {
		return cellmqtt.CertOnModem(name), nil
	}
	data, err := os.ReadFile(v)
	if err != nil {
		return cellmqtt.Cert{}, badInput("--%s: %w", flagName, err)
	}
	sum := sha256.Sum256(data)
	ext := ".pem"
	if !strings.Contains(string(data), "-----BEGIN") {
		ext = ".der"
	}
	return cellmqtt.CertPEM(prefix+"-"+hex.EncodeToString(sum[:4])+ext, data), nil
}

// tlsConfig is the modem's SSL context for the TLS flags, or nil.
func (f *mqttFlags) tlsConfig(index int) (*cellmqtt.TLSConfig, error) {
	if !f.tls() {
		return nil, nil
	}
	cfg := &cellmqtt.TLSConfig{Context: index, SSLVersion: 4}
	var err error
	if f.cafile != "" {
		if cfg.CACert, err = certFrom("cafile", f.cafile, "ca"); err != nil {
			return nil, err
		}
	}
	if f.cert != "" {
		if cfg.ClientCert, err = certFrom("cert", f.cert, "cert"); err != nil {
			return nil, err
		}
		if cfg.ClientKey, err = certFrom("key", f.key, "key"); err != nil {
			return nil, err
		}
	}
	switch {
	case f.cafile != "" && f.cert != "":
		cfg.AuthMode = atmodem.AuthServerClient
	case f.cafile != "":
		cfg.AuthMode = atmodem.AuthServer
	case f.cert != "":
		cfg.AuthMode = atmodem.AuthClient
	}
	return cfg, nil
}

// clientOptions builds the client options for the flags on an open modem.
func (f *mqttFlags) clientOptions(cmd string, mf *modemFlags, l *modemLink) (*cellmqtt.ClientOptions, error) {
	model, err := parseModel(mf.model)
	if err != nil {
		return nil, err
	}
	embedded := ""
	if l.Broker != nil {
		embedded = l.Broker.URL()
	}
	id := f.id
	if id == "" {
		id = fmt.Sprintf("cellmqtt-%s-%d", cmd, os.Getpid())
	}
	o := cellmqtt.NewClientOptions().
		AddBroker(f.brokerURL(embedded)).
		SetModem(l.Modem).
		SetClientIndex(mf.clientIndex).
		SetModel(model).
		SetClientID(id).
		SetKeepAlive(f.keepalive).
		SetUsername(f.user).
		SetPassword(f.password).
		SetWaitNetwork(2 * time.Minute) // a modem just powered up registers first
	if mf.apn != "" {
		o.SetAPN(mf.apn)
	}
	if f.willTopic != "" {
		o.SetBinaryWill(f.willTopic, []byte(f.willPayload), byte(f.willQoS), false)
	}
	tlsCfg, err := f.tlsConfig(mf.clientIndex)
	if err != nil {
		return nil, err
	}
	if tlsCfg != nil {
		o.SetTLS(*tlsCfg)
	}
	return o, nil
}
