package atmodem

// CONTRACT STUB: replaced by the engine work (modem.go, options.go ...).

import (
	"context"
	"io"
	"log/slog"
)

// Modem is the AT engine on one modem port: one goroutine owns the reader,
// one command is in flight at a time, URCs are routed to sessions.
type Modem struct{}

// Option configures a Modem.
type Option func(*config)

type config struct {
	model  Model
	logger *slog.Logger
}

// WithModel fixes the model family instead of asking the modem.
func WithModel(m Model) Option { return func(c *config) { c.model = m } }

// WithLogger logs AT traffic at debug level, passwords redacted.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// New starts the engine on rw.
func New(rw io.ReadWriteCloser, opts ...Option) *Modem { panic("contract stub") }

// Open opens a serial port with go.bug.st/serial and starts the engine.
func Open(port string, baud int, opts ...Option) (*Modem, error) { panic("contract stub") }

// Command sends a raw AT command and returns its information lines.
func (m *Modem) Command(ctx context.Context, cmd string) ([]string, error) {
	panic("contract stub")
}

// Model returns the model family (AutoDetect until known).
func (m *Modem) Model() Model { panic("contract stub") }

// DetectModel asks the modem (ATI, AT+CGMM) and remembers the answer.
func (m *Modem) DetectModel(ctx context.Context) (Model, error) { panic("contract stub") }

// Done is closed when the transport is closed or failed.
func (m *Modem) Done() <-chan struct{} { panic("contract stub") }

// Close closes the transport and fails every command in flight with ErrClosed.
func (m *Modem) Close() error { panic("contract stub") }
