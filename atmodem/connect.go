package atmodem

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
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
// already runs), index acquired with the broker's server type (recovering
// when already acquired), UTF-8 check off, certificates and SSL context,
// will, CONNECT. It rebuilds only what the modem lost since the last call:
// after a connection loss only SSLCFG (TLS) and CONNECT are sent; after a
// modem reset everything. Called while connected with the same options it
// does nothing; with other options it disconnects first. With AutoDetect it
// asks the modem its model first.
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
	b, _ := ParseBroker(opts.Broker)
	s.op.Lock()
	defer s.op.Unlock()

	if c := s.connectedWith(); c != nil && sameConnect(*c, opts) {
		return nil
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
		if code != simcom.CodeClientNotAcquired {
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
	epoch, _ := s.m.sessions.mark(s.index)
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
	_, loss := s.m.sessions.mark(s.index)
	if err := s.connect(ctx, opts, b, tls); err != nil {
		return err
	}
	c := opts
	s.m.sessions.setConnected(s.index, epoch, loss, &c)
	return nil
}

// acquire makes sure the service runs and the index is acquired for the
// client ID and server type, not connected. Holding the modem's setup lock
// keeps another session's Disconnect from stopping the service meanwhile.
func (s *Session) acquire(ctx context.Context, epoch uint64, opts ConnectOptions, t ServerType) error {
	setup := &s.m.sessions.setup
	setup.Lock()
	defer setup.Unlock()

	started := false
	s.m.sessions.withState(func(st *modemState) { started = st.serviceStarted })
	if !started {
		if err := s.m.EnsureService(ctx); err != nil {
			return s.wrap("start service", err)
		}
		s.m.sessions.at(epoch, func(st *modemState) { st.serviceStarted = true })
	}

	a := s.acq()
	if a != nil && s.connectedWith() != nil {
		// Connected with other options: CFG and the will need a
		// disconnected client.
		if err := s.m.DisconnectClient(ctx, s.index, 0); err != nil && !s.notConnected(ctx, err) {
			return s.wrap("disconnect", err)
		}
		s.m.sessions.setConnected(s.index, 0, 0, nil)
	}
	if a != nil && (a.clientID != opts.ClientID || a.serverType != t) {
		if err := s.m.EnsureReleased(ctx, s.index); err != nil {
			return s.wrap("release", err)
		}
		s.setAcq(epoch, nil)
		a = nil
	}
	if a != nil && opts.Will == nil && (a.will != nil || !a.willKnown) {
		// The modem keeps a will until REL; clearing it needs a new client.
		if err := s.m.EnsureReleased(ctx, s.index); err != nil {
			return s.wrap("release (clear will)", err)
		}
		s.setAcq(epoch, nil)
		a = nil
	}
	if a != nil {
		return nil
	}
	fresh, err := s.m.EnsureAcquired(ctx, s.index, opts.ClientID, t)
	if err != nil {
		return s.wrap("acquire", err)
	}
	a = &acquisition{clientID: opts.ClientID, serverType: t, checkUTF8: true, willKnown: fresh, cfgKnown: fresh, epoch: epoch}
	if !fresh {
		// Found acquired (an earlier process): disconnect it if connected,
		// its will and options are unknown.
		states, err := s.m.ConnectionStates(ctx)
		if err != nil {
			return s.wrap("connection state", err)
		}
		if states[s.index] {
			if err := s.m.DisconnectClient(ctx, s.index, 0); err != nil && !s.notConnected(ctx, err) {
				return s.wrap("disconnect", err)
			}
		}
		if opts.Will == nil {
			if err := s.m.EnsureReleased(ctx, s.index); err != nil {
				return s.wrap("release (clear will)", err)
			}
			if err := s.m.Acquire(ctx, s.index, opts.ClientID, t); err != nil {
				return s.wrap("acquire", err)
			}
			a.willKnown, a.cfgKnown = true, true
		}
	}
	s.setAcq(epoch, a)
	return nil
}

// notConnected reports whether a failed DISC left the index disconnected
// (it was not connected in the first place).
func (s *Session) notConnected(ctx context.Context, discErr error) bool {
	if !refused(discErr) {
		return false
	}
	states, err := s.m.ConnectionStates(ctx)
	if err != nil {
		return unsupported(err) // ERROR: the service is down, nothing is connected
	}
	return !states[s.index]
}

// configure sets AT+CMQTTCFG: the UTF-8 check (off unless opts.CheckUTF8)
// and on the A7600 the optimeout, when they differ from what the modem holds.
func (s *Session) configure(ctx context.Context, a *acquisition, opts ConnectOptions) error {
	if !a.cfgKnown || a.checkUTF8 != opts.CheckUTF8 {
		if err := s.m.SetCheckUTF8(ctx, s.index, opts.CheckUTF8); err != nil {
			return s.wrap("checkUTF8", err)
		}
		a.checkUTF8, a.cfgKnown = opts.CheckUTF8, true
		s.setAcq(a.epoch, a)
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
	if w == nil || (a.willKnown && sameWill(a.will, w)) {
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
	a.will, a.willKnown = &c, true
	s.setAcq(a.epoch, a)
	return nil
}

// connect sends SSLCFG (TLS: the modems clear it after CONNECT or DISC) and
// CONNECT. When CONNECT is refused by the modem (not by the broker) and the
// modem says the index is still connected, it disconnects and tries once more.
func (s *Session) connect(ctx context.Context, opts ConnectOptions, b Broker, tls *TLSConfig) error {
	p := ConnectParams{
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
	attempt := func() error {
		if tls != nil {
			if err := s.m.SetSSLContext(ctx, s.index, tls.Context); err != nil {
				return s.wrap("ssl context", err)
			}
		}
		return s.wrap("connect", s.m.ConnectClient(ctx, s.index, p))
	}
	err := attempt()
	if err == nil || !refused(err) {
		return err
	}
	if code, ok := resultCodeOf(err); ok {
		if _, broker := code.ConnackReturnCode(); broker || code == simcom.CodeClientNotAcquired {
			return err
		}
	}
	states, qerr := s.m.ConnectionStates(ctx)
	if qerr != nil || !states[s.index] {
		return err
	}
	if derr := s.m.DisconnectClient(ctx, s.index, 0); derr != nil && !s.notConnected(ctx, derr) {
		return errors.Join(err, s.wrap("disconnect", derr))
	}
	return attempt()
}

// Disconnect sends DISC (timeout 0 or 60-180 s) and REL, and stops the
// service when no other index of the modem is acquired (asked with
// AT+CMQTTACCQ?). An index that was not connected is released all the same.
func (s *Session) Disconnect(ctx context.Context, timeout time.Duration) error {
	if _, err := checkDiscTimeout(s.m.Model(), timeout); err != nil {
		return err
	}
	s.op.Lock()
	defer s.op.Unlock()
	epoch, _ := s.m.sessions.mark(s.index)
	if err := s.m.DisconnectClient(ctx, s.index, timeout); err != nil && !s.notConnected(ctx, err) {
		return s.wrap("disconnect", err)
	}
	s.m.sessions.setConnected(s.index, 0, 0, nil)

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
	if code, ok := resultCodeOf(err); ok && code == simcom.CodeNetworkNotOpened {
		err = nil
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
