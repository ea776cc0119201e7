package bridge

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cellmqtt/cellmqtt/internal/topic"
)

// Direction says which way a topic rule carries messages.
type Direction int

// The directions of mosquitto's topic keyword.
const (
	// Out carries messages published on the local broker to the remote
	// broker (local -> modem -> remote).
	Out Direction = iota + 1
	// In carries messages the remote broker delivers to the modem's
	// subscription into the local broker.
	In
	// Both is Out and In.
	Both
)

// String gives the keyword: out, in or both.
func (d Direction) String() string {
	switch d {
	case Out:
		return "out"
	case In:
		return "in"
	case Both:
		return "both"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// out reports whether the direction carries local messages out.
func (d Direction) out() bool { return d == Out || d == Both }

// in reports whether the direction carries remote messages in.
func (d Direction) in() bool { return d == In || d == Both }

// Rule is one topic line of a bridge: mosquitto's
//
//	topic <pattern> [[[out|in|both] qos] local-prefix remote-prefix]
//
// with the same meaning: Out rules subscribe LocalTopic on the local broker
// and publish what arrives on the remote broker with the local prefix
// replaced by the remote one; In rules subscribe RemoteTopic on the remote
// broker through the modem and publish what arrives on the local broker with
// the remote prefix replaced by the local one. "" in the pattern or a
// prefix position means empty, as in mosquitto.conf.
type Rule struct {
	Pattern      string // the topic pattern; may be empty when both prefixes are set
	Direction    Direction
	QoS          byte
	LocalPrefix  string
	RemotePrefix string
}

// LocalTopic is the filter the rule uses on the local broker: the local
// prefix followed by the pattern.
func (r Rule) LocalTopic() string { return r.LocalPrefix + r.Pattern }

// RemoteTopic is the filter the rule uses on the remote broker: the remote
// prefix followed by the pattern.
func (r Rule) RemoteTopic() string { return r.RemotePrefix + r.Pattern }

// remaps reports whether the rule changes topics (mosquitto remaps only with
// rules that have a prefix).
func (r Rule) remaps() bool { return r.LocalPrefix != "" || r.RemotePrefix != "" }

// String gives the rule in mosquitto's syntax.
func (r Rule) String() string {
	q := func(s string) string {
		if s == "" {
			return `""`
		}
		return s
	}
	s := fmt.Sprintf("%s %s %d", q(r.Pattern), r.Direction, r.QoS)
	if r.remaps() {
		s += " " + q(r.LocalPrefix) + " " + q(r.RemotePrefix)
	}
	return s
}

// ParseRule parses the arguments of a topic line (everything after the
// keyword "topic"), as mosquitto does: the direction defaults to out and the
// QoS to 0; a token starting with '#' after the pattern ends the line.
func ParseRule(args string) (Rule, error) {
	f := strings.Fields(args)
	for i := 1; i < len(f); i++ {
		if strings.HasPrefix(f[i], "#") {
			f = f[:i]
			break
		}
	}
	if len(f) == 0 {
		return Rule{}, errors.New("empty topic value: want <pattern> [[[out|in|both] qos] local-prefix remote-prefix]")
	}
	if len(f) > 5 {
		return Rule{}, fmt.Errorf("%d values after the pattern: want at most [[[out|in|both] qos] local-prefix remote-prefix]", len(f)-1)
	}
	r := Rule{Pattern: unquoteEmpty(f[0]), Direction: Out}
	if len(f) > 1 {
		switch strings.ToLower(f[1]) {
		case "out":
			r.Direction = Out
		case "in":
			r.Direction = In
		case "both":
			r.Direction = Both
		default:
			return Rule{}, fmt.Errorf("invalid direction %q: want out, in or both", f[1])
		}
	}
	if len(f) > 2 {
		q, err := strconv.Atoi(f[2])
		if err != nil || q < 0 || q > 2 {
			return Rule{}, fmt.Errorf("invalid QoS level %q: want 0, 1 or 2", f[2])
		}
		r.QoS = byte(q)
	}
	if len(f) > 3 {
		r.LocalPrefix = unquoteEmpty(f[3])
	}
	if len(f) > 4 {
		r.RemotePrefix = unquoteEmpty(f[4])
	}
	if err := r.check(); err != nil {
		return Rule{}, err
	}
	return r, nil
}

// unquoteEmpty maps mosquitto's place marker "" to the empty string.
func unquoteEmpty(s string) string {
	if s == `""` {
		return ""
	}
	return s
}

// check applies mosquitto's rules: prefixes are valid topic names, an empty
// pattern needs both prefixes, and prefix plus pattern is a valid filter.
func (r Rule) check() error {
	for _, p := range []struct{ name, v string }{{"local prefix", r.LocalPrefix}, {"remote prefix", r.RemotePrefix}} {
		if p.v == "" {
			continue
		}
		if strings.ContainsAny(p.v, "+#") {
			return fmt.Errorf("invalid %s %q: a prefix is a topic name and cannot hold a wildcard", p.name, p.v)
		}
		if !utf8.ValidString(p.v) || strings.ContainsRune(p.v, 0) {
			return fmt.Errorf("invalid %s %q: not valid UTF-8 or holds a NUL", p.name, p.v)
		}
	}
	if r.Pattern == "" && (r.LocalPrefix == "" || r.RemotePrefix == "") {
		return errors.New(`invalid bridge remapping: an empty pattern ("") needs both a local and a remote prefix`)
	}
	for _, side := range []struct{ name, filter string }{{"local", r.LocalTopic()}, {"remote", r.RemoteTopic()}} {
		if err := checkFilter(side.filter); err != nil {
			return fmt.Errorf("invalid %s topic %q (prefix and pattern): %w", side.name, side.filter, err)
		}
	}
	return nil
}

// checkFilter checks a topic filter as MQTT and the modem require.
func checkFilter(f string) error {
	switch {
	case f == "":
		return errors.New("empty")
	case len(f) > 1024:
		return fmt.Errorf("%d bytes, over the modem's 1024", len(f))
	case !utf8.ValidString(f) || strings.ContainsRune(f, 0):
		return errors.New("not valid UTF-8 or holds a NUL")
	case !topic.ValidFilter(f):
		return errors.New("'+' and '#' must each take a whole level, '#' only the last")
	}
	return nil
}

// remapOut gives the remote topic of a local topic matched by an out rule:
// the first out or both rule with a prefix whose LocalTopic matches strips
// the local prefix and adds the remote prefix; with no such rule the topic
// is unchanged (mosquitto's send__publish).
func remapOut(rules []Rule, t string) string {
	for _, r := range rules {
		if !r.Direction.out() || !r.remaps() || !topic.Match(r.LocalTopic(), t) {
			continue
		}
		return r.RemotePrefix + strings.TrimPrefix(t, r.LocalPrefix)
	}
	return t
}

// remapIn gives the local topic of a topic the remote broker delivered: the
// first in or both rule with a prefix whose RemoteTopic matches strips the
// remote prefix and adds the local prefix; with no such rule the topic is
// unchanged (mosquitto's bridge__remap_topic_in).
func remapIn(rules []Rule, t string) string {
	for _, r := range rules {
		if !r.Direction.in() || !r.remaps() || !topic.Match(r.RemoteTopic(), t) {
			continue
		}
		return r.LocalPrefix + strings.TrimPrefix(t, r.RemotePrefix)
	}
	return t
}

// outQoS reports whether a local message on topic t goes out and at which
// QoS: mosquitto subscribes each out rule's LocalTopic at the rule's QoS, so
// a message goes out at its own QoS capped by the subscription. Where
// several out rules match, the message goes out once, at the highest of
// their QoS levels (mosquitto would send one copy per matching rule).
func outQoS(rules []Rule, t string, msgQoS byte) (byte, bool) {
	var qos byte
	found := false
	for _, r := range rules {
		if r.Direction.out() && topic.Match(r.LocalTopic(), t) {
			found = true
			qos = max(qos, r.QoS)
		}
	}
	return min(qos, msgQoS), found
}

// inQoS is the QoS at which a message from the remote broker on topic t is
// published locally: the modem does not report the QoS it arrived with, so
// the highest QoS of the in rules whose RemoteTopic matches, which is what
// the remote broker delivers at most; 0 when none matches (a subscription
// left in a persistent session).
func inQoS(rules []Rule, t string) byte {
	var qos byte
	for _, r := range rules {
		if r.Direction.in() && topic.Match(r.RemoteTopic(), t) {
			qos = max(qos, r.QoS)
		}
	}
	return qos
}
