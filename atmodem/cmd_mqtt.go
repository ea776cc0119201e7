package atmodem

import (
	"context"
	"strconv"
	"time"
)

// The typed MQTT commands of both manuals (A7600 chapter 2.1, SIM7500/7600/
// 7800 chapter 2.2). Every method checks its parameters against the model's
// limits before anything is written, and returns a *ResultError when the
// modem reports a non-zero <err>. They are single commands; Session builds
// the connect, publish and subscribe sequences from them.

// StartService sends AT+CMQTTSTART (start the MQTT service, activate the PDP
// context; up to 120 s). When the service already runs, the modem answers
// "+CMQTTSTART: 23" (SIM7600) or a bare ERROR (A7600); EnsureService handles
// both.
func (m *Modem) StartService(ctx context.Context) error {
	_, err := m.exec(ctx, request{line: "AT+CMQTTSTART", final: "+CMQTTSTART", index: -1, timeout: startTimeout})
	return err
}

// StopService sends AT+CMQTTSTOP (stop the MQTT service). Release every
// client first.
func (m *Modem) StopService(ctx context.Context) error {
	_, err := m.exec(ctx, request{line: "AT+CMQTTSTOP", final: "+CMQTTSTOP", index: -1, timeout: startTimeout})
	return err
}

// Acquire sends AT+CMQTTACCQ=<index>,"<clientID>"[,<server_type>]: take
// client index 0-1 for a client ID (1-128 bytes on the A7600, 1-23 on the
// SIM7600) and a server type. Server type 0 is left out, as in the manuals'
// examples. EnsureAcquired recovers an index already in use.
func (m *Modem) Acquire(ctx context.Context, index int, clientID string, t ServerType) error {
	return m.acquire(ctx, index, clientID, t, 0)
}

// AcquireVersion is Acquire with the 4th field of AT+CMQTTACCQ that some
// firmware takes (SIM7600; test form "(0-1),(1-128),(0-1),(3-4)" on A76xx):
// the MQTT protocol version, 3 for MQTT 3.1 and 4 for MQTT 3.1.1:
// AT+CMQTTACCQ=<index>,"<clientID>",<server_type>,<version>. The manuals do
// not document the field; firmware without it answers ERROR.
func (m *Modem) AcquireVersion(ctx context.Context, index int, clientID string, t ServerType, version int) error {
	if err := checkRange(m.Model(), "version", version, protocolVersions, ""); err != nil {
		return err
	}
	return m.acquire(ctx, index, clientID, t, version)
}

// protocolVersions are the MQTT protocol levels the firmware can select:
// 3 (MQTT 3.1) and 4 (MQTT 3.1.1).
var protocolVersions = Range{Min: 3, Max: 4}

func (m *Modem) acquire(ctx context.Context, index int, clientID string, t ServerType, version int) error {
	model := m.Model()
	if err := checkIndex(model, index); err != nil {
		return err
	}
	if err := checkClientID(model, clientID); err != nil {
		return err
	}
	if err := checkServerType(model, t); err != nil {
		return err
	}
	line := "AT+CMQTTACCQ=" + itoa(index) + "," + quote(clientID)
	if t != ServerTCP || version != 0 {
		line += "," + itoa(int(t))
	}
	if version != 0 {
		line += "," + itoa(version)
	}
	_, err := m.exec(ctx, request{line: line, index: index})
	return err
}

// AcquiredClient is one line of AT+CMQTTACCQ?.
type AcquiredClient struct {
	Index      int
	ClientID   string // "" when the index is free
	ServerType ServerType
}

// Acquired returns AT+CMQTTACCQ?: the client ID and server type of every
// index (ClientID is empty for a free index). It fails with ERROR when the
// MQTT service is not started.
func (m *Modem) Acquired(ctx context.Context) ([]AcquiredClient, error) {
	return queryLines(ctx, m, "AT+CMQTTACCQ?", "+CMQTTACCQ", func(f []string) (AcquiredClient, bool) {
		idx, ok := intField(f, 0)
		c := AcquiredClient{Index: idx, ClientID: strField(f, 1)}
		if t, ok := intField(f, 2); ok {
			c.ServerType = ServerType(t)
		}
		return c, ok
	})
}

// Release sends AT+CMQTTREL=<index>: give a client index back to the modem
// (after DisconnectClient, before StopService). A free index answers result
// 20 (client not acquired); EnsureReleased treats that as success.
func (m *Modem) Release(ctx context.Context, index int) error {
	if err := checkIndex(m.Model(), index); err != nil {
		return err
	}
	_, err := m.exec(ctx, request{line: atLine("AT+CMQTTREL", index), index: index})
	return err
}

// SetSSLContext sends AT+CMQTTSSLCFG=<index>,<ssl_ctx_index>: the SSL
// context (0-9) a TLS client connects with. The SIM7600 clears it after
// every CONNECT and the A7600 after a failed CONNECT or DISC, so set it
// before each ConnectClient.
func (m *Modem) SetSSLContext(ctx context.Context, index, sslCtx int) error {
	model := m.Model()
	if err := checkIndex(model, index); err != nil {
		return err
	}
	if err := checkSSLContext(model, sslCtx); err != nil {
		return err
	}
	_, err := m.exec(ctx, request{line: atLine("AT+CMQTTSSLCFG", index, sslCtx), index: index})
	return err
}

// ClientSSLContext is one line of AT+CMQTTSSLCFG?.
type ClientSSLContext struct {
	Index   int
	Context int // -1 when none is set
}

// SSLContexts returns AT+CMQTTSSLCFG?: the SSL context set for every index.
func (m *Modem) SSLContexts(ctx context.Context) ([]ClientSSLContext, error) {
	return queryLines(ctx, m, "AT+CMQTTSSLCFG?", "+CMQTTSSLCFG", func(f []string) (ClientSSLContext, bool) {
		idx, ok := intField(f, 0)
		c := ClientSSLContext{Index: idx, Context: -1}
		if n, ok := intField(f, 1); ok {
			c.Context = n
		}
		return c, ok
	})
}

// SetWillTopic sends AT+CMQTTWILLTOPIC=<index>,<len> and the topic after
// the prompt: the will topic (1-1024 bytes of UTF-8) of the next CONNECT.
func (m *Modem) SetWillTopic(ctx context.Context, index int, topic string) error {
	return m.topicCommand(ctx, "AT+CMQTTWILLTOPIC", "will topic", index, topic)
}

// SetWillMessage sends AT+CMQTTWILLMSG=<index>,<len>,<qos> and the message
// after the prompt: the will message (1-1024 bytes on the A7600, 1-10240 on
// the SIM7600) and its QoS 0-2.
func (m *Modem) SetWillMessage(ctx context.Context, index int, msg []byte, qos byte) error {
	model := m.Model()
	if err := checkIndex(model, index); err != nil {
		return err
	}
	if err := checkLength(model, "will message", len(msg), model.Limits().WillMessage); err != nil {
		return err
	}
	if err := checkQoS(model, "qos", qos); err != nil {
		return err
	}
	_, err := m.exec(ctx, request{line: atLine("AT+CMQTTWILLMSG", index, len(msg), int(qos)), data: msg, index: index})
	return err
}

// ConnectArgs are the arguments of one AT+CMQTTCONNECT command (ConnectClient).
// Session.Connect takes ConnectOptions, which say what to connect to and
// with what; it turns them into these.
type ConnectArgs struct {
	// Server is the <server_addr>, "tcp://host:port" (9-256 bytes); see
	// ParseBroker.
	Server string
	// KeepAlive in whole seconds: 1-64800 s on the A7600, 60-64800 s on the
	// SIM7600.
	KeepAlive    time.Duration
	CleanSession bool
	Username     string // 1-256 bytes, or "" for none
	Password     string // 1-256 bytes, or "" for none; needs Username
	// Timeout is how long to wait for +CMQTTCONNECT; 0 means 130 s (the
	// A7600's default data timeout plus a margin). Add the SSL negotiate
	// time for TLS servers.
	Timeout time.Duration
}

// ConnectClient sends AT+CMQTTCONNECT=<index>,"<server>",<keepalive>,
// <clean_session>[,"<user>"[,"<pass>"]] and waits for +CMQTTCONNECT:
// <index>,<err>. Refused connections are *ResultError with codes 27-31 (see
// ResultCode.ConnackReturnCode). The password is redacted in logs and errors.
func (m *Modem) ConnectClient(ctx context.Context, index int, p ConnectArgs) error {
	_, err := m.connectClient(ctx, index, p)
	return err
}

// connectClient is ConnectClient, also returning the Seq of the answer (the
// position of the connection in the modem's output, see Event.Seq).
func (m *Modem) connectClient(ctx context.Context, index int, p ConnectArgs) (uint64, error) {
	model := m.Model()
	if err := checkIndex(model, index); err != nil {
		return 0, err
	}
	if err := checkServerAddr(model, p.Server); err != nil {
		return 0, err
	}
	keep, err := checkKeepAlive(model, p.KeepAlive)
	if err != nil {
		return 0, err
	}
	if err := checkCredentials(model, p.Username, p.Password); err != nil {
		return 0, err
	}
	line := "AT+CMQTTCONNECT=" + itoa(index) + "," + quote(p.Server) + "," + itoa(keep) + "," + itoa(boolInt(p.CleanSession))
	var redact []string
	if p.Username != "" {
		line += "," + quote(p.Username)
		if p.Password != "" {
			line += "," + quote(p.Password)
			redact = []string{p.Password}
		}
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = brokerTimeout
	}
	resp, err := m.exec(ctx, request{line: line, final: "+CMQTTCONNECT", index: index, timeout: timeout, redact: redact, detach: true})
	return resp.seq, err
}

// ConnectSettings is one line of AT+CMQTTCONNECT?: the connection
// settings the modem holds for an index.
type ConnectSettings struct {
	Index        int
	Server       string // "" when the index has no connection parameters
	KeepAlive    time.Duration
	CleanSession bool
	Username     string
	Password     string
}

// ConnectSettings returns AT+CMQTTCONNECT?: the connection parameters of every
// index (Server is empty when none are set). Use ConnectedIndexes to learn
// whether an index is connected.
func (m *Modem) ConnectSettings(ctx context.Context) ([]ConnectSettings, error) {
	return queryLines(ctx, m, "AT+CMQTTCONNECT?", "+CMQTTCONNECT", func(f []string) (ConnectSettings, bool) {
		idx, ok := intField(f, 0)
		c := ConnectSettings{Index: idx, Server: strField(f, 1), Username: strField(f, 4), Password: strField(f, 5)}
		if n, ok := intField(f, 2); ok {
			c.KeepAlive = time.Duration(n) * time.Second
		}
		if n, ok := intField(f, 3); ok {
			c.CleanSession = n == 1
		}
		return c, ok
	})
}

// DisconnectClient sends AT+CMQTTDISC=<index>,<timeout> (timeout 0, or 60-180
// whole seconds) and waits for +CMQTTDISC: <index>,<err>.
func (m *Modem) DisconnectClient(ctx context.Context, index int, timeout time.Duration) error {
	model := m.Model()
	if err := checkIndex(model, index); err != nil {
		return err
	}
	secs, err := checkDiscTimeout(model, timeout)
	if err != nil {
		return err
	}
	wait := brokerTimeout
	if secs > 0 {
		wait = time.Duration(secs)*time.Second + resultMargin
	}
	_, err = m.exec(ctx, request{line: atLine("AT+CMQTTDISC", index, secs), final: "+CMQTTDISC", index: index, timeout: wait})
	return err
}

// ConnectedIndexes returns AT+CMQTTDISC?: for every index whether it is
// connected. Note the manuals' inverted <disc_state>: the modem answers 0 for
// connected and 1 for disconnected; the map holds true for connected.
func (m *Modem) ConnectedIndexes(ctx context.Context) (map[int]bool, error) {
	type indexState struct {
		index     int
		connected bool
	}
	states, err := queryLines(ctx, m, "AT+CMQTTDISC?", "+CMQTTDISC", func(f []string) (indexState, bool) {
		idx, ok1 := intField(f, 0)
		state, ok2 := intField(f, 1)
		return indexState{idx, state == 0}, ok1 && ok2 && (state == 0 || state == 1)
	})
	if err != nil {
		return nil, err
	}
	out := make(map[int]bool, 2)
	for _, st := range states {
		out[st.index] = st.connected
	}
	return out, nil
}

// SetTopic sends AT+CMQTTTOPIC=<index>,<len> and the topic after the prompt:
// the topic (1-1024 bytes of UTF-8, no wildcard) of the next PublishMessage.
func (m *Modem) SetTopic(ctx context.Context, index int, topic string) error {
	return m.topicCommand(ctx, "AT+CMQTTTOPIC", "topic", index, topic)
}

// SetPayload sends AT+CMQTTPAYLOAD=<index>,<len> and the payload (1-10240
// opaque bytes) after the prompt. (The SIM7600 manual's AT+CMQTPPAYLOAD is a
// misprint; its examples and the firmware use AT+CMQTTPAYLOAD.)
func (m *Modem) SetPayload(ctx context.Context, index int, payload []byte) error {
	model := m.Model()
	if err := checkIndex(model, index); err != nil {
		return err
	}
	if err := checkLength(model, "payload", len(payload), model.Limits().Payload); err != nil {
		return err
	}
	return m.dataCommand(ctx, "AT+CMQTTPAYLOAD", index, payload)
}

// PublishMessage sends AT+CMQTTPUB=<index>,<qos>,<pub_timeout>[,<retained>
// [,<dup>]] and waits for +CMQTTPUB: <index>,<err>, up to pub_timeout (60-180
// whole seconds) plus a margin. The optional flags are only written when set,
// as in the manuals' examples. Between the OK and the result the AT port
// serves other commands (docs/architecture.md, "Results after OK").
func (m *Modem) PublishMessage(ctx context.Context, index int, qos byte, pubTimeout time.Duration, retain, dup bool) error {
	model := m.Model()
	if err := checkIndex(model, index); err != nil {
		return err
	}
	if _, err := checkPubTimeout(model, pubTimeout); err != nil {
		return err
	}
	line, secs, err := pubLine(model, index, Publish{QoS: qos, Timeout: pubTimeout, Retain: retain, Dup: dup})
	if err != nil {
		return err
	}
	_, err = m.exec(ctx, pubRequest(line, index, secs))
	return err
}

// pubLine is the AT+CMQTTPUB line of p on index and its pub_timeout in
// seconds (p.Timeout 0: 60 s). Topic and payload are not checked.
func pubLine(model Model, index int, p Publish) (string, int, error) {
	if err := checkQoS(model, "qos", p.QoS); err != nil {
		return "", 0, err
	}
	secs, err := checkPubTimeout(model, pubTimeoutOf(p))
	if err != nil {
		return "", 0, err
	}
	switch {
	case p.Dup:
		return atLine("AT+CMQTTPUB", index, int(p.QoS), secs, boolInt(p.Retain), 1), secs, nil
	case p.Retain:
		return atLine("AT+CMQTTPUB", index, int(p.QoS), secs, 1), secs, nil
	}
	return atLine("AT+CMQTTPUB", index, int(p.QoS), secs), secs, nil
}

// pubRequest is the request of AT+CMQTTPUB line on index with pub_timeout
// secs: the port is free between its OK and its result.
func pubRequest(line string, index, secs int) request {
	return request{line: line, final: "+CMQTTPUB", index: index, timeout: time.Duration(secs)*time.Second + resultMargin, detach: true}
}

// SetSubscribeTopic sends AT+CMQTTSUBTOPIC=<index>,<len>,<qos> and the topic
// filter after the prompt: one filter of the next SubscribeTopics. Some A7670
// firmware answers ERROR; Session.SubscribeMultiple falls back to
// SubscribeTopic then.
func (m *Modem) SetSubscribeTopic(ctx context.Context, index int, filter string, qos byte) error {
	if err := checkSubscription(m.Model(), index, filter, qos); err != nil {
		return err
	}
	_, err := m.exec(ctx, request{line: atLine("AT+CMQTTSUBTOPIC", index, len(filter), int(qos)), data: []byte(filter), index: index})
	return err
}

// SubscribeTopics sends AT+CMQTTSUB=<index>[,1]: subscribe the filters set
// with SetSubscribeTopic in one SUBSCRIBE, and waits for +CMQTTSUB.
func (m *Modem) SubscribeTopics(ctx context.Context, index int, dup bool) error {
	if err := checkIndex(m.Model(), index); err != nil {
		return err
	}
	line := atLine("AT+CMQTTSUB", index)
	if dup {
		line = atLine("AT+CMQTTSUB", index, 1)
	}
	return m.brokerCommand(ctx, line, "+CMQTTSUB", index, nil)
}

// SubscribeTopic sends the single-topic form AT+CMQTTSUB=<index>,<len>,<qos>
// [,1] with the filter after the prompt, and waits for +CMQTTSUB.
func (m *Modem) SubscribeTopic(ctx context.Context, index int, filter string, qos byte, dup bool) error {
	if err := checkSubscription(m.Model(), index, filter, qos); err != nil {
		return err
	}
	line := atLine("AT+CMQTTSUB", index, len(filter), int(qos))
	if dup {
		line = atLine("AT+CMQTTSUB", index, len(filter), int(qos), 1)
	}
	return m.brokerCommand(ctx, line, "+CMQTTSUB", index, []byte(filter))
}

// SetUnsubscribeTopic sends AT+CMQTTUNSUBTOPIC=<index>,<len> and the filter
// after the prompt: one filter of the next UnsubscribeTopics.
func (m *Modem) SetUnsubscribeTopic(ctx context.Context, index int, filter string) error {
	if err := checkIndexFilter(m.Model(), index, filter); err != nil {
		return err
	}
	return m.dataCommand(ctx, "AT+CMQTTUNSUBTOPIC", index, []byte(filter))
}

// UnsubscribeTopics sends AT+CMQTTUNSUB=<index>,<dup>: unsubscribe the
// filters set with SetUnsubscribeTopic, and waits for +CMQTTUNSUB.
func (m *Modem) UnsubscribeTopics(ctx context.Context, index int, dup bool) error {
	if err := checkIndex(m.Model(), index); err != nil {
		return err
	}
	return m.brokerCommand(ctx, atLine("AT+CMQTTUNSUB", index, boolInt(dup)), "+CMQTTUNSUB", index, nil)
}

// UnsubscribeTopic sends the single-topic form AT+CMQTTUNSUB=<index>,<len>,
// <dup> with the filter after the prompt, and waits for +CMQTTUNSUB.
func (m *Modem) UnsubscribeTopic(ctx context.Context, index int, filter string, dup bool) error {
	if err := checkIndexFilter(m.Model(), index, filter); err != nil {
		return err
	}
	return m.brokerCommand(ctx, atLine("AT+CMQTTUNSUB", index, len(filter), boolInt(dup)), "+CMQTTUNSUB", index, []byte(filter))
}

// SetCheckUTF8 sends AT+CMQTTCFG="checkUTF8",<index>,<0|1>: whether the
// modem checks topics and payloads for UTF-8 (default on). Call it after
// Acquire; Release clears it.
func (m *Modem) SetCheckUTF8(ctx context.Context, index int, on bool) error {
	if err := checkIndex(m.Model(), index); err != nil {
		return err
	}
	_, err := m.exec(ctx, request{line: `AT+CMQTTCFG="checkUTF8",` + itoa(index) + "," + itoa(boolInt(on)), index: index})
	return err
}

// SetOpTimeout sends AT+CMQTTCFG="optimeout",<index>,<seconds>: the longest
// send or receive operation (20-120 whole seconds, default 120). A7600 only.
func (m *Modem) SetOpTimeout(ctx context.Context, index int, d time.Duration) error {
	model := m.Model()
	if err := checkIndex(model, index); err != nil {
		return err
	}
	l := model.Limits()
	if !l.HasOpTimeout {
		return paramErr(model, "optimeout_val", "AT+CMQTTCFG \"optimeout\" exists on the A7600 only")
	}
	secs, err := seconds(model, "optimeout_val", d)
	if err != nil {
		return err
	}
	if err := checkRange(model, "optimeout_val", secs, l.OpTimeout, "s"); err != nil {
		return err
	}
	_, err = m.exec(ctx, request{line: `AT+CMQTTCFG="optimeout",` + itoa(index) + "," + itoa(secs), index: index})
	return err
}

// MQTTClientConfig is one line of AT+CMQTTCFG?.
type MQTTClientConfig struct {
	Index     int
	CheckUTF8 bool
	OpTimeout time.Duration // A7600 only; 0 when not reported
}

// SetMQTTVersion selects the MQTT protocol version of client index with
// AT+CMQTTCFG="version",<index>,<version>: 3 for MQTT 3.1, 4 for MQTT
// 3.1.1. A76xx firmware defaults to 3.1 and takes this before CONNECT (the
// manual does not document it; firmware without it answers ERROR).
func (m *Modem) SetMQTTVersion(ctx context.Context, index, version int) error {
	model := m.Model()
	if err := checkIndex(model, index); err != nil {
		return err
	}
	if err := checkRange(model, "version", version, protocolVersions, ""); err != nil {
		return err
	}
	_, err := m.exec(ctx, request{line: `AT+CMQTTCFG="version",` + itoa(index) + "," + itoa(version), index: index})
	return err
}

// MQTTConfig returns AT+CMQTTCFG?: the UTF-8 check flag (and on the A7600
// the optimeout) of every index.
func (m *Modem) MQTTConfig(ctx context.Context) ([]MQTTClientConfig, error) {
	return queryLines(ctx, m, "AT+CMQTTCFG?", "+CMQTTCFG", func(f []string) (MQTTClientConfig, bool) {
		idx, ok1 := intField(f, 0)
		flag, ok2 := intField(f, 1)
		c := MQTTClientConfig{Index: idx, CheckUTF8: flag == 1}
		if n, ok := intField(f, 2); ok {
			c.OpTimeout = time.Duration(n) * time.Second
		}
		return c, ok1 && ok2
	})
}

// dataCommand sends "<cmd>=<index>,<len(data)>" and data after the prompt,
// for the commands that finish with OK alone (TOPIC, PAYLOAD, WILLTOPIC,
// UNSUBTOPIC); the engine turns their "<cmd>: <index>,<err>" + ERROR into a
// *ResultError.
func (m *Modem) dataCommand(ctx context.Context, cmd string, index int, data []byte) error {
	_, err := m.exec(ctx, request{line: atLine(cmd, index, len(data)), data: data, index: index})
	return err
}

// topicCommand checks index and the publish topic (named param in errors)
// and sends it with dataCommand: TOPIC and WILLTOPIC.
func (m *Modem) topicCommand(ctx context.Context, cmd, param string, index int, topic string) error {
	model := m.Model()
	if err := checkIndex(model, index); err != nil {
		return err
	}
	if err := checkPubTopic(model, param, topic); err != nil {
		return err
	}
	return m.dataCommand(ctx, cmd, index, []byte(topic))
}

// brokerCommand sends line (and data after the prompt, when not nil) and
// waits up to brokerTimeout for its "<final>: <index>,<err>" result: the
// SUB and UNSUB forms. The port is free between their OK and their result.
func (m *Modem) brokerCommand(ctx context.Context, line, final string, index int, data []byte) error {
	_, err := m.exec(ctx, request{line: line, data: data, final: final, index: index, timeout: brokerTimeout, detach: true})
	return err
}

func itoa(n int) string { return strconv.Itoa(n) }
