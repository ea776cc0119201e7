package atmodem

// CONTRACT STUB: the signatures below are the agreed API of the per-index
// session. The atmodem session work replaces the bodies (and may move the
// declarations into session.go, events.go ...); signatures only change by
// agreement because the client and compat packages build on them.

import (
	"context"
	"time"
)

// EventKind says what happened on a client index.
type EventKind int

// The event kinds of a Session.
const (
	// EventMessage: a message arrived (RXSTART..RXEND); Event.Message is set.
	EventMessage EventKind = iota + 1
	// EventConnLost: +CMQTTCONNLOST; Event.Cause is set; Event.Err wraps ErrConnectionLost.
	EventConnLost
	// EventPingFail: +CMQTTPING (keepalive failed); Event.Code is set; Err wraps ErrKeepalive.
	EventPingFail
	// EventNoNetwork: +CMQTTNONET; Err wraps ErrNoNetwork. Sent to every session.
	EventNoNetwork
	// EventReset: the modem rebooted; Err wraps ErrModemReset. Sent to every session.
	EventReset
	// EventClosed: the transport closed; Err wraps ErrClosed. The last event.
	EventClosed
)

// ConnLostCause is the <cause> of +CMQTTCONNLOST.
type ConnLostCause int

// The causes of +CMQTTCONNLOST.
const (
	CauseSocketClosed  ConnLostCause = 1 // socket is closed passively
	CauseSocketReset   ConnLostCause = 2 // socket is reset
	CauseNetworkClosed ConnLostCause = 3 // network is closed
)

// Message is a message the modem received for a client index. The modem's
// URCs carry no QoS, retain or dup flag, so none is reported.
type Message struct {
	Index   int
	Topic   string
	Payload []byte
}

// Event is one thing that happened on a client index, in the order the modem
// reported it.
type Event struct {
	Kind    EventKind
	Index   int
	Message *Message      // EventMessage
	Cause   ConnLostCause // EventConnLost
	Code    ResultCode    // EventPingFail
	Err     error         // loss kinds: says which, wraps the sentinel
}

// Will is the will message set with AT+CMQTTWILLTOPIC / AT+CMQTTWILLMSG. The
// modem has no will retain flag.
type Will struct {
	Topic   string
	Payload []byte
	QoS     byte
}

// Cert is a certificate or key file on the modem. With Data set it is
// uploaded with AT+CCERTDOWN under Name when the modem does not list it (or
// when this Modem uploaded other data under that name); with Data nil, Name
// must already be on the modem.
type Cert struct {
	Name string // 5-128 bytes, ending in .pem or .der
	Data []byte // PEM or DER bytes, 1-10240 bytes, or nil
}

// AuthMode is AT+CSSLCFG "authmode".
type AuthMode int

// The authentication modes of AT+CSSLCFG.
const (
	AuthNone         AuthMode = 0 // no authentication
	AuthServer       AuthMode = 1 // server authentication (needs CACert)
	AuthServerClient AuthMode = 2 // server and client (CACert, ClientCert, ClientKey)
	AuthClient       AuthMode = 3 // client authentication only
)

// TLSConfig is the SSL context used for a server type 1 (ssl://, tls://,
// mqtts://) broker.
type TLSConfig struct {
	Context         int           // SSL context 0-9
	SSLVersion      int           // 0 SSL3.0, 1 TLS1.0, 2 TLS1.1, 3 TLS1.2, 4 all (default 4)
	AuthMode        AuthMode      // default AuthNone
	IgnoreLocalTime bool          // ignore the modem's clock when checking certificates
	NegotiateTime   time.Duration // 10-300 s; 0 leaves the modem's default
	CACert          Cert
	ClientCert      Cert
	ClientKey       Cert
}

// ConnectOptions is what Session.Connect needs.
type ConnectOptions struct {
	// Broker is tcp://, mqtt:// (plain) or ssl://, tls://, mqtts:// (TLS)
	// host[:port]; the modem always gets "tcp://host:port".
	Broker       string
	ClientID     string
	KeepAlive    time.Duration // whole seconds, model range; 0 means 60 s
	CleanSession bool
	Username     string // "" sends none
	Password     string // "" sends none; needs Username
	Will         *Will
	TLS          *TLSConfig // used for TLS brokers; nil means context = index, AuthNone
	// CheckUTF8 leaves the modem's UTF-8 check on; by default it is turned
	// off (payloads are opaque bytes) and topics are checked here.
	CheckUTF8 bool
	// OpTimeout sets AT+CMQTTCFG "optimeout" on the A7600 (20-120 s); 0 leaves it.
	OpTimeout time.Duration
}

// Publish is one message to send with TOPIC, PAYLOAD and PUB.
type Publish struct {
	Topic   string
	Payload []byte // 1-10240 bytes; an empty payload sends no AT+CMQTTPAYLOAD
	QoS     byte
	Retain  bool
	Dup     bool
	Timeout time.Duration // pub_timeout, 60-180 s; 0 means 60 s
}

// Subscription is one topic filter with its QoS.
type Subscription struct {
	Topic string
	QoS   byte
}

// Session drives one MQTT client index of a modem: the connect sequence,
// publish, subscribe, unsubscribe, disconnect, and the events of that index.
type Session struct {
	m     *Modem
	index int
}

// Session claims client index i (0 or 1) of the modem. It fails with
// ErrIndexInUse while another Session holds it; Close gives it back.
func (m *Modem) Session(i int) (*Session, error) { panic("contract stub") }

// FreeSession claims the lowest free client index, or fails with ErrNoFreeIndex.
func (m *Modem) FreeSession() (*Session, error) { panic("contract stub") }

// Index returns the client index.
func (s *Session) Index() int { return s.index }

// Modem returns the modem the session runs on.
func (s *Session) Modem() *Modem { return s.m }

// CheckConnect validates opts against the model's limits and quoting rules
// without writing anything.
func (s *Session) CheckConnect(opts ConnectOptions) error { panic("contract stub") }

// CheckPublish validates p without writing anything.
func (s *Session) CheckPublish(p Publish) error { panic("contract stub") }

// CheckSubscribe validates a topic filter and QoS without writing anything.
func (s *Session) CheckSubscribe(sub Subscription) error { panic("contract stub") }

// Connect runs the connect sequence: service started (recovering when it
// already runs), index acquired with the broker's server type (recovering
// when already acquired), UTF-8 check off, certificates and SSL context,
// will, CONNECT. It rebuilds only what the modem lost since the last call.
func (s *Session) Connect(ctx context.Context, opts ConnectOptions) error {
	panic("contract stub")
}

// Publish sends one message: TOPIC, PAYLOAD, PUB. It returns nil when the
// modem reports +CMQTTPUB: i,0, a *ResultError otherwise.
func (s *Session) Publish(ctx context.Context, p Publish) error { panic("contract stub") }

// Subscribe subscribes one topic filter with the single-topic form
// AT+CMQTTSUB=i,len,qos.
func (s *Session) Subscribe(ctx context.Context, sub Subscription) error {
	panic("contract stub")
}

// SubscribeMultiple subscribes several filters in one SUBSCRIBE with
// SUBTOPIC + SUB, falling back to one SUB per filter when the firmware
// refuses SUBTOPIC.
func (s *Session) SubscribeMultiple(ctx context.Context, subs []Subscription) error {
	panic("contract stub")
}

// Unsubscribe unsubscribes one or more filters.
func (s *Session) Unsubscribe(ctx context.Context, topics ...string) error {
	panic("contract stub")
}

// Connected asks the modem (AT+CMQTTDISC?) whether the index is connected.
func (s *Session) Connected(ctx context.Context) (bool, error) { panic("contract stub") }

// Disconnect sends DISC (timeout 0 or 60-180 s) and REL, and stops the
// service when no other index of the modem still uses it.
func (s *Session) Disconnect(ctx context.Context, timeout time.Duration) error {
	panic("contract stub")
}

// Events returns the ordered stream of events of this index. It never
// blocks the AT reader; it is closed by Close or after EventClosed.
func (s *Session) Events() <-chan Event { panic("contract stub") }

// Close gives the client index back to the modem (it does not talk to the
// modem; call Disconnect first) and closes the Events channel.
func (s *Session) Close() error { panic("contract stub") }
