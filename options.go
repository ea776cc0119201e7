package cellmqtt

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/queue"
)

// OnConnectHandler is called when the client connects, both at the first
// connection and after every automatic reconnect (paho's OnConnectHandler).
type OnConnectHandler func(Client)

// ConnectionLostHandler is called when the connection is lost
// unexpectedly. The error says why: it wraps atmodem.ErrConnectionLost
// (+CMQTTCONNLOST, with the cause), atmodem.ErrNoNetwork (+CMQTTNONET),
// atmodem.ErrKeepalive (+CMQTTPING), atmodem.ErrModemReset (the modem
// rebooted), atmodem.ErrClosed (the transport closed), ErrLiveness (the
// idle-link check), or an *atmodem.ResultError with code 9, 11 or 26 (a
// publish found the connection gone).
type ConnectionLostHandler func(Client, error)

// ReconnectHandler is called before each reconnection attempt (paho's
// ReconnectHandler). It may change the connection settings of the options
// it gets (brokers, client ID, credentials, keepalive, clean session, will,
// TLS) for this and the following attempts.
type ReconnectHandler func(Client, *ClientOptions)

// Defaults that differ from paho's, with the reason.
const (
	// DefaultKeepAlive is 60 s rather than paho's 30 s: the SIM7500/7600/7800
	// family accepts 60-64800 s only.
	DefaultKeepAlive = 60 * time.Second
	// DefaultLivenessInterval is how long the link may stay idle before the
	// client asks the modem whether the connection is still up.
	DefaultLivenessInterval = 2 * time.Minute
	// DefaultLivenessTimeout is the longest a liveness check may take; a
	// shorter LivenessInterval (at least 2 s) bounds it further.
	DefaultLivenessTimeout = 20 * time.Second
	// DefaultSerialBaud is the baud rate used when SetSerialPort gets 0.
	DefaultSerialBaud = 115200
)

// ClientOptions configures a Client. Create it with NewClientOptions (which
// sets the defaults) and change it with the setters; the setters return the
// options so they chain, as paho's do. NewClient takes a copy.
type ClientOptions struct {
	// Servers are the broker URLs, tried in order (AddBroker).
	Servers []string

	ClientID     string        // SetClientID
	Username     string        // SetUsername
	Password     string        // SetPassword
	CleanSession bool          // SetCleanSession
	KeepAlive    time.Duration // SetKeepAlive
	// ProtocolVersion is the MQTT protocol level (SetProtocolVersion): 4
	// (MQTT 3.1.1) or 3 (MQTT 3.1); 0 means 4.
	ProtocolVersion uint

	WillEnabled  bool   // a will is set (SetWill, SetBinaryWill)
	WillTopic    string // the will's topic
	WillPayload  []byte // the will's payload
	WillQos      byte   // the will's QoS
	WillRetained bool   // asks for a retained will, which the modem cannot do

	AutoReconnect        bool          // SetAutoReconnect
	ConnectRetry         bool          // SetConnectRetry
	ConnectRetryInterval time.Duration // SetConnectRetryInterval
	MaxReconnectInterval time.Duration // SetMaxReconnectInterval
	ConnectTimeout       time.Duration // SetConnectTimeout
	WriteTimeout         time.Duration // SetWriteTimeout
	MaxInflight          int           // SetMaxInflight
	ResumeSubs           bool          // SetResumeSubs
	Order                bool          // SetOrderMatters

	OnConnect             OnConnectHandler      // SetOnConnectHandler
	OnConnectionLost      ConnectionLostHandler // SetConnectionLostHandler
	OnReconnecting        ReconnectHandler      // SetReconnectingHandler
	DefaultPublishHandler MessageHandler        // SetDefaultPublishHandler

	// The modem: one of Modem, Transport, OpenTransport or SerialPort, in
	// that order of precedence.
	SerialPort    string                                                // SetSerialPort
	SerialBaud    int                                                   // SetSerialPort
	Transport     io.ReadWriteCloser                                    // SetTransport
	OpenTransport func(ctx context.Context) (io.ReadWriteCloser, error) // SetOpenTransport
	Modem         *atmodem.Modem                                        // SetModem
	ClientIndex   int                                                   // SetClientIndex; -1: the lowest free index
	Model         atmodem.Model                                         // SetModel
	TLS           *TLSConfig                                            // SetTLS

	APN              string        // SetAPN
	NetworkWait      time.Duration // SetWaitNetwork
	LivenessInterval time.Duration // SetLivenessInterval

	Queue               queue.Queue  // SetQueue
	QueueMaxMessages    int          // SetQueueLimits
	QueueMaxBytes       int64        // SetQueueLimits
	QueuePolicy         queue.Policy // SetQueueLimits
	QueueDir            string       // SetQueueDir
	DropQoS0WhenOffline bool         // SetDropQoS0WhenOffline

	QueueDamageHandler func(queue.Damage) // SetQueueDamageHandler

	MessageBufferLimit int // SetMessageBufferLimit

	Logger *slog.Logger // SetLogger
}

// NewClientOptions returns options with paho's defaults where they apply:
// clean session, ordered delivery, AutoReconnect on, ConnectRetry off,
// ConnectRetryInterval 30 s, MaxReconnectInterval 10 min, ConnectTimeout
// 30 s, WriteTimeout 0 (no limit; the modem's pub_timeout is then 60 s),
// one message in flight (SetMaxInflight), ResumeSubs off; and DefaultKeepAlive, DefaultLivenessInterval, model
// auto-detection, the lowest free client index, an unbounded memory queue
// with the Block policy, and QoS 0 messages queued while offline.
func NewClientOptions() *ClientOptions {
	return &ClientOptions{
		CleanSession:         true,
		KeepAlive:            DefaultKeepAlive,
		AutoReconnect:        true,
		ConnectRetryInterval: 30 * time.Second,
		MaxReconnectInterval: 10 * time.Minute,
		ConnectTimeout:       30 * time.Second,
		MaxInflight:          1,
		Order:                true,
		ClientIndex:          -1,
		Model:                atmodem.AutoDetect,
		LivenessInterval:     DefaultLivenessInterval,
		QueuePolicy:          queue.Block,
	}
}

// AddBroker adds a broker URL; brokers are tried in the order added.
// tcp:// and mqtt:// are plain MQTT (default port 1883), ssl://, tls:// and
// mqtts:// are MQTT over TLS (default port 8883, see SetTLS). A URL without
// a scheme is tcp://, and one starting with ':' gets host 127.0.0.1, as in
// paho. A URL the modem cannot use fails Connect with ErrBadBroker.
func (o *ClientOptions) AddBroker(server string) *ClientOptions {
	if len(server) > 0 && server[0] == ':' {
		server = "127.0.0.1" + server
	}
	o.Servers = append(o.Servers, server)
	return o
}

// SetClientID sets the client identifier (A7600: 1-128 bytes,
// SIM7500/7600/7800: 1-23 bytes; no '"' or control bytes).
func (o *ClientOptions) SetClientID(id string) *ClientOptions { o.ClientID = id; return o }

// SetUsername sets the user name sent in CONNECT (1-256 bytes).
func (o *ClientOptions) SetUsername(u string) *ClientOptions { o.Username = u; return o }

// SetPassword sets the password sent in CONNECT (1-256 bytes; needs a user
// name). It is redacted from logs.
func (o *ClientOptions) SetPassword(p string) *ClientOptions { o.Password = p; return o }

// SetCleanSession sets the clean-session flag of CONNECT (default true).
func (o *ClientOptions) SetCleanSession(clean bool) *ClientOptions { o.CleanSession = clean; return o }

// SetKeepAlive sets the keepalive interval in whole seconds (A7600:
// 1-64800 s, SIM7500/7600/7800: 60-64800 s). Default DefaultKeepAlive.
func (o *ClientOptions) SetKeepAlive(k time.Duration) *ClientOptions { o.KeepAlive = k; return o }

// SetProtocolVersion sets the MQTT protocol level the modem connects with:
// 4 for MQTT 3.1.1 (the default, also for 0) or 3 for MQTT 3.1, as paho's
// SetProtocolVersion. A76xx firmware connects with 3.1 unless told
// otherwise, which brokers speaking only 3.1.1 (AWS IoT, Azure IoT Hub)
// refuse, so the client selects it (atmodem.ConnectOptions.ProtocolVersion
// says how). paho's 0 means "try 4, then 3"; here it means 4. Other values
// fail Connect with atmodem.ErrInvalidParameter.
func (o *ClientOptions) SetProtocolVersion(pv uint) *ClientOptions { o.ProtocolVersion = pv; return o }

// SetWill sets a will message with a string payload.
func (o *ClientOptions) SetWill(topic string, payload string, qos byte, retained bool) *ClientOptions {
	return o.SetBinaryWill(topic, []byte(payload), qos, retained)
}

// SetBinaryWill sets a will message. The modem has no will-retain flag:
// retained=true makes Connect fail with ErrWillRetained rather than send a
// will that is not retained.
func (o *ClientOptions) SetBinaryWill(topic string, payload []byte, qos byte, retained bool) *ClientOptions {
	o.WillEnabled = true
	o.WillTopic = topic
	o.WillPayload = payload
	o.WillQos = qos
	o.WillRetained = retained
	return o
}

// UnsetWill removes the will message.
func (o *ClientOptions) UnsetWill() *ClientOptions { o.WillEnabled = false; return o }

// SetAutoReconnect sets whether the client reconnects by itself after a
// connection loss (default true). The ConnectionLostHandler is called either way.
func (o *ClientOptions) SetAutoReconnect(a bool) *ClientOptions { o.AutoReconnect = a; return o }

// SetConnectRetry sets whether Connect keeps retrying a failed first
// connection (default false). With it on, the Connect token completes only
// once connected (or on Disconnect) and messages may be published before.
func (o *ClientOptions) SetConnectRetry(a bool) *ClientOptions { o.ConnectRetry = a; return o }

// SetConnectRetryInterval sets the wait between first-connection attempts
// with ConnectRetry, and the first reconnect backoff (default 30 s).
func (o *ClientOptions) SetConnectRetryInterval(t time.Duration) *ClientOptions {
	o.ConnectRetryInterval = t
	return o
}

// SetMaxReconnectInterval caps the reconnect backoff (default 10 min).
func (o *ClientOptions) SetMaxReconnectInterval(t time.Duration) *ClientOptions {
	o.MaxReconnectInterval = t
	return o
}

// SetConnectTimeout bounds one connection attempt to one broker (default
// 30 s; 0 means no limit beyond the modem's own command timeouts).
func (o *ClientOptions) SetConnectTimeout(t time.Duration) *ClientOptions {
	o.ConnectTimeout = t
	return o
}

// SetWriteTimeout bounds how long Publish waits for room in a full queue
// with the Block policy, and sets the modem's pub_timeout (clamped to the
// manual's 60-180 s; 0 gives 60 s). Default 0: Publish waits for room until
// Disconnect.
func (o *ClientOptions) SetWriteTimeout(t time.Duration) *ClientOptions { o.WriteTimeout = t; return o }

// SetMaxInflight sets how many messages may wait for the modem's
// +CMQTTPUB result at once (paho.golang's name for the same idea; MQTT 5
// calls it Receive Maximum). The default, 1, sends the next message after
// the result of the one before: safe on every firmware. A larger window
// sends the next message after the previous PUB's OK, which on a cellular
// link multiplies the QoS 1 rate (BENCHMARKS.md: 3.1 to 58 messages
// a second at 300 ms round trip). Firmware that refuses it is detected:
// the client goes on one at a time and sends the refused message again
// (atmodem.ErrPipelineRefused). The modem's results are matched in order
// (they carry no packet identifier); see atmodem.Session.SetMaxInflight.
// Values below 1 are taken as 1.
func (o *ClientOptions) SetMaxInflight(n int) *ClientOptions {
	o.MaxInflight = max(n, 1)
	return o
}

// SetOnConnectHandler sets the handler called after every (re)connection,
// on its own goroutine.
func (o *ClientOptions) SetOnConnectHandler(h OnConnectHandler) *ClientOptions {
	o.OnConnect = h
	return o
}

// SetConnectionLostHandler sets the handler called, on its own goroutine,
// when the connection is lost unexpectedly.
func (o *ClientOptions) SetConnectionLostHandler(h ConnectionLostHandler) *ClientOptions {
	o.OnConnectionLost = h
	return o
}

// SetReconnectingHandler sets the handler called before each reconnection
// attempt.
func (o *ClientOptions) SetReconnectingHandler(h ReconnectHandler) *ClientOptions {
	o.OnReconnecting = h
	return o
}

// SetDefaultPublishHandler sets the handler of received messages that match
// no route.
func (o *ClientOptions) SetDefaultPublishHandler(h MessageHandler) *ClientOptions {
	o.DefaultPublishHandler = h
	return o
}

// SetOrderMatters sets whether handlers run one after the other on one
// goroutine in arrival order (true, the default) or each on its own
// goroutine (false). Handlers never block the modem's AT reader either way;
// with ordered delivery a slow handler delays the next messages, which wait
// in memory (see SetMessageBufferLimit).
func (o *ClientOptions) SetOrderMatters(order bool) *ClientOptions { o.Order = order; return o }

// SetResumeSubs sets whether Subscribe and Unsubscribe called while the
// connection is being re-established are kept and carried out once it is
// back (true), or fail with ErrResumeSubsOff (false, the default, as in
// paho). Subscriptions already active are always renewed after a reconnect.
func (o *ClientOptions) SetResumeSubs(resume bool) *ClientOptions { o.ResumeSubs = resume; return o }

// SetSerialPort opens the modem's AT port at path with go.bug.st/serial
// (baud 0 means DefaultSerialBaud), or at "tcp://HOST:PORT" an AT port
// bridged to TCP (ser2net, "cellmqtt sim --listen"), as atmodem.Open does.
// A serial port is taken exclusively: a second program opening it fails
// with an error naming this one (atmodem.ErrPortBusy). The client opens the
// port on Connect, reopens it when it goes away (a USB modem
// re-enumerating) and closes it on Disconnect.
func (o *ClientOptions) SetSerialPort(path string, baud int) *ClientOptions {
	o.SerialPort, o.SerialBaud = path, baud
	return o
}

// SetTransport uses rw as the byte stream to the modem's AT port (a pty, a
// TCP bridge, the emulator). The client closes it on Disconnect, or when
// the modem side ends it; it cannot open it again, so a client that must
// survive that (or Connect again after Disconnect) uses SetOpenTransport.
func (o *ClientOptions) SetTransport(rw io.ReadWriteCloser) *ClientOptions {
	o.Transport = rw
	return o
}

// SetOpenTransport makes the client open its byte stream to the modem's AT
// port with open, on Connect and again whenever the stream closed (a TCP
// bridge that dropped, a device that re-enumerated); the client closes it
// on Disconnect.
func (o *ClientOptions) SetOpenTransport(open func(ctx context.Context) (io.ReadWriteCloser, error)) *ClientOptions {
	o.OpenTransport = open
	return o
}

// SetModem uses a modem the application opened, shared with other clients
// (one per client index). The client never closes it.
func (o *ClientOptions) SetModem(m *atmodem.Modem) *ClientOptions { o.Modem = m; return o }

// SetClientIndex sets the modem's MQTT client index (0 or 1); the default
// -1 takes the lowest free index.
func (o *ClientOptions) SetClientIndex(i int) *ClientOptions { o.ClientIndex = i; return o }

// SetModel fixes the modem family (atmodem.A7600, atmodem.SIM7600) instead
// of asking the modem (atmodem.AutoDetect, the default). It applies to a
// modem the client opens itself.
func (o *ClientOptions) SetModel(m atmodem.Model) *ClientOptions { o.Model = m; return o }

// SetTLS sets the SSL context used for ssl://, tls:// and mqtts:// brokers.
// Without it such brokers use context = client index, no authentication.
func (o *ClientOptions) SetTLS(cfg TLSConfig) *ClientOptions { o.TLS = &cfg; return o }

// SetAPN sets the access point name configured (PDP context 1) before
// connecting; "" leaves the modem's setting.
func (o *ClientOptions) SetAPN(apn string) *ClientOptions { o.APN = apn; return o }

// SetWaitNetwork makes Connect wait up to timeout for the modem's packet
// network registration before the connect sequence; 0 (the default) does
// not wait.
func (o *ClientOptions) SetWaitNetwork(timeout time.Duration) *ClientOptions {
	o.NetworkWait = timeout
	return o
}

// SetLivenessInterval sets how long the link may stay idle (no command
// answered, no message received) before the client asks the modem
// (AT+CMQTTDISC?) whether the connection is still up; a check that fails
// or says disconnected counts as a connection loss (ErrLiveness). It finds
// a radio that died without telling. 0 turns the check off. Default
// DefaultLivenessInterval.
func (o *ClientOptions) SetLivenessInterval(d time.Duration) *ClientOptions {
	o.LivenessInterval = d
	return o
}

// SetQueue uses q for outgoing messages instead of a queue the client
// creates; the client does not close it. Like queue.Memory and queue.File,
// q must copy a message's payload in Put (the caller may reuse its buffer). Its own limits and policy apply
// (SetQueueLimits and SetQueueDir are then ignored).
func (o *ClientOptions) SetQueue(q queue.Queue) *ClientOptions { o.Queue = q; return o }

// SetQueueLimits bounds the queue the client creates, by message count and
// by bytes (topic plus payload); 0 means no limit of that kind. policy says
// what Publish does when full: queue.Block waits for room (up to the
// WriteTimeout, if set), queue.Reject fails the token with
// queue.ErrQueueFull, queue.DropOldest drops the oldest message, whose token
// fails with queue.ErrDropped.
func (o *ClientOptions) SetQueueLimits(messages int, bytes int64, policy queue.Policy) *ClientOptions {
	o.QueueMaxMessages, o.QueueMaxBytes, o.QueuePolicy = messages, bytes, policy
	return o
}

// SetQueueDir makes the queue durable: messages are kept in files under dir
// until the modem confirmed them, across crashes and restarts. A new client
// on the same directory sends what an earlier process left (those messages
// have no tokens).
func (o *ClientOptions) SetQueueDir(dir string) *ClientOptions { o.QueueDir = dir; return o }

// SetQueueDamageHandler sets a function called, while Connect opens the
// durable queue of SetQueueDir, for each damaged part of its files that had
// to be skipped (a record cut short by a crash, a corrupt record): messages
// queued by an earlier process may be lost, or a delivered one sent again.
// Without a handler the damage is only logged.
func (o *ClientOptions) SetQueueDamageHandler(h func(queue.Damage)) *ClientOptions {
	o.QueueDamageHandler = h
	return o
}

// SetDropQoS0WhenOffline makes Publish of a QoS 0 message fail with
// ErrQoS0Dropped while the connection is down, instead of queueing it (the
// default).
func (o *ClientOptions) SetDropQoS0WhenOffline(drop bool) *ClientOptions {
	o.DropQoS0WhenOffline = drop
	return o
}

// SetMessageBufferLimit bounds how many received messages may wait for
// handlers; when full the oldest waiting message is dropped and logged. 0
// (the default) means no limit: the buffer grows while handlers are slower
// than arrivals.
func (o *ClientOptions) SetMessageBufferLimit(n int) *ClientOptions {
	o.MessageBufferLimit = n
	return o
}

// SetLogger logs the client's events and, at debug level, the modem's AT
// traffic (passwords redacted). Default: no logging.
func (o *ClientOptions) SetLogger(l *slog.Logger) *ClientOptions { o.Logger = l; return o }
