// The connection commands AT+CMQTTCONNECT and AT+CMQTTDISC, and the loss
// of a connection reported by the back-end.

package modemsim

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// cmdConnect is AT+CMQTTCONNECT.
func cmdConnect(s *Sim, c atCommand, r *reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.gatedRead(c, r, connectLine) {
		return nil
	}
	if !countIn(c, 4, 6) {
		r.error()
		return nil
	}
	lim := s.d.limits
	idx, ok1 := intIn(c.Params[0], indexRange)
	srv := c.Params[1]
	keep, ok2 := intIn(c.Params[2], lim.KeepAlive)
	clean, ok3 := intIn(c.Params[3], bitRange)
	if !ok1 || !ok2 || !ok3 || !srv.Quoted || !lim.ServerAddr.Contains(len(srv.Text)) ||
		!strings.HasPrefix(strings.ToLower(srv.Text), serverPrefix) {
		r.error()
		return nil
	}
	info := connInfo{server: srv.Text, keepAlive: keep, cleanSession: clean == 1}
	if len(c.Params) > 4 {
		u := c.Params[4]
		if !u.Quoted || !lim.UserName.Contains(len(u.Text)) {
			r.error()
			return nil
		}
		info.user, info.hasUser = u.Text, true
	}
	if len(c.Params) > 5 {
		p := c.Params[5]
		if !p.Quoted || !lim.Password.Contains(len(p.Text)) {
			r.error()
			return nil
		}
		info.pass, info.hasPass = p.Text, true
	}
	addr, err := serverHostPort(srv.Text[len(serverPrefix):])
	if err != nil {
		r.error()
		return nil
	}
	cl := s.st.client(idx)
	switch {
	case !cl.acquired:
		r.codeError("+CMQTTCONNECT", idx, simcom.CodeClientNotAcquired)
		return nil
	case cl.connected():
		// Real firmware: 13 (not supported operation) on an index it holds
		// as connected, also after +CMQTTPING (drivers check for
		// "+CMQTTCONNECT: 0,13" to mean "already connected").
		r.codeError("+CMQTTCONNECT", idx, simcom.CodeNotSupported)
		return nil
	case cl.connecting || cl.busy:
		r.codeError("+CMQTTCONNECT", idx, simcom.CodeClientBusy)
		return nil
	}
	if !s.st.network {
		s.clearSSLAfterConnect(cl, false)
		if s.d.openSessionFail {
			r.codeError("+CMQTTCONNECT", idx, simcom.CodeOpenSessionFailed)
		} else {
			r.ok()
			r.line(fmt.Sprintf("+CMQTTCONNECT: %d,%d", idx, simcom.CodeSockConnectFail))
			r.flush()
		}
		return nil
	}
	if s.broker != "" {
		addr = s.broker
	}
	lc := linkConfig{
		Addr:          addr,
		TLS:           cl.serverType == 1,
		Certs:         s.certs.get,
		ClientID:      cl.clientID,
		ProtocolLevel: s.protocolOf(cl),
		KeepAlive:     keep,
		CleanSession:  clean == 1,
		Username:      info.user,
		Password:      info.pass,
		HasUsername:   info.hasUser,
		HasPassword:   info.hasPass,
		RTT:           s.cfg.RTT,
	}
	if lc.TLS {
		ctx := idx
		if cl.sslCtx >= 0 {
			ctx = cl.sslCtx
		}
		lc.SSL = s.st.ssl[ctx]
	}
	if cl.hasWillTopic && cl.hasWillMsg {
		lc.Will = &willMessage{Topic: string(cl.willTopic), Payload: cl.willMsg, QoS: cl.willQoS}
	}
	cl.connecting = true
	cl.gen++
	gen := cl.gen
	timeout := s.opTimeout(cl)
	guard := reconnectGuard - time.Since(s.droppedAt[idx])
	r.ok()
	ev := linkEvents{
		Message: func(topic string, payload []byte) { s.deliver(idx, gen, topic, payload) },
		Lost:    func(cause int) { s.lost(idx, gen, cause) },
	}
	s.goAsync(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if guard > 0 && !s.sleep(guard) {
			return
		}
		var link brokerLink
		code := simcom.CodeSockConnectFail
		if s.dial != nil {
			link, code = s.dial(ctx, lc, ev)
		} else {
			s.log.Error("modemsim: no MQTT back-end linked in; CONNECT fails")
		}
		if code != simcom.CodeOK && link != nil {
			link.Drop()
			link = nil
		}
		s.mu.Lock()
		cl := s.st.client(idx)
		if cl.gen != gen || s.closed() {
			s.mu.Unlock()
			if link != nil {
				link.Drop()
			}
			return
		}
		cl.connecting = false
		if link != nil {
			cl.link = link
			cl.conn = info
			cl.lastProtocol = lc.ProtocolLevel
			s.tr.note(fmt.Sprintf("index %d connected to the broker with %s (protocol level %d)", idx, protocolName(lc.ProtocolLevel), lc.ProtocolLevel))
		}
		s.clearSSLAfterConnect(cl, code == simcom.CodeOK)
		s.urc(fmt.Sprintf("+CMQTTCONNECT: %d,%d", idx, s.d.code(code)))
		early := cl.early
		cl.early = nil
		for _, m := range early {
			s.rxURC(idx, m.topic, m.payload)
		}
		s.mu.Unlock()
	})
	return nil
}

// protocolOf is the MQTT protocol level a CONNECT of cl uses. The caller
// holds s.mu.
func (s *Sim) protocolOf(cl *clientState) byte {
	if cl.protocol != 0 {
		return cl.protocol
	}
	return s.d.protocol
}

// protocolName names an MQTT protocol level.
func protocolName(level byte) string {
	if level == 3 {
		return "MQTT 3.1"
	}
	return "MQTT 3.1.1"
}

// ProtocolLevel returns the MQTT protocol level (3 for MQTT 3.1, 4 for
// MQTT 3.1.1) of the last CONNECT of index idx that reached the broker
// since the index was acquired, or 0 when there was none. The transcript
// records each such CONNECT too (Direction Backend).
func (s *Sim) ProtocolLevel(idx int) byte {
	if idx < 0 || idx >= clientCount {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.client(idx).lastProtocol
}

// connectLine is the line of AT+CMQTTCONNECT? for client i: the index
// alone when it is not connected.
func connectLine(i int, cl *clientState) string {
	if !cl.connected() {
		return fmt.Sprintf("+CMQTTCONNECT: %d", i)
	}
	l := fmt.Sprintf(`+CMQTTCONNECT: %d,"%s",%d,%d`, i, cl.conn.server, cl.conn.keepAlive, b2i(cl.conn.cleanSession))
	if cl.conn.hasUser {
		l += fmt.Sprintf(`,"%s"`, cl.conn.user)
		if cl.conn.hasPass {
			l += fmt.Sprintf(`,"%s"`, cl.conn.pass)
		}
	}
	return l
}

// reconnectGuard is the least time between a dropped connection and the
// next dial of the same index. A real modem needs longer to open a socket;
// an emulator reconnecting within microseconds would race the broker's
// cleanup of the dead connection (mochi then removes the new connection's
// subscriptions, as they share the client ID).
const reconnectGuard = 200 * time.Millisecond

// clearSSLAfterConnect applies the AT+CMQTTSSLCFG clearing rule of the
// model after a CONNECT: SIM7600 after every CONNECT, A7600 after a failed
// one (and after DISC). The caller holds s.mu.
func (s *Sim) clearSSLAfterConnect(cl *clientState, ok bool) {
	if s.d.sslClearedEveryConnect || !ok {
		cl.sslCtx = -1
	}
}

// serverHostPort turns the part of <server_addr> after "tcp://" into
// host:port, 1883 when the port is missing.
func serverHostPort(hp string) (string, error) {
	if hp == "" || strings.ContainsAny(hp, "/ ") {
		return "", errSyntax
	}
	host, port := hp, "1883"
	if i := strings.LastIndexByte(hp, ':'); i >= 0 && !strings.Contains(hp[i:], "]") {
		host, port = hp[:i], hp[i+1:]
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", errSyntax
		}
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return "", errSyntax
	}
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port, nil
	}
	return host + ":" + port, nil
}

// cmdDisc is AT+CMQTTDISC. AT+CMQTTDISC? answers 0 for connected and 1 for
// disconnected, as the manual defines <disc_state>.
func cmdDisc(s *Sim, c atCommand, r *reply) error {
	s.mu.Lock()
	if !s.gatedRead(c, r, func(i int, cl *clientState) string {
		return fmt.Sprintf("+CMQTTDISC: %d,%d", i, b2i(!cl.connected()))
	}) {
		s.mu.Unlock()
		return nil
	}
	if !countIn(c, 1, 2) {
		s.mu.Unlock()
		r.error()
		return nil
	}
	idx, ok1 := intIn(c.Params[0], indexRange)
	timeout, ok2 := optIntIn(c, 1, s.d.limits.DiscTimeout, 0)
	if !ok2 && len(c.Params) > 1 {
		if v, ok := c.Params[1].int(); ok && v == 0 {
			timeout, ok2 = 0, true
		}
	}
	if !ok1 || !ok2 {
		s.mu.Unlock()
		r.error()
		return nil
	}
	cl, ok := s.startOp("+CMQTTDISC", idx, r)
	if !ok {
		s.mu.Unlock()
		return nil
	}
	link := cl.link
	cl.link = nil
	cl.gen++
	cl.sslCtx = -1 // both models: cleared after DISC (A7600) or already after CONNECT (SIM7600)
	s.mu.Unlock()
	d := time.Duration(timeout) * time.Second
	if d == 0 {
		d = 60 * time.Second
	}
	result := func() string {
		code := link.Disconnect(d)
		if code != simcom.CodeOK {
			code = s.d.code(simcom.CodeDisconnectFailed)
		}
		return fmt.Sprintf("+CMQTTDISC: %d,%d", idx, code)
	}
	if s.d.resultFirst {
		r.line(result())
		r.ok()
		return nil
	}
	r.ok()
	s.goAsync(func(context.Context) { s.urc(result()) })
	return nil
}

// lost handles a broker connection that went away by itself.
func (s *Sim) lost(idx int, gen uint64, cause int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl := s.st.client(idx)
	if cl.gen != gen || cl.link == nil || s.closed() {
		return
	}
	s.lostLocked(idx, cause)
}

// lostLocked disconnects idx and reports "+CMQTTCONNLOST: idx,cause". The
// caller holds s.mu and has dropped the link.
func (s *Sim) lostLocked(idx, cause int) {
	cl := s.st.client(idx)
	cl.link = nil
	cl.gen++
	cl.idle()
	s.droppedAt[idx] = time.Now()
	s.urc(fmt.Sprintf("+CMQTTCONNLOST: %d,%d", idx, cause))
}
