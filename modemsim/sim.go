// Package modemsim emulates the AT command port of a SIMCom A7600 or
// SIM7500/SIM7600/SIM7800 modem with its built-in MQTT client, backed by a
// real MQTT connection (3.1 or 3.1.1, as the firmware selects) to a real
// broker.
//
// The emulator parses AT like the firmware and answers like the manuals (and
// like real firmware where it differs: docs/architecture.md, How real firmware
// behaves): every command form of the MQTT, SSL and certificate commands of
// both manuals, their ranges and result codes, the RX URC sequence of inbound
// messages, and the basic commands a driver needs. A link model paces bytes at
// a baud rate, adds per-command latency and echoes like the firmware; fault
// injection methods make it lose connections, the network, keepalives, the
// answer of a command, or reboot. It is reachable in memory (Conn), over a
// real pseudo-terminal (OpenPTY) and over TCP (ListenTCP).
package modemsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// EchoMode is the echo setting of the AT port at power-up.
type EchoMode int

const (
	// EchoFirmware is the firmware default: echo on (ATE1).
	EchoFirmware EchoMode = iota
	// EchoOn echoes command lines (ATE1).
	EchoOn
	// EchoOff does not echo (ATE0).
	EchoOff
)

// BusyMode is what happens to a command written while an inbound message
// streams out (+CMQTTRXSTART to +CMQTTRXEND).
type BusyMode int

const (
	// BusyReject refuses the command after the stream: "+CMQTT<CMD>: i,14"
	// (client is busy) then ERROR for MQTT commands, a bare ERROR otherwise.
	BusyReject BusyMode = iota
	// BusyCorrupt runs the command and writes its answer at once, in the
	// middle of the message's bytes, as some firmware does.
	BusyCorrupt
	// BusyIgnore runs the command normally; its answer follows the stream.
	BusyIgnore
)

// PipelineMode is what the firmware does with a PUB, SUB or UNSUB written
// on a client index while a result of that index is still pending (the
// publish window of docs/architecture.md; no public source says which real
// firmware does which).
type PipelineMode int

const (
	// PipelineBusy14 refuses it with "+CMQTT<CMD>: i,14" (client is busy)
	// then ERROR: the zero value, and what the emulator always did.
	PipelineBusy14 PipelineMode = iota
	// PipelineAccept takes it; the results come in the order the commands
	// were written, each when its broker answer came.
	PipelineAccept
	// PipelineError refuses it with a bare ERROR.
	PipelineError
)

// String is the name ParsePipelineMode takes: "busy14", "accept", "error".
func (p PipelineMode) String() string {
	switch p {
	case PipelineBusy14:
		return "busy14"
	case PipelineAccept:
		return "accept"
	case PipelineError:
		return "error"
	}
	return fmt.Sprintf("PipelineMode(%d)", int(p))
}

// ParsePipelineMode parses "accept", "busy14" or "error".
func ParsePipelineMode(s string) (PipelineMode, error) {
	for _, p := range []PipelineMode{PipelineAccept, PipelineBusy14, PipelineError} {
		if s == p.String() {
			return p, nil
		}
	}
	return 0, fmt.Errorf("modemsim: pipeline mode %q: want accept, busy14 or error", s)
}

// Config configures an emulated modem. The zero value is an A7600 with no
// broker redirect, an unlimited link and echo on.
type Config struct {
	// Model is simcom.A7600 (the default) or simcom.SIM7600.
	Model simcom.Model
	// Broker is the URL of the real broker every AT+CMQTTCONNECT goes to,
	// whatever address the command names (like a network redirect), e.g.
	// "tcp://127.0.0.1:1883". Empty: the CONNECT address itself is dialed.
	Broker string
	// Baud is the link speed in bits per second each way (10 bits a byte);
	// 0 means unlimited.
	Baud int
	// Latency is added before the answer of every command.
	Latency time.Duration
	// Echo is the echo setting at power-up and after a reboot.
	Echo EchoMode
	// RXChunk is the size of the +CMQTTRXTOPIC / +CMQTTRXPAYLOAD chunks of
	// inbound messages; 0 means 1500, the firmware's.
	RXChunk int
	// RefuseSubTopic makes AT+CMQTTSUBTOPIC answer ERROR, as some A7670
	// firmware does.
	RefuseSubTopic bool
	// ResultBeforeOK writes the results of AT+CMQTTSTART, AT+CMQTTSTOP and
	// AT+CMQTTDISC before OK instead of after it (SIM7600 only; its manual
	// allows both orders, the A7600's has OK first).
	ResultBeforeOK bool
	// NoNetColon spells the no-network URC "+CMQTTNONET:" instead of
	// "+CMQTTNONET" (both exist in the field).
	NoNetColon bool
	// NoNetListsClients makes AT+CMQTTACCQ? and AT+CMQTTDISC? keep
	// answering from the client table of the service that +CMQTTNONET
	// stopped (the old client IDs, every index disconnected) until
	// AT+CMQTTSTART, as some firmware does; AT+CMQTTACCQ= and every other
	// MQTT command still answer ERROR. Without it those reads answer ERROR
	// too, as before any AT+CMQTTSTART.
	NoNetListsClients bool
	// BootNUL puts a NUL byte before the boot messages of a reboot.
	BootNUL bool
	// Boot selects the boot messages: the model's (the default) or those of
	// a unit seen in the field (BootA7672, BootA7670).
	Boot BootBurst
	// BootMessages, when set, replaces the boot lines of Boot, e.g.
	// {"QCRDY", "+CPIN: READY", "+CGEV: EPS PDN ACT 1"}.
	BootMessages []string
	// Booting, when not nil, starts the modem still booting: silent until
	// the boot ends as it describes, then the boot messages (FinishBoot ends
	// a boot whose Lines and For are both zero).
	Booting *Booting
	// DefaultProtocolLevel is the MQTT protocol level a CONNECT uses when
	// the host selected none: 3 (MQTT 3.1, "MQIsdp"), the default of A76xx
	// firmware and the zero value's, or 4 (MQTT 3.1.1). Hosts select a
	// level with AT+CMQTTCFG="version",<idx>,<3|4> (A7600 family) or a 4th
	// AT+CMQTTACCQ field (both families).
	DefaultProtocolLevel byte
	// RefuseVersionSelection makes the firmware answer ERROR to
	// AT+CMQTTCFG="version" and to a 4th AT+CMQTTACCQ field, as firmware
	// without the selection does (its test forms are the manuals').
	RefuseVersionSelection bool
	// PromptSpace writes the data prompt as "\r\n> " instead of "\r\n>"
	// (both exist in the field).
	PromptSpace bool
	// EchoData echoes the data written after a prompt too (while echo is
	// on), as some SIM7600 firmware does.
	EchoData bool
	// EchoStuck keeps the echo on after ATE0 (which still answers OK), as
	// some firmware ports do; hosts must tolerate echo anyway.
	EchoStuck bool
	// Busy is the rule for commands written while a message streams in.
	Busy BusyMode
	// Pipeline is what the firmware does with a PUB, SUB or UNSUB written
	// while a result of its client index is pending.
	Pipeline PipelineMode
	// RTT is a broker round trip added between the emulator and its
	// broker, half each way, so every PUBACK, SUBACK and CONNACK pays it
	// and every inbound message half of it (a cellular link: 50-600 ms).
	RTT time.Duration
	// Product is the model name of AT+CGMM and ATI; empty: a default of the
	// family ("A7670E-LASE", "SIMCOM_SIM7600E-H").
	Product string
	// Firmware is the revision of AT+CGMR and ATI; empty: a default.
	Firmware string
	// IMEI is the serial number of AT+CGSN; empty: a fixed test IMEI.
	IMEI string
	// Logger gets the emulator's events at debug level; nil: discard.
	Logger *slog.Logger
	// Trace, when set, gets every byte each way, timestamped (--trace).
	Trace io.Writer
	// TranscriptLimit bounds the bytes kept for Transcript; 0 means 1 MiB.
	TranscriptLimit int

	// dial replaces the back-end dialer (tests).
	dial brokerDialer
}

// defaultIMEI is a syntactically valid test IMEI.
const defaultIMEI = "867584030123456"

// Sim is one emulated modem. Its methods are safe for concurrent use.
type Sim struct {
	cfg    Config
	d      dialect
	log    *slog.Logger
	dial   brokerDialer
	broker string // host:port of Config.Broker, "" when not redirected

	toHost   *pipe
	fromHost *pipe
	out      *output
	tr       *transcript
	in       hostReader

	mu    sync.Mutex // guards st, att, drop, busy, abort, dying, boot, droppedAt, lateLines, lateEcho, listen
	st    modemState
	att   *attachment
	drop  bool // DropNextAnswer armed
	busy  BusyMode
	abort chan struct{}          // closed by a reboot: ends a command waiting for prompt data
	dying map[dyingKey]DyingLink // armed by DyingLinkOnPublish/OnSubscribe
	boot  bootState
	// droppedAt is when a fault, a reboot or the broker last took the
	// connection of each index away (see reconnectGuard). It is the
	// broker's side of things: a reboot or AT+CMQTTACCQ does not reset it.
	droppedAt [clientCount]time.Time
	// lateLines is how many more command lines are echoed late (LateEcho);
	// lateEcho is the echo held until the next command line.
	lateLines int
	lateEcho  []byte
	certs     *certStore
	listen    []io.Closer

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

// New starts an emulated modem. It fails on an invalid configuration.
func New(cfg Config) (*Sim, error) {
	switch cfg.Model {
	case simcom.AutoDetect:
		cfg.Model = simcom.A7600
	case simcom.A7600, simcom.SIM7600:
	default:
		return nil, fmt.Errorf("modemsim: unknown model %v", cfg.Model)
	}
	if cfg.Baud < 0 {
		return nil, fmt.Errorf("modemsim: negative baud rate %d", cfg.Baud)
	}
	if cfg.Latency < 0 {
		return nil, fmt.Errorf("modemsim: negative latency %v", cfg.Latency)
	}
	if cfg.RTT < 0 {
		return nil, fmt.Errorf("modemsim: negative broker round trip %v", cfg.RTT)
	}
	if cfg.Pipeline < PipelineBusy14 || cfg.Pipeline > PipelineError {
		return nil, fmt.Errorf("modemsim: unknown pipeline mode %d", int(cfg.Pipeline))
	}
	if cfg.RXChunk < 0 {
		return nil, fmt.Errorf("modemsim: negative RX chunk size %d", cfg.RXChunk)
	}
	if cfg.RXChunk == 0 {
		cfg.RXChunk = 1500
	}
	if cfg.IMEI == "" {
		cfg.IMEI = defaultIMEI
	}
	if b := cfg.Booting; b != nil && (b.Lines < 0 || b.For < 0) {
		return nil, fmt.Errorf("modemsim: booting for %d lines, %v: must not be negative", b.Lines, b.For)
	}
	if _, err := bootLines(cfg.Boot, nil); err != nil {
		return nil, err
	}
	if l := cfg.DefaultProtocolLevel; l != 0 && l != 3 && l != 4 {
		return nil, fmt.Errorf("modemsim: MQTT protocol level %d: want 3 (MQTT 3.1) or 4 (MQTT 3.1.1)", l)
	}
	if cfg.TranscriptLimit == 0 {
		cfg.TranscriptLimit = 1 << 20
	}
	s := &Sim{
		cfg:      cfg,
		d:        newDialect(cfg),
		log:      cfg.Logger,
		dial:     cfg.dial,
		toHost:   newPipe(cfg.Baud),
		fromHost: newPipe(cfg.Baud),
		out:      newOutput(),
		tr:       newTranscript(cfg.TranscriptLimit, cfg.Trace),
		busy:     cfg.Busy,
		certs:    newCertStore(),
		abort:    make(chan struct{}),
		done:     make(chan struct{}),
	}
	shareClock(s.toHost, s.fromHost)
	if cfg.Broker != "" {
		hostport, err := brokerHostPort(cfg.Broker)
		if err != nil {
			return nil, err
		}
		s.broker = hostport
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.dial == nil {
		s.dial = dialBroker
	}
	s.st = newModemState(cfg.Echo != EchoOff)
	s.in = hostReader{s: s}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.Booting != nil {
		s.startBoot(*cfg.Booting)
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.out.run(s.done, s.sendToHost)
	}()
	go func() {
		defer s.wg.Done()
		s.serve()
	}()
	return s, nil
}

// brokerHostPort turns Config.Broker into host:port.
func brokerHostPort(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("modemsim: broker URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts":
	default:
		return "", fmt.Errorf("modemsim: broker URL %q: scheme must be tcp, mqtt, ssl, tls or mqtts", raw)
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("modemsim: broker URL %q has no host", raw)
	}
	port := u.Port()
	if port == "" {
		port = "1883"
		if u.Scheme == "ssl" || u.Scheme == "tls" || u.Scheme == "mqtts" {
			port = "8883"
		}
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// Model returns the emulated model family.
func (s *Sim) Model() simcom.Model { return s.cfg.Model }

// Conn attaches the host end of the in-memory serial link and returns it.
// Reads get what the modem writes, writes reach the modem, both paced at
// the configured baud rate. Closing it (or Unplug) detaches the host, whose
// reads then return io.EOF; a later Conn attaches afresh. Only one host is
// attached at a time: a new Conn, pty or TCP host detaches the previous one.
func (s *Sim) Conn() io.ReadWriteCloser {
	return &hostConn{s: s, att: s.attach("conn")}
}

// attach makes a new host attachment current, detaching the previous one.
func (s *Sim) attach(kind string) *attachment {
	a := newAttachment(kind)
	s.mu.Lock()
	if s.ctx.Err() != nil { // closing: the host sees EOF at once
		s.mu.Unlock()
		a.close()
		return a
	}
	old := s.att
	s.att = a
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
	s.toHost.discard()
	s.fromHost.discard()
	s.log.Debug("modemsim: host attached", "kind", kind)
	return a
}

// detach closes a if it is still the current attachment.
func (s *Sim) detach(a *attachment) {
	s.mu.Lock()
	if s.att == a {
		s.att = nil
	}
	s.mu.Unlock()
	a.close()
}

// Transcript returns the bytes that crossed the AT port so far, each way,
// timestamped, oldest first, with notes of what the modem did on its
// broker side between them (Direction Backend).
func (s *Sim) Transcript() []TranscriptEntry { return s.tr.snapshot() }

// Close stops the emulator: broker connections are dropped, the host end
// sees EOF, listeners close and every goroutine ends before Close returns.
func (s *Sim) Close() error {
	s.once.Do(func() {
		s.cancel()
		s.mu.Lock()
		links := s.dropAllLocked(nil)
		att := s.att
		s.att = nil
		listen := s.listen
		s.listen = nil
		s.mu.Unlock()
		for _, l := range links {
			l.Drop()
		}
		for _, l := range listen {
			l.Close()
		}
		if att != nil {
			att.close()
		}
		close(s.done)
		s.out.unstall()
	})
	s.wg.Wait()
	return nil
}

// closed reports whether Close has begun.
func (s *Sim) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// sendToHost writes to the modem->host line (the writer goroutine only).
func (s *Sim) sendToHost(b []byte, cont bool) error {
	n, err := s.toHost.send(b, s.done, cont)
	s.tr.record(ToHost, b[:n])
	return err
}

// goAsync runs f in a goroutine that Close waits for.
func (s *Sim) goAsync(f func(ctx context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f(s.ctx)
	}()
}

// urc writes an unsolicited line.
func (s *Sim) urc(line string) {
	s.out.urc(outUnit{data: []byte("\r\n" + line + "\r\n")})
}

// sleep waits d or until Close; false when closed.
func (s *Sim) sleep(d time.Duration) bool {
	if d <= 0 {
		return !s.closed()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

// errClosed ends the command loop.
var errClosed = errors.New("modemsim: closed")
