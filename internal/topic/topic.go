// Package topic matches MQTT topic names against subscription filters, for
// the client's routes and compat's delivery QoS, so the rules of the MQTT
// specification live in one place.
package topic

import "strings"

// Match reports whether topic matches the subscription filter as the
// MQTT 3.1.1 specification (section 4.7) says: levels are separated by '/';
// '+' matches exactly one level (which may be empty); '#' as the last level
// matches the parent level and any number of child levels; a filter
// starting with a wildcard does not match a topic starting with '$'. A
// shared subscription "$share/<group>/<filter>" matches as <filter>.
func Match(filter, topic string) bool {
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		_, f, found := strings.Cut(rest, "/")
		if !found {
			return false
		}
		filter = f
	}
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		if fl == "#" {
			return !fmore
		}
		tl, trest, tmore := strings.Cut(topic, "/")
		if fl != "+" && fl != tl {
			return false
		}
		switch {
		case !fmore && !tmore:
			return true
		case !tmore:
			// "a/#" matches "a": the rest of the filter must be exactly "#".
			return frest == "#"
		case !fmore:
			return false
		}
		filter, topic = frest, trest
	}
}

// ValidFilter reports whether the wildcards of a topic filter are placed as
// MQTT requires: '+' and '#' each take a whole level, and '#' only the last.
func ValidFilter(filter string) bool {
	for rest, more := filter, true; more; {
		var level string
		level, rest, more = strings.Cut(rest, "/")
		if len(level) > 1 && strings.ContainsAny(level, "+#") {
			return false
		}
		if level == "#" && more {
			return false
		}
	}
	return true
}

// ControlChar returns the first control character in s, a topic name or
// filter, and its byte offset: U+0000-U+001F (C0, with CR and LF) and
// U+007F-U+009F (DEL and C1). The MQTT specification discourages them
// (3.1.1 section 1.5.3) and brokers such as mosquitto close the connection
// for them, so a message with one would be sent again after every
// reconnect; mosquitto's own clients refuse them, and so do ours. ok is
// false when there is none.
func ControlChar(s string) (r rune, offset int, ok bool) {
	for i, c := range s {
		if c <= 0x1f || (c >= 0x7f && c <= 0x9f) {
			return c, i, true
		}
	}
	return 0, 0, false
}
