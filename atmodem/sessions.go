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
	// losses counts the connection losses of each index (lossAll those of
	// every index): a CONNECT that succeeds while a loss is reported is
	// not recorded as connected.
	losses  map[int]uint64
	lossAll uint64
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
	acquired       map[int]*acquisition
	certs          map[string][sha256.Size]byte // uploaded by this Modem
	sslContexts    map[int]sslContextSetup      // configured by this Modem
	// noSubTopic: the firmware answered ERROR to AT+CMQTTSUBTOPIC (some
	// A7670); subscribe with one single-topic SUB per filter.
	noSubTopic bool
	// noUnsubTopic: the same for AT+CMQTTUNSUBTOPIC.
	noUnsubTopic bool
	// connected holds the options of each index this Modem connected and
	// that reported no loss since.
	connected map[int]*ConnectOptions
}

// acquisition is what the modem holds for an acquired client index.
type acquisition struct {
	clientID   string
	serverType ServerType
	checkUTF8  bool
	// cfgKnown is false when the index was found acquired and its
	// AT+CMQTTCFG settings are unknown.
	cfgKnown  bool
	opTimeout int // A7600 optimeout seconds set; 0: modem default
	// will as set with WILLTOPIC/WILLMSG; the modem keeps it until REL.
	will *Will
	// willKnown is false when the index was found acquired (after a
	// process restart) and whatever will it holds is unknown.
	willKnown bool
	epoch     uint64 // the sessionTable epoch the record belongs to
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
// blocks: each Session queues its events without bound.
func (t *sessionTable) dispatch(ev Event) {
	t.mu.Lock()
	switch ev.Kind {
	case EventReset:
		t.state = modemState{}
		t.epoch++
		t.lossAll++
	case EventConnLost, EventPingFail:
		delete(t.state.connected, ev.Index)
		if t.losses == nil {
			t.losses = make(map[int]uint64, 2)
		}
		t.losses[ev.Index]++
	case EventNoNetwork, EventClosed:
		t.state.connected = nil
		t.lossAll++
		if ev.Kind == EventClosed {
			t.closed = ev.Err
			if t.closed == nil {
				t.closed = ErrClosed
			}
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
	t.lossAll++
	t.mu.Unlock()
}

// mark returns the current epoch and loss count of index, for at and
// setConnected.
func (t *sessionTable) mark(index int) (epoch, loss uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.epoch, t.lossAll + t.losses[index]
}

// at runs f with the state locked when no reset happened since epoch.
func (t *sessionTable) at(epoch uint64, f func(st *modemState)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.epoch == epoch {
		f(&t.state)
	}
}

// setConnected records index as connected with opts (nil: disconnected)
// unless a reset or a loss of the index was reported since mark.
func (t *sessionTable) setConnected(index int, epoch, loss uint64, opts *ConnectOptions) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if opts == nil {
		delete(t.state.connected, index)
		return
	}
	if t.epoch != epoch || t.lossAll+t.losses[index] != loss {
		return
	}
	if t.state.connected == nil {
		t.state.connected = make(map[int]*ConnectOptions, 2)
	}
	t.state.connected[index] = opts
}

// withState runs f with the modem state locked. f must not block.
func (t *sessionTable) withState(f func(st *modemState)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(&t.state)
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
