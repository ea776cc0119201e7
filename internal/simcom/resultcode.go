package simcom

import "strconv"

// ResultCode is an MQTT <err> result code of the SIMCom manuals (chapter
// 2.2.1 of the A7600 manual, 2.3.1 of the SIM7500/7600/7800 manual).
// 0 means success; the A7600 family defines 0..35, the SIM7600 family 0..33.
type ResultCode int

// The result codes, named after the manuals' texts.
const (
	CodeOK                    ResultCode = 0  // operation succeeded
	CodeFailed                ResultCode = 1  // failed
	CodeBadUTF8               ResultCode = 2  // bad UTF-8 string
	CodeSockConnectFail       ResultCode = 3  // sock connect fail
	CodeSockCreateFail        ResultCode = 4  // sock create fail
	CodeSockCloseFail         ResultCode = 5  // sock close fail
	CodeMessageReceiveFail    ResultCode = 6  // message receive fail
	CodeNetworkOpenFail       ResultCode = 7  // network open fail
	CodeNetworkCloseFail      ResultCode = 8  // network close fail
	CodeNetworkNotOpened      ResultCode = 9  // network not opened
	CodeClientIndexError      ResultCode = 10 // client index error
	CodeNoConnection          ResultCode = 11 // no connection
	CodeInvalidParameter      ResultCode = 12 // invalid parameter
	CodeNotSupported          ResultCode = 13 // not supported operation
	CodeClientBusy            ResultCode = 14 // client is busy
	CodeRequireConnectionFail ResultCode = 15 // require connection fail
	CodeSockSendingFail       ResultCode = 16 // sock sending fail
	CodeTimeout               ResultCode = 17 // timeout
	CodeTopicEmpty            ResultCode = 18 // topic is empty
	CodeClientUsed            ResultCode = 19 // client is used
	CodeClientNotAcquired     ResultCode = 20 // client not acquired
	CodeClientNotReleased     ResultCode = 21 // client not released
	CodeLengthOutOfRange      ResultCode = 22 // length out of range
	CodeNetworkOpened         ResultCode = 23 // network is opened
	CodePacketFail            ResultCode = 24 // packet fail
	CodeDNSError              ResultCode = 25 // DNS error
	CodeSocketClosedByServer  ResultCode = 26 // socket is closed by server
	CodeRefusedProtocol       ResultCode = 27 // connection refused: unaccepted protocol version
	CodeRefusedIdentifier     ResultCode = 28 // connection refused: identifier rejected
	CodeRefusedUnavailable    ResultCode = 29 // connection refused: server unavailable
	CodeRefusedBadCredentials ResultCode = 30 // connection refused: bad user name or password
	CodeRefusedNotAuthorized  ResultCode = 31 // connection refused: not authorized
	CodeHandshakeFail         ResultCode = 32 // handshake fail
	CodeCertNotSet            ResultCode = 33 // not set certificate
	CodeOpenSessionFailed     ResultCode = 34 // Open session failed (A7600 only)
	CodeDisconnectFailed      ResultCode = 35 // Disconnect from server failed (A7600 only)
)

var resultTexts = [...]string{
	"operation succeeded",
	"failed",
	"bad UTF-8 string",
	"sock connect fail",
	"sock create fail",
	"sock close fail",
	"message receive fail",
	"network open fail",
	"network close fail",
	"network not opened",
	"client index error",
	"no connection",
	"invalid parameter",
	"not supported operation",
	"client is busy",
	"require connection fail",
	"sock sending fail",
	"timeout",
	"topic is empty",
	"client is used",
	"client not acquired",
	"client not released",
	"length out of range",
	"network is opened",
	"packet fail",
	"DNS error",
	"socket is closed by server",
	"connection refused: unaccepted protocol version",
	"connection refused: identifier rejected",
	"connection refused: server unavailable",
	"connection refused: bad user name or password",
	"connection refused: not authorized",
	"handshake fail",
	"not set certificate",
	"open session failed",
	"disconnect from server failed",
}

// String returns the manual's text for the code, e.g. code 30 gives
// "connection refused: bad user name or password". Unknown codes give
// "unknown result code N".
func (c ResultCode) String() string {
	if c >= 0 && int(c) < len(resultTexts) {
		return resultTexts[c]
	}
	return "unknown result code " + strconv.Itoa(int(c))
}

// Known reports whether c is in the table of the manuals (0..35).
func (c ResultCode) Known() bool { return c >= 0 && int(c) < len(resultTexts) }

// ConnackReturnCode maps the refused-connection codes 27..31 to the MQTT
// 3.1.1 CONNACK return codes 1..5. ok is false for every other code.
func (c ResultCode) ConnackReturnCode() (rc byte, ok bool) {
	if c >= CodeRefusedProtocol && c <= CodeRefusedNotAuthorized {
		return byte(c - CodeRefusedProtocol + 1), true
	}
	return 0, false
}

// ResultCodeFromConnack maps an MQTT 3.1.1 CONNACK return code 1..5 to the
// modem's result code 27..31 (the emulator uses it). ok is false otherwise.
func ResultCodeFromConnack(rc byte) (ResultCode, bool) {
	if rc >= 1 && rc <= 5 {
		return CodeRefusedProtocol + ResultCode(rc-1), true
	}
	return 0, false
}
