package atmodem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Modem is the AT engine on one modem port: one goroutine owns the reader,
// one command is in flight at a time, and unsolicited result codes (URCs)
// are routed to the sessions of their client index.
//
// The engine's parts, one file each: reader.go frames the byte stream
// (lines, '>' prompts, length-delimited RX data); executor.go writes a
// command and its data and decides when and how it completed; step.go keeps
// the engine in step with the modem's answers; urc.go classifies lines and
// routes URCs; rxmessage.go assembles received messages; boot.go recognises
// reboots; trace.go logs the traffic. docs/architecture.md says which
// goroutine owns what.
//
// A Modem is safe for concurrent use; commands from several goroutines are
// serialised. Before its first command, and after any command whose answer
// was not read whole, the engine proves with a marker command that the
// modem answers in step (step.go), so that a late answer is never taken for
// the answer of the next command.
type Modem struct {
	rw       io.ReadWriteCloser
	cfg      config
	trace    tracer
	sessions sessionTable

	// Owned by the holder of sem (the goroutine running a command).
	sem   chan struct{} // holds one token per command in flight (capacity 1)
	timer *time.Timer   // the command timer (cmdTimer)

	wmu  sync.Mutex // serialises writes to rw
	wbuf []byte     // command line and CR being written; guarded by wmu

	// notify (capacity 1): the command in flight changed (inflight.notify).
	notify chan struct{}

	// Guarded by mu; written by the reader and the holder of sem.
	mu    sync.Mutex
	model Model
	cur   *inflight // the command in flight, nil when idle
	// waiting are the commands accepted with OK whose result is still to
	// come, oldest first (results.go); fenced the client indexes whose
	// results can no longer be matched to them.
	waiting []*inflight
	fenced  map[int]bool
	// resultTimer fires at resultDue (when resultArmed), the earliest
	// deadline of the commands waiting (results.go).
	resultTimer *time.Timer
	resultDue   time.Time
	resultArmed bool
	lastLine    string        // the previous command line (its echo may come late)
	rxBusy      chan struct{} // non-nil while a message streams in; closed at its end
	step        stepState     // in step with the modem's answers (step.go)
	dataEcho    int8          // the modem echoes prompt data: 0 unknown, 1 yes, -1 no
	seq         uint64        // frames read so far: the order of events and answers
	err         error         // why the transport ended
	// echoOff: ATE0 is to be sent before the next command (at open and
	// after a reboot, unless WithKeepEcho).
	echoOff bool
	// bootBurst: the last line but boot noise and echoes was RDY or QCRDY,
	// so a "*ATREADY" now ends that boot rather than announcing another.
	bootBurst bool

	// Owned by the holder of fmu: the reader goroutine while it frames
	// what it read, or the RX gap timer when it cuts a block short
	// (rxgap.go).
	fmu    sync.Mutex
	fr     framer
	rx     rxAssembler
	rxGap  *time.Timer // armed while a data block is being read
	lastRX time.Time   // when the last data byte of the block came

	// noPipeline: the firmware refused a command written while results
	// of its index were pending (window.go).
	noPipeline atomic.Bool

	done       chan struct{} // closed when the transport ended
	readerDone chan struct{} // closed when the reader goroutine returned
	closeOnce  sync.Once
}

// New starts the engine on rw, which is any byte stream to the modem's AT
// port: a serial port, a pty, a TCP bridge or an emulator. The Modem owns rw
// from now on; Close closes it.
func New(rw io.ReadWriteCloser, opts ...Option) *Modem {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	m := &Modem{
		rw:  rw,
		cfg: cfg,

		sem:        make(chan struct{}, 1),
		notify:     make(chan struct{}, 1),
		model:      cfg.model,
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	m.trace.log = cfg.logger
	m.fr.init(m.promptWanted)
	m.fr.learnEcho = m.learnEcho
	m.step.init()
	m.echoOff = !cfg.keepEcho
	if cfg.inStep {
		m.step.out, m.step.extra = false, 0
	}
	go m.readLoop()
	return m
}

// Command sends a raw AT command and returns its information lines (the
// lines of the answer that are neither the final result nor URCs). cmd must
// start with "AT" and hold no CR, LF or other control byte. A result line of
// the command's own name followed by ERROR (e.g. "+CMQTTSTART: 23" and
// ERROR) gives a *ResultError; ERROR, +CME ERROR and +CMS ERROR give an
// error wrapping ErrCommandFailed. Command completes on OK: results that
// the modem sends after OK (AT+CMQTTSTART, CONNECT, PUB ...) are not waited
// for, and commands that prompt for data ('>') are not supported; use the
// typed methods for those.
func (m *Modem) Command(ctx context.Context, cmd string) ([]string, error) {
	if err := checkCommandLine(cmd, m.Model()); err != nil {
		return nil, err
	}
	resp, err := m.exec(ctx, request{line: cmd, index: -1})
	return resp.lines, err
}

// checkCommandLine rejects what the modem would misread as a command line.
func checkCommandLine(cmd string, model Model) error {
	if len(cmd) < 2 || !strings.EqualFold(cmd[:2], "AT") {
		return &ParamError{Param: "command", Model: model, Reason: fmt.Sprintf("%q does not start with AT", cmd)}
	}
	for i := 0; i < len(cmd); i++ {
		if c := cmd[i]; c < 0x20 || c == 0x7f {
			return &ParamError{Param: "command", Model: model, Reason: fmt.Sprintf("contains control byte 0x%02x at offset %d", c, i)}
		}
	}
	return nil
}

// Model returns the model family (AutoDetect until known).
func (m *Modem) Model() Model {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.model
}

// setModel remembers the model family (used by model detection).
func (m *Modem) setModel(model Model) {
	m.mu.Lock()
	m.model = model
	m.mu.Unlock()
}

// Done is closed when the transport is closed or failed; Err says why.
func (m *Modem) Done() <-chan struct{} { return m.done }

// Err returns why the transport ended (wrapping ErrClosed), or nil while it
// is open.
func (m *Modem) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// Close closes the transport, fails every command in flight and every later
// one with ErrClosed, and waits for the reader goroutine to end.
func (m *Modem) Close() error {
	var err error
	m.closeOnce.Do(func() {
		m.mu.Lock()
		if m.err == nil {
			m.err = fmt.Errorf("%w: closed by Close", ErrClosed)
		}
		m.mu.Unlock()
		err = m.rw.Close()
	})
	<-m.readerDone
	return err
}

// readLoop is the reader goroutine: it owns every Read of the transport.
func (m *Modem) readLoop() {
	defer close(m.readerDone)
	buf := make([]byte, 4096)
	for {
		n, err := m.rw.Read(buf)
		if n > 0 {
			m.frame(buf[:n])
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.EOF
			}
			m.shutdown(err)
			return
		}
	}
}

// shutdown ends the engine after the transport failed or was closed.
func (m *Modem) shutdown(cause error) {
	m.mu.Lock()
	if m.err == nil {
		m.err = fmt.Errorf("%w: %w", ErrClosed, cause)
	}
	err := m.err
	if m.cur != nil {
		m.cur.fail(err)
		m.cur = nil
	}
	m.endWaiting(-1, err)
	if m.resultTimer != nil {
		m.resultTimer.Stop()
	}
	m.releaseRX()
	close(m.done)
	m.seq++
	seq := m.seq
	m.mu.Unlock()
	m.trace.event("transport ended", err)
	m.fmu.Lock()
	if m.rxGap != nil {
		m.rxGap.Stop()
	}
	m.fmu.Unlock()
	m.emit(Event{Kind: EventClosed, Index: -1, Err: err, Seq: seq})
	// Make sure the transport is released even when it failed by itself.
	m.closeOnce.Do(func() { _ = m.rw.Close() })
}

// emit hands an event to the sessions. It runs on the reader goroutine and
// never blocks.
func (m *Modem) emit(ev Event) {
	m.sessions.dispatch(ev)
	if m.cfg.onEvent != nil {
		m.cfg.onEvent(ev)
	}
}

// write writes p whole to the transport.
func (m *Modem) write(p []byte, redact []string) error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	m.trace.tx(p, redact)
	_, err := m.rw.Write(p)
	return err
}

// writeLine writes the command line and its CR in one write, building it in
// a buffer the Modem keeps rather than a new string per command.
func (m *Modem) writeLine(line string, redact []string) error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	m.wbuf = append(append(m.wbuf[:0], line...), '\r')
	m.trace.tx(m.wbuf, redact)
	_, err := m.rw.Write(m.wbuf)
	return err
}
