package modemsim

import (
	"context"
	"fmt"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// DyingLink describes a broker link that dies under a request: the request
// is answered OK, then (unless NoResult) with result 6 (message receive
// fail), then "+CMQTTCONNLOST: i,<cause>" comes at once, after LostAfter,
// or never; the broker connection is dropped without DISCONNECT either way
// (the broker sends the will). This is what real firmware shows when the
// link dies under a publish or a subscribe: "AT+CMQTTPUB=0,1,60 / OK /
// +CMQTTPUB: 0,6 / +CMQTTCONNLOST: 0,1" (issue 12.1) and "AT+CMQTTSUB=0,4,1,1
// / > / OK / +CMQTTSUB: 0,6 / +CMQTTCONNLOST: 0,1" (12.6).
//
// Until the CONNLOST the firmware has noticed nothing: the index reads as
// connected (AT+CMQTTDISC? 0), AT+CMQTTCONNECT answers 13, and further
// requests get OK then result 11 (see deadLink); AT+CMQTTDISC frees the
// index (result 0) and no CONNLOST follows it. With NeverLost that state
// lasts until AT+CMQTTDISC or a later fault (KeepaliveFail, DropConnection):
// no firmware report says what ends it, and a modem whose socket died
// quietly has nothing else to notice it by.
type DyingLink struct {
	// Delivered: the request reached the broker before the link died (the
	// PUBLISH was sent and, for QoS 1 and 2, acknowledged; the SUBSCRIBE
	// was granted), so a resend is a duplicate. Otherwise nothing left the
	// modem.
	Delivered bool
	// NoResult: the request's result never comes; the CONNLOST arrives
	// while the host waits for it. Not with NeverLost.
	NoResult bool
	// LostAfter delays "+CMQTTCONNLOST" after the result (after the OK
	// with NoResult); 0 writes it right after.
	LostAfter time.Duration
	// NeverLost: no "+CMQTTCONNLOST" comes at all.
	NeverLost bool
	// Cause is the <cause> of the CONNLOST, 1-3; 0 means 1 (socket closed
	// passively, as in the reports).
	Cause int
}

// DyingLinkOnPublish makes the link of index idx die under the next
// AT+CMQTTPUB of that index, as d describes.
func (s *Sim) DyingLinkOnPublish(idx int, d DyingLink) error {
	return s.armDying("+CMQTTPUB", idx, d)
}

// DyingLinkOnSubscribe makes the link of index idx die under the next
// AT+CMQTTSUB of that index (either form), as d describes.
func (s *Sim) DyingLinkOnSubscribe(idx int, d DyingLink) error {
	return s.armDying("+CMQTTSUB", idx, d)
}

// dyingKey names an armed DyingLink: the command and the index.
type dyingKey struct {
	cmd string
	idx int
}

func (s *Sim) armDying(cmd string, idx int, d DyingLink) error {
	if idx < 0 || idx >= clientCount {
		return fmt.Errorf("modemsim: client index %d: want 0 or 1", idx)
	}
	if d.Cause == 0 {
		d.Cause = CauseSocketClosed
	}
	switch {
	case d.Cause < CauseSocketClosed || d.Cause > CauseNetworkClosed:
		return fmt.Errorf("modemsim: connection-lost cause %d: want 1, 2 or 3", d.Cause)
	case d.LostAfter < 0:
		return fmt.Errorf("modemsim: negative LostAfter %v", d.LostAfter)
	case d.NoResult && d.NeverLost:
		return fmt.Errorf("modemsim: a dying link with neither result nor CONNLOST leaves the host nothing to read")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dying == nil {
		s.dying = make(map[dyingKey]DyingLink)
	}
	s.dying[dyingKey{cmd, idx}] = d
	return nil
}

// takeDying returns and disarms the DyingLink of cmd on idx. The caller
// holds s.mu.
func (s *Sim) takeDying(cmd string, idx int) (DyingLink, bool) {
	k := dyingKey{cmd, idx}
	d, ok := s.dying[k]
	delete(s.dying, k)
	return d, ok
}

// runDying is runOp for a request whose link dies under it. The caller
// holds s.mu and has answered nothing yet.
func (s *Sim) runDying(name string, idx int, cl *clientState, r *reply, d DyingLink, op func(link brokerLink) simcom.ResultCode) {
	cl.pending++
	cl.busy = true
	gen, link := cl.gen, cl.link
	before, done := cl.results, make(chan struct{})
	cl.results = done
	r.ok()
	s.goAsync(func(ctx context.Context) {
		defer close(done)
		if before != nil { // the link dies under this request, after the ones before
			select {
			case <-before:
			case <-ctx.Done():
				return
			}
		}
		if d.Delivered {
			op(link)
		}
		link.Drop()
		s.mu.Lock()
		cl := s.st.client(idx)
		if cl.gen != gen || s.closed() {
			s.mu.Unlock()
			return
		}
		cl.link = deadLink{}
		cl.idle()
		cl.gen++
		s.droppedAt[idx] = time.Now()
		dead := cl.gen
		if !d.NoResult {
			s.urc(fmt.Sprintf("%s: %d,%d", name, idx, simcom.CodeMessageReceiveFail))
		}
		if !d.NeverLost && d.LostAfter == 0 {
			s.lostLocked(idx, d.Cause)
		}
		s.mu.Unlock()
		if d.NeverLost || d.LostAfter == 0 || !s.sleep(d.LostAfter) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if cl := s.st.client(idx); cl.gen == dead && !s.closed() {
			s.lostLocked(idx, d.Cause)
		}
	})
}
