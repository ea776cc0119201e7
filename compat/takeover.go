package compat

import (
	"context"
	"fmt"
	"sync"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// live tracks, per modem, the connections of this package by client ID, so
// that a CONNECT with the client ID of a live connection takes its session
// over (MQTT-3.1.4-2: the server disconnects the existing client) instead
// of racing it for a client index or for the broker's session.
var live = &liveSessions{modems: map[*atmodem.Modem]map[string]*adapter{}}

type liveSessions struct {
	mu     sync.Mutex
	modems map[*atmodem.Modem]map[string]*adapter
}

// find returns the connection of m with client ID id, nil when none.
func (l *liveSessions) find(m *atmodem.Modem, id string) *adapter {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.modems[m][id]
}

// on returns the connections of m.
func (l *liveSessions) on(m *atmodem.Modem) []*adapter {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*adapter, 0, len(l.modems[m]))
	for _, a := range l.modems[m] {
		out = append(out, a)
	}
	return out
}

// register records a under its client ID. A connection registered under
// the same ID meanwhile (two new connections at once) is taken over.
func (l *liveSessions) register(a *adapter) {
	l.mu.Lock()
	ids := l.modems[a.m]
	if ids == nil {
		ids = map[string]*adapter{}
		l.modems[a.m] = ids
	}
	old := ids[a.clientID]
	ids[a.clientID] = a
	l.mu.Unlock()
	if old != nil && old != a {
		old.takeOver()
	}
}

// unregister forgets a (when it is still the one registered under its ID).
func (l *liveSessions) unregister(a *adapter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := l.modems[a.m]
	if ids[a.clientID] == a {
		delete(ids, a.clientID)
		if len(ids) == 0 {
			delete(l.modems, a.m)
		}
	}
}

// takeOverSession ends the connection of m with client ID id (other than
// self) and waits until it has given its client index back, or ctx ends.
func takeOverSession(ctx context.Context, m *atmodem.Modem, id string, self *adapter) error {
	old := live.find(m, id)
	if old == nil || old == self {
		return nil
	}
	old.log.Info("compat: a new connection with the same client ID takes the session over", "client", id)
	old.takeOver()
	select {
	case <-old.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("compat: waiting for the connection of client %q to end: %w", id, ctx.Err())
	}
}

// takeOver ends this connection because a new one with its client ID
// arrived. What the client already sent (a DISCONNECT, say) is still read;
// then the connection ends as if the client had left without DISCONNECT
// (its will is published) and an MQTT 5 client is told 0x8E.
func (a *adapter) takeOver() {
	a.takenOver.Store(true)
	a.wire.takeover(takeoverGrace)
}
