package modemsim

import (
	"bytes"
	"fmt"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// Fault injection. Every method is safe to call from any goroutine while
// the host talks to the modem; the URCs they cause follow the rules of the
// output (never inside an answer or a prompt exchange).

// Cause values of +CMQTTCONNLOST (the manuals' <cause>).
const (
	CauseSocketClosed  = 1 // socket is closed passively
	CauseSocketReset   = 2 // socket is reset
	CauseNetworkClosed = 3 // network is closed
)

// DropConnection closes the broker connection of client index idx without
// an MQTT DISCONNECT (so the broker publishes the will) and reports
// "+CMQTTCONNLOST: idx,cause". It fails when the index is not connected or
// cause is not 1, 2 or 3.
func (s *Sim) DropConnection(idx, cause int) error {
	if cause < CauseSocketClosed || cause > CauseNetworkClosed {
		return fmt.Errorf("modemsim: connection-lost cause %d: want 1, 2 or 3", cause)
	}
	link, err := s.takeLink(idx, nil)
	if err != nil {
		return err
	}
	link.Drop()
	s.urc(fmt.Sprintf("+CMQTTCONNLOST: %d,%d", idx, cause))
	return nil
}

// takeLink detaches the link of idx (live, or dead but held as
// connected) from the state and puts next in its place: nil for an index
// that is now disconnected, deadLink{} for one the firmware still holds as
// connected.
func (s *Sim) takeLink(idx int, next brokerLink) (brokerLink, error) {
	if idx < 0 || idx >= clientCount {
		return nil, fmt.Errorf("modemsim: client index %d: want 0 or 1", idx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cl := s.st.client(idx)
	if cl.link == nil {
		return nil, fmt.Errorf("modemsim: client index %d is not connected", idx)
	}
	link := cl.link
	cl.link = next
	cl.gen++
	cl.idle()
	s.droppedAt[idx] = time.Now()
	return link, nil
}

// dropAllLocked detaches every link and returns them to be dropped; a
// connected index gets held in its place (nil: disconnected, deadLink{}:
// still held as connected). The caller holds s.mu.
func (s *Sim) dropAllLocked(held brokerLink) []brokerLink {
	var links []brokerLink
	for i := range s.st.clients {
		cl := &s.st.clients[i]
		var next brokerLink
		if cl.link != nil {
			links = append(links, cl.link)
			s.droppedAt[i] = time.Now()
			next = held
		}
		cl.link = next
		cl.connecting = false
		cl.idle()
		cl.early = nil
		cl.gen++
	}
	return links
}

// NoNetwork takes the data network down as the firmware reports it: every
// broker connection drops without DISCONNECT (the broker sends the wills),
// "+CMQTTNONET" (or "+CMQTTNONET:" with Config.NoNetColon) is reported, and
// the MQTT service stops by itself, as SIMCom's URC table says ("restart
// the MQTT service by AT+CMQTTSTART"). Until AT+CMQTTSTART succeeds the MQTT
// commands answer ERROR (AT+CMQTTACCQ? and AT+CMQTTDISC? still list the old
// clients with Config.NoNetListsClients), and AT+CMQTTSTART itself fails
// with OK then "+CMQTTSTART: 7" (network open fail) until RestoreNetwork.
// The START that succeeds starts with every index released.
func (s *Sim) NoNetwork() {
	s.mu.Lock()
	s.st.network = false
	if s.st.started {
		s.st.started = false
		s.st.staleClients = true
	}
	links := s.dropAllLocked(nil)
	s.mu.Unlock()
	for _, l := range links {
		l.Drop()
	}
	s.urc(s.d.nonet)
}

// NoNetworkSilent takes the data network down without telling the host, as
// a radio that dies with no URC: the broker connections drop without
// DISCONNECT, but the firmware has noticed nothing. The service keeps
// running and connected indexes stay held as connected (AT+CMQTTDISC? says
// 0, publishes get result 11, see deadLink) until the host disconnects them
// or a keepalive fault (KeepaliveFail) reports the loss; a CONNECT while the
// network is down fails (A7600: "+CMQTTCONNECT: i,34" then ERROR; SIM7600:
// OK then "+CMQTTCONNECT: i,3"); AT+CSQ and AT+CGREG? show no service.
func (s *Sim) NoNetworkSilent() {
	s.mu.Lock()
	s.st.network = false
	links := s.dropAllLocked(deadLink{})
	s.mu.Unlock()
	for _, l := range links {
		l.Drop()
	}
}

// RestoreNetwork brings the data network back after NoNetwork or
// NoNetworkSilent.
func (s *Sim) RestoreNetwork() {
	s.mu.Lock()
	s.st.network = true
	s.mu.Unlock()
}

// KeepaliveFail reports that the keepalive of index idx failed:
// "+CMQTTPING: idx,17" (timeout); the broker connection is dropped without
// DISCONNECT (the broker sends the will). As on real firmware the index is
// still held as connected afterwards: AT+CMQTTDISC? answers 0 and
// AT+CMQTTCONNECT "+CMQTTCONNECT: idx,13" until AT+CMQTTDISC is sent (see
// deadLink). It fails when the index is not connected.
func (s *Sim) KeepaliveFail(idx int) error {
	link, err := s.takeLink(idx, deadLink{})
	if err != nil {
		return err
	}
	link.Drop()
	s.urc(fmt.Sprintf("+CMQTTPING: %d,%d", idx, s.d.code(simcom.CodeTimeout)))
	return nil
}

// Noise writes raw bytes to the host between two output units (never inside
// an answer or an RX sequence), like line noise on an idle UART.
func (s *Sim) Noise(b []byte) {
	if len(b) == 0 {
		return
	}
	s.out.urc(outUnit{data: bytes.Clone(b)})
}

// DropNextAnswer loses the whole answer (information lines, data prompt
// and final result) of the next command, as a garbled line would; its echo
// and any later result URC still come. A command that asks for data still
// waits for it, so the host's next bytes become that data.
func (s *Sim) DropNextAnswer() {
	s.mu.Lock()
	s.drop = true
	s.mu.Unlock()
}

// LateEcho makes the echo of the next lines command lines come late (issue
// 13.6): not before the command's answer but after it and its result URCs,
// just before the echo of the next command line, i.e. while the host
// waits for that next command. It applies while echo is on (ATE1, the
// power-up default); a line the modem does not echo has no echo to delay.
// A late echo of AT+CMQTTCONNECT carries the user name and password.
func (s *Sim) LateEcho(lines int) {
	s.mu.Lock()
	s.lateLines = max(lines, 0)
	s.mu.Unlock()
}

// SetBusyWhileStreaming changes what happens to commands written while an
// inbound message streams out (see BusyMode).
func (s *Sim) SetBusyWhileStreaming(m BusyMode) {
	s.mu.Lock()
	s.busy = m
	s.mu.Unlock()
}

// Stall hangs the AT port for d (until Unstall when d <= 0), as a USB
// serial port that stalls and then replays its backlog (issue 13.1):
// nothing reaches the host, and what the host writes meanwhile is held and
// reaches the modem only when the stall ends. The modem itself runs on:
// commands it read before the stall are answered, URCs happen, all of it
// held. When the stall ends everything comes out in order: what the modem
// had written, then its answers to what the host wrote meanwhile, read in
// order as if just typed. So a host that timed out during the stall reads
// stale answers (a '>' or an OK of an earlier command) and its later
// command lines may land as the data of an earlier prompt.
func (s *Sim) Stall(d time.Duration) { s.out.stall(d) }

// Unstall ends a Stall.
func (s *Sim) Unstall() { s.out.unstall() }

// Unplug detaches the host as a pulled USB cable would: its reads return
// io.EOF (a pty master is closed, a TCP connection is closed). The emulated
// modem keeps its state; a new Conn, OpenPTY or TCP connection attaches.
func (s *Sim) Unplug() {
	s.mu.Lock()
	att := s.att
	s.att = nil
	s.mu.Unlock()
	if att != nil {
		att.close()
	}
}
