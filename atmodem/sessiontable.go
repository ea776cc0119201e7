package atmodem

import (
	"crypto/sha256"
	"sync"
)

// sessionTable is the Modem's register of sessions: which client index is
// claimed by which Session, the routing of URC events to them, and the
// memory of what this Modem has set up in the modem (service started,
// indexes acquired, certificates uploaded, SSL contexts configured) so a
// Session rebuilds only what the modem lost. Its zero value is ready to use.
type sessionTable struct {
	mu       sync.Mutex
	sessions map[int]*Session
	state    modemState
	// epoch counts modem resets: what a connect sequence learned before a
	// reset is not stored after it.
	epoch uint64
	// lossSeq is the Event.Seq of the last loss of each index (lossSeqAll:
	// of every index: NONET, reset, closed): a CONNECT that finished before
	// a loss reported later is not recorded as connected.
	lossSeq    map[int]uint64
	lossSeqAll uint64
	// closed is the error of EventClosed once dispatched: no session can
	// be claimed after it (it would never get its EventClosed).
	closed error

	// setup serialises the modem-wide steps of the connect sequences of
	// several sessions (service start and stop, certificate upload, SSL
	// context configuration). It is never held by the reader.
	setup sync.Mutex
}

// modemState is what this Modem did to the modem since its last reset. The
// zero value means "nothing known".
type modemState struct {
	serviceStarted bool
	// startNeeded: the firmware stopped the MQTT service itself
	// (+CMQTTNONET): the next connect sends AT+CMQTTSTART and counts only
	// its own answer, whatever AT+CMQTTACCQ? says meanwhile.
	startNeeded bool
	acquired    map[int]*acquisition
	certs       map[string][sha256.Size]byte // uploaded by this Modem
	sslContexts map[int]sslContextSetup      // configured by this Modem
	// noSubTopic: the firmware answered ERROR to AT+CMQTTSUBTOPIC (some
	// A7670); subscribe with one single-topic SUB per filter.
	noSubTopic bool
	// noUnsubTopic: the same for AT+CMQTTUNSUBTOPIC.
	noUnsubTopic bool
	// noVersion: the firmware refused the MQTT protocol version selection
	// (AT+CMQTTCFG="version" on the A7600, the 4th AT+CMQTTACCQ field on
	// the SIM7600): it connects with its default.
	noVersion bool
	// connected holds each index this Modem connected and that reported
	// no loss since: its options and the Seq of its CONNECT's answer.
	connected map[int]connection
	// held marks indexes the modem may still hold connected although no
	// connection is recorded: after +CMQTTPING (sure: DISC before the next
	// CONNECT) or a CONNECT or DISC whose outcome is unknown (ask first).
	held map[int]holdKind
}

// connection is a connection this Modem made.
type connection struct {
	opts *ConnectOptions
	seq  uint64 // Event.Seq order of the CONNECT's answer
}

// holdKind says how sure it is that the modem still holds an index connected.
type holdKind uint8

const (
	holdMaybe holdKind = iota + 1 // ask AT+CMQTTDISC? before CONNECT
	holdSure                      // send AT+CMQTTDISC before CONNECT
)

// acquisition is what the modem holds for an acquired client index.
type acquisition struct {
	clientID   string
	serverType ServerType
	checkUTF8  bool
	opTimeout  int // A7600 optimeout seconds set; 0: modem default
	// version is the MQTT protocol level selected (4: 3.1.1, 3: 3.1); 0
	// when none was (the firmware's default).
	version int
	// will as set with WILLTOPIC/WILLMSG; the modem keeps it until REL.
	will  *Will
	epoch uint64 // the sessionTable epoch the record belongs to
}

// sslContextSetup is the CSSLCFG configuration this Modem wrote to an SSL
// context.
type sslContextSetup struct {
	sslVersion, authMode int
	ignoreLocalTime      bool
	negotiateTime        int
	ca, cert, key        string
}

// claim registers s under its index. It fails with ErrIndexInUse when the
// index is claimed, and with the transport's error (wrapping ErrClosed)
// once the modem is closed.
func (t *sessionTable) claim(s *Session) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.open(); err != nil {
		return err
	}
	if _, used := t.sessions[s.index]; used {
		return ErrIndexInUse
	}
	t.sessions[s.index] = s
	return nil
}

// open fails with the transport's error once the modem is closed, and
// makes the map of sessions on the first claim. The caller holds t.mu.
func (t *sessionTable) open() error {
	if t.closed != nil {
		return t.closed
	}
	if t.sessions == nil {
		t.sessions = make(map[int]*Session, 2)
	}
	return nil
}

// claimFree registers s under the lowest free index of r.
func (t *sessionTable) claimFree(s *Session, r Range) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.open(); err != nil {
		return err
	}
	for i := r.Min; i <= r.Max; i++ {
		if _, used := t.sessions[i]; !used {
			s.index = i
			t.sessions[i] = s
			return nil
		}
	}
	return ErrNoFreeIndex
}

// unclaim gives s's index back.
func (t *sessionTable) unclaim(s *Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sessions[s.index] == s {
		delete(t.sessions, s.index)
	}
}

// dispatch hands an event to the session of ev.Index, or to every session
// when ev.Index is -1, and updates the memory of the modem's state. It never
// blocks: each Session queues its events without bound. It runs on the
// reader, in the order of the modem's output.
func (t *sessionTable) dispatch(ev Event) {
	t.mu.Lock()
	switch ev.Kind {
	case EventReset:
		t.state = modemState{}
		t.epoch++
		t.lossSeqAll = ev.Seq
	case EventConnLost, EventPingFail:
		delete(t.state.connected, ev.Index)
		if t.lossSeq == nil {
			t.lossSeq = make(map[int]uint64, 2)
		}
		t.lossSeq[ev.Index] = ev.Seq
		if ev.Kind == EventPingFail {
			// The modem still holds the connection after a failed
			// keepalive (SIMCom's URC table: "disconnect the connection
			// and re-connect"); a CONNECT on it answers 13, and on an
			// A7672 it was reported to reboot the module.
			t.state.hold(ev.Index, holdSure)
		} else {
			delete(t.state.held, ev.Index)
		}
	case EventNoNetwork:
		// The firmware stopped the MQTT service (SIMCom's URC table:
		// "restart the MQTT service by AT+CMQTTSTART").
		t.state.connected, t.state.held = nil, nil
		t.state.serviceStarted, t.state.startNeeded = false, true
		t.lossSeqAll = ev.Seq
	case EventClosed:
		t.state.connected = nil
		t.lossSeqAll = ev.Seq
		t.closed = ev.Err
		if t.closed == nil {
			t.closed = ErrClosed
		}
	}
	var targets []*Session
	if ev.Index < 0 {
		targets = make([]*Session, 0, len(t.sessions))
		for _, s := range t.sessions {
			targets = append(targets, s)
		}
	} else if s := t.sessions[ev.Index]; s != nil {
		targets = []*Session{s}
	}
	t.mu.Unlock()
	for _, s := range targets {
		e := ev
		e.Index = s.index
		s.events.push(e)
	}
}

// reset forgets what was set up in the modem (it rebooted, or its MQTT
// service stopped). Claimed sessions stay claimed; after a reboot they get
// an EventReset from dispatch.
func (t *sessionTable) reset() {
	t.mu.Lock()
	t.state = modemState{}
	t.epoch++
	t.mu.Unlock()
}

// currentEpoch returns the number of resets so far, for at.
func (t *sessionTable) currentEpoch() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.epoch
}

// at runs f with the state locked when no reset happened since epoch.
func (t *sessionTable) at(epoch uint64, f func(st *modemState)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.epoch == epoch {
		f(&t.state)
	}
}

// setConnected records index as connected with opts by a CONNECT answered
// at seq, unless a reset happened since epoch or a loss of the index was
// reported after seq. A connection proves the service runs. opts nil
// records it disconnected.
func (t *sessionTable) setConnected(index int, epoch, seq uint64, opts *ConnectOptions) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if opts == nil {
		delete(t.state.connected, index)
		return
	}
	if t.epoch != epoch || t.lossSeqAll > seq || t.lossSeq[index] > seq {
		return
	}
	if t.state.connected == nil {
		t.state.connected = make(map[int]connection, 2)
	}
	t.state.connected[index] = connection{opts: opts, seq: seq}
	delete(t.state.held, index)
	t.state.serviceStarted, t.state.startNeeded = true, false
}

// withState runs f with the modem state locked. f must not block.
func (t *sessionTable) withState(f func(st *modemState)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(&t.state)
}

// hold marks index as possibly still connected in the modem; a surer kind
// is not weakened. Call with the table locked.
func (st *modemState) hold(index int, k holdKind) {
	if st.held == nil {
		st.held = make(map[int]holdKind, 2)
	}
	st.held[index] = max(st.held[index], k)
}

// acq returns the acquisition record of index, nil when this Modem holds
// none. Call with the table locked (inside withState or at).
func (st *modemState) acq(index int) *acquisition {
	return st.acquired[index]
}

// setAcq stores (a nil: deletes) the acquisition record of index. Call with
// the table locked.
func (st *modemState) setAcq(index int, a *acquisition) {
	if st.acquired == nil {
		st.acquired = make(map[int]*acquisition, 2)
	}
	if a == nil {
		delete(st.acquired, index)
		return
	}
	st.acquired[index] = a
}
