package atmodem

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cellmqtt/cellmqtt/internal/topic"
)

// This file holds every parameter check of docs/architecture.md, The two model
// families and Rules every layer keeps. Each check runs before a byte is
// written and fails with a *ParamError that names the manual's parameter, the
// limit and the model.

func paramErr(model Model, param, format string, args ...any) error {
	return &ParamError{Param: param, Model: model, Reason: fmt.Sprintf(format, args...)}
}

// checkRange checks a numeric parameter against an inclusive range.
func checkRange(model Model, param string, v int, r Range, unit string) error {
	if r.Contains(v) {
		return nil
	}
	if unit != "" {
		unit = " " + unit
	}
	return paramErr(model, param, "%d out of range %s%s", v, r, unit)
}

// checkLength checks the length in bytes of a string or data parameter.
func checkLength(model Model, param string, n int, r Range) error {
	if r.Contains(n) {
		return nil
	}
	return paramErr(model, param, "length %d out of range %s bytes", n, r)
}

// checkIndex checks a client index (<client_index>, <session_id>).
func checkIndex(model Model, index int) error {
	return checkRange(model, "client_index", index, model.Limits().ClientIndex, "")
}

// checkQoS checks a <qos> parameter.
func checkQoS(model Model, param string, qos byte) error {
	if qos <= 2 {
		return nil
	}
	return paramErr(model, param, "%d out of range 0-2", qos)
}

// quoting says which bytes a quoted parameter may hold besides printable
// ASCII other than '"'.
type quoting int

const (
	// asciiOnly: printable ASCII only. Used for server addresses, APNs and
	// certificate file names (the manual wants non-ASCII file names in a
	// special "{non-ascii}" hex form, which this package does not produce).
	asciiOnly quoting = iota
	// utf8Text: printable ASCII plus valid multi-byte UTF-8 (the manual calls
	// <clientID> an "UTF-encoded string"; user names and passwords travel the
	// same way). Bytes >= 0x80 never collide with the AT syntax.
	utf8Text
)

// checkQuoted checks that s can travel inside double quotes on an AT command
// line: the manuals have no escaping, so a '"', CR, LF, any other control
// byte or DEL would end or corrupt the command.
func checkQuoted(model Model, param, s string, q quoting) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return paramErr(model, param, "contains '\"' (0x22) at byte %d; the AT command line has no escaping", i)
		case c < 0x20 || c == 0x7f:
			return paramErr(model, param, "contains control byte 0x%02x at byte %d", c, i)
		case c >= 0x80 && q == asciiOnly:
			return paramErr(model, param, "contains non-ASCII byte 0x%02x at byte %d", c, i)
		}
	}
	if q == utf8Text && !utf8.ValidString(s) {
		return paramErr(model, param, "is not valid UTF-8")
	}
	return nil
}

// checkTopic checks a topic or topic filter: 1-1024 bytes of valid UTF-8
// (MQTT 3.1.1 section 1.5.3) without control characters (U+0000-U+001F,
// U+007F-U+009F): topics travel after a prompt by length, so the modem
// would carry them, but brokers such as mosquitto close the connection for
// them and mosquitto's clients refuse them (internal/topic.ControlChar).
func checkTopic(model Model, param, t string) error {
	if err := checkLength(model, param, len(t), model.Limits().Topic); err != nil {
		return err
	}
	if !utf8.ValidString(t) {
		return paramErr(model, param, "is not valid UTF-8")
	}
	if c, i, found := topic.ControlChar(t); found {
		return paramErr(model, param, "contains control character U+%04X at byte %d", c, i)
	}
	return nil
}

// checkPubTopic checks a topic name to publish to: a valid topic without the
// wildcards '+' and '#'.
func checkPubTopic(model Model, param, topic string) error {
	if err := checkTopic(model, param, topic); err != nil {
		return err
	}
	if i := strings.IndexAny(topic, "+#"); i >= 0 {
		return paramErr(model, param, "contains wildcard %q at byte %d; a topic name to publish to has none", topic[i], i)
	}
	return nil
}

// checkFilter checks a topic filter to subscribe to: a valid topic whose
// wildcards stand alone in their level, '#' only last.
func checkFilter(model Model, param, filter string) error {
	if err := checkTopic(model, param, filter); err != nil {
		return err
	}
	levels := strings.Split(filter, "/")
	for i, l := range levels {
		if strings.ContainsAny(l, "+#") && len(l) != 1 {
			return paramErr(model, param, "wildcard not alone in level %q", l)
		}
		if l == "#" && i != len(levels)-1 {
			return paramErr(model, param, "'#' is not the last level")
		}
	}
	return nil
}

// seconds converts d to whole seconds for a parameter, rejecting fractions
// so that nothing is silently rounded.
func seconds(model Model, param string, d time.Duration) (int, error) {
	if d%time.Second != 0 {
		return 0, paramErr(model, param, "%v is not a whole number of seconds", d)
	}
	return int(d / time.Second), nil
}

// checkDiscTimeout checks the <timeout> of AT+CMQTTDISC: 0 or 60-180 s.
func checkDiscTimeout(model Model, d time.Duration) (int, error) {
	s, err := seconds(model, "timeout", d)
	if err != nil {
		return 0, err
	}
	if s == 0 {
		return 0, nil
	}
	if err := checkRange(model, "timeout", s, model.Limits().DiscTimeout, "s (or 0)"); err != nil {
		return 0, err
	}
	return s, nil
}

// checkPubTimeout checks the <pub_timeout> of AT+CMQTTPUB: 60-180 s.
func checkPubTimeout(model Model, d time.Duration) (int, error) {
	s, err := seconds(model, "pub_timeout", d)
	if err != nil {
		return 0, err
	}
	return s, checkRange(model, "pub_timeout", s, model.Limits().PubTimeout, "s")
}

// checkCertName checks a certificate or key file name: 5-128 printable ASCII
// bytes ending in .pem or .der.
func checkCertName(model Model, param, name string) error {
	if err := checkLength(model, param, len(name), model.Limits().CertName); err != nil {
		return err
	}
	if err := checkQuoted(model, param, name, asciiOnly); err != nil {
		return err
	}
	lower := strings.ToLower(name)
	if !strings.HasSuffix(lower, ".pem") && !strings.HasSuffix(lower, ".der") {
		return paramErr(model, param, "%q does not end in .pem or .der", name)
	}
	// A name on the modem's flash, not a path: the manuals' names have no
	// directory, and firmware that honoured "../" would write elsewhere.
	if strings.ContainsAny(name, `/\`) {
		return paramErr(model, param, "%q is a path; give a file name without / or \\", name)
	}
	return nil
}

// checkServerAddr checks the <server_addr> of AT+CMQTTCONNECT: 9-256 bytes,
// printable ASCII, beginning with "tcp://".
func checkServerAddr(model Model, addr string) error {
	if err := checkLength(model, "server_addr", len(addr), model.Limits().ServerAddr); err != nil {
		return err
	}
	if err := checkQuoted(model, "server_addr", addr, asciiOnly); err != nil {
		return err
	}
	if !strings.HasPrefix(addr, "tcp://") {
		return paramErr(model, "server_addr", "%q does not begin with tcp://", addr)
	}
	return nil
}

// checkCredentials checks <user_name> and <pass_word>: each 1-256 bytes when
// given; a password needs a user name (the command's syntax nests them).
func checkCredentials(model Model, user, pass string) error {
	l := model.Limits()
	if user != "" {
		if err := checkLength(model, "user_name", len(user), l.UserName); err != nil {
			return err
		}
		if err := checkQuoted(model, "user_name", user, utf8Text); err != nil {
			return err
		}
	}
	if pass != "" {
		if user == "" {
			return paramErr(model, "pass_word", "given without user_name; the command only takes a password after a user name")
		}
		if err := checkLength(model, "pass_word", len(pass), l.Password); err != nil {
			return err
		}
		if err := checkQuoted(model, "pass_word", pass, utf8Text); err != nil {
			return err
		}
	}
	return nil
}

// checkClientID checks the <clientID> of AT+CMQTTACCQ.
func checkClientID(model Model, id string) error {
	if err := checkLength(model, "clientID", len(id), model.Limits().ClientID); err != nil {
		return err
	}
	return checkQuoted(model, "clientID", id, utf8Text)
}

// checkKeepAlive checks the <keepalive_time> of AT+CMQTTCONNECT.
func checkKeepAlive(model Model, d time.Duration) (int, error) {
	s, err := seconds(model, "keepalive_time", d)
	if err != nil {
		return 0, err
	}
	return s, checkRange(model, "keepalive_time", s, model.Limits().KeepAlive, "s")
}

// checkSSLContext checks an <ssl_ctx_index>.
func checkSSLContext(model Model, ctxIndex int) error {
	return checkRange(model, "ssl_ctx_index", ctxIndex, model.Limits().SSLContext, "")
}

// checkServerType checks a <server_type>.
func checkServerType(model Model, t ServerType) error {
	if t == ServerTCP || t == ServerTLS {
		return nil
	}
	return paramErr(model, "server_type", "%d out of range 0-1", int(t))
}

// checkIndexFilter checks a client index and a topic filter: the
// parameters of UNSUBTOPIC and UNSUB.
func checkIndexFilter(model Model, index int, filter string) error {
	if err := checkIndex(model, index); err != nil {
		return err
	}
	return checkFilter(model, "topic", filter)
}

// checkSubscription checks a client index, a topic filter and its QoS:
// the parameters of SUBTOPIC and SUB.
func checkSubscription(model Model, index int, filter string, qos byte) error {
	if err := checkIndexFilter(model, index, filter); err != nil {
		return err
	}
	return checkQoS(model, "qos", qos)
}
