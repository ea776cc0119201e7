package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The output of "cellmqtt sub": the payload, "topic payload" with -v, or
// mosquitto_sub's -F format. The modem reports a received message's topic
// and payload only (+CMQTTRXSTART has no QoS, retain flag or packet ID),
// so the format parameters for those are refused, not invented.

// message is what the output of one received message is made of.
type message struct {
	topic   string
	payload []byte
	at      time.Time
}

// formatter writes one message as -F describes it.
type formatter struct {
	parts  []formatPart
	pretty bool // --pretty: indented JSON for %j and %J
}

// formatPart is literal text or one parameter of a format.
type formatPart struct {
	literal string
	verb    byte // 0 for literal text; a %-letter, or '@' for a time field
	left    bool // '-' flag: pad on the right
	zero    bool // '0' flag
	width   int
	prec    int // -1: none
	layout  string
}

// refusedVerbs are mosquitto_sub's parameters the modem cannot fill.
var refusedVerbs = map[byte]string{
	'q': "the modem does not report a received message's QoS",
	'r': "the modem does not report a received message's retain flag",
	'm': "the modem does not report a received message's packet ID",
	'A': "MQTT 5 properties: the modem's client speaks MQTT 3.1.1",
	'C': "MQTT 5 properties: the modem's client speaks MQTT 3.1.1",
	'D': "MQTT 5 properties: the modem's client speaks MQTT 3.1.1",
	'E': "MQTT 5 properties: the modem's client speaks MQTT 3.1.1",
	'F': "MQTT 5 properties: the modem's client speaks MQTT 3.1.1",
	'P': "MQTT 5 properties: the modem's client speaks MQTT 3.1.1",
	'R': "MQTT 5 properties: the modem's client speaks MQTT 3.1.1",
	'S': "MQTT 5 properties: the modem's client speaks MQTT 3.1.1",
}

// strftime maps the strftime letters of mosquitto's @X to Go layouts.
var strftime = map[byte]string{
	'Y': "2006", 'y': "06", 'm': "01", 'd': "02", 'e': "_2", 'H': "15", 'I': "03",
	'M': "04", 'S': "05", 'p': "PM", 'b': "Jan", 'h': "Jan", 'B': "January",
	'a': "Mon", 'A': "Monday", 'z': "-0700", 'Z': "MST", 'F': "2006-01-02",
	'T': "15:04:05", 'D': "01/02/06", 'R': "15:04", 'j': "002",
}

// parseFormat parses a mosquitto_sub -F format.
func parseFormat(f string) (*formatter, error) {
	var out formatter
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out.parts = append(out.parts, formatPart{literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '\\' && i+1 < len(f):
			i++
			esc, ok := map[byte]string{'\\': "\\", '0': "\x00", 'a': "\a", 'e': "\x1b", 'n': "\n", 't': "\t", 'r': "\r"}[f[i]]
			if !ok {
				return nil, badInput("-F: invalid escape \\%c", f[i])
			}
			lit.WriteString(esc)
		case c == '@' && i+1 < len(f):
			i++
			switch l, ok := strftime[f[i]]; {
			case f[i] == '@':
				lit.WriteByte('@')
			case f[i] == 'N' || f[i] == 's' || ok:
				flush()
				out.parts = append(out.parts, formatPart{verb: '@', layout: string(f[i]) + l})
			default:
				return nil, badInput("-F: @%c is not a time field cellmqtt knows (Y m d H M S z Z F T N s ...)", f[i])
			}
		case c == '%' && i+1 < len(f):
			i++
			if f[i] == '%' {
				lit.WriteByte('%')
				continue
			}
			p := formatPart{prec: -1}
			for ; i < len(f) && (f[i] == '-' || f[i] == '0'); i++ {
				p.left = p.left || f[i] == '-'
				p.zero = p.zero || f[i] == '0'
			}
			for ; i < len(f) && f[i] >= '0' && f[i] <= '9'; i++ {
				p.width = p.width*10 + int(f[i]-'0')
			}
			if i < len(f) && f[i] == '.' {
				p.prec = 0
				for i++; i < len(f) && f[i] >= '0' && f[i] <= '9'; i++ {
					p.prec = p.prec*10 + int(f[i]-'0')
				}
			}
			if i >= len(f) {
				return nil, badInput("-F: format ends inside a %% parameter")
			}
			p.verb = f[i]
			if why, ok := refusedVerbs[p.verb]; ok {
				return nil, badInput("-F: %%%c is not available: %s", p.verb, why)
			}
			if !strings.ContainsRune("tpxXlIUjJ", rune(p.verb)) {
				return nil, badInput("-F: invalid format specifier '%c' (as mosquitto)", p.verb)
			}
			flush()
			out.parts = append(out.parts, p)
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return &out, nil
}

// format renders m; an error is a %J payload that is not JSON.
func (f *formatter) format(m message) ([]byte, error) {
	var b bytes.Buffer
	for _, p := range f.parts {
		if p.verb == 0 {
			b.WriteString(p.literal)
			continue
		}
		var v string
		numeric := false
		switch p.verb {
		case 't':
			v = m.topic
		case 'p':
			v = string(m.payload)
		case 'x':
			v, numeric = hex.EncodeToString(m.payload), true
		case 'X':
			v, numeric = strings.ToUpper(hex.EncodeToString(m.payload)), true
		case 'l':
			v, numeric = strconv.Itoa(len(m.payload)), true
		case 'I':
			v = m.at.Format("2006-01-02T15:04:05-0700")
		case 'U':
			v = fmt.Sprintf("%d.%09d", m.at.Unix(), m.at.Nanosecond())
		case 'j', 'J':
			j, err := f.json(m, p.verb == 'J')
			if err != nil {
				return nil, err
			}
			v = j
		case '@':
			switch p.layout[0] {
			case 'N':
				v = fmt.Sprintf("%09d", m.at.Nanosecond())
			case 's':
				v = strconv.FormatInt(m.at.Unix(), 10)
			default:
				v = m.at.Format(p.layout[1:])
			}
		}
		if p.prec >= 0 && (p.verb == 't' || p.verb == 'I') && len(v) > p.prec {
			v = v[:p.prec]
		}
		if pad := p.width - len(v); pad > 0 {
			fill := " "
			if p.zero && !p.left && numeric {
				fill = "0"
			}
			if p.left {
				v += strings.Repeat(" ", pad)
			} else {
				v = strings.Repeat(fill, pad) + v
			}
		}
		b.WriteString(v)
	}
	return b.Bytes(), nil
}

// json is mosquitto_sub's %j (payload as a JSON string) or %J (payload
// that is JSON itself), without "qos" and "retain", which the modem does
// not report.
func (f *formatter) json(m message, raw bool) (string, error) {
	payload := json.RawMessage(m.payload)
	if raw && !json.Valid(m.payload) {
		return "", fmt.Errorf("message payload is not valid JSON on topic %s", m.topic)
	}
	if !raw {
		s, err := marshal(string(m.payload), "")
		if err != nil {
			return "", err
		}
		payload = json.RawMessage(s)
	}
	v := struct {
		Tst        string          `json:"tst"`
		Topic      string          `json:"topic"`
		PayloadLen int             `json:"payloadlen"`
		Payload    json.RawMessage `json:"payload"`
	}{m.at.Format("2006-01-02T15:04:05.000000Z-0700"), m.topic, len(m.payload), payload}
	indent := ""
	if f.pretty {
		indent = "\t"
	}
	return marshal(v, indent)
}

// marshal encodes v as JSON without escaping <, > and &, as mosquitto
// writes them.
func marshal(v any, indent string) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
