package compat

import (
	"strings"
	"sync"
)

// topicMatch reports whether an MQTT topic filter matches a topic name,
// with the wildcards '+' (one level) and '#' (this level and all below),
// and without matching topics that begin with '$' by a leading wildcard.
func topicMatch(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		f, fRest, fMore := strings.Cut(filter, "/")
		if f == "#" {
			return true
		}
		t, tRest, tMore := strings.Cut(topic, "/")
		if f != "+" && f != t {
			return false
		}
		if !fMore || !tMore {
			// "a/#" also matches "a": the parent level of a multi-level wildcard.
			return fMore == tMore || (fMore && fRest == "#")
		}
		filter, topic = fRest, tRest
	}
}

// subscriptions are the topic filters the client subscribed through this
// connection, with their QoS; inbound messages are delivered with the
// highest QoS of the filters they match.
type subscriptions struct {
	mu      sync.Mutex
	filters map[string]byte
}

func (s *subscriptions) add(filter string, qos byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.filters == nil {
		s.filters = map[string]byte{}
	}
	s.filters[filter] = qos
}

func (s *subscriptions) remove(filter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.filters, filter)
}

// qos returns the highest QoS of the filters matching topic, and false when
// none matches.
func (s *subscriptions) qos(topic string) (byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	best, found := byte(0), false
	for f, q := range s.filters {
		if topicMatch(f, topic) {
			best, found = max(best, q), true
		}
	}
	return best, found
}
