package compat

import (
	"maps"
	"sync"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// kept remembers, per modem and client ID, the subscriptions of clients
// with a persistent session (MQTT 3.1.1 clean session 0, MQTT 5 session
// expiry > 0) for as long as this process runs. The broker sends such a
// client the messages it queued for it right after the CONNECT, before the
// client has made its SUBSCRIBE again, and the modem reports no QoS: with
// the subscriptions of the client's last connection they are delivered at
// the QoS of the subscription they match instead of 0. A clean connect
// forgets them, as the broker does.
var kept = &keptSubscriptions{modems: map[*atmodem.Modem]map[string]map[string]byte{}}

type keptSubscriptions struct {
	mu     sync.Mutex
	modems map[*atmodem.Modem]map[string]map[string]byte // modem -> client ID -> filter -> QoS
}

// resume returns the subscriptions kept for client id of m (persistent
// session), or forgets them (clean session).
func (k *keptSubscriptions) resume(m *atmodem.Modem, id string, persistent bool) map[string]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !persistent {
		delete(k.modems[m], id)
		if len(k.modems[m]) == 0 {
			delete(k.modems, m)
		}
		return nil
	}
	return maps.Clone(k.modems[m][id])
}

// store keeps the subscriptions of client id of m.
func (k *keptSubscriptions) store(m *atmodem.Modem, id string, filters map[string]byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ids := k.modems[m]
	if ids == nil {
		ids = map[string]map[string]byte{}
		k.modems[m] = ids
	}
	ids[id] = maps.Clone(filters)
}
