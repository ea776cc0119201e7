package atmodem

import (
	"log/slog"
	"time"
)

// Option configures a Modem; pass options to New or Open.
type Option func(*config)

type config struct {
	model          Model
	logger         *slog.Logger
	defaultTimeout time.Duration // a request without its own timeout
	busyTries      int           // attempts of a command answered with result 14
	busyBackoff    time.Duration // first wait between busy attempts; doubles
	rxHold         time.Duration // longest wait for RXEND before writing anyway
	rxGap          time.Duration // longest pause inside an RX data block before it is cut
	finalGrace     time.Duration // wait for OK/ERROR once the final result is in
	resyncTimeout  time.Duration // how long a marker is waited for before the next (step.go)
	keepEcho       bool          // do not send ATE0 at open and after a reboot
	onEvent        func(Event)   // test hook: sees every event after the sessions
	inStep         bool          // test hook: start in step (no marker before the first command)
}

func defaultConfig() config {
	return config{
		model:          AutoDetect,
		defaultTimeout: 9 * time.Second,
		busyTries:      5,
		busyBackoff:    100 * time.Millisecond,
		rxHold:         5 * time.Second,
		rxGap:          3 * time.Second,
		finalGrace:     2 * time.Second,
		resyncTimeout:  3 * time.Second,
	}
}

// WithModel fixes the model family instead of asking the modem.
func WithModel(m Model) Option { return func(c *config) { c.model = m } }

// WithKeepEcho leaves the modem's command echo as it is. By default the
// engine sends ATE0 once it has proved it is in step with a newly opened
// modem, and again after the modem rebooted (the firmware starts with echo
// on): echo doubles the bytes the modem sends for every command line. The
// engine reads echoed lines either way. A modem that answers ERROR to ATE0
// keeps its echo, and the log says so.
func WithKeepEcho() Option { return func(c *config) { c.keepEcho = true } }

// WithLogger logs AT traffic at debug level, passwords redacted.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithDefaultTimeout sets the response timeout of commands that have none
// from the manuals (raw Command calls, AT, AT+CSQ ...). The default is 9 s.
// Values <= 0 are ignored.
func WithDefaultTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.defaultTimeout = d
		}
	}
}

// WithBusyRetry sets how often a command answered with result 14 (client is
// busy) is sent in all, and the first wait between two attempts (it doubles
// each time). The default is 5 attempts starting at 100 ms; tries < 1 is
// taken as 1 (no retry).
func WithBusyRetry(tries int, backoff time.Duration) Option {
	return func(c *config) {
		c.busyTries = max(tries, 1)
		c.busyBackoff = max(backoff, 0)
	}
}

// WithRXHoldTimeout bounds how long a command waits while a received message
// streams in (+CMQTTRXSTART .. +CMQTTRXEND) before it is written anyway. The
// default is 5 s.
func WithRXHoldTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.rxHold = d
		}
	}
}

// WithRXGapTimeout sets how long the modem may pause in the middle of an
// inbound data block (+CMQTTRXTOPIC / +CMQTTRXPAYLOAD) before the block is
// taken as cut short (a reboot in the middle of a message): the partial
// message is dropped and the bytes read are searched for boot messages.
// The default is 3 s; a modem streams a block without pauses.
func WithRXGapTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.rxGap = d
		}
	}
}
