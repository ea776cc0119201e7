package atmodem

import (
	"context"
	"log/slog"
	"strings"
)

// tracer logs the AT traffic through log/slog at debug level: every byte
// written, and every line, prompt and data block read (with the framer's
// view of it). Secrets of the command in flight (passwords) are replaced by
// "***". Protocol problems are logged at warning level.
type tracer struct {
	log *slog.Logger
}

func (t tracer) enabled(level slog.Level) bool {
	return t.log != nil && t.log.Enabled(context.Background(), level)
}

// tx logs bytes written to the modem.
func (t tracer) tx(p []byte, redact []string) {
	if !t.enabled(slog.LevelDebug) {
		return
	}
	t.log.Debug("at tx", "bytes", redactString(string(p), redact))
}

// rxLine logs a line read from the modem.
func (t tracer) rxLine(line string, redact []string) {
	if !t.enabled(slog.LevelDebug) {
		return
	}
	t.log.Debug("at rx", "line", redactString(line, redact))
}

// rxPrompt logs a data prompt.
func (t tracer) rxPrompt() {
	if t.enabled(slog.LevelDebug) {
		t.log.Debug("at rx", "prompt", ">")
	}
}

// rxData logs a length-delimited data block.
func (t tracer) rxData(p []byte) {
	if t.enabled(slog.LevelDebug) {
		t.log.Debug("at rx", "data", string(p), "len", len(p))
	}
}

// problem logs something the engine dropped or recovered from.
func (t tracer) problem(what string, err error) {
	if !t.enabled(slog.LevelWarn) {
		return
	}
	if err != nil {
		t.log.Warn("atmodem: "+what, "err", err)
		return
	}
	t.log.Warn("atmodem: " + what)
}

// event logs an engine state change.
func (t tracer) event(what string, err error) {
	if t.enabled(slog.LevelDebug) {
		t.log.Debug("atmodem: "+what, "err", err)
	}
}

// redactString replaces every secret in s by "***".
func redactString(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}
