package atmodem

import (
	"fmt"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// ResultCode is an MQTT <err> result code of the SIMCom manuals, 0..35.
// String gives the manual's text, e.g. 30 is "connection refused: bad user
// name or password".
type ResultCode = simcom.ResultCode

// The result codes of the manuals (A7600: 0-35, SIM7500/7600/7800: 0-33),
// named after their texts. ResultFate says what each means for a request.
const (
	CodeOK                    = simcom.CodeOK                    // 0 operation succeeded
	CodeFailed                = simcom.CodeFailed                // 1 failed
	CodeBadUTF8               = simcom.CodeBadUTF8               // 2 bad UTF-8 string
	CodeSockConnectFail       = simcom.CodeSockConnectFail       // 3 sock connect fail
	CodeSockCreateFail        = simcom.CodeSockCreateFail        // 4 sock create fail
	CodeSockCloseFail         = simcom.CodeSockCloseFail         // 5 sock close fail
	CodeMessageReceiveFail    = simcom.CodeMessageReceiveFail    // 6 message receive fail
	CodeNetworkOpenFail       = simcom.CodeNetworkOpenFail       // 7 network open fail
	CodeNetworkCloseFail      = simcom.CodeNetworkCloseFail      // 8 network close fail
	CodeNetworkNotOpened      = simcom.CodeNetworkNotOpened      // 9 network not opened
	CodeClientIndexError      = simcom.CodeClientIndexError      // 10 client index error
	CodeNoConnection          = simcom.CodeNoConnection          // 11 no connection
	CodeInvalidParameter      = simcom.CodeInvalidParameter      // 12 invalid parameter
	CodeNotSupported          = simcom.CodeNotSupported          // 13 not supported operation
	CodeClientBusy            = simcom.CodeClientBusy            // 14 client is busy
	CodeRequireConnectionFail = simcom.CodeRequireConnectionFail // 15 require connection fail
	CodeSockSendingFail       = simcom.CodeSockSendingFail       // 16 sock sending fail
	CodeTimeout               = simcom.CodeTimeout               // 17 timeout
	CodeTopicEmpty            = simcom.CodeTopicEmpty            // 18 topic is empty
	CodeClientUsed            = simcom.CodeClientUsed            // 19 client is used
	CodeClientNotAcquired     = simcom.CodeClientNotAcquired     // 20 client not acquired
	CodeClientNotReleased     = simcom.CodeClientNotReleased     // 21 client not released
	CodeLengthOutOfRange      = simcom.CodeLengthOutOfRange      // 22 length out of range
	CodeNetworkOpened         = simcom.CodeNetworkOpened         // 23 network is opened
	CodePacketFail            = simcom.CodePacketFail            // 24 packet fail
	CodeDNSError              = simcom.CodeDNSError              // 25 DNS error
	CodeSocketClosedByServer  = simcom.CodeSocketClosedByServer  // 26 socket is closed by server
	CodeRefusedProtocol       = simcom.CodeRefusedProtocol       // 27 connection refused: unaccepted protocol version
	CodeRefusedIdentifier     = simcom.CodeRefusedIdentifier     // 28 connection refused: identifier rejected
	CodeRefusedUnavailable    = simcom.CodeRefusedUnavailable    // 29 connection refused: server unavailable
	CodeRefusedBadCredentials = simcom.CodeRefusedBadCredentials // 30 connection refused: bad user name or password
	CodeRefusedNotAuthorized  = simcom.CodeRefusedNotAuthorized  // 31 connection refused: not authorized
	CodeHandshakeFail         = simcom.CodeHandshakeFail         // 32 handshake fail
	CodeCertNotSet            = simcom.CodeCertNotSet            // 33 not set certificate
	CodeOpenSessionFailed     = simcom.CodeOpenSessionFailed     // 34 open session failed (A7600 only)
	CodeDisconnectFailed      = simcom.CodeDisconnectFailed      // 35 disconnect from server failed (A7600 only)
)

// ResultError is a command that the modem answered with a non-zero MQTT
// result code, e.g. "+CMQTTCONNECT: 0,30". Use errors.As to get it, and
// FateOf (or errors.Is with ErrLinkDown, ErrFateUnknown, ErrRefused) for
// what it means for the request.
type ResultError struct {
	// Command is the AT command line that failed, without data and with
	// passwords redacted.
	Command string
	// Code is the modem's result code.
	Code ResultCode
	// Model is the model family whose manual gives the code its meaning
	// (AutoDetect when the model was not known yet).
	Model Model
}

// Error names the command, the code and the manual's text.
func (e *ResultError) Error() string {
	return fmt.Sprintf("atmodem: %s: result %d: %s", e.Command, int(e.Code), e.Code)
}

// Is makes errors.Is true for the fate sentinel of the code (ResultFate),
// and for ErrBusy with code 14 (client is busy).
func (e *ResultError) Is(target error) bool {
	switch target {
	case ErrBusy:
		return e.Code == simcom.CodeClientBusy
	case ErrLinkDown, ErrFateUnknown, ErrRefused:
		return fateSentinel(ResultFate(e.Model, e.Code)) == target
	}
	return false
}
