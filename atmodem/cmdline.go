package atmodem

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Helpers shared by the typed commands: building command lines, reading the
// fields of information lines, and the response timeouts of the manuals.

// Response timeouts. The manuals give a maximum response time only for
// AT+CMQTTSTART (120 s); the others follow from what the modem waits for.
const (
	// startTimeout is the manual's maximum response time of AT+CMQTTSTART;
	// AT+CMQTTSTOP deactivates the same PDP context and gets the same.
	startTimeout = 120 * time.Second
	// brokerTimeout bounds commands that wait for the broker (CONNACK,
	// SUBACK, UNSUBACK, DISCONNECT): the A7600's default "optimeout" for
	// sending or receiving data is 120 s, plus a margin.
	brokerTimeout = 130 * time.Second
	// resultMargin is added to a timeout the modem itself enforces
	// (pub_timeout, DISC timeout) so its own result wins the race.
	resultMargin = 10 * time.Second
	// certTimeout bounds AT+CCERTDOWN: up to 10240 bytes over a slow link
	// (9600 baud is about 11 s) plus the flash write.
	certTimeout = 60 * time.Second
)

// atLine builds "<cmd>=<n1>,<n2>..." without intermediate allocations.
func atLine(cmd string, nums ...int) string {
	var a [64]byte
	b := append(a[:0], cmd...)
	for i, n := range nums {
		if i == 0 {
			b = append(b, '=')
		} else {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return string(b)
}

// quote wraps s in double quotes; s has been checked with checkQuoted.
func quote(s string) string { return `"` + s + `"` }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// infoFields returns the comma separated fields after "<prefix>:" of line,
// with surrounding blanks trimmed and double quotes removed. Quoted fields
// may contain commas. ok is false when line does not start with prefix.
func infoFields(line, prefix string) (fields []string, ok bool) {
	rest, found := strings.CutPrefix(line, prefix)
	if !found {
		return nil, false
	}
	rest, found = strings.CutPrefix(rest, ":")
	if !found {
		return nil, false
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return nil, true
	}
	for {
		rest = strings.TrimLeft(rest, " ")
		var f string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				f, rest = rest[1:], ""
			} else {
				f, rest = rest[1:1+end], rest[2+end:]
				if i := strings.IndexByte(rest, ','); i >= 0 {
					rest = rest[i:]
				} else {
					rest = ""
				}
			}
		} else if i := strings.IndexByte(rest, ','); i >= 0 {
			f, rest = strings.TrimSpace(rest[:i]), rest[i:]
		} else {
			f, rest = strings.TrimSpace(rest), ""
		}
		fields = append(fields, f)
		if rest == "" {
			return fields, true
		}
		rest = rest[1:] // the comma
	}
}

// intField parses fields[i] as an integer; ok is false when missing or not
// a number.
func intField(fields []string, i int) (int, bool) {
	if i >= len(fields) {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(fields[i]))
	return n, err == nil
}

// strField returns fields[i], or "" when missing.
func strField(fields []string, i int) string {
	if i >= len(fields) {
		return ""
	}
	return fields[i]
}

// errUnexpected reports an answer this package cannot read.
type errUnexpected struct {
	cmd, line string
}

func (e *errUnexpected) Error() string {
	return "atmodem: " + e.cmd + ": unexpected answer " + strconv.Quote(e.line)
}

func unexpected(cmd, line string) error { return &errUnexpected{cmd: cmd, line: line} }

// resultCodeOf returns the MQTT result code of err, ok false when err is not
// a *ResultError.
func resultCodeOf(err error) (ResultCode, bool) {
	var re *ResultError
	if errors.As(err, &re) {
		return re.Code, true
	}
	return 0, false
}
