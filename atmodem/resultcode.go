package atmodem

import (
	"fmt"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// ResultCode is an MQTT <err> result code of the SIMCom manuals, 0..35.
// String gives the manual's text, e.g. 30 is "connection refused: bad user
// name or password".
type ResultCode = simcom.ResultCode

// ResultError is a command that the modem answered with a non-zero MQTT
// result code, e.g. "+CMQTTCONNECT: 0,30". Use errors.As to get it.
type ResultError struct {
	// Command is the AT command line that failed, without data and with
	// passwords redacted.
	Command string
	// Code is the modem's result code.
	Code ResultCode
}

// Error names the command, the code and the manual's text.
func (e *ResultError) Error() string {
	return fmt.Sprintf("atmodem: %s: result %d: %s", e.Command, int(e.Code), e.Code)
}

// Is makes errors.Is(err, ErrBusy) true for code 14 (client is busy).
func (e *ResultError) Is(target error) bool {
	return target == ErrBusy && e.Code == simcom.CodeClientBusy
}
