package mochiserver

import (
	"sync"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// packetIDSpaces keeps the client's and the broker's packet identifiers
// apart inside a mochi broker; New installs it.
//
// MQTT numbers packets independently in each direction (3.1.1 section 2.3.1,
// 5.0 section 2.2.1): a client may pick for its SUBSCRIBE, UNSUBSCRIBE or
// QoS 1/2 PUBLISH an identifier that the broker is using for a delivery to
// that client. mochi-mqtt v2.7.9 (the newest release the module proxy
// serves) keeps both directions in one inflight map per client, so such a
// collision:
//   - refuses the SUBSCRIBE or UNSUBSCRIBE with 0x91 "packet identifier in
//     use". An MQTT 3.1.1 UNSUBACK carries no code, so the client takes it
//     as success and the subscription silently stays (the emulator's paho
//     client, hence `cellmqtt --sim`, `sim --broker embedded` and the demo;
//     a local client of the bridge that unsubscribes while a QoS 1 or 2
//     message to it is in flight); a 3.1.1 SUBACK says 0x80, a failure the
//     client did not cause.
//   - deletes the delivery a QoS 1 or 2 PUBLISH collides with from the
//     inflight map (and a QoS 2 PUBREC takes its place), so the delivery is
//     never resent after a reconnect: a message lost.
//
// The hook translates every identifier the client chooses into one taken
// from the broker's own allocator (Client.NextPacketID) before mochi looks
// at the packet, and translates it back in the acknowledgement the broker
// writes. An identifier from NextPacketID is not in the inflight map, and
// the allocator's counter has moved past it: it comes round again only after
// the broker handed out every other free identifier of the 16-bit space to
// this client. That cannot happen while the client's packet is being
// processed, because the broker allows at most MaximumInflight (8192)
// deliveries in flight per client and frees them only when this client's
// acknowledgements are read, by the same goroutine that is processing the
// client's packet. A QoS 2 flow keeps its translation until its PUBCOMP;
// its PUBREC sits in the inflight map meanwhile, so the allocator skips it.
//
// Other choices were weighed: no newer mochi release is served; numbering
// the emulator's own packet identifiers would fix the emulator but not the
// other clients of an embedded broker (the bridge's local programs, paho or
// mosquitto clients in tests); and refusing colliding packets is what mochi
// already does wrongly. The client sees exactly the identifiers it sent.
type packetIDSpaces struct {
	mochi.HookBase
	mu sync.Mutex
	// sessions maps a client ID to the translations of its client-chosen
	// packet identifiers; guarded by mu. The entry lives as long as the
	// broker's session for that client ID, so a QoS 2 flow survives a
	// reconnect with clean session off.
	sessions map[string]*idTranslation
}

// idTranslation is one session's pending client-chosen identifiers.
type idTranslation struct {
	toBroker map[uint16]uint16 // client's identifier -> broker's
	toClient map[uint16]uint16 // broker's identifier -> client's
}

// ID names the hook.
func (h *packetIDSpaces) ID() string { return "cellmqtt-packet-id-spaces" }

// Provides reports the hook methods implemented.
func (h *packetIDSpaces) Provides(b byte) bool {
	switch b {
	case mochi.OnPacketRead, mochi.OnPacketEncode, mochi.OnPacketSent,
		mochi.OnSessionEstablish, mochi.OnDisconnect, mochi.OnClientExpired:
		return true
	}
	return false
}

// session returns the translations of client id, creating them; h.mu held.
func (h *packetIDSpaces) session(id string) *idTranslation {
	if h.sessions == nil {
		h.sessions = make(map[string]*idTranslation)
	}
	s := h.sessions[id]
	if s == nil {
		s = &idTranslation{toBroker: make(map[uint16]uint16), toClient: make(map[uint16]uint16)}
		h.sessions[id] = s
	}
	return s
}

// OnSessionEstablish forgets the translations of a client that starts a
// clean session: mochi drops that session's inflight messages too.
func (h *packetIDSpaces) OnSessionEstablish(cl *mochi.Client, pk packets.Packet) {
	if pk.Connect.Clean {
		h.forget(cl.ID)
	}
}

// OnDisconnect forgets the translations of a session that ends with the
// connection.
func (h *packetIDSpaces) OnDisconnect(cl *mochi.Client, _ error, expire bool) {
	if expire {
		h.forget(cl.ID)
	}
}

// OnClientExpired forgets the translations of an expired session.
func (h *packetIDSpaces) OnClientExpired(cl *mochi.Client) { h.forget(cl.ID) }

func (h *packetIDSpaces) forget(id string) {
	h.mu.Lock()
	delete(h.sessions, id)
	h.mu.Unlock()
}

// OnPacketRead gives a packet the client numbered (SUBSCRIBE, UNSUBSCRIBE,
// QoS 1/2 PUBLISH, PUBREL) an identifier of the broker's. Acknowledgements
// of the broker's deliveries (PUBACK, PUBREC, PUBCOMP) already carry one.
func (h *packetIDSpaces) OnPacketRead(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline || pk.PacketID == 0 {
		return pk, nil
	}
	switch pk.FixedHeader.Type {
	case packets.Subscribe, packets.Unsubscribe, packets.Pubrel:
	case packets.Publish:
		if pk.FixedHeader.Qos == 0 {
			return pk, nil
		}
	default:
		return pk, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.session(cl.ID)
	wire := pk.PacketID
	// A PUBREL, or a QoS 2 PUBLISH sent again, continues a QoS 2 flow
	// whose PUBREC (or, after a failed write, PUBCOMP) the broker still
	// holds under the translated identifier.
	if old, ok := s.toBroker[wire]; ok && s.toClient[old] == wire {
		if held, ok := cl.State.Inflight.Get(old); ok && continuesFlow(pk, held) {
			pk.PacketID = old
			return pk, nil
		}
	}
	id, err := cl.NextPacketID()
	if err != nil {
		// Every identifier is in flight: leave the packet to mochi,
		// which refuses it as it would have anyway.
		return pk, nil
	}
	if old, ok := s.toBroker[wire]; ok {
		delete(s.toClient, old)
	}
	s.toBroker[wire] = uint16(id)
	s.toClient[uint16(id)] = wire
	pk.PacketID = uint16(id)
	return pk, nil
}

// OnPacketEncode puts the client's own identifier back into the broker's
// answers to the client's packets: SUBACK, UNSUBACK, PUBACK, PUBREC and
// PUBCOMP (the broker's deliveries and their PUBREL keep theirs).
func (h *packetIDSpaces) OnPacketEncode(cl *mochi.Client, pk packets.Packet) packets.Packet {
	if !answersClient(pk.FixedHeader.Type) {
		return pk
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.sessions[cl.ID]; s != nil {
		if wire, ok := s.toClient[pk.PacketID]; ok {
			pk.PacketID = wire
		}
	}
	return pk
}

// OnPacketSent forgets a translation once the answer that ends its flow
// (SUBACK, UNSUBACK, PUBACK, PUBCOMP) is written. A PUBCOMP that could not
// be written stays in mochi's inflight map and is sent again, translated,
// when the client comes back.
func (h *packetIDSpaces) OnPacketSent(cl *mochi.Client, pk packets.Packet, _ []byte) {
	switch pk.FixedHeader.Type {
	case packets.Suback, packets.Unsuback, packets.Puback, packets.Pubcomp:
	default:
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sessions[cl.ID]
	if s == nil {
		return
	}
	// pk carries the client's identifier again (OnPacketEncode).
	if id, ok := s.toBroker[pk.PacketID]; ok && s.toClient[id] == pk.PacketID {
		delete(s.toBroker, pk.PacketID)
		delete(s.toClient, id)
	}
}

// continuesFlow reports whether the client's packet pk belongs to the QoS 2
// flow of which the broker holds its answer held.
func continuesFlow(pk, held packets.Packet) bool {
	switch {
	case pk.FixedHeader.Type == packets.Publish:
		return pk.FixedHeader.Qos == 2 && held.FixedHeader.Type == packets.Pubrec
	case pk.FixedHeader.Type == packets.Pubrel:
		return held.FixedHeader.Type == packets.Pubrec || held.FixedHeader.Type == packets.Pubcomp
	}
	return false
}

// answersClient reports whether the broker sends packets of type t only in
// answer to a packet the client numbered.
func answersClient(t byte) bool {
	switch t {
	case packets.Suback, packets.Unsuback, packets.Puback, packets.Pubrec, packets.Pubcomp:
		return true
	}
	return false
}
