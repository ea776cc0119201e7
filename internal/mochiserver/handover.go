package mochiserver

import (
	"sync"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// handoverWait bounds how long a CONNECT waits for the teardown of an
// earlier connection of the same client ID.
const handoverWait = 2 * time.Second

// sessionHandover ends an earlier connection with the same client ID and,
// when its session ends with it, makes the new CONNECT wait until that
// session's teardown is done; New installs it.
//
// mochi-mqtt v2.7.9 tears down a clean session after its connection ended
// (a DISCONNECT, a dropped socket, a take-over) by removing the
// subscriptions of its client ID and the client ID from its client list,
// unless the connection was taken over by then. A new connection with the
// same ID (a client that reconnects at once, as paho's tests and the
// emulator between two AT+CMQTTCONNECTs do) can register and subscribe
// between that check and that removal, in two ways: the earlier connection
// had already ended when the new CONNECT came, or the new connection's
// take-over ended it and its teardown checked before the take-over was
// marked. The teardown then deletes the new connection's subscriptions and
// the new client itself: the broker acknowledges the new SUBSCRIBE and the
// messages after it are never delivered.
//
// OnConnect runs before mochi looks at the existing session. The hook ends
// a live earlier connection itself (what mochi's take-over does first: the
// same DisconnectClient, the will published as then), learns from
// OnDisconnect whether its session is torn down, and if so waits until the
// connection is gone from the client list, at most handoverWait; mochi then
// finds no session to take over, which for a clean session is what MQTT
// asks. A session that outlives its connection is left to mochi's
// take-over, which has no such race: its teardown removes nothing.
type sessionHandover struct {
	mochi.HookBase
	server *mochi.Server

	// ended holds, for a connection that ended while still in the client
	// list, whether its session is torn down (mochi's expire); OnDisconnect
	// writes it, OnConnect reads it, and an entry goes once its connection
	// has left the list or was taken over.
	ended sync.Map // *mochi.Client -> bool
}

// ID names the hook.
func (h *sessionHandover) ID() string { return "cellmqtt-session-handover" }

// Provides reports the hooks sessionHandover implements.
func (h *sessionHandover) Provides(b byte) bool {
	return b == mochi.OnConnect || b == mochi.OnDisconnect
}

// OnDisconnect records whether cl's session is torn down now that its
// connection ended, and forgets the connections that are gone.
func (h *sessionHandover) OnDisconnect(cl *mochi.Client, _ error, expire bool) {
	h.ended.Range(func(k, _ any) bool {
		if old := k.(*mochi.Client); old.IsTakenOver() || !h.registered(old) {
			h.ended.Delete(k)
		}
		return true
	})
	h.ended.Store(cl, expire)
}

// OnConnect ends an earlier connection of cl's client ID and, if its
// session is torn down, waits for the teardown. mochi offers no hook at the
// end of a teardown, so it looks at the client list every millisecond.
func (h *sessionHandover) OnConnect(cl *mochi.Client, _ packets.Packet) error {
	deadline := time.Now().Add(handoverWait)
	for {
		old, ok := h.server.Clients.Get(cl.ID)
		if !ok || old == cl || old.IsTakenOver() || time.Now().After(deadline) {
			return nil
		}
		if !old.Closed() {
			_ = h.server.DisconnectClient(old, packets.ErrSessionTakenOver) // [MQTT-3.1.4-3]
		}
		if expire, ok := h.ended.Load(old); ok && !expire.(bool) {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
}

// registered reports whether cl is still the client list's connection for
// its client ID.
func (h *sessionHandover) registered(cl *mochi.Client) bool {
	c, ok := h.server.Clients.Get(cl.ID)
	return ok && c == cl
}
