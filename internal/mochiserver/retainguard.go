package mochiserver

import (
	"sync"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// retainGuard keeps mochi's retained-message store from being written while
// a subscription reads it; New installs it.
//
// mochi-mqtt v2.7.9 writes a topic's retain path under its index lock when a
// retained message is stored (TopicsIndex.RetainMessage) but reads it
// without that lock when it sends the retained messages matching a new
// wildcard subscription (TopicsIndex.Messages, after SUBACK): a data race
// that -race reports when a retained message is published while another
// client subscribes (the bridge's state topic; any two local clients).
// mochi's hooks cannot wrap the store itself, but they can wrap the
// processing of the packets that reach it: a SUBSCRIBE holds the guard's
// read lock from OnPacketRead to OnPacketProcessed (which mochi calls after
// the retained messages went out), a retained PUBLISH its write lock, and
// the embedding program's own retained publishes (Publish) the write lock
// too. A packet mochi refuses before processing it (its validation) gets no
// OnPacketProcessed, so the guard applies the same validation before it
// locks.
type retainGuard struct {
	mochi.HookBase
	aliasMax uint16 // the server's topic alias maximum, for PublishValidate

	lock sync.RWMutex // the retained store: read by subscriptions, written by retained publishes

	mu   sync.Mutex
	held map[*mochi.Client]bool // clients whose packet in processing holds lock: true write, false read
}

// guards maps each server New made to its guard, for Publish.
var guards sync.Map // *mochi.Server -> *retainGuard

func newRetainGuard(s *mochi.Server) *retainGuard {
	g := &retainGuard{held: make(map[*mochi.Client]bool)}
	if s.Options != nil && s.Options.Capabilities != nil {
		g.aliasMax = s.Options.Capabilities.TopicAliasMaximum
	}
	return g
}

// ID names the hook.
func (g *retainGuard) ID() string { return "cellmqtt-retain-guard" }

// Provides reports the hooks retainGuard implements.
func (g *retainGuard) Provides(b byte) bool {
	return b == mochi.OnPacketRead || b == mochi.OnPacketProcessed
}

// OnPacketRead takes the guard for a SUBSCRIBE (read) or a retained PUBLISH
// (write) that mochi will process. Packets of one client are read and
// processed one at a time, on that client's goroutine.
func (g *retainGuard) OnPacketRead(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	switch {
	case pk.FixedHeader.Type == packets.Subscribe && pk.SubscribeValidate() == packets.CodeSuccess:
		g.lock.RLock()
		g.hold(cl, false)
	case pk.FixedHeader.Type == packets.Publish && pk.FixedHeader.Retain && pk.PublishValidate(g.aliasMax) == packets.CodeSuccess:
		g.lock.Lock()
		g.hold(cl, true)
	}
	return pk, nil
}

func (g *retainGuard) hold(cl *mochi.Client, write bool) {
	g.mu.Lock()
	g.held[cl] = write
	g.mu.Unlock()
}

// OnPacketProcessed gives the guard back once mochi processed the packet
// (for a SUBSCRIBE, after the retained messages were sent).
func (g *retainGuard) OnPacketProcessed(cl *mochi.Client, _ packets.Packet, _ error) {
	g.mu.Lock()
	write, ok := g.held[cl]
	delete(g.held, cl)
	g.mu.Unlock()
	switch {
	case !ok:
	case write:
		g.lock.Unlock()
	default:
		g.lock.RUnlock()
	}
}

// Publish publishes a message from the embedding program into s (mochi's
// Server.Publish), holding the retain guard for a retained one when s was
// made by New.
func Publish(s *mochi.Server, topic string, payload []byte, retain bool, qos byte) error {
	if v, ok := guards.Load(s); ok && retain {
		g := v.(*retainGuard)
		g.lock.Lock()
		defer g.lock.Unlock()
	}
	return s.Publish(topic, payload, retain, qos)
}
