package compat

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// releases tracks, per modem, the adapters that are still giving their
// client index back (DISC, REL), so that a client reconnecting right after
// a loss or a DISCONNECT waits for the index instead of failing.
var releases = &releaseTracker{modems: map[*atmodem.Modem]*modemReleases{}}

type releaseTracker struct {
	mu     sync.Mutex
	modems map[*atmodem.Modem]*modemReleases
}

type modemReleases struct {
	pending int           // adapters of this modem between loss and session Close
	changed chan struct{} // closed and replaced when one of them finishes
}

func (t *releaseTracker) get(m *atmodem.Modem) *modemReleases {
	r := t.modems[m]
	if r == nil {
		r = &modemReleases{changed: make(chan struct{})}
		t.modems[m] = r
	}
	return r
}

// watch returns whether an adapter of m is releasing its index, and a
// channel closed when one finishes.
func (t *releaseTracker) watch(m *atmodem.Modem) (bool, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.get(m)
	return r.pending > 0, r.changed
}

// begin marks an adapter of m as releasing its index.
func (t *releaseTracker) begin(m *atmodem.Modem) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.get(m).pending++
}

// end marks the release done and wakes the waiters.
func (t *releaseTracker) end(m *atmodem.Modem) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.get(m)
	r.pending--
	close(r.changed)
	r.changed = make(chan struct{})
	if r.pending == 0 {
		delete(t.modems, m)
	}
}

// claimSession takes client index `index` of m (the lowest free one when
// index < 0). While another adapter of this package is still giving an
// index of m back, it waits for that until ctx ends; otherwise an index in
// use fails at once with atmodem.ErrIndexInUse or atmodem.ErrNoFreeIndex,
// unless waitAny is set: then it waits for any index to be given back
// until ctx ends (Serve: a client that reconnects right after another one
// left may come before the gateway has read that one's DISCONNECT).
func claimSession(ctx context.Context, m *atmodem.Modem, index int, waitAny bool) (*atmodem.Session, error) {
	for {
		releasing, changed := releases.watch(m)
		var s *atmodem.Session
		var err error
		if index < 0 {
			s, err = m.ClaimFreeSession()
		} else {
			s, err = m.Session(index)
		}
		if err == nil {
			return s, nil
		}
		inUse := errors.Is(err, atmodem.ErrIndexInUse) || errors.Is(err, atmodem.ErrNoFreeIndex)
		if !inUse || !(releasing || waitAny) {
			return nil, fmt.Errorf("compat: %w", err)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("compat: waiting for a client index: %w (%w)", ctx.Err(), err)
		}
	}
}
