package reliability

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/compat"
)

// badCase is one bad input, as each front end takes it. A nil front-end
// field means the front end has no such input.
type badCase struct {
	param   string   // the parameter, as the table names it
	problem string   // what is wrong with the value
	words   []string // the error names the problem with one of these (any case)
	// native changes the options of a client that would otherwise connect.
	native func(o *cellmqtt.ClientOptions)
	// nativePub is a call on a connected native client.
	nativePub func(c cellmqtt.Client) cellmqtt.Token
	// compat changes the options of paho.mqtt.golang over compat.
	compat func(o *mqtt.ClientOptions) []compat.Option
	// cli are the arguments of "cellmqtt pub" that carry the value.
	cli []string
}

// forbidden are the bytes no quoted parameter may hold: the quote that
// would end it, the line ends that would end the command, NUL, the other
// C0 controls (TAB, Ctrl-Z which ends a data prompt, ESC which cancels
// one, SOH as any other) and DEL.
var forbidden = []byte{'"', '\r', '\n', 0x00, 0x01, '\t', 0x1a, 0x1b, 0x7f}

// quotedParam is a parameter that travels inside double quotes.
type quotedParam struct {
	name   string
	ascii  bool // printable ASCII only (else UTF-8 text)
	words  []string
	value  func(bad string) string // a value of valid length around bad
	native func(o *cellmqtt.ClientOptions, v string)
	compat func(o *mqtt.ClientOptions, v string) []compat.Option
	cli    func(v string) []string
}

var (
	certWords   = []string{"cert", "ca", "key", "file name"}
	tlsBroker   = "ssl://broker.invalid:8883"
	plainBroker = "tcp://broker.invalid:1883"
)

// nativeTLS sets a TLS broker and the certificate names on a native client.
func nativeTLS(o *cellmqtt.ClientOptions, ca, cert, key string) {
	o.Servers = nil
	o.AddBroker(tlsBroker)
	mode := atmodem.AuthServer
	if cert != "" {
		mode = atmodem.AuthServerClient
	}
	tc := cellmqtt.TLSConfig{AuthMode: mode, CACert: cellmqtt.CertOnModem(ca)}
	if cert != "" {
		tc.ClientCert, tc.ClientKey = cellmqtt.CertOnModem(cert), cellmqtt.CertOnModem(key)
	}
	o.SetTLS(tc)
}

// compatTLS does the same for paho over compat.
func compatTLS(o *mqtt.ClientOptions, ca, cert, key string) []compat.Option {
	o.Servers = nil
	o.AddBroker(tlsBroker)
	tc := atmodem.TLSConfig{AuthMode: atmodem.AuthServer, CACert: atmodem.Cert{Name: ca}}
	if cert != "" {
		tc.AuthMode = atmodem.AuthServerClient
		tc.ClientCert, tc.ClientKey = atmodem.Cert{Name: cert}, atmodem.Cert{Name: key}
	}
	return []compat.Option{compat.WithTLS(tc)}
}

var quotedParams = []quotedParam{
	{
		name: "client ID", words: []string{"clientID", "client ID", "-i"},
		value:  func(b string) string { return "id" + b + "x" },
		native: func(o *cellmqtt.ClientOptions, v string) { o.SetClientID(v) },
		compat: func(o *mqtt.ClientOptions, v string) []compat.Option { o.SetClientID(v); return nil },
		cli:    func(v string) []string { return []string{"-i", v} },
	},
	{
		name: "server address", ascii: true, words: []string{"server", "broker", "host", "url", "-h"},
		value: func(b string) string { return "host" + b + "x" },
		native: func(o *cellmqtt.ClientOptions, v string) {
			o.Servers = nil
			o.AddBroker("tcp://" + v + ":1883")
		},
		compat: func(o *mqtt.ClientOptions, v string) []compat.Option {
			o.Servers = nil
			o.AddBroker("tcp://" + v + ":1883")
			return nil
		},
		cli: func(v string) []string { return []string{"-h", v} },
	},
	{
		name: "user name", words: []string{"user", "-u"},
		value:  func(b string) string { return "us" + b + "er" },
		native: func(o *cellmqtt.ClientOptions, v string) { o.SetUsername(v).SetPassword("pw") },
		compat: func(o *mqtt.ClientOptions, v string) []compat.Option { o.SetUsername(v).SetPassword("pw"); return nil },
		cli:    func(v string) []string { return []string{"-u", v, "-P", "pw"} },
	},
	{
		name: "password", words: []string{"pass", "-P"},
		value:  func(b string) string { return "pa" + b + "ss" },
		native: func(o *cellmqtt.ClientOptions, v string) { o.SetUsername("user").SetPassword(v) },
		compat: func(o *mqtt.ClientOptions, v string) []compat.Option {
			o.SetUsername("user").SetPassword(v)
			return nil
		},
		cli: func(v string) []string { return []string{"-u", "user", "-P", v} },
	},
	{
		name: "CA certificate name", ascii: true, words: certWords,
		value:  func(b string) string { return "ca" + b + ".pem" },
		native: func(o *cellmqtt.ClientOptions, v string) { nativeTLS(o, v, "", "") },
		compat: func(o *mqtt.ClientOptions, v string) []compat.Option { return compatTLS(o, v, "", "") },
		cli:    func(v string) []string { return []string{"--cafile", "modem:" + v} },
	},
	{
		name: "client certificate name", ascii: true, words: certWords,
		value:  func(b string) string { return "cert" + b + ".pem" },
		native: func(o *cellmqtt.ClientOptions, v string) { nativeTLS(o, "ca.pem", v, "key.pem") },
		compat: func(o *mqtt.ClientOptions, v string) []compat.Option { return compatTLS(o, "ca.pem", v, "key.pem") },
		cli: func(v string) []string {
			return []string{"--cafile", "modem:ca.pem", "--cert", "modem:" + v, "--key", "modem:key.pem"}
		},
	},
	{
		name: "client key name", ascii: true, words: certWords,
		value:  func(b string) string { return "key" + b + ".pem" },
		native: func(o *cellmqtt.ClientOptions, v string) { nativeTLS(o, "ca.pem", "cert.pem", v) },
		compat: func(o *mqtt.ClientOptions, v string) []compat.Option { return compatTLS(o, "ca.pem", "cert.pem", v) },
		cli: func(v string) []string {
			return []string{"--cafile", "modem:ca.pem", "--cert", "modem:cert.pem", "--key", "modem:" + v}
		},
	},
	{
		name: "APN", ascii: true, words: []string{"APN"},
		value:  func(b string) string { return "internet" + b + "x" },
		native: func(o *cellmqtt.ClientOptions, v string) { o.SetAPN(v) },
		// compat has no APN: the application sets it on the modem.
		cli: func(v string) []string { return []string{"--apn", v} },
	},
}

// byteName names a forbidden byte for the table.
func byteName(b string) string {
	switch b {
	case "\"":
		return `'"'`
	case "\xc3\xa9":
		return "non-ASCII é"
	case "\xff":
		return "invalid UTF-8 0xff"
	}
	return fmt.Sprintf("0x%02x", b[0])
}

// badCases lists every forbidden byte in every quoted parameter and every
// limit of the model.
func badCases(model atmodem.Model) []badCase {
	var cases []badCase
	for _, p := range quotedParams {
		bads := make([]string, 0, len(forbidden)+1)
		for _, b := range forbidden {
			bads = append(bads, string([]byte{b}))
		}
		if p.ascii {
			bads = append(bads, "\xc3\xa9")
		} else {
			bads = append(bads, "\xff")
		}
		for _, b := range bads {
			cases = append(cases, quotedCase(p, byteName(b), p.value(b)))
		}
	}
	l := model.Limits()
	over := func(r atmodem.Range) int { return r.Max + 1 }
	cases = append(cases,
		quotedCase(quotedParams[0], fmt.Sprintf("%d bytes (max %d)", over(l.ClientID), l.ClientID.Max), strings.Repeat("i", over(l.ClientID))),
		// "tcp://" + host + ":1883" is 257 bytes.
		quotedCase(quotedParams[1], fmt.Sprintf("%d bytes (max %d)", over(l.ServerAddr), l.ServerAddr.Max), strings.Repeat("h", over(l.ServerAddr)-len("tcp://:1883"))),
		quotedCase(quotedParams[2], fmt.Sprintf("%d bytes (max %d)", over(l.UserName), l.UserName.Max), strings.Repeat("u", over(l.UserName))),
		quotedCase(quotedParams[3], fmt.Sprintf("%d bytes (max %d)", over(l.Password), l.Password.Max), strings.Repeat("p", over(l.Password))),
		quotedCase(quotedParams[4], fmt.Sprintf("%d bytes (max %d)", over(l.CertName), l.CertName.Max), strings.Repeat("c", over(l.CertName)-4)+".pem"),
		quotedCase(quotedParams[4], fmt.Sprintf("%d bytes (min %d)", l.CertName.Min-1, l.CertName.Min), ".pem"),
		quotedCase(quotedParams[4], "not .pem or .der", "ca.txt"),
		quotedCase(quotedParams[5], fmt.Sprintf("%d bytes (max %d)", over(l.CertName), l.CertName.Max), strings.Repeat("c", over(l.CertName)-4)+".der"),
		quotedCase(quotedParams[6], "not .pem or .der", "key.crt"),
		quotedCase(quotedParams[7], "101 bytes (max 100)", strings.Repeat("a", 101)),
	)
	keep := func(d time.Duration, problem string) badCase {
		s := strconv.Itoa(int(d / time.Second))
		return badCase{
			param: "keepalive", problem: problem, words: []string{"keepalive", "-k"},
			native: func(o *cellmqtt.ClientOptions) { o.SetKeepAlive(d) },
			// compat moves paho's keepalive into the model's range and
			// answers PINGREQ itself (compat's documented design).
			cli: []string{"-k", s},
		}
	}
	sec := time.Second
	if l.KeepAlive.Min > 1 {
		cases = append(cases, keep(time.Duration(l.KeepAlive.Min-1)*sec, fmt.Sprintf("%d s (min %d)", l.KeepAlive.Min-1, l.KeepAlive.Min)))
	}
	cases = append(cases, keep(time.Duration(over(l.KeepAlive))*sec, fmt.Sprintf("%d s (max %d)", over(l.KeepAlive), l.KeepAlive.Max)))
	will := strings.Repeat("w", over(l.WillMessage))
	long := strings.Repeat("t", over(l.Topic))
	payload := strings.Repeat("p", over(l.Payload))
	cases = append(cases,
		badCase{
			param: "will message", problem: fmt.Sprintf("%d bytes (max %d)", len(will), l.WillMessage.Max), words: []string{"will"},
			native: func(o *cellmqtt.ClientOptions) { o.SetWill("w/t", will, 1, false) },
			compat: func(o *mqtt.ClientOptions) []compat.Option { o.SetWill("w/t", will, 1, false); return nil },
			cli:    []string{"--will-topic", "w/t", "--will-payload", will},
		},
		badCase{
			param: "will topic", problem: fmt.Sprintf("%d bytes (max %d)", len(long), l.Topic.Max), words: []string{"will", "topic"},
			native: func(o *cellmqtt.ClientOptions) { o.SetWill(long, "x", 1, false) },
			compat: func(o *mqtt.ClientOptions) []compat.Option { o.SetWill(long, "x", 1, false); return nil },
			cli:    []string{"--will-topic", long, "--will-payload", "x"},
		},
		badCase{
			param: "topic", problem: fmt.Sprintf("%d bytes (max %d)", len(long), l.Topic.Max), words: []string{"topic", "-t"},
			nativePub: func(c cellmqtt.Client) cellmqtt.Token { return c.Publish(long, 1, false, "x") },
			cli:       []string{"-t", long},
		},
		badCase{
			param: "payload", problem: fmt.Sprintf("%d bytes (max %d)", len(payload), l.Payload.Max), words: []string{"payload", "-m"},
			nativePub: func(c cellmqtt.Client) cellmqtt.Token { return c.Publish("t", 1, false, payload) },
			cli:       []string{"-m", payload},
		},
	)
	return cases
}

// quotedCase is the case of value v in quoted parameter p.
func quotedCase(p quotedParam, problem, v string) badCase {
	c := badCase{param: p.name, problem: problem, words: p.words}
	c.native = func(o *cellmqtt.ClientOptions) { p.native(o, v) }
	if p.compat != nil {
		c.compat = func(o *mqtt.ClientOptions) []compat.Option { return p.compat(o, v) }
	}
	if !strings.ContainsRune(v, 0) { // an argv string cannot hold NUL
		c.cli = p.cli(v)
	}
	return c
}
