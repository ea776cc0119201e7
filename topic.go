package cellmqtt

import "github.com/cellmqtt/cellmqtt/internal/topic"

// TopicMatches reports whether topic matches the subscription filter as the
// MQTT 3.1.1 specification (section 4.7) says: levels are separated by '/';
// '+' matches exactly one level (which may be empty); '#' as the last level
// matches the parent level and any number of child levels; a filter
// starting with a wildcard does not match a topic starting with '$'. A
// shared subscription "$share/<group>/<filter>" matches as <filter>.
func TopicMatches(filter, name string) bool { return topic.Match(filter, name) }

// ValidFilter reports whether the wildcards of a topic filter are placed as
// MQTT requires: '+' and '#' each take a whole level, and '#' only the last.
func ValidFilter(filter string) bool { return topic.ValidFilter(filter) }
