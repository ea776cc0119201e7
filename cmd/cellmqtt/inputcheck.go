package main

import (
	"strings"
	"unicode/utf8"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/internal/topic"
)

// The checks here run on the flags before the modem is even opened, so bad
// input is a usage error (exit 2) with nothing written. The library checks
// the same rules again before it writes.

// checkQuoted rejects what cannot travel inside the double quotes of an AT
// command line: the manuals define no escaping.
func checkQuoted(flag, v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '"' || c < 0x20 || c == 0x7f {
			return badInput("%s: contains %q at byte %d; it travels inside double quotes on the AT command line, which has no escaping", flag, string(c), i)
		}
	}
	return nil
}

// checkLen checks a length against a range of the manuals.
func checkLen(flag string, n int, r atmodem.Range, model atmodem.Model) error {
	if !r.Contains(n) {
		return badInput("%s: length %d bytes is out of range %s (%s)", flag, n, r, modelName(model))
	}
	return nil
}

// checkRange checks a number against a range of the manuals.
func checkRange(flag string, n int, r atmodem.Range, model atmodem.Model) error {
	if !r.Contains(n) {
		return badInput("%s %d: out of range %s (%s)", flag, n, r, modelName(model))
	}
	return nil
}

// modelName names the model whose limits apply.
func modelName(m atmodem.Model) string {
	if m == atmodem.AutoDetect {
		return "the limit both families accept; --model picks one"
	}
	return m.String()
}

// checkTopic checks a topic (filter is false) or a topic filter: 1-1024
// bytes of UTF-8 without control characters (U+0000-U+001F, U+007F-U+009F:
// mosquitto_pub and mosquitto_sub refuse them as malformed, and a broker
// closes the connection for them), and no wildcard in a topic name.
func checkTopic(flag, t string, filter bool, model atmodem.Model) error {
	if err := checkLen(flag, len(t), model.Limits().Topic, model); err != nil {
		return err
	}
	if !utf8.ValidString(t) {
		return badInput("%s: not valid UTF-8, as MQTT requires", flag)
	}
	for i, r := range t {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return badInput("%s %q: control character %U at byte %d; MQTT topics cannot hold U+0000-U+001F or U+007F-U+009F (mosquitto refuses them too)", flag, t, r, i)
		}
	}
	if filter && !topic.ValidFilter(t) {
		return badInput("%s %q: + and # stand for whole levels, and # only last (e.g. a/+/c, a/#)", flag, t)
	}
	if !filter && strings.ContainsAny(t, "+#") {
		return badInput("%s %q: a topic to publish to cannot hold the wildcards + or #", flag, t)
	}
	return nil
}

// checkStrings checks the flags that travel in quotes and their lengths.
func (f *mqttFlags) checkStrings(model atmodem.Model) error {
	l := model.Limits()
	checks := []struct {
		flag, v string
		r       atmodem.Range
	}{
		{"-i", f.id, l.ClientID},
		{"-u", f.user, l.UserName},
		{"-P", f.password, l.Password},
	}
	for _, c := range checks {
		if c.v == "" {
			continue
		}
		if err := checkQuoted(c.flag, c.v); err != nil {
			return err
		}
		if err := checkLen(c.flag, len(c.v), c.r, model); err != nil {
			return err
		}
	}
	if err := checkQuoted("-h", f.host); err != nil {
		return err
	}
	if f.willTopic != "" {
		if err := checkTopic("--will-topic", f.willTopic, false, model); err != nil {
			return err
		}
		if err := checkLen("--will-payload", len(f.willPayload), l.WillMessage, model); err != nil {
			return err
		}
	}
	return nil
}
