package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
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
	fs        *flagSet
	host      string
	port      int // -1: not given
	id        string
	idPrefix  string
	url       string // -L
	version   string // -V
	expiry    string // -x, MQTT 5 only: checked, then ignored as mosquitto ignores it for 3.1.1
	user      string
	password  string
	keepalive time.Duration
	quiet     bool
	cafile    string
	capath    string
	cert      string
	key       string
	insecure  bool
	tlsVer    string

	willTopic   string
	willPayload string
	willQoS     int
	willRetain  bool

	tlsURL bool // -L mqtts://
}

// register adds the flags to fs; cmd ("pub" or "sub") goes into the default
// client ID.
func (f *mqttFlags) register(fs *flagSet, cmd string) {
	f.fs = fs
	fs.String(&f.host, "h,host", "HOST", "", brokerGroup, "broker host name or address, as the modem reaches it over the cellular network (with --sim: the embedded broker unless given)")
	fs.Int(&f.port, "p", "PORT", -1, brokerGroup, "broker port, 1-65535 (default 1883, 8883 with TLS; --port is the modem's AT port)")
	fs.String(&f.url, "L,url", "URL", "", brokerGroup, "mqtt(s)://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC in place of -h, -p, -u, -P and -t")
	fs.String(&f.id, "i,id", "ID", "", brokerGroup, "client ID (default cellmqtt-"+cmd+"-<pid>; 1-23 bytes on the SIM7600, 1-128 on the A7600)")
	fs.String(&f.idPrefix, "I,id-prefix", "PREFIX", "", brokerGroup, "client ID PREFIX followed by the process ID")
	fs.String(&f.user, "u,username", "USER", "", brokerGroup, "user name (1-256 bytes)")
	fs.String(&f.password, "P,pw", "PASSWORD", "", brokerGroup, "password (1-256 bytes; no double quote, it travels in quotes)")
	fs.Seconds(&f.keepalive, "k,keepalive", "SECONDS", 60*time.Second, brokerGroup, "keepalive (60-64800 s on the SIM7600, 1-64800 on the A7600)")
	fs.String(&f.version, "V,protocol-version", "mqttv31|mqttv311", "mqttv311", brokerGroup, "MQTT version the modem's client connects with (mqttv5 is refused: the modem has no MQTT 5 client)")
	fs.String(&f.expiry, "x,session-expiry-interval", "SECONDS", "", brokerGroup, "MQTT 5 session expiry: checked and ignored, as mosquitto ignores it with MQTT 3.1.1")
	fs.Bool(&f.quiet, "quiet", brokerGroup, "do not print error messages (the exit status still tells)")
	fs.String(&f.cafile, "cafile", "FILE|modem:NAME", "", tlsGroup, "CA certificate (PEM) to verify the broker; turns TLS on; modem:NAME uses a file already on the modem")
	fs.String(&f.capath, "capath", "DIR", "", tlsGroup, "directory of CA certificates (PEM): uploaded to the modem as one CA file")
	fs.String(&f.cert, "cert", "FILE|modem:NAME", "", tlsGroup, "client certificate for mutual TLS")
	fs.String(&f.key, "key", "FILE|modem:NAME", "", tlsGroup, "client private key for mutual TLS")
	fs.Bool(&f.insecure, "insecure", tlsGroup, "do not verify the broker's certificate (the modem cannot skip only the host name check)")
	fs.String(&f.tlsVer, "tls-version", "tlsv1.2|tlsv1.1|tlsv1", "", tlsGroup, "TLS version (AT+CSSLCFG sslversion; default: any the modem has)")
	fs.String(&f.willTopic, "will-topic", "TOPIC", "", willGroup, "topic of the will the broker sends if the link dies")
	fs.String(&f.willPayload, "will-payload", "TEXT", "", willGroup, "payload of the will (1 byte or more: the modem has no empty will)")
	fs.Int(&f.willQoS, "will-qos", "0|1|2", 0, willGroup, "QoS of the will")
	fs.Bool(&f.willRetain, "will-retain", willGroup, "retain the will (refused: the modem has no will retain flag)")
	fs.NotApplicable("A", "ADDRESS", "the modem's only network interface is the cellular one")
	fs.NotApplicable("unix", "PATH", "the modem reaches brokers over TCP only")
	fs.NotApplicable("nodelay", "", "the modem's TCP stack decides when to send")
	fs.NotApplicable("D,property", "CMD ID VALUE", "MQTT 5 properties: the modem's client speaks MQTT 3.1.1")
	fs.NotApplicable("ciphers", "LIST", "the cipher suites are the modem firmware's")
	fs.NotApplicable("tls-alpn", "PROTOCOL", "the modem's TLS has no ALPN setting")
	fs.NotApplicable("tls-engine", "ENGINE", "TLS runs in the modem, not in OpenSSL")
	fs.NotApplicable("keyform", "FORM", "TLS runs in the modem, not in OpenSSL; the key is a file on the modem")
	fs.NotApplicable("tls-engine-kpass-sha1", "SHA1", "TLS runs in the modem, not in OpenSSL")
	fs.NotApplicable("tls-use-os-certs", "", "the modem trusts only the CA file given with --cafile or --capath")
	fs.NotApplicable("psk", "KEY", "the modem's MQTT client authenticates TLS with certificates only")
	fs.NotApplicable("psk-identity", "ID", "the modem's MQTT client authenticates TLS with certificates only")
	fs.NotApplicable("proxy", "URL", "the modem connects directly over the cellular network")
}

// tls reports whether the broker is reached over TLS.
func (f *mqttFlags) tls() bool {
	return f.tlsURL || f.cafile != "" || f.capath != "" || f.cert != "" || f.key != "" || f.insecure || f.tlsVer != ""
}

// check validates the flags that need no modem.
func (f *mqttFlags) check(sim bool, model string) error {
	if f.url != "" {
		if err := f.applyURL(); err != nil {
			return err
		}
	}
	if err := checkHost(f.host); err != nil {
		return err
	}
	if f.host == "" && !sim {
		return badInput("no broker: give -h HOST (the modem connects to it over the cellular network), or --sim to try without hardware")
	}
	if f.port != -1 && (f.port < 1 || f.port > 65535) {
		return badInput("-p %d: invalid port, want 1-65535 (as mosquitto)", f.port)
	}
	if f.id != "" && f.idPrefix != "" {
		return badInput("-i and -I exclude each other")
	}
	switch strings.ToLower(f.version) {
	case "mqttv311", "311", "4":
	case "mqttv31", "31", "3":
	case "mqttv5", "5":
		return badInput("-V %s: the modem's MQTT client speaks 3.1.1, not 5 (cellmqtt gateway serves MQTT 5 clients over it)", f.version)
	default:
		return badInput("-V %q: want mqttv31 or mqttv311", f.version)
	}
	if f.expiry != "" && f.expiry != "-1" && f.expiry != "∞" {
		if _, err := strconv.ParseUint(f.expiry, 10, 32); err != nil {
			return badInput("-x %q: want 0-4294967295, -1 or ∞ seconds", f.expiry)
		}
	}
	switch f.tlsVer {
	case "", "tlsv1.2", "tlsv1.1", "tlsv1":
	case "tlsv1.3":
		return badInput("--tls-version tlsv1.3: the modem's AT+CSSLCFG offers TLS 1.0 to 1.2")
	default:
		return badInput("--tls-version %q: want tlsv1.2, tlsv1.1 or tlsv1", f.tlsVer)
	}
	if f.cafile != "" && f.capath != "" {
		return badInput("--cafile and --capath exclude each other: the modem takes one CA file")
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
	if err := checkRange("-k", int(f.keepalive/time.Second), m.Limits().KeepAlive, m); err != nil {
		return err
	}
	if f.keepalive%time.Second != 0 {
		return badInput("-k %s: whole seconds only (the modem's keepalive is in seconds)", f.keepalive)
	}
	return f.checkStrings(m)
}

// checkHost refuses what mosquitto users type as -h but is not a host: a
// URL ("tcp://host:1883"), a bracketed IPv6 address, a host with a port.
func checkHost(h string) error {
	switch {
	case strings.Contains(h, "://"):
		return badInput("-h %s: give a host name or address, not a URL: -h HOST -p PORT, or -L mqtt://HOST:PORT/TOPIC", h)
	case strings.HasPrefix(h, "["):
		return badInput("-h %s: give the address without brackets: -h %s", h, strings.Trim(h, "[]"))
	case strings.Count(h, ":") == 1:
		return badInput("-h %s: give the host alone and the port with -p", h)
	}
	return nil
}

// applyURL takes the host, port, user, password and topic of -L, as
// mosquitto does: mqtt(s)://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC.
func (f *mqttFlags) applyURL() error {
	for _, n := range []string{"h", "p", "u", "P"} {
		if f.fs.isSet(n) {
			return badInput("-L and -%s exclude each other: -L gives the broker", n)
		}
	}
	u, err := url.Parse(f.url)
	if err != nil {
		return badInput("-L %q: %v", f.url, err)
	}
	switch u.Scheme {
	case "mqtt":
	case "mqtts":
		f.tlsURL = true
	default:
		return badInput("-L %q: want mqtt://HOST[:PORT]/TOPIC or mqtts://...", f.url)
	}
	f.host = u.Hostname()
	if f.host == "" {
		return badInput("-L %q: no host", f.url)
	}
	if p := u.Port(); p != "" {
		if f.port, err = strconv.Atoi(p); err != nil {
			return badInput("-L %q: port %q", f.url, p)
		}
	}
	if u.User != nil {
		f.user = u.User.Username()
		f.password, _ = u.User.Password()
	}
	return nil
}

// urlTopic is the topic of -L ("" without -L or without a path).
func (f *mqttFlags) urlTopic() string {
	u, err := url.Parse(f.url)
	if f.url == "" || err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

// clientID is -i, or -I followed by the process ID, or the default.
func (f *mqttFlags) clientID(cmd string) string {
	switch {
	case f.id != "":
		return f.id
	case f.idPrefix != "":
		return fmt.Sprintf("%s%d", f.idPrefix, os.Getpid())
	}
	return fmt.Sprintf("cellmqtt-%s-%d", cmd, os.Getpid())
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
	if f.port != -1 {
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
	cfg := &cellmqtt.TLSConfig{Context: index, SSLVersion: map[string]int{"": 4, "tlsv1.2": 3, "tlsv1.1": 2, "tlsv1": 1}[f.tlsVer]}
	var err error
	switch {
	case f.cafile != "":
		if cfg.CACert, err = certFrom("cafile", f.cafile, "ca"); err != nil {
			return nil, err
		}
	case f.capath != "":
		if cfg.CACert, err = caBundle(f.capath); err != nil {
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
	verify := cfg.CACert.Name != "" && !f.insecure
	switch {
	case verify && f.cert != "":
		cfg.AuthMode = atmodem.AuthServerClient
	case verify:
		cfg.AuthMode = atmodem.AuthServer
	case f.cert != "":
		cfg.AuthMode = atmodem.AuthClient
	}
	return cfg, nil
}

// caBundle reads every PEM certificate in dir (mosquitto's --capath) into
// one CA file for the modem, which takes a single CA file.
func caBundle(dir string) (cellmqtt.Cert, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return cellmqtt.Cert{}, badInput("--capath: %w", err)
	}
	var bundle []byte
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return cellmqtt.Cert{}, badInput("--capath: %w", err)
		}
		for rest := data; ; {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			if b.Type == "CERTIFICATE" {
				bundle = append(bundle, pem.EncodeToMemory(b)...)
			}
		}
	}
	if len(bundle) == 0 {
		return cellmqtt.Cert{}, badInput("--capath %s: no PEM certificate in it", dir)
	}
	sum := sha256.Sum256(bundle)
	return cellmqtt.CertPEM("capath-"+hex.EncodeToString(sum[:4])+".pem", bundle), nil
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
	id := f.clientID(cmd)
	o := cellmqtt.NewClientOptions().
		AddBroker(f.brokerURL(embedded)).
		SetModem(l.Modem).
		SetClientIndex(mf.clientIndex).
		SetModel(model).
		SetClientID(id).
		SetKeepAlive(f.keepalive).
		SetUsername(f.user).
		SetPassword(f.password).
		SetProtocolVersion(f.protocolVersion()).
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

// protocolVersion is -V as the client's protocol level: 3 for MQTT 3.1,
// otherwise 4 (3.1.1).
func (f *mqttFlags) protocolVersion() uint {
	switch strings.ToLower(f.version) {
	case "mqttv31", "31", "3":
		return 3
	}
	return 4
}
