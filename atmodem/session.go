package atmodem

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// Session drives one MQTT client index of a modem: the connect sequence,
// publish, subscribe, unsubscribe, disconnect, and the events of that index.
// Its methods are safe for concurrent use; the steps of one operation (e.g.
// TOPIC, PAYLOAD, PUB) never interleave with another operation of the same
// Session.
type Session struct {
	m     *Modem
	index int

	op        sync.Mutex // one operation at a time (publishes: up to their PUB's OK)
	win       window     // publishes whose result is pending (window.go)
	events    *eventQueue
	closeOnce sync.Once
	// linkLost: a publish's result said the modem has no working
	// connection on the index (noteLinkDown); the next Connect acts on it.
	linkLost atomic.Bool
}

// Session claims client index i (0 or 1) of the modem. It fails with
// ErrIndexInUse while another Session holds it; Close gives it back.
func (m *Modem) Session(i int) (*Session, error) {
	if err := checkIndex(m.Model(), i); err != nil {
		return nil, err
	}
	s := &Session{m: m, index: i}
	if err := m.sessions.claim(s); err != nil {
		return nil, fmt.Errorf("atmodem: session %d: %w", i, err)
	}
	s.events = newEventQueue()
	return s, nil
}

// ClaimFreeSession claims the lowest free client index, or fails with ErrNoFreeIndex.
func (m *Modem) ClaimFreeSession() (*Session, error) {
	s := &Session{m: m}
	if err := m.sessions.claimFree(s, m.Model().Limits().ClientIndex); err != nil {
		return nil, fmt.Errorf("atmodem: session: %w", err)
	}
	s.events = newEventQueue()
	return s, nil
}

// Index returns the client index.
func (s *Session) Index() int { return s.index }

// Modem returns the modem the session runs on.
func (s *Session) Modem() *Modem { return s.m }

// Events returns the ordered stream of events of this index: messages
// received, connection lost, keepalive failure, no network, modem reset and,
// last, transport closed. The AT reader never waits for it (events queue
// without bound until read), so read it steadily. It is closed by Close or
// after EventClosed.
func (s *Session) Events() <-chan Event { return s.events.out }

// Close gives the client index back to the modem (it does not talk to the
// modem; call Disconnect first) and closes the Events channel, dropping
// events not yet read.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.m.sessions.unclaim(s)
		s.events.close()
	})
	return nil
}

// Connected asks the modem (AT+CMQTTDISC?, whose 0 means connected) whether
// the index is connected. It answers false without asking while the
// index's results can no longer be matched (Modem.Fenced): the connection
// cannot be used until Connect made it again.
func (s *Session) Connected(ctx context.Context) (bool, error) {
	if s.m.Fenced(s.index) {
		return false, nil
	}
	states, err := s.m.ConnectedIndexes(ctx)
	if err != nil {
		return false, err
	}
	return states[s.index], nil
}

// usable fails with ErrResultsUnmatched while the index is fenced: a
// request's result could not be matched, so nothing is sent until Connect
// made the connection again.
func (s *Session) usable(what string) error {
	if s.m.Fenced(s.index) {
		return s.wrap(what, fmt.Errorf("%w: client %d: connect again first", ErrResultsUnmatched, s.index))
	}
	return nil
}

// acq returns a copy of the acquisition record of the index, nil when
// this Modem holds none.
func (s *Session) acq() *acquisition {
	var out *acquisition
	s.m.sessions.withState(func(st *modemState) {
		if a := st.acq(s.index); a != nil {
			c := *a
			out = &c
		}
	})
	return out
}

// setAcq stores the acquisition record of the index (nil: released) unless
// the modem was reset since epoch.
func (s *Session) setAcq(epoch uint64, a *acquisition) {
	s.m.sessions.at(epoch, func(st *modemState) {
		if a == nil {
			st.setAcq(s.index, nil)
			return
		}
		c := *a
		st.setAcq(s.index, &c)
	})
}

// connectedWith returns the live connection this Modem made on the index
// (opts nil when not known to be connected).
func (s *Session) connectedWith() connection {
	var out connection
	s.m.sessions.withState(func(st *modemState) { out = st.connected[s.index] })
	return out
}

// wrap adds the session's index and step to an error.
func (s *Session) wrap(step string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("atmodem: session %d: %s: %w", s.index, step, err)
}
