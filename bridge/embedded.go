package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/internal/mochiserver"
	"github.com/cellmqtt/cellmqtt/queue"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// embedded is the local broker in the bridge's own process (mochi-mqtt):
// MQTT 3.1.1 and 5, retained messages, sessions in memory.
type embedded struct {
	b      *Bridge
	server *mochi.Server
	ln     *mochiserver.TrackingListener
	auth   Authenticator // nil: every client is let in
	once   sync.Once
	err    error
}

// startEmbedded starts the embedded broker on Options.Listener, with
// Options.Authenticator (both set by resolveListener).
func startEmbedded(b *Bridge) (*embedded, error) {
	ln, auth := b.opts.Listener, b.opts.Authenticator
	// mochiserver.New: mochi v2.7.9 mixes a client's packet identifiers
	// with its own (a local client unsubscribing while a QoS 1 or 2
	// message to it is in flight would stay subscribed).
	s, err := mochiserver.New(&mochi.Options{
		Logger:       slog.New(minLevel{slog.LevelError, b.log.Handler()}),
		InlineClient: true,
	})
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("bridge: local broker: %w", err)
	}
	wait := b.opts.connectWait
	if wait <= 0 {
		wait = connectWait
	}
	e := &embedded{b: b, server: s, ln: mochiserver.Track(connectDeadline{ln, wait}), auth: auth}
	if err := s.AddHook(&localHook{e: e}, nil); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("bridge: local broker: %w", err)
	}
	if err := s.AddListener(listeners.NewNet("local", e.ln)); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("bridge: local broker: %w", err)
	}
	if err := s.Serve(); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("bridge: local broker: %w", err)
	}
	b.log.Info("local broker listening", "addr", ln.Addr().String(), "authenticated", auth != nil)
	return e, nil
}

func (e *embedded) addr() string { return e.ln.Addr().String() }

// deliver publishes through mochi's inline client, which the hook never
// sends out.
func (e *embedded) deliver(topic string, payload []byte, qos byte) error {
	return e.server.Publish(topic, payload, false, qos)
}

func (e *embedded) publishState(topic string, payload []byte) error {
	return mochiserver.Publish(e.server, topic, payload, true, 1)
}

func (e *embedded) replayRetained() {
	seen := map[string]bool{}
	for _, r := range e.b.cfg.Rules {
		if !r.Direction.out() {
			continue
		}
		for _, pk := range e.server.Topics.Messages(r.LocalTopic()) {
			if seen[pk.TopicName] || pk.Origin == "inline" {
				continue
			}
			seen[pk.TopicName] = true
			if err := e.b.forward(pk.TopicName, pk.Payload, pk.FixedHeader.Qos, true); err != nil {
				e.b.log.Warn("a retained local message could not be queued for the remote broker", "topic", pk.TopicName, "err", err)
			}
		}
	}
}

func (e *embedded) close() error {
	e.once.Do(func() { e.err = mochiserver.Close(e.server, e.ln, time.Second) })
	return e.err
}

// localHook is the embedded broker's hook: it lets local clients in (all,
// or those its Authenticator accepts) and hands each message published
// on the broker to the bridge before mochi acknowledges it, so a PUBACK
// (or PUBREC) follows the message's Put into the out queue.
type localHook struct {
	mochi.HookBase
	e *embedded
}

// ID names the hook.
func (h *localHook) ID() string { return "cellmqtt-bridge" }

// Provides reports the hook methods implemented.
func (h *localHook) Provides(b byte) bool {
	return b == mochi.OnConnect || b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck || b == mochi.OnPublish
}

// OnConnect refuses a client the Authenticator does not let in, with the
// CONNACK "cellmqtt gateway" answers: "not authorized" without a user name
// (MQTT 3.1.1 return code 5, MQTT 5 0x87), "bad user name or password"
// otherwise (4, 0x86). mochi's own refusal (OnConnectAuthenticate) would
// say 5 or 0x86 to both.
func (h *localHook) OnConnect(cl *mochi.Client, pk packets.Packet) error {
	if h.e.auth == nil {
		return nil
	}
	user := string(pk.Connect.Username)
	err := h.e.auth.Authenticate(user, pk.Connect.Password)
	if err == nil {
		return nil
	}
	v311, v5 := packets.ErrMalformedUsernameOrPassword, packets.ErrBadUsernameOrPassword // 4, 0x86
	if user == "" {
		v311, v5 = packets.Err3NotAuthorized, packets.ErrNotAuthorized // 5, 0x87
	}
	ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ReasonCode: v311.Code}
	if cl.Properties.ProtocolVersion == 5 {
		ack.ReasonCode, ack.Properties.ReasonString = v5.Code, v5.Reason
	}
	h.e.b.log.Warn("refused a local client", "client", cl.ID, "remote", cl.Net.Remote, "user", user, "err", err)
	if werr := cl.WritePacket(ack); werr != nil {
		return fmt.Errorf("bridge: refusing local client %q: %w", cl.ID, werr)
	}
	return fmt.Errorf("bridge: local client %q refused: %w", cl.ID, err)
}

// OnConnectAuthenticate lets in every client OnConnect did not refuse.
func (h *localHook) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }

// OnACLCheck allows every topic to every client that was let in.
func (h *localHook) OnACLCheck(*mochi.Client, string, bool) bool { return true }

// OnPublish queues the message for the remote broker when an out rule
// matches. Messages of the bridge itself (the inline client: what came in
// from the remote broker, notifications, status) are never sent out. When
// the message cannot be queued, a QoS 0 message is still delivered locally
// (and logged); a QoS 1 or 2 publisher is told: an MQTT 5 QoS 1 publish
// gets a PUBACK with the reason code, and otherwise the client is
// disconnected (MQTT 3.1.1 has no negative acknowledgement, and a PUBACK
// would say the message was taken), so it sends the message again later.
func (h *localHook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	qos := pk.FixedHeader.Qos
	err := h.e.b.forward(pk.TopicName, pk.Payload, qos, pk.FixedHeader.Retain)
	if err == nil {
		return pk, nil
	}
	log := h.e.b.log.With("client", cl.ID, "topic", pk.TopicName, "bytes", len(pk.Payload), "qos", qos, "err", err)
	if errors.Is(err, cellmqtt.ErrQoS0Dropped) {
		log.Debug("a QoS 0 message published while the link is down is not kept (as mosquitto does)")
		return pk, nil
	}
	if qos == 0 {
		log.Warn("a QoS 0 message could not be queued for the remote broker; delivered to local subscribers only")
		return pk, nil
	}
	code := refusalCode(pk, err)
	if cl.Properties.ProtocolVersion == 5 && qos == 1 {
		log.Warn("refused a local message that cannot be queued for the remote broker", "reason", code.Code)
		return pk, code
	}
	log.Warn("disconnected a local client whose message cannot be queued for the remote broker (an acknowledgement would say it was taken)")
	if cl.Properties.ProtocolVersion == 5 {
		_ = h.e.server.DisconnectClient(cl, code)
	} else {
		cl.Stop(code)
	}
	return pk, packets.ErrRejectPacket
}

// refusalCode is the MQTT 5 reason code of a message the bridge cannot
// queue.
func refusalCode(pk packets.Packet, err error) packets.Code {
	switch {
	case errors.Is(err, atmodem.ErrInvalidParameter) && len(pk.TopicName) > 1024:
		return packets.ErrTopicNameInvalid
	case errors.Is(err, atmodem.ErrInvalidParameter):
		return packets.ErrImplementationSpecificError
	case errors.Is(err, queue.ErrQueueFull):
		return packets.ErrQuotaExceeded
	}
	return packets.ErrUnspecifiedError
}

// minLevel passes on the records at or above a level.
type minLevel struct {
	min slog.Level
	slog.Handler
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.Handler.Enabled(ctx, l)
}

func (m minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{m.min, m.Handler.WithAttrs(a)}
}
func (m minLevel) WithGroup(g string) slog.Handler { return minLevel{m.min, m.Handler.WithGroup(g)} }
