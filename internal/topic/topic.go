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
