package atmodem

import (
	"bytes"
	"fmt"
	"time"
)

// Cut RX blocks (docs/architecture.md, "Inbound messages").
//
// After "+CMQTTRXPAYLOAD: i,n" the reader takes the next n bytes as data,
// whatever they are: payloads are binary. A modem that reboots in the
// middle of the block never sends the rest; what it sends instead (RDY,
// *ATREADY: 1 ...) would be read as payload, and the answers to the next
// commands after it. A block is sent by the modem in one go, so a pause in
// the middle of one is a fault: after WithRXGapTimeout without a byte the
// block is cut, the partial message dropped with a log line, the bytes read
// as data searched for boot messages (a reboot is then handled as one), and
// the engine goes out of step (the stream can no longer be trusted).

// frame feeds bytes read from the port to the framer (the reader goroutine).
func (m *Modem) frame(p []byte) {
	m.fmu.Lock()
	defer m.fmu.Unlock()
	m.fr.feed(p, m.handleFrame)
	if m.fr.dropped > 0 {
		m.trace.problem(fmt.Sprintf("dropped %d bytes of over-long lines", m.fr.dropped), nil)
		m.fr.dropped = 0
	}
	if m.fr.need > 0 {
		m.lastRX = time.Now()
		if m.rxGap == nil {
			m.rxGap = time.AfterFunc(m.cfg.rxGap, m.checkRXGap)
		} else {
			m.rxGap.Reset(m.cfg.rxGap)
		}
	} else if m.rxGap != nil {
		m.rxGap.Stop()
	}
}

// checkRXGap runs on the RX gap timer: it cuts the block being read when no
// byte of it came for the gap timeout.
func (m *Modem) checkRXGap() {
	m.fmu.Lock()
	defer m.fmu.Unlock()
	if m.fr.need == 0 {
		return
	}
	if idle := time.Since(m.lastRX); idle < m.cfg.rxGap {
		m.rxGap.Reset(m.cfg.rxGap - idle)
		return
	}
	got, want := len(m.fr.data), len(m.fr.data)+m.fr.need
	partial := m.fr.cut()
	m.mu.Lock()
	m.rx.abort()
	m.releaseRX()
	if !m.step.out {
		m.trace.problem("out of step with the modem (a received block was cut short): resynchronising", nil)
	}
	m.step.goOut()
	m.mu.Unlock()
	m.trace.problem("received message dropped", fmt.Errorf("data block cut after %d of %d bytes: nothing came for %v", got, want, m.cfg.rxGap))
	// A reboot in the middle of the block: its boot lines were read as
	// data. Only whole boot lines count; the rest was payload.
	for _, line := range bytes.FieldsFunc(partial, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if line = bytes.TrimLeft(line, "\x00"); isBootLine(string(line)) {
			m.handleFrame(frame{kind: frameLine, line: line})
		}
	}
}
