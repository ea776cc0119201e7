package atmodem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
)

// Will is the will message set with AT+CMQTTWILLTOPIC / AT+CMQTTWILLMSG. The
// modem has no will retain flag.
type Will struct {
	Topic   string
	Payload []byte
	QoS     byte
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
	// ProtocolVersion is the MQTT protocol level: 4 (MQTT 3.1.1, the
	// default when 0) or 3 (MQTT 3.1). A76xx firmware connects with 3.1
	// unless told otherwise, and brokers that speak only 3.1.1 (AWS IoT,
	// Azure IoT Hub) refuse that. It is selected with AT+CMQTTCFG="version"
	// on the A7600 family and the 4th AT+CMQTTACCQ field on the SIM7600
	// family; firmware that refuses the selection connects with its
	// default, and the log says so.
	ProtocolVersion int
}

// defaultKeepAlive is the keepalive of ConnectOptions.KeepAlive == 0.
const defaultKeepAlive = 60 * time.Second

// CheckConnect validates opts against the model's limits and quoting rules
// without writing anything. With AutoDetect the stricter limit of both
// families applies (Connect detects the model first).
func (s *Session) CheckConnect(opts ConnectOptions) error {
	return checkConnect(s.m.Model(), s.index, opts)
}

// CheckConnectAnyModel validates opts before the modem's model is known. It
// fails only when no model family would accept them (a forbidden byte in a
// quoted parameter, or a value outside the range of both families), so that
// input which cannot work is refused before anything, not even the model
// query, reaches the modem. The error then joins each family's *ParamError.
// index is the client index the options are for (it picks the default SSL
// context).
func CheckConnectAnyModel(index int, opts ConnectOptions) error {
	errA := checkConnect(A7600, index, opts)
	if errA == nil {
		return nil
	}
	errS := checkConnect(SIM7600, index, opts)
	if errS == nil {
		return nil
	}
	if errA.Error() == errS.Error() {
		return errA
	}
	return errors.Join(errA, errS)
}

func checkConnect(model Model, index int, opts ConnectOptions) error {
	b, err := ParseBroker(opts.Broker)
	if err != nil {
		return paramErr(model, "server_addr", "%v", err)
	}
	if err := checkServerAddr(model, b.Addr); err != nil {
		return err
	}
	if err := checkClientID(model, opts.ClientID); err != nil {
		return err
	}
	if _, err := checkKeepAlive(model, keepAliveOf(opts)); err != nil {
		return err
	}
	if v := opts.ProtocolVersion; v != 0 {
		if err := checkRange(model, "version", v, protocolVersions, ""); err != nil {
			return err
		}
	}
	if err := checkCredentials(model, opts.Username, opts.Password); err != nil {
		return err
	}
	if w := opts.Will; w != nil {
		if err := checkPubTopic(model, "will topic", w.Topic); err != nil {
			return err
		}
		if err := checkLength(model, "will message", len(w.Payload), model.Limits().WillMessage); err != nil {
			return err
		}
		if err := checkQoS(model, "will qos", w.QoS); err != nil {
			return err
		}
	}
	if opts.OpTimeout != 0 {
		l := model.Limits()
		if !l.HasOpTimeout {
			return paramErr(model, "optimeout_val", "AT+CMQTTCFG \"optimeout\" exists on the A7600 only")
		}
		secs, err := seconds(model, "optimeout_val", opts.OpTimeout)
		if err != nil {
			return err
		}
		if err := checkRange(model, "optimeout_val", secs, l.OpTimeout, "s"); err != nil {
			return err
		}
	}
	if b.Type == ServerTLS {
		return checkTLS(model, tlsOf(opts, index))
	}
	return nil
}

func keepAliveOf(opts ConnectOptions) time.Duration {
	if opts.KeepAlive == 0 {
		return defaultKeepAlive
	}
	return opts.KeepAlive
}

// Connect runs the connect sequence: service started (recovering when it
// already runs; after +CMQTTNONET always AT+CMQTTSTART), index acquired
// with the broker's server type and the MQTT protocol version (3.1.1
// unless ConnectOptions.ProtocolVersion says 3), UTF-8 check off,
// certificates and SSL context, will, AT+CMQTTDISC when the modem may still
// hold the index connected (after +CMQTTPING), CONNECT. It rebuilds only
// what the modem lost since the last call: after a connection loss only
// SSLCFG (TLS) and CONNECT are sent; after a modem reset everything. Called
// while connected with the same options it asks the modem (AT+CMQTTDISC?)
// and does nothing more when the modem says connected: a session never
// reports connected unless a CONNECT or a query proved it. With other
// options it disconnects first. With AutoDetect it asks the modem its model
// first.
func (s *Session) Connect(ctx context.Context, opts ConnectOptions) error {
	if s.m.Model() == AutoDetect {
		if _, err := s.m.DetectModel(ctx); err != nil {
			return s.wrap("connect", err)
		}
	}
	if err := s.CheckConnect(opts); err != nil {
		return err
	}
	opts.KeepAlive = keepAliveOf(opts)
	opts.ProtocolVersion = versionOf(opts)
	b, _ := ParseBroker(opts.Broker)
	s.op.Lock()
	defer s.op.Unlock()

	fenced := s.m.takeResults(s.index, fmt.Errorf("%w: client %d: the connection is made again", ErrResultsUnmatched, s.index))
	if s.linkLost.Swap(false) || fenced {
		// A publish's result said the connection is gone although the
		// modem may still say connected, or results of the old
		// connection may still come: end it with AT+CMQTTDISC first.
		s.forgetConnection()
	}
	if c := s.connectedWith(); c.opts != nil && sameConnect(*c.opts, opts) {
		up, err := s.Connected(ctx)
		if err != nil {
			return s.wrap("connection state", err)
		}
		if up {
			return nil
		}
		s.m.sessions.setConnected(s.index, 0, 0, nil)
	}
	remembered := s.remembers()
	err := s.connectSequence(ctx, opts, b)
	if err != nil && remembered && s.lostState(ctx, err) {
		// The modem lost what this Modem remembers (a reboot or a service
		// stop whose URC was missed): forget it and build it all again.
		return s.connectSequence(ctx, opts, b)
	}
	return err
}

// versionOf is the protocol version opts ask for: 4 (MQTT 3.1.1) by default.
func versionOf(opts ConnectOptions) int {
	if opts.ProtocolVersion == 0 {
		return 4
	}
	return opts.ProtocolVersion
}

// ConnectedSeq returns the Event.Seq of the answer to the CONNECT of the
// current connection of the index (0 when none is recorded): a loss event
// with a lower Seq was reported before that connection was made.
func (s *Session) ConnectedSeq() uint64 { return s.connectedWith().seq }

// remembers reports whether this Modem remembers a started service or an
// acquisition for the index, i.e. whether Connect may skip steps.
func (s *Session) remembers() bool {
	var r bool
	s.m.sessions.withState(func(st *modemState) { r = st.serviceStarted || st.acq(s.index) != nil })
	return r
}

// lostState reports whether err says the modem lost state this Modem
// remembers: result 20 (client not acquired), or a bare ERROR while the
// service is down or the index free. It forgets what was lost.
func (s *Session) lostState(ctx context.Context, err error) bool {
	if code, ok := resultCodeOf(err); ok {
		if code != CodeClientNotAcquired {
			return false
		}
		s.m.sessions.withState(func(st *modemState) { st.setAcq(s.index, nil) })
		return true
	}
	if !errors.Is(err, ErrCommandFailed) {
		return false
	}
	clients, qerr := s.m.Acquired(ctx)
	if qerr != nil {
		if !unsupported(qerr) {
			return false
		}
		s.m.sessions.reset() // the service is down: nothing of it is left
		return true
	}
	for _, c := range clients {
		if c.Index == s.index && c.ClientID == "" {
			s.m.sessions.withState(func(st *modemState) { st.setAcq(s.index, nil) })
			return true
		}
	}
	return false
}

// connectSequence runs the steps of Connect that the modem needs.
func (s *Session) connectSequence(ctx context.Context, opts ConnectOptions, b Broker) error {
	epoch := s.m.sessions.currentEpoch()
	if err := s.acquire(ctx, epoch, opts, b.Type); err != nil {
		return err
	}
	a := s.acq()
	if a == nil {
		return s.wrap("connect", ErrModemReset)
	}
	if err := s.configure(ctx, a, opts); err != nil {
		return err
	}
	var tls *TLSConfig
	if b.Type == ServerTLS {
		tls = tlsOf(opts, s.index)
		if err := s.setupTLS(ctx, epoch, tls); err != nil {
			return err
		}
	}
	if err := s.setWill(ctx, a, opts.Will); err != nil {
		return err
	}
	if err := s.release(ctx); err != nil {
		return err
	}
	seq, err := s.connect(ctx, opts, b, tls)
	if err != nil {
		if FateOf(err) == FateUnknown {
			// The modem may have connected: ask before the next CONNECT.
			s.m.sessions.withState(func(st *modemState) { st.hold(s.index, holdMaybe) })
		}
		return err
	}
	c := opts
	s.m.sessions.setConnected(s.index, epoch, seq, &c)
	s.m.unfence(s.index)
	return nil
}

// release ends a connection the modem may still hold on the index although
// none is recorded, so that CONNECT never meets a live session (the modem
// answers 13, and a CONNECT on a live session was reported to reboot an
// A7672): after +CMQTTPING it sends AT+CMQTTDISC at once, after an unknown
// outcome it asks AT+CMQTTDISC? first.
func (s *Session) release(ctx context.Context) error {
	var k holdKind
	s.m.sessions.withState(func(st *modemState) { k = st.held[s.index] })
	if k == 0 {
		return nil
	}
	if k == holdMaybe {
		up, err := s.Connected(ctx)
		if err != nil {
			return s.wrap("connection state", err)
		}
		if !up {
			s.m.sessions.withState(func(st *modemState) { delete(st.held, s.index) })
			return nil
		}
	}
	if err := s.m.DisconnectClient(ctx, s.index, 0); err != nil && !s.notConnected(ctx, err) {
		return s.wrap("disconnect", err)
	}
	s.m.sessions.withState(func(st *modemState) { delete(st.held, s.index) })
	s.m.unfence(s.index) // the results of the connection DISC ended are in
	return nil
}

// acquire makes sure the service runs and the index is acquired for the
// client ID, server type and protocol version, not connected. Holding the
// modem's setup lock keeps another session's Disconnect from stopping the
// service meanwhile.
func (s *Session) acquire(ctx context.Context, epoch uint64, opts ConnectOptions, t ServerType) error {
	setup := &s.m.sessions.setup
	setup.Lock()
	defer setup.Unlock()

	var started, mustStart bool
	s.m.sessions.withState(func(st *modemState) { started, mustStart = st.serviceStarted, st.startNeeded })
	if !started {
		err := s.m.ensureService(ctx, mustStart)
		switch {
		case err == nil:
			s.m.sessions.at(epoch, func(st *modemState) { st.serviceStarted, st.startNeeded = true, false })
		case mustStart && refused(err):
			// After +CMQTTNONET: ERROR (some A7672 firmware also answers
			// it when the service still runs) or a code while the network
			// is down. Go on: CONNECT tells whether the service runs, and
			// until it or a START succeeds, every connect starts with
			// AT+CMQTTSTART again.
			s.m.trace.event("AT+CMQTTSTART after +CMQTTNONET refused; trying to connect", err)
		default:
			return s.wrap("start service", err)
		}
	}

	a := s.acq()
	if a != nil && s.connectedWith().opts != nil {
		// Connected with other options: CFG and the will need a
		// disconnected client.
		if err := s.m.DisconnectClient(ctx, s.index, 0); err != nil && !s.notConnected(ctx, err) {
			return s.wrap("disconnect", err)
		}
		s.m.sessions.setConnected(s.index, 0, 0, nil)
	}
	if a != nil && (a.clientID != opts.ClientID || a.serverType != t || (a.will != nil && opts.Will == nil)) {
		// Another client, or a will to clear: the modem keeps the will
		// until REL, and the client ID and server type are fixed by ACCQ.
		if err := s.m.EnsureReleased(ctx, s.index); err != nil {
			return s.wrap("release", err)
		}
		s.setAcq(epoch, nil)
		a = nil
	}
	if a != nil {
		return nil
	}
	fresh, err := s.ensureAcquired(ctx, opts, t)
	if err != nil {
		return s.wrap("acquire", err)
	}
	if !fresh {
		// Found acquired by an earlier process: its will, settings and
		// protocol version are unknown. Disconnect it if connected,
		// release it and acquire it afresh.
		states, err := s.m.ConnectedIndexes(ctx)
		if err != nil {
			return s.wrap("connection state", err)
		}
		if states[s.index] {
			if err := s.m.DisconnectClient(ctx, s.index, 0); err != nil && !s.notConnected(ctx, err) {
				return s.wrap("disconnect", err)
			}
		}
		if err := s.m.EnsureReleased(ctx, s.index); err != nil {
			return s.wrap("release", err)
		}
		if _, err := s.ensureAcquired(ctx, opts, t); err != nil {
			return s.wrap("acquire", err)
		}
	}
	a = &acquisition{clientID: opts.ClientID, serverType: t, checkUTF8: true, epoch: epoch}
	if s.m.Model() == SIM7600 && !s.flag(noVersion) {
		a.version = opts.ProtocolVersion // chosen by the 4th ACCQ field
	}
	s.setAcq(epoch, a)
	return nil
}

// ensureAcquired acquires the index like Modem.EnsureAcquired. On the
// SIM7600 family the protocol version goes in the 4th ACCQ field; firmware
// that refuses the field is remembered and the index acquired without it,
// which the log says.
func (s *Session) ensureAcquired(ctx context.Context, opts ConnectOptions, t ServerType) (bool, error) {
	version := 0
	if s.m.Model() == SIM7600 && !s.flag(noVersion) {
		version = opts.ProtocolVersion
	}
	fresh, refusedVersion, err := s.m.ensureAcquired(ctx, s.index, opts.ClientID, t, version)
	if refusedVersion {
		s.setFlag(noVersion)
		s.m.trace.problem(fmt.Sprintf("the firmware refused the MQTT protocol version field of AT+CMQTTACCQ: connecting with its default (MQTT 3.1 on some firmware), not MQTT %s", versionName(opts.ProtocolVersion)), nil)
	}
	return fresh, err
}

// versionName names an MQTT protocol level.
func versionName(v int) string {
	if v == 3 {
		return "3.1"
	}
	return "3.1.1"
}

// noVersion selects modemState.noVersion for flag and setFlag.
func noVersion(st *modemState) *bool { return &st.noVersion }

// notConnected reports whether a failed DISC left the index disconnected
// (it was not connected in the first place).
func (s *Session) notConnected(ctx context.Context, discErr error) bool {
	if !refused(discErr) {
		return false
	}
	states, err := s.m.ConnectedIndexes(ctx)
	if err != nil {
		return unsupported(err) // ERROR: the service is down, nothing is connected
	}
	return !states[s.index]
}

// configure sets AT+CMQTTCFG: the UTF-8 check (off unless opts.CheckUTF8),
// on the A7600 the MQTT protocol version and the optimeout, when they
// differ from what the modem holds. Firmware that refuses the version
// selection is remembered, and the log says it connects with its default.
func (s *Session) configure(ctx context.Context, a *acquisition, opts ConnectOptions) error {
	if a.checkUTF8 != opts.CheckUTF8 {
		if err := s.m.SetCheckUTF8(ctx, s.index, opts.CheckUTF8); err != nil {
			return s.wrap("checkUTF8", err)
		}
		a.checkUTF8 = opts.CheckUTF8
		s.setAcq(a.epoch, a)
	}
	if s.m.Model() == A7600 && a.version != opts.ProtocolVersion && !s.flag(noVersion) {
		err := s.m.SetMQTTVersion(ctx, s.index, opts.ProtocolVersion)
		switch {
		case err == nil:
			a.version = opts.ProtocolVersion
			s.setAcq(a.epoch, a)
		case unsupported(err):
			s.setFlag(noVersion)
			s.m.trace.problem(fmt.Sprintf("the firmware refused AT+CMQTTCFG=\"version\": connecting with its default (MQTT 3.1 on A76xx firmware), not MQTT %s", versionName(opts.ProtocolVersion)), err)
		default:
			return s.wrap("mqtt version", err)
		}
	}
	if secs := int(opts.OpTimeout / time.Second); secs != 0 && secs != a.opTimeout {
		if err := s.m.SetOpTimeout(ctx, s.index, opts.OpTimeout); err != nil {
			return s.wrap("optimeout", err)
		}
		a.opTimeout = secs
		s.setAcq(a.epoch, a)
	}
	return nil
}

// setWill sends WILLTOPIC and WILLMSG when the will differs from what the
// modem holds for the index (it keeps the will until REL). Clearing a will
// happened in acquire.
func (s *Session) setWill(ctx context.Context, a *acquisition, w *Will) error {
	if w == nil || sameWill(a.will, w) {
		return nil
	}
	if err := s.m.SetWillTopic(ctx, s.index, w.Topic); err != nil {
		return s.wrap("will topic", err)
	}
	if err := s.m.SetWillMessage(ctx, s.index, w.Payload, w.QoS); err != nil {
		return s.wrap("will message", err)
	}
	c := *w
	c.Payload = bytes.Clone(w.Payload)
	a.will = &c
	s.setAcq(a.epoch, a)
	return nil
}

// connect sends SSLCFG (TLS: the modems clear it after CONNECT or DISC) and
// CONNECT, and returns the Seq of the CONNECT's answer. When CONNECT is
// refused as on a connected index (13 not supported, 19 client is used, or
// a bare ERROR) and the modem says the index is still connected, it
// disconnects and tries once more.
func (s *Session) connect(ctx context.Context, opts ConnectOptions, b Broker, tls *TLSConfig) (uint64, error) {
	p := ConnectArgs{
		Server:       b.Addr,
		KeepAlive:    opts.KeepAlive,
		CleanSession: opts.CleanSession,
		Username:     opts.Username,
		Password:     opts.Password,
		Timeout:      brokerTimeout,
	}
	if tls != nil {
		negotiate := tls.NegotiateTime
		if negotiate == 0 {
			negotiate = 300 * time.Second // the modem's default
		}
		p.Timeout += negotiate
	}
	attempt := func() (uint64, error) {
		if tls != nil {
			if err := s.m.SetSSLContext(ctx, s.index, tls.Context); err != nil {
				return 0, s.wrap("ssl context", err)
			}
		}
		seq, err := s.m.connectClient(ctx, s.index, p)
		return seq, s.wrap("connect", err)
	}
	seq, err := attempt()
	if err == nil || !refused(err) {
		return seq, err
	}
	if code, ok := resultCodeOf(err); ok && code != CodeNotSupported && code != CodeClientUsed {
		return 0, err // not the answer of a CONNECT on a connected index
	}
	states, qerr := s.m.ConnectedIndexes(ctx)
	if qerr != nil || !states[s.index] {
		return 0, err
	}
	if derr := s.m.DisconnectClient(ctx, s.index, 0); derr != nil && !s.notConnected(ctx, derr) {
		return 0, errors.Join(err, s.wrap("disconnect", derr))
	}
	return attempt()
}

// Disconnect sends DISC (timeout 0 or 60-180 s) and REL, and stops the
// service when no other index of the modem is acquired (asked with
// AT+CMQTTACCQ?). An index that was not connected is released all the same.
// AT+CMQTTSTOP answered "+CMQTTSTOP: 21" / ERROR (a client not released:
// the service keeps running) or "+CMQTTSTOP: 19" / ERROR (stopped with a
// client still acquired) is understood as the firmware's answer, not a
// failure, and never sent again.
func (s *Session) Disconnect(ctx context.Context, timeout time.Duration) error {
	if _, err := checkDiscTimeout(s.m.Model(), timeout); err != nil {
		return err
	}
	s.op.Lock()
	defer s.op.Unlock()
	// The results of publishes in flight first (as long as ctx lets): a
	// DISC ends what still waits.
	_ = s.drain(ctx)
	epoch := s.m.sessions.currentEpoch()
	if err := s.m.DisconnectClient(ctx, s.index, timeout); err != nil && !s.notConnected(ctx, err) {
		if FateOf(err) == FateUnknown {
			s.m.sessions.withState(func(st *modemState) { st.hold(s.index, holdMaybe) })
		}
		return s.wrap("disconnect", err)
	}
	s.m.sessions.setConnected(s.index, 0, 0, nil)
	s.m.sessions.withState(func(st *modemState) { delete(st.held, s.index) })
	s.m.unfence(s.index)

	setup := &s.m.sessions.setup
	setup.Lock()
	defer setup.Unlock()
	if err := s.m.EnsureReleased(ctx, s.index); err != nil {
		if _, qerr := s.m.Acquired(ctx); refused(err) && unsupported(qerr) {
			s.m.sessions.reset() // the service is down: nothing to release or stop
			return nil
		}
		return s.wrap("release", err)
	}
	s.setAcq(epoch, nil)
	clients, err := s.m.Acquired(ctx)
	if err != nil {
		return s.wrap("acquired clients", err)
	}
	for _, c := range clients {
		if c.ClientID != "" {
			return nil // another index still uses the service
		}
	}
	err = s.m.StopService(ctx)
	if code, ok := resultCodeOf(err); ok {
		switch code {
		case CodeNetworkNotOpened:
			err = nil // nothing to stop
		case CodeClientNotReleased:
			// SIM7600: a client is still acquired (another program's,
			// acquired meanwhile): the service keeps running for it
			// (M4E5TR0-MUN1R/SIM7600: STOP -> 21, then START -> 23).
			s.m.trace.event("MQTT service left running: a client is not released", err)
			return nil
		case CodeClientUsed:
			// A7600: the service stopped with a client still acquired
			// (a SIM7670G log: STOP -> 19, then START -> 0).
			err = nil
		}
	}
	if err != nil {
		return s.wrap("stop service", err)
	}
	s.m.sessions.at(epoch, func(st *modemState) { st.serviceStarted = false })
	return nil
}

func sameWill(a, b *Will) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Topic == b.Topic && a.QoS == b.QoS && bytes.Equal(a.Payload, b.Payload)
}

func sameConnect(a, b ConnectOptions) bool {
	if !sameWill(a.Will, b.Will) || (a.TLS == nil) != (b.TLS == nil) {
		return false
	}
	if a.TLS != nil && !sameTLS(*a.TLS, *b.TLS) {
		return false
	}
	a.Will, b.Will, a.TLS, b.TLS = nil, nil, nil, nil
	return a == b
}
