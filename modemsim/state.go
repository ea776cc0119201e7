package modemsim

import "github.com/cellmqtt/cellmqtt/internal/simcom"

// clientCount is the number of MQTT client indices (0 and 1).
const clientCount = 2

// sslContextCount is the number of AT+CSSLCFG contexts (0-9).
const sslContextCount = 10

// subEntry is one topic of AT+CMQTTSUBTOPIC with its QoS.
type subEntry struct {
	topic string
	qos   byte
}

// connInfo is what AT+CMQTTCONNECT was given, for AT+CMQTTCONNECT?.
type connInfo struct {
	server       string // as written in the command ("tcp://...")
	keepAlive    int
	cleanSession bool
	user, pass   string
	hasUser      bool
	hasPass      bool
}

// clientState is one MQTT client index of the firmware.
type clientState struct {
	acquired   bool
	clientID   string
	serverType int // 0 TCP, 1 SSL/TLS

	sslCtx    int // AT+CMQTTSSLCFG context, -1 when unset
	checkUTF8 bool
	opTimeout int  // AT+CMQTTCFG "optimeout" seconds (A7600)
	protocol  byte // MQTT protocol level chosen by ACCQ or CFG "version"; 0: the firmware's default
	// lastProtocol is the level of the last CONNECT that reached the broker
	// (0: none since the index was acquired).
	lastProtocol byte

	willTopic    []byte
	willMsg      []byte
	willQoS      byte
	hasWillTopic bool
	hasWillMsg   bool

	pubTopic    []byte
	hasTopic    bool
	pubPayload  []byte
	subTopics   []subEntry
	unsubTopics []string

	link       brokerLink // nil when not connected
	gen        uint64     // incremented on every connect and drop; stale events are ignored
	connecting bool
	busy       bool // an operation with a result URC is in flight (pending > 0)
	pending    int  // operations whose result URC is not out yet
	// results is closed once the result of the last operation started is
	// out: the next one's waits for it (Config.Pipeline accept keeps the
	// results in the order of the commands).
	results chan struct{}
	conn    connInfo
	early   []inboundMessage // messages that arrived before the CONNECT result
}

// newClientState is an index in its released state.
func newClientState() clientState {
	return clientState{sslCtx: -1, checkUTF8: true, opTimeout: 120}
}

// idle forgets the operations in flight (the connection they ran on is
// gone; their results, if any, are dropped as stale).
func (c *clientState) idle() {
	c.busy, c.pending, c.results = false, 0, nil
}

// connected reports whether the index has a live broker connection.
func (c *clientState) connected() bool { return c.link != nil }

// defaultSSLContext is an AT+CSSLCFG context with the manual's defaults.
func defaultSSLContext() sslContext {
	return sslContext{Version: 4, AuthMode: 0, IgnoreLocalTime: true, NegotiateTime: 300}
}

// pdpContext is one AT+CGDCONT / AT+CGSOCKCONT entry.
type pdpContext struct {
	pdpType string
	apn     string
}

// modemState is everything the firmware keeps in RAM: a reboot resets it.
// Certificates live in the flash file system (certStore) and survive.
type modemState struct {
	started bool // AT+CMQTTSTART done
	// staleClients: the service was stopped by +CMQTTNONET and clients
	// holds what it had; the next successful AT+CMQTTSTART releases them.
	staleClients bool
	clients      [clientCount]clientState
	ssl          [sslContextCount]sslContext
	echo         bool
	network      bool // data network up (NoNetwork takes it down)
	regMode      map[string]int
	pdp          map[int]pdpContext
	cmee         int // AT+CMEE setting (0 after power-up)
}

func newModemState(echo bool) modemState {
	st := modemState{echo: echo, network: true, regMode: map[string]int{}, pdp: map[int]pdpContext{
		1: {pdpType: "IP", apn: "CMNET"},
	}}
	for i := range st.clients {
		st.clients[i] = newClientState()
	}
	for i := range st.ssl {
		st.ssl[i] = defaultSSLContext()
	}
	return st
}

// client returns the state of a valid index.
func (st *modemState) client(i int) *clientState { return &st.clients[i] }

// resultCode maps a code the model does not define onto one it does: the
// SIM7600 family has no 34 and 35 and reports 1 (failed) instead.
func resultCode(l simcom.Limits, c simcom.ResultCode) simcom.ResultCode {
	if c > l.MaxResultCode {
		return simcom.CodeFailed
	}
	return c
}
