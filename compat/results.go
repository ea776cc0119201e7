package compat

// This file maps what the modem answers to what the MQTT client is told:
// CONNACK codes, transient or permanent failures, the error Read returns.

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// connectRefusal maps why the modem's connect sequence failed to an MQTT
// 3.1.1 CONNACK return code and an MQTT 5 CONNACK reason code: the modem's
// refusals 27-31 become return codes 1-5 (and 0x84, 0x85, 0x88, 0x86,
// 0x87); a client ID or credentials the modem cannot carry become
// "identifier rejected" and "bad user name or password"; everything else
// (no network, DNS, socket, TLS, timeout) is "server unavailable" in 3.1.1
// and 0x88 (or 0x80 for other invalid parameters) in MQTT 5.
func connectRefusal(err error) (rc311 byte, rc5 byte) {
	var re *atmodem.ResultError
	if errors.As(err, &re) {
		if rc, ok := re.Code.ConnackReturnCode(); ok {
			return rc, connackV5[rc]
		}
	}
	var pe *atmodem.ParamError
	if errors.As(err, &pe) {
		switch pe.Param {
		case "clientID":
			return 2, 0x85
		case "user_name", "pass_word":
			return 4, 0x86
		}
		return 3, 0x80
	}
	return 3, 0x88
}

// connackV5 maps MQTT 3.1.1 CONNACK return codes 1-5 to MQTT 5 reason codes.
var connackV5 = [...]byte{0, 0x84, 0x85, 0x88, 0x86, 0x87}

// lostError is what the client reads after the modem reported the end of
// the connection: it wraps io.EOF and the event's error, so both
// errors.Is(err, io.EOF) and errors.Is(err, atmodem.ErrConnectionLost) (or
// ErrNoNetwork, ErrKeepalive, ErrModemReset, ErrClosed) hold.
func lostError(ev atmodem.Event) error {
	cause := ev.Err
	if cause == nil {
		cause = fmt.Errorf("event %d", ev.Kind)
	}
	return fmt.Errorf("compat: modem connection ended: %w (%w)", io.EOF, cause)
}

// clampKeepAlive fits the client's keepalive into the model's range. The
// modem's keepalive with the broker is separate from the client's with
// the adapter (which the adapter answers itself), so a client keepalive the
// modem cannot take (paho.mqtt.golang's default of 30 s on a SIM7600,
// which needs 60-64800 s) is moved to the nearest value it can.
// 0 (no keepalive) stays 0, which atmodem sends as 60 s.
func clampKeepAlive(seconds uint16, r atmodem.Range) time.Duration {
	if seconds == 0 {
		return 0
	}
	s := min(max(int(seconds), r.Min), r.Max)
	return time.Duration(s) * time.Second
}

// assignClientID makes a client ID for a client that sent an empty one:
// "cellmqtt-" and 12 hex digits, 21 bytes, within every model's limit.
func assignClientID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "cellmqtt-" + hex.EncodeToString(b[:])
}
