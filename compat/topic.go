package compat

import (
	"maps"
	"sync"

	"github.com/cellmqtt/cellmqtt/internal/topic"
)

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

// qos returns the highest QoS of the filters matching the topic name, and false when
// none matches.
func (s *subscriptions) qos(name string) (byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	best, found := byte(0), false
	for f, q := range s.filters {
		if topic.Match(f, name) {
			best, found = max(best, q), true
		}
	}
	return best, found
}

// reset replaces the filters (those of a resumed persistent session).
func (s *subscriptions) reset(filters map[string]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.filters = filters
}

// snapshot returns a copy of the filters.
func (s *subscriptions) snapshot() map[string]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.filters)
}
