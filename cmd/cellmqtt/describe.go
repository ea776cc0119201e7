package main

import (
	"context"
	"errors"
	"strings"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// resultHints says what to do about each MQTT result code of the manuals.
// The README's troubleshooting table carries the same advice.
var resultHints = map[simcom.ResultCode]string{
	simcom.CodeFailed:                "retry; if it persists, check the network (cellmqtt info) and power-cycle the modem",
	simcom.CodeBadUTF8:               "the topic or a string is not valid UTF-8",
	simcom.CodeSockConnectFail:       "the broker is unreachable from the cellular network: check host, port, firewall and the APN",
	simcom.CodeSockCreateFail:        "the modem has no data connection: check the APN (--apn) and registration (cellmqtt info)",
	simcom.CodeSockCloseFail:         "the socket did not close cleanly; reconnect",
	simcom.CodeMessageReceiveFail:    "the link died under the request: the client keeps the message and sends it again with DUP",
	simcom.CodeNetworkOpenFail:       "the data connection did not come up: check the APN (--apn), the SIM's data plan and registration",
	simcom.CodeNetworkCloseFail:      "the data connection did not close; restart the MQTT service",
	simcom.CodeNetworkNotOpened:      "the data connection is down: the client reconnects; check coverage (cellmqtt info)",
	simcom.CodeClientIndexError:      "use --client-index 0 or 1",
	simcom.CodeNoConnection:          "not connected to the broker: connect first (the client reconnects by itself)",
	simcom.CodeInvalidParameter:      "a parameter is out of the model's range: check --model and the lengths of ID, topic and payload",
	simcom.CodeNotSupported:          "this firmware does not support the operation",
	simcom.CodeClientBusy:            "the modem was busy (a message was streaming in); retried automatically, try again",
	simcom.CodeRequireConnectionFail: "the connection request failed; retry",
	simcom.CodeSockSendingFail:       "sending failed: the link dropped; the client resends QoS 1 and 2 messages",
	simcom.CodeTimeout:               "the broker did not answer in time: check coverage; raise the timeout",
	simcom.CodeTopicEmpty:            "give a topic",
	simcom.CodeClientUsed:            "the client index is taken: use the other --client-index, or disconnect the other user",
	simcom.CodeClientNotAcquired:     "the client index is not acquired (AT+CMQTTACCQ first)",
	simcom.CodeClientNotReleased:     "the client index was not released: AT+CMQTTDISC then AT+CMQTTREL",
	simcom.CodeLengthOutOfRange:      "a length is out of range: topic 1-1024, payload 1-10240 bytes",
	simcom.CodeNetworkOpened:         "the MQTT service already runs (AT+CMQTTSTART twice): harmless, go on",
	simcom.CodePacketFail:            "the modem could not build the packet; check the parameters",
	simcom.CodeDNSError:              "the broker's host name does not resolve: check -h and the APN's DNS",
	simcom.CodeSocketClosedByServer:  "the broker closed the connection: a duplicate client ID (-i), an ACL, or a broker restart",
	simcom.CodeRefusedProtocol:       "the broker refuses the MQTT version: 3.1.1 is the default, -V mqttv31 selects 3.1 (firmware that ignores the selection speaks 3.1)",
	simcom.CodeRefusedIdentifier:     "the broker rejects the client ID: choose another -i",
	simcom.CodeRefusedUnavailable:    "the broker is unavailable; retry later",
	simcom.CodeRefusedBadCredentials: "check the user name (-u) and password (-P)",
	simcom.CodeRefusedNotAuthorized:  "the broker does not authorize this client: check credentials, certificate and ACLs",
	simcom.CodeHandshakeFail:         "TLS failed: check the CA (--cafile), the client certificate and key, and the modem's clock (or ignore local time)",
	simcom.CodeCertNotSet:            "a certificate the SSL context names is not on the modem: upload it (cellmqtt cert put) or give --cafile/--cert/--key",
	simcom.CodeOpenSessionFailed:     "the A7600 could not open the session: check the broker address, the network and TLS settings, then retry",
	simcom.CodeDisconnectFailed:      "the A7600 could not disconnect cleanly; release the index and start over",
}

// hint returns " (<advice>)" for a result code, or "".
func hint(c simcom.ResultCode) string {
	if h, ok := resultHints[c]; ok {
		return " (" + h + ")"
	}
	return ""
}

// paramFlags names the flag behind a parameter of the manuals.
var paramFlags = map[string]string{
	"clientID":       "-i",
	"user_name":      "-u",
	"pass_word":      "-P",
	"topic":          "-t",
	"keepalive_time": "-k",
	"server_addr":    "-h",
	"req_length":     "payload",
	"qos":            "-q",
	"index":          "--client-index",
	"client_index":   "--client-index",
}

// stepError names what the tool was doing when err happened.
type stepError struct {
	step string
	err  error
}

// Error is the step, then the cause.
func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }

// Unwrap returns the cause.
func (e *stepError) Unwrap() error { return e.err }

// during wraps err with the step the tool was doing, e.g. "connecting to
// tcp://host:1883"; nil stays nil.
func during(step string, err error) error {
	if err == nil {
		return nil
	}
	return &stepError{step: step, err: err}
}

// describe explains err in the user's terms: the step, then the modem's
// result code with the manual's text and what to do, the parameter that
// breaks a limit with its flag, or the cause of a transport failure.
func describe(err error) string {
	prefix := ""
	var se *stepError
	if errors.As(err, &se) {
		prefix = se.step + ": "
	}
	var (
		re *atmodem.ResultError
		pe *atmodem.ParamError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return prefix + "interrupted"
	case errors.As(err, &re):
		return prefix + strings.TrimPrefix(re.Error(), "atmodem: ") + hint(re.Code)
	case errors.As(err, &pe):
		name := pe.Param
		if f, ok := paramFlags[pe.Param]; ok {
			name = f + " (" + pe.Param + ")"
		}
		return prefix + name + ": " + pe.Reason + " (" + pe.Model.String() + ")"
	}
	msg := err.Error()
	if se != nil {
		msg = se.err.Error()
	}
	msg = prefix + msg
	switch {
	case errors.Is(err, atmodem.ErrTimeout):
		msg += " (no answer: is this the modem's AT port, and is no other program using it? see cellmqtt ports)"
	case errors.Is(err, atmodem.ErrClosed):
		msg += " (the port closed: modem unplugged or powered off?)"
	case errors.Is(err, atmodem.ErrModemReset):
		msg += " (the modem rebooted: check its power supply)"
	case errors.Is(err, atmodem.ErrNoNetwork):
		msg += " (no cellular data: check coverage, the SIM and the APN)"
	}
	return msg
}

// isUsage reports whether err is the user's input being wrong: nothing
// reached the modem because the input breaks a limit or a quoting rule.
func isUsage(err error) bool {
	var u usageErr
	return errors.As(err, &u) ||
		errors.Is(err, atmodem.ErrInvalidParameter) ||
		errors.Is(err, cellmqtt.ErrWillRetained) ||
		errors.Is(err, cellmqtt.ErrPayloadType) ||
		errors.Is(err, cellmqtt.ErrBadBroker)
}
