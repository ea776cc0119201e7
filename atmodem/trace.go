package atmodem

import (
	"context"
	"log/slog"
	"strings"
	"sync"
)

// tracer logs the AT traffic through log/slog at debug level: every byte
// written, and every line, prompt and data block read (with the framer's
// view of it). Protocol problems are logged at warning level.
//
// No secret reaches a log line at any level: every secret the engine ever
// wrote (passwords, given by the requests that carry them) is replaced by
// "***" in everything logged afterwards, wherever it shows up (the modem's
// late echo of a CONNECT line, a stray line, an error text), and a line that
// looks like an AT+CMQTTCONNECT command line has its password field hidden
// even when the secret is not known (an earlier program's echo).
type tracer struct {
	log *slog.Logger

	mu      sync.Mutex
	secrets []string // every secret written so far, longest first
}

// maxSecrets bounds the secrets remembered (a program that changes its
// password forever); the oldest are forgotten first.
const maxSecrets = 16

func (t *tracer) enabled(level slog.Level) bool {
	return t.log != nil && t.log.Enabled(context.Background(), level)
}

// remember adds the secrets of a request that is about to be written.
func (t *tracer) remember(secrets []string) {
	if len(secrets) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range secrets {
		if s == "" || containsString(t.secrets, s) {
			continue
		}
		t.secrets = append(t.secrets, s)
		if len(t.secrets) > maxSecrets {
			t.secrets = t.secrets[1:]
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// redact hides every remembered secret in s and the password field of a
// CONNECT command line.
func (t *tracer) redact(s string) string {
	t.mu.Lock()
	secrets := t.secrets
	t.mu.Unlock()
	return redactConnectLine(redactString(s, secrets))
}

// tx logs bytes written to the modem; redact are the secrets they carry.
func (t *tracer) tx(p []byte, redact []string) {
	t.remember(redact)
	if !t.enabled(slog.LevelDebug) {
		return
	}
	t.log.Debug("at tx", "bytes", t.redact(string(p)))
}

// rxLine logs a line read from the modem.
func (t *tracer) rxLine(line string) {
	if !t.enabled(slog.LevelDebug) {
		return
	}
	t.log.Debug("at rx", "line", t.redact(line))
}

// rxPrompt logs a data prompt.
func (t *tracer) rxPrompt() {
	if t.enabled(slog.LevelDebug) {
		t.log.Debug("at rx", "prompt", ">")
	}
}

// rxData logs a length-delimited data block.
func (t *tracer) rxData(p []byte) {
	if t.enabled(slog.LevelDebug) {
		t.log.Debug("at rx", "data", string(p), "len", len(p))
	}
}

// problem logs something the engine dropped or recovered from.
func (t *tracer) problem(what string, err error) {
	if !t.enabled(slog.LevelWarn) {
		return
	}
	if err != nil {
		t.log.Warn("atmodem: "+what, "err", t.redact(err.Error()))
		return
	}
	t.log.Warn("atmodem: " + what)
}

// event logs an engine state change.
func (t *tracer) event(what string, err error) {
	if !t.enabled(slog.LevelDebug) {
		return
	}
	if err != nil {
		t.log.Debug("atmodem: "+t.redact(what), "err", t.redact(err.Error()))
		return
	}
	t.log.Debug("atmodem: " + t.redact(what))
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

// redactConnectLine hides the password of anything in s that looks like
// an AT+CMQTTCONNECT command line:
// AT+CMQTTCONNECT=<idx>,"<server>",<keepalive>,<clean>,"<user>","<pass>".
func redactConnectLine(s string) string {
	const cmd = "CMQTTCONNECT="
	i := indexFold(s, cmd)
	if i < 0 {
		return s
	}
	start := i + len(cmd)
	// Walk the fields, honouring quotes; the password is the sixth.
	field, inQuote := 1, false
	for j := start; j < len(s); j++ {
		switch s[j] {
		case '"':
			inQuote = !inQuote
		case ',':
			if inQuote {
				continue
			}
			field++
			if field == 6 {
				end := strings.IndexAny(s[j+1:], "\r\n")
				if end < 0 {
					end = len(s)
				} else {
					end += j + 1
				}
				return s[:j+1] + `"***"` + redactConnectLine(s[end:])
			}
		case '\r', '\n':
			return s[:j] + redactConnectLine(s[j:])
		}
	}
	return s
}

// indexFold is strings.Index ignoring ASCII case.
func indexFold(s, sub string) int {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], sub) {
			return i
		}
	}
	return -1
}
