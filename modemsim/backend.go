package modemsim

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/cellmqtt/cellmqtt/internal/netdelay"
	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// The MQTT back-end of the emulator: one real MQTT 3.1 or 3.1.1
// connection (paho.mqtt.golang) per acquired client index.

func init() { dialBroker = dialPaho }

// defaultConnectTimeout bounds TCP dial and CONNACK when the caller's
// context has no deadline.
const defaultConnectTimeout = 30 * time.Second

// eventQueueSize is how many inbound messages may wait for the front-end
// before the broker connection is slowed down (paho stops reading).
const eventQueueSize = 1024

// pahoLink is a brokerLink over a paho.mqtt.golang client.
type pahoLink struct {
	client mqtt.Client
	raw    net.Conn      // the TCP socket; closed by Drop without DISCONNECT
	conn   *brokerConn   // what paho reads and writes (above TLS, if any)
	ev     linkEvents    // callbacks into the front-end
	events chan linkEv   // ordered inbound messages, then at most one loss
	done   chan struct{} // closed when the link is closed locally
	pubMu  sync.Mutex    // one publish handed to paho at a time, so DUP marking is exact
	closed atomic.Bool   // Disconnect or Drop called: no more events
	once   sync.Once     // closes done
}

// linkEv is one event for the front-end: an inbound message or, when lost
// is non-zero, the loss of the connection with that cause.
type linkEv struct {
	topic   string
	payload []byte
	lost    int
}

// dialPaho is dialBroker: it dials cfg.Addr (TLS when cfg.TLS), sends a real
// CONNECT and maps every failure to the manuals' result codes:
// 25 DNS error, 3 sock connect fail, 33 certificate not set, 32 handshake
// fail, 27-31 refused CONNACK, 26 socket closed by the server before
// CONNACK, 17 timeout.
func dialPaho(ctx context.Context, cfg linkConfig, ev linkEvents) (brokerLink, simcom.ResultCode) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultConnectTimeout)
		defer cancel()
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		slog.Debug("modemsim: bad broker address", "addr", cfg.Addr, "err", err)
		return nil, simcom.CodeSockConnectFail
	}
	var tlsCfg *tls.Config
	if cfg.TLS {
		tlsCfg, err = buildTLSConfig(cfg.SSL, cfg.Certs, host)
		if err != nil {
			slog.Debug("modemsim: TLS configuration", "err", err)
			if errors.Is(err, errCertNotSet) {
				return nil, simcom.CodeCertNotSet
			}
			return nil, simcom.CodeHandshakeFail
		}
	}
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		slog.Debug("modemsim: dial broker", "addr", cfg.Addr, "err", err)
		return nil, dialErrorCode(err)
	}
	// The broker round trip: half of it each way, under TLS. raw stays the
	// socket itself, which Drop closes without a word.
	stream := netdelay.Wrap(raw, netdelay.Path{Delay: cfg.RTT / 2})
	if tlsCfg != nil {
		tc := tls.Client(stream, tlsCfg)
		hctx, cancel := context.WithTimeout(ctx, cfg.SSL.negotiateTimeout())
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			slog.Debug("modemsim: TLS handshake", "addr", cfg.Addr, "err", err)
			_ = raw.Close()
			return nil, simcom.CodeHandshakeFail
		}
		stream = tc
	}

	l := &pahoLink{
		raw:    raw,
		conn:   &brokerConn{Conn: stream},
		ev:     ev,
		events: make(chan linkEv, eventQueueSize),
		done:   make(chan struct{}),
	}
	deadline, _ := ctx.Deadline()
	opts := mqtt.NewClientOptions().
		AddBroker("tcp://" + cfg.Addr).
		SetClientID(cfg.ClientID).
		SetProtocolVersion(uint(protocolLevel(cfg))). // exactly that level, no fallback
		SetKeepAlive(time.Duration(cfg.KeepAlive) * time.Second).
		SetPingTimeout(pingTimeout(cfg.KeepAlive)).
		SetCleanSession(cfg.CleanSession).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetResumeSubs(false).
		SetOrderMatters(true).
		SetConnectTimeout(time.Until(deadline)).
		SetDefaultPublishHandler(l.onMessage).
		SetConnectionLostHandler(l.onLost).
		SetCustomOpenConnectionFn(l.openConnection)
	if cfg.HasUsername {
		opts.SetUsername(cfg.Username)
	}
	if cfg.HasPassword {
		opts.SetPassword(cfg.Password)
	}
	if w := cfg.Will; w != nil {
		opts.SetBinaryWill(w.Topic, w.Payload, w.QoS, false)
	}
	l.client = mqtt.NewClient(opts)

	tok := l.client.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		_ = raw.Close() // paho fails the CONNACK read at once
		<-tok.Done()
	}
	if err := tok.Error(); err != nil {
		_ = raw.Close()
		code := connectErrorCode(tok, err, ctx.Err())
		if cfg.TLS && code == simcom.CodeSocketClosedByServer {
			// The server ended the TLS session before CONNACK: it refused
			// the session (e.g. no client certificate), which the firmware
			// reports as a failed handshake.
			code = simcom.CodeHandshakeFail
		}
		slog.Debug("modemsim: MQTT connect", "addr", cfg.Addr, "err", err, "code", int(code))
		return nil, code
	}
	go l.deliver()
	return l, simcom.CodeOK
}

// protocolLevel is the MQTT protocol level of cfg: 3 or 4; 4 when unset.
func protocolLevel(cfg linkConfig) byte {
	if cfg.ProtocolLevel == 3 {
		return 3
	}
	return 4
}

// pingTimeout is how long the link waits for PINGRESP before it declares
// the connection lost (cause 3): paho's 10 s, or the keepalive when shorter.
func pingTimeout(keepAlive int) time.Duration {
	return min(10*time.Second, max(time.Second, time.Duration(keepAlive)*time.Second))
}

// openConnection hands paho the connection dialled (and TLS-negotiated) by
// dialPaho, once: the link never reconnects by itself.
func (l *pahoLink) openConnection(_ *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
	if !l.conn.handedOut.CompareAndSwap(false, true) {
		return nil, errors.New("modemsim: broker connection already used")
	}
	return l.conn, nil
}

// dialErrorCode maps a TCP dial error to 25 (DNS error) or 3 (sock connect
// fail).
func dialErrorCode(err error) simcom.ResultCode {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return simcom.CodeDNSError
	}
	return simcom.CodeSockConnectFail
}

// connectErrorCode maps a failed CONNECT to a result code: the CONNACK
// return code 1-5 to 27-31; a TLS alert received instead of CONNACK (the
// server refused the session, e.g. its client certificate) to 32; the
// server closing the socket to 26; a deadline to 17; anything else to 3.
func connectErrorCode(tok mqtt.Token, err, ctxErr error) simcom.ResultCode {
	if ct, ok := tok.(*mqtt.ConnectToken); ok {
		if code, ok := simcom.ResultCodeFromConnack(ct.ReturnCode()); ok {
			return code
		}
	}
	for rc, e := range packets.ConnErrors { // in case the token type changes
		if e != nil && errors.Is(err, e) {
			if code, ok := simcom.ResultCodeFromConnack(rc); ok {
				return code
			}
		}
	}
	var alert tls.AlertError
	var recordErr tls.RecordHeaderError
	var opErr *net.OpError
	switch {
	case errors.As(err, &alert), errors.As(err, &recordErr),
		errors.As(err, &opErr) && opErr.Op == "remote error": // crypto/tls reports received alerts so
		return simcom.CodeHandshakeFail
	case errors.Is(ctxErr, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return simcom.CodeTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return simcom.CodeSocketClosedByServer
	}
	return simcom.CodeSockConnectFail
}

// lostCause maps the error that ended a connection to the cause of
// +CMQTTCONNLOST: 1 the server closed the socket, 2 the socket was reset,
// 3 anything else (network errors, keepalive timeout).
func lostCause(err error) int {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return 1
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return 2
	}
	return 3
}

// onMessage is paho's default publish handler; with OrderMatters it runs in
// arrival order, and so does the queue it feeds.
func (l *pahoLink) onMessage(_ mqtt.Client, m mqtt.Message) {
	select {
	case l.events <- linkEv{topic: m.Topic(), payload: m.Payload()}:
	case <-l.done:
	}
}

// onLost is paho's connection-lost handler.
func (l *pahoLink) onLost(_ mqtt.Client, err error) {
	if l.closed.Load() {
		return // Drop or Disconnect: the front-end knows
	}
	cause := lostCause(err)
	slog.Debug("modemsim: broker connection lost", "err", err, "cause", cause)
	select {
	case l.events <- linkEv{lost: cause}:
	case <-l.done:
	}
}

// deliver hands events to the front-end in order until the link is closed
// or lost.
func (l *pahoLink) deliver() {
	for {
		select {
		case <-l.done:
			return
		case e := <-l.events:
			if l.closed.Load() {
				return
			}
			if e.lost != 0 {
				l.close()
				if l.ev.Lost != nil {
					l.ev.Lost(e.lost)
				}
				return
			}
			if l.ev.Message != nil {
				l.ev.Message(e.topic, e.payload)
			}
		}
	}
}

// close stops event delivery; it reports whether this call closed the link.
func (l *pahoLink) close() bool {
	first := false
	l.once.Do(func() {
		first = true
		l.closed.Store(true)
		close(l.done)
	})
	return first
}

// Connected reports whether the broker connection is up.
func (l *pahoLink) Connected() bool {
	return !l.closed.Load() && l.client.IsConnectionOpen()
}

// Publish sends one PUBLISH and waits for its completion: written for QoS 0,
// PUBACK for QoS 1, PUBCOMP for QoS 2. 11 without a connection, 17 when the
// broker does not answer within timeout.
//
// paho.mqtt.golang's API cannot set DUP on a first transmission (it sets it
// only when it resends from its store), so the link sets the DUP bit of the
// PUBLISH itself as it goes through the socket (brokerConn.Write), which
// keeps the flag of AT+CMQTTPUB's <dup> on the wire. MQTT 3.1.1 requires DUP
// 0 for QoS 0, so dup is ignored there.
func (l *pahoLink) Publish(topic string, payload []byte, qos byte, retain, dup bool, timeout time.Duration) simcom.ResultCode {
	if !l.Connected() {
		return simcom.CodeNoConnection
	}
	// paho writes PUBLISH packets in the order of the Publish calls, so the
	// DUP flags queued in that order match them; several publishes of an
	// index can then wait for their PUBACKs at once (Config.Pipeline).
	l.pubMu.Lock()
	if qos > 0 {
		l.conn.queueDup(dup)
	}
	tok := l.client.Publish(topic, qos, retain, payload)
	l.pubMu.Unlock()
	return l.wait(tok, timeout)
}

// wait maps a paho token's completion to a result code.
func (l *pahoLink) wait(tok mqtt.Token, timeout time.Duration) simcom.ResultCode {
	if !tok.WaitTimeout(timeout) {
		return simcom.CodeTimeout
	}
	if err := tok.Error(); err != nil {
		if !l.Connected() {
			return simcom.CodeNoConnection
		}
		return simcom.CodeSockSendingFail
	}
	return simcom.CodeOK
}

// Subscribe sends one SUBSCRIBE with every topic and waits for the SUBACK;
// a refused topic (0x80) gives 1 (failed).
func (l *pahoLink) Subscribe(topics []string, qos []byte, timeout time.Duration) simcom.ResultCode {
	if len(topics) == 0 || len(topics) != len(qos) {
		return simcom.CodeInvalidParameter
	}
	if !l.Connected() {
		return simcom.CodeNoConnection
	}
	filters := make(map[string]byte, len(topics))
	for i, t := range topics {
		filters[t] = qos[i]
	}
	tok := l.client.SubscribeMultiple(filters, nil)
	if code := l.wait(tok, timeout); code != simcom.CodeOK {
		return code
	}
	if st, ok := tok.(*mqtt.SubscribeToken); ok {
		for _, granted := range st.Result() {
			if granted == 0x80 {
				return simcom.CodeFailed
			}
		}
	}
	return simcom.CodeOK
}

// Unsubscribe sends one UNSUBSCRIBE with every topic and waits for the
// UNSUBACK.
func (l *pahoLink) Unsubscribe(topics []string, timeout time.Duration) simcom.ResultCode {
	if len(topics) == 0 {
		return simcom.CodeInvalidParameter
	}
	if !l.Connected() {
		return simcom.CodeNoConnection
	}
	return l.wait(l.client.Unsubscribe(topics...), timeout)
}

// Disconnect sends DISCONNECT (the broker discards the will) and closes the
// connection, waiting at most timeout (a few seconds when 0) for pending
// work. 11 when not connected.
func (l *pahoLink) Disconnect(timeout time.Duration) simcom.ResultCode {
	if !l.Connected() {
		l.close()
		return simcom.CodeNoConnection
	}
	l.close()
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	l.client.Disconnect(uint(timeout / time.Millisecond))
	_ = l.raw.Close()
	return simcom.CodeOK
}

// Drop closes the socket without DISCONNECT, as when the radio dies or the
// modem reboots: the broker publishes the will. No Lost event follows.
func (l *pahoLink) Drop() {
	first := l.close()
	_ = l.raw.Close()
	if !first {
		return // already disconnected or lost
	}
	// paho ignores reads failing on a closed socket; its Disconnect stops
	// the workers (the DISCONNECT it tries to write dies with the socket),
	// so that no goroutine outlives the link.
	l.client.Disconnect(1000)
}

// brokerConn is the connection paho reads and writes. It sets the DUP flag
// of QoS 1 and 2 PUBLISH packets as AT+CMQTTPUB asked, which paho's API
// cannot do.
type brokerConn struct {
	net.Conn
	handedOut atomic.Bool
	mu        sync.Mutex
	dups      []bool // the DUP flag of each QoS>0 PUBLISH to come, in order
}

// queueDup gives the DUP flag of the next QoS 1 or 2 PUBLISH handed to paho.
func (c *brokerConn) queueDup(dup bool) {
	c.mu.Lock()
	c.dups = append(c.dups, dup)
	c.mu.Unlock()
}

// Write passes one MQTT packet (paho writes each packet with one Write) to
// the connection, setting DUP on a QoS 1 or 2 PUBLISH whose flag says so.
func (c *brokerConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if isQoSPublish(b) && len(c.dups) > 0 {
		dup := c.dups[0]
		c.dups = c.dups[1:]
		if dup {
			b = append([]byte(nil), b...)
			b[0] |= 0x08
		}
	}
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// isQoSPublish reports whether b is a QoS 1 or 2 PUBLISH packet.
func isQoSPublish(b []byte) bool {
	return len(b) >= 2 && b[0]>>4 == packets.Publish && (b[0]>>1)&3 != 0
}
